"""The frozen split: train / selection / test, one manifest per dataset with a sha256 per file.

Built once (`scarce split`), committed, and verified by every run before it trains: a missing or
changed file makes the run refuse, naming the file.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path, PurePosixPath

import numpy as np

from benchmark import PROJECT_ROOT, __version__
from benchmark.data.base import Dataset, Item, load_mask, load_rgb
from benchmark.generators.base import sha256_file
from benchmark.io import read_json, write_json_atomic
from benchmark.progress.bars import tqdm
from benchmark.split.dedupe import dedupe_items, dedupe_record
from benchmark.split.groups import DEFAULT_MAX_BITS, cross_split_near_duplicates, group_split, image_hashes, \
    near_duplicate_groups, same_part_across
from benchmark.split.seal import canonical_sha256, seal, unsealed

SPLITS = ("train", "selection", "test")
MANIFEST_VERSION = 1


class ManifestError(RuntimeError):
    """The data on disk does not match the frozen manifest (names the file and the field)."""


def _parts(dataset: Dataset, order: list) -> list[str] | None:
    """The dataset's own physical-part id of each image in `order` (e.g. Magnetic Tile's tiles), or None."""
    parts = dataset.meta.get("parts")
    return [parts.get(it.path, it.path) for it in order] if parts else None


def default_manifest_path(dataset_name: str) -> Path:
    return PROJECT_ROOT / "datasets" / "splits" / f"{dataset_name}.json"


def _allocate(n: int, fractions: dict[str, float], label: str) -> dict[str, int]:
    """Per-class counts: selection and test get round(n * f) but at least one each; train gets the rest."""
    sel = max(1, round(n * fractions["selection"]))
    test = max(1, round(n * fractions["test"]))
    if n - sel - test < 1:
        raise ValueError(f"class {label!r} has {n} images; expected at least 3 to fill train/selection/test")
    return {"train": n - sel - test, "selection": sel, "test": test}


def build_split(dataset: Dataset, seed: int = 0, fractions: dict[str, float] | None = None,
                options: dict | None = None, group: dict | None = None, folds: int = 1, dedupe: bool = False) -> dict:
    """Stratified split of `dataset`; returns the manifest dict (hardest class still unset).

    `group` = {"method": "near_duplicate", "max_bits": 8} keeps near-duplicate images (e.g. several
    exposures of one part) in one split; None splits per image. Either way the manifest records how
    many selection / test images have a near-duplicate in train (`leak_check`). `folds` K > 1 deals train and
    test together into K cross-fitted folds (benchmark/split/folds.py); the selection split is the same.
    `dedupe` keeps one copy of each byte-identical image and lists the others (benchmark/split/dedupe.py)."""
    fractions = fractions or {"train": 0.6, "selection": 0.2, "test": 0.2}
    items, dropped = dedupe_items(dataset, dataset.items) if dedupe else (dataset.items, None)
    order = sorted(items, key=lambda it: (dataset.classes.index(it.label), it.path))
    bits = image_hashes([str(dataset.abspath(it.path)) for it in order])  # (N, 128)
    parts = _parts(dataset, order)
    max_bits = int((group or {}).get("max_bits", DEFAULT_MAX_BITS))
    if group and group.get("method") not in (None, "none"):
        if group["method"] != "near_duplicate":
            raise ValueError(f"split.group={group['method']!r}; expected null or 'near_duplicate'")
        groups = near_duplicate_groups(bits, max_bits, parts)
        idx = group_split([it.label for it in order], groups, fractions, seed)
        group_info = {"method": "near_duplicate", "max_bits": max_bits, "n_groups": int(groups.max()) + 1,
                      **({"parts": dataset.meta["parts_rule"]} if parts else {})}
    else:
        idx, group_info = _per_image_split(order, dataset.classes, fractions, seed), None
    fold_of = _deal(idx, [it.label for it in order], groups if group_info else None, folds, seed)
    files = {s: [_entry(dataset, order[i]) for i in idx[s]] for s in SPLITS}
    for s in SPLITS:
        for e, i in zip(files[s], idx[s]):
            if group_info:  # each image's independent unit: statistics resample groups (benchmark/stats/crossed)
                e["group"] = int(groups[i])
            if fold_of and s != "selection":
                e["fold"] = fold_of[i]
    _refuse_cross_split_duplicates(files)
    leak = _leak_check(bits, idx, len(order), parts, max_bits)
    return {
        "manifest_version": MANIFEST_VERSION,
        "dataset": dataset.name,
        "classes": dataset.classes,
        "nominal": dataset.nominal,
        **({"folds": folds} if fold_of else {}),
        "config": {"seed": seed, "fractions": fractions, "options": options or {}, "group": group_info},
        "counts": {s: _counts(files[s], dataset.classes) for s in SPLITS},
        "leak_check": leak,
        **({"dedupe": dedupe_record(dropped)} if dedupe else {}),
        "files": files,
        "hardest": None,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "scarce_bench": __version__,
    }


def _leak_check(bits: np.ndarray, idx: dict[str, list[int]], n: int, parts: list | None, max_bits: int) -> dict:
    """How many selection / test images have a near-duplicate (or, where the dataset knows, a part) in train."""
    split_of = [""] * n
    for s in SPLITS:
        for i in idx[s]:
            split_of[i] = s
    leak = {"max_bits": max_bits, **{f"{s}_with_train_near_duplicate": n for s, n in
                                     cross_split_near_duplicates(bits, split_of, max_bits).items()}}
    if parts:  # the dataset knows which images show one part: count those too
        leak |= {f"{s}_sharing_a_part_with_train": n for s, n in same_part_across(parts, split_of).items()}
    return leak


def _deal(idx: dict[str, list[int]], labels: list[str], groups, folds: int, seed: int) -> dict[int, int] | None:
    """K > 1: {index: fold} over train + test, and `idx` re-dealt in place to fold 0's view (test = fold 0)."""
    if folds == 1:
        return None
    from benchmark.split.folds import deal_folds

    pool = sorted(idx["train"] + idx["test"])
    fold_of = dict(zip(pool, deal_folds(labels, groups, pool, folds, seed)))
    idx["test"] = [i for i in pool if fold_of[i] == 0]
    idx["train"] = [i for i in pool if fold_of[i] != 0]
    return fold_of


def _per_image_split(order: list[Item], classes: list[str], fractions: dict[str, float],
                     seed: int) -> dict[str, list[int]]:
    """Indices into `order` (sorted by class, then path) per split; the same split for the same seed."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for label in classes:  # fixed class order + sorted items => the same split for the same seed
        members = [i for i, it in enumerate(order) if it.label == label]
        perm = rng.permutation(len(members))
        n = _allocate(len(members), fractions, label)
        bounds = {"train": (0, n["train"]), "selection": (n["train"], n["train"] + n["selection"]),
                  "test": (n["train"] + n["selection"], len(members))}
        for split, (a, b) in bounds.items():
            out[split] += [members[j] for j in perm[a:b]]
    return out


def _refuse_cross_split_duplicates(files: dict[str, list[dict]]) -> None:
    """A byte-identical image in two splits would leak test (or selection) images into training."""
    first: dict[str, tuple[str, str]] = {}
    for split in SPLITS:
        for e in files[split]:
            seen = first.setdefault(e["sha256"], (split, e["path"]))
            if seen[0] != split:
                raise ValueError(f"{seen[1]} ({seen[0]}) and {e['path']} ({split}) are byte-identical "
                                 f"(sha256 {e['sha256'][:12]}...); expected no image in two splits: split again "
                                 f"with split.dedupe=true (keeps the first path in sorted order, lists the others "
                                 f"in the manifest) or split.group=near_duplicate (keeps the copies in one split), "
                                 f"or remove the duplicate from the dataset")


def _entry(dataset: Dataset, it: Item) -> dict:
    load_rgb(dataset.abspath(it.path))  # an undecodable image is refused now, naming it, not mid-study
    if it.mask:
        load_mask(dataset.abspath(it.mask))
    e = {"path": it.path, "label": it.label, "mask": it.mask, "sha256": sha256_file(dataset.abspath(it.path))}
    if it.mask:  # masks feed cut-paste generators, so they are frozen too
        e["mask_sha256"] = sha256_file(dataset.abspath(it.mask))
    if getattr(it, "boxes", None):  # detection: the box label file is part of the data, frozen too
        e["boxes"], e["boxes_sha256"] = it.boxes, sha256_file(dataset.abspath(it.boxes))
    return e


def file_hashes(manifest: dict, split: str) -> dict[str, str]:
    """{relative path: sha256} for the images and masks of one split."""
    out = {}
    for e in manifest["files"][split]:
        out[e["path"]] = e["sha256"]
        if e.get("mask_sha256"):
            out[e["mask"]] = e["mask_sha256"]
        if e.get("boxes_sha256"):
            out[e["boxes"]] = e["boxes_sha256"]
    return out


def _counts(entries: list[dict], classes: list[str]) -> dict[str, int]:
    return {c: sum(e["label"] == c for e in entries) for c in classes}


def manifest_sha256(manifest: dict) -> str:
    """Hash of the canonical JSON without the seal: the identity of the frozen split (goes into every run ID;
    sealing a manifest leaves it unchanged, and equals the seal's own `sha256`)."""
    return canonical_sha256(unsealed(manifest))


def write_manifest(manifest: dict, path: str | Path) -> Path:
    """Write `manifest` sealed (benchmark/split/seal.py): a later hand edit is refused, naming the field."""
    return write_json_atomic(path, seal(manifest))


def load_manifest(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: no split manifest; expected one made by `scarce split <dataset>`")
    m = read_json(path, ManifestError, "{path}: not valid JSON ({e}); expected a split manifest made by "
                  "`scarce split <dataset>`")
    if not isinstance(m, dict):
        raise ManifestError(f"{path}: holds a {type(m).__name__}; expected a scarce-bench split manifest")
    for field in ("dataset", "classes", "nominal", "files", "hardest"):
        if field not in m:
            raise ManifestError(f"{path}: field {field!r} missing; expected a scarce-bench split manifest")
    return m


def split_units(manifest: dict, split: str = "test") -> list[int] | None:
    """The near-duplicate group of each file of ``split`` (aligned with :func:`split_items`), or None when
    the split is per image (then every image is its own independent unit)."""
    entries = manifest["files"][split]
    return [int(e["group"]) for e in entries] if entries and all("group" in e for e in entries) else None


def record_groups(manifest: dict, dataset: Dataset) -> dict:
    """Add each file's near-duplicate ``group`` to a grouped manifest frozen before groups were recorded.

    Recomputes the components ``build_split`` split by (same image order, hashes and ``max_bits``) and
    refuses unless every group lies in one split, i.e. unless they are the groups that made this split.
    The split itself (which file is where) is unchanged."""
    info = (manifest.get("config") or {}).get("group")
    if not info:
        raise ManifestError("record_groups: the manifest's config.group is empty; a per-image split has no groups")
    order = sorted(dataset.items, key=lambda it: (dataset.classes.index(it.label), it.path))
    groups = near_duplicate_groups(image_hashes([str(dataset.abspath(it.path)) for it in order]), int(info["max_bits"]),
                                   _parts(dataset, order) if info.get("parts") else None)
    gid = {it.path: int(g) for it, g in zip(order, groups)}
    where: dict[int, set] = {}
    for s in SPLITS:
        for e in manifest["files"][s]:
            e["group"] = gid[e["path"]]
            where.setdefault(e["group"], set()).add(s)
    straddle = [g for g, ss in where.items() if len(ss) > 1]
    if straddle or len(set(groups)) != int(info["n_groups"]):
        raise ManifestError(f"record_groups: {len(straddle)} groups straddle splits / {len(set(groups))} groups vs "
                            f"config.group.n_groups={info['n_groups']}; these are not the groups of this split")
    return manifest


def split_items(manifest: dict, split: str) -> list[Item]:
    return [Item(e["path"], e["label"], e.get("mask")) for e in manifest["files"][split]]


def verify(manifest: dict, dataset: Dataset, splits: tuple[str, ...] = SPLITS) -> int:
    """Re-hash every file of `splits` under dataset.root; refuse on the first missing or changed file."""
    verify_identity(manifest, dataset, splits)
    entries = [(s, rel, h) for s in splits for rel, h in file_hashes(manifest, s).items()]
    for split, rel, expected in tqdm(entries, desc="verify split", leave=False, disable=len(entries) < 2000):
        p = dataset.abspath(rel)
        if not p.is_file():
            raise ManifestError(f"{p}: {split} file listed in the frozen manifest is missing; refusing to run")
        if sha256_file(p) != expected:
            raise ManifestError(f"{p}: {split} file changed since the split was frozen "
                                f"(sha256 differs from the manifest); refusing to run")
    return len(entries)


def verify_identity(manifest: dict, dataset: Dataset, splits: tuple[str, ...] = SPLITS) -> None:
    """The manifest is for this dataset (name, taxonomy) and its paths of `splits` stay inside it."""
    if manifest["dataset"] != dataset.name or manifest["classes"] != dataset.classes:
        raise ManifestError(f"manifest is for {manifest['dataset']} {manifest['classes']}; "
                            f"dataset is {dataset.name} {dataset.classes}")
    _refuse_paths_outside(manifest, splits)


def _refuse_paths_outside(manifest: dict, splits: tuple[str, ...]) -> None:
    """Image paths must be relative and stay inside the dataset root (no absolute path, no '..'). Masks may
    be absolute (`dataset.masks` can live outside the root) but never contain '..'."""
    for s in splits:
        for e in manifest["files"][s]:
            for key, rel in (("path", e["path"]), ("mask", e.get("mask")), ("boxes", e.get("boxes"))):
                if rel is None:
                    continue
                if ".." in PurePosixPath(rel).parts or (key != "mask" and PurePosixPath(rel).is_absolute()):
                    raise ManifestError(f"manifest {s} entry {key}={rel!r} points outside the dataset; expected a "
                                        f"path relative to the dataset root without '..'; refusing to run")


def check_no_synthetic_in_test(manifest: dict, added: list[Item]) -> None:
    """The test split holds only real images: no added image may share bytes with a test file."""
    test_sha = {e["sha256"] for e in manifest["files"]["test"]}
    for it in added:
        if Path(it.path).is_absolute() and sha256_file(it.path) in test_sha:
            raise ManifestError(f"{it.path}: added training image is byte-identical to a test image")
