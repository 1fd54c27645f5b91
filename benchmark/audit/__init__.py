"""Synthetic-set audit: contamination (near-copies of test / train images) and fidelity, plus a gallery.

`audit_set(items, dataset, manifest, audit_cfg, cache_root, out_dir)` is the whole audit of one set
(returns a JSON-ready dict; with `out_dir` also writes `audit.json` and the gallery figure).
`ensure_audited` is the run-time hook (see :mod:`.hook`): audit once per set, cached, and refuse a
contaminated set unless `audit.allow_contamination=true`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmark.audit.contamination import cached_hashes, flags, nearest
from benchmark.audit.embeddings import query_features, reference_features
from benchmark.audit.fidelity import fidelity_summary
from benchmark.audit.functional import FUNCTIONAL_SEED, functional_summary
from benchmark.audit.keypoints import flags as kp_flags
from benchmark.audit.thresholds import for_dataset
from benchmark.data.base import Dataset, Item
from benchmark.split.manifest import split_items

__all__ = ["audit_set", "image_rows", "summarize", "ensure_audited", "AuditRefused"]


def _meta(paths: list[str]) -> list[tuple[str, str]]:
    """('WxH', PIL mode) of each file, as stored (before any RGB conversion)."""
    from PIL import Image

    out = []
    for p in paths:
        with Image.open(p) as im:
            out.append((f"{im.size[0]}x{im.size[1]}", im.mode))
    return out


def image_rows(items: list[Item], near_test: dict, near_train: dict, test: list[str], train: list[str],
               thresholds: dict, test_twin: np.ndarray, kp_test: dict | None = None) -> list[dict]:
    """One JSON-ready row per synthetic image: nearest test/train by hash and by cosine, and the flags.
    `test_twin[j]`: test image j itself has a near-copy in the train split (a leak of the split, not the set).
    `kp_test`: the keypoint detector's best verified test match per image (:func:`.keypoints.match_all`); a
    verified geometric match flags a test copy on its own (no nearer-than-train condition: a transplanted
    test defect sits on a train image, and distinct images never verify, see `calibrate_keypoints`)."""
    is_train = flags(near_train, thresholds)
    # A test near-copy must also be nearer to that test image than to every train image: generators work from
    # train images, and on datasets of look-alike parts (Magnetic Tile tiles are often <= 12 bits apart) an
    # honest composite of a train image can fall within the threshold of some test image, but never nearer
    # to it than to its own source. A copy of a test image is nearer to it than to anything in train.
    # Nearer by the measure that flagged it: a hash flag needs the smaller hash distance, a cosine flag the
    # higher cosine (mixing them let an honest Magnetic Tile augment, 3 bits from its train source and 10 from
    # a look-alike test tile, through on a cosine 1e-5 higher to test).
    by_hash_nearer = (near_test["hash_dist"] <= int(thresholds["hash"])) & (near_test["hash_dist"] < near_train["hash_dist"])
    by_cos_nearer = (near_test["cos"] >= float(thresholds["cosine"])) & (near_test["cos"] > near_train["cos"])
    nearer_test = (near_test["hash_dist"] < near_train["hash_dist"]) | (near_test["cos"] > near_train["cos"])
    is_test_global = by_hash_nearer | by_cos_nearer
    n = len(items)
    kp = kp_test or {k: np.full(n, v) for k, v in (("inliers", 0), ("idx", -1), ("patch_inliers", 0),
                                                    ("patch_idx", -1), ("ncc", 0.0), ("ncc_idx", -1))}
    is_kp = kp_flags(kp, thresholds)
    is_test = is_test_global | is_kp
    by_hash = by_hash_nearer | (~by_cos_nearer & (near_test["hash_dist"] <= int(thresholds["hash"])))  # which match names it
    rows = []
    for i, it in enumerate(items):
        row = {"path": it.path, "label": it.label, "test_copy": bool(is_test[i]), "train_copy": bool(is_train[i]),
               "nearer_test_than_train": bool(nearer_test[i])}
        for name, near, ref in (("test", near_test, test), ("train", near_train, train)):
            row |= {f"{name}_hash_dist": int(near["hash_dist"][i]), f"{name}_hash_match": ref[near["hash_idx"][i]],
                    f"{name}_cos": round(float(near["cos"][i]), 6), f"{name}_cos_match": ref[near["cos_idx"][i]]}
        t_kp = thresholds.get("keypoint_inliers")
        if t_kp is not None and kp["inliers"][i] >= int(t_kp) or kp["ncc_idx"][i] < 0 or not is_kp[i]:
            kp_j = int(kp["idx"][i] if kp["inliers"][i] >= kp["patch_inliers"][i] else kp["patch_idx"][i])
        else:  # flagged by its defect region only: the patch match that flagged it
            t_patch = thresholds.get("patch_inliers")
            kp_j = int(kp["patch_idx"][i] if t_patch is not None and kp["patch_inliers"][i] >= int(t_patch)
                       else kp["ncc_idx"][i])
        row |= {"test_kp_inliers": int(kp["inliers"][i]), "test_kp_patch_inliers": int(kp["patch_inliers"][i]),
                "test_patch_ncc": round(float(kp["ncc"][i]), 4),
                "test_kp_match": test[kp_j] if kp_j >= 0 else None, "test_copy_by": (
                    "hash/cosine" if is_test_global[i] else "keypoints" if is_kp[i] else None)}
        j = near_test["hash_idx"][i] if by_hash[i] else near_test["cos_idx"][i]
        if is_kp[i] and not is_test_global[i]:
            j = kp_j
        row["test_match"] = test[j] if is_test[i] else None  # the test image the flag names
        row["inherited"] = bool(is_test[i] and test_twin[j])  # the matched test image has a train twin
        rows.append(row)
    return rows


def summarize(rows: list[dict], thresholds: dict, test_twin: np.ndarray, refuse_inherited: bool = False) -> dict:
    """Counts and the flagged list (every flagged image with what it matched).

    `contaminated` counts test near-copies that are not `inherited` (or all with `refuse_inherited`): an
    image whose matched test image already has a near-copy in the train split is as close to test as the
    real arm's own training data, so it is reported (and the split's leak beside it) but not held against
    the set by default."""
    keys = ("path", "label", "inherited", "test_hash_dist", "test_hash_match", "test_cos", "test_cos_match",
            "test_kp_inliers", "test_kp_patch_inliers", "test_patch_ncc", "test_kp_match", "test_copy_by")
    flagged = [{k: r[k] for k in keys} for r in rows if r["test_copy"]]
    n, n_new = len(rows), sum(not f["inherited"] for f in flagged)
    return {"n_images": n, "n_test_copies": len(flagged), "n_test_copies_new": n_new,
            "contaminated": bool(flagged) if refuse_inherited else n_new > 0,
            "n_train_copies": sum(r["train_copy"] for r in rows),
            "train_copy_fraction": sum(r["train_copy"] for r in rows) / n if n else float("nan"),
            "split_leak": {"n_test": int(len(test_twin)), "n_test_with_train_copy": int(test_twin.sum())},
            "thresholds": {"hash": int(thresholds["hash"]), "cosine": float(thresholds["cosine"]),
                           **{k: int(thresholds[k]) for k in ("keypoint_inliers", "patch_inliers")
                              if thresholds.get(k) is not None},
                           **({"transplant_ncc": float(thresholds["transplant_ncc"])}
                              if thresholds.get("transplant_ncc") is not None else {})},
            "flagged": flagged}


def audit_set(items: list[Item], dataset: Dataset, manifest: dict, audit_cfg: dict, cache_root: str | Path,
              out_dir: str | Path | None = None) -> dict:
    """Audit synthetic `items` (absolute paths) against the manifest's test and train split of `dataset`."""
    if not items:
        raise ValueError("audit: the synthetic set is empty; expected at least one image")
    cache_root = Path(cache_root)
    audit_cfg = for_dataset(audit_cfg, dataset.name)
    thresholds = audit_cfg["thresholds"]
    syn = [str(it.path) for it in items]
    test_items, train_items = split_items(manifest, "test"), split_items(manifest, "train")
    test = [str(dataset.abspath(it.path)) for it in test_items]
    train = [str(dataset.abspath(it.path)) for it in train_items]
    qh = cached_hashes(syn, "query", cache_root)                      # (N, 8, 2)
    qf = query_features(syn, audit_cfg, cache_root, "audit synthetic")  # (N, 8, D)
    rf_train = reference_features(train, audit_cfg, cache_root, "audit train")  # (M_train, D)
    rf_test = reference_features(test, audit_cfg, cache_root, "audit test")  # (M_test, D)
    near_test = nearest(qh, cached_hashes(test, "reference", cache_root), qf, rf_test)
    rh_train = cached_hashes(train, "reference", cache_root)
    near_train = nearest(qh, rh_train, qf, rf_train)
    # does each test image already have a near-copy in train (a leak of the split itself)? Hashes over the
    # dihedral views; cosine of the plain views only (saves 8 forwards per test image)
    twin = hash_twin = flags(nearest(cached_hashes(test, "query", cache_root), rh_train, rf_test[:, None], rf_train),
                             thresholds)
    kp_test = None
    if audit_cfg.get("keypoints", True) and any(
            thresholds.get(k) is not None for k in ("keypoint_inliers", "patch_inliers", "transplant_ncc")):
        kp_test = keypoint_matches(syn, test, [dataset.abspath(it.mask) if it.mask else None for it in test_items],
                                   [e.get("group", e["path"]) for e in manifest["files"]["test"]], cache_root)
    test_rel = [it.path for it in test_items]
    rows = image_rows(items, near_test, near_train, test_rel, train, thresholds, twin, kp_test)
    if kp_test is not None and any(r["inherited"] for r in rows):
        twin = confirmed_twins(rows, twin, test, test_rel, train, manifest, thresholds, cache_root)
        rows = image_rows(items, near_test, near_train, test_rel, train, thresholds, twin, kp_test)
    fid = fidelity_summary([it.label for it in items], qf[:, 0], _meta(syn),
                           [it.label for it in train_items], rf_train, _meta(train))
    fid = with_functional(fid, [it.label for it in items], qf[:, 0], [it.label for it in train_items], rf_train)
    out = {"summary": summarize(rows, thresholds, hash_twin, bool(audit_cfg.get("refuse_inherited", False))), "fidelity": fid, "images": rows,
           "config": {k: audit_cfg[k] for k in ("model", "thresholds", "refuse_inherited") if k in audit_cfg},
           "dataset": dataset.name}
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        from benchmark.audit.gallery import write_gallery

        figs = write_gallery(_with_abs(rows, dataset), out_dir, thresholds, int(audit_cfg.get("gallery_rows", 12)))
        out["files"] = {"audit_json": str(out_dir / "audit.json"), **{k: str(v) for k, v in figs.items()}}
        (out_dir / "audit.json").write_text(json.dumps(out, indent=1, default=_json_default))
    return out


def with_functional(fid: dict, syn_labels: list[str], syn_feats: np.ndarray, real_labels: list[str],
                    real_feats: np.ndarray) -> dict:
    """`fid` (:func:`fidelity_summary`) with the functional figures (:mod:`.functional`: discriminator AUC, PRDC,
    label fidelity) merged into its per-class entries. Train features only; seeded: same set, same figures."""
    func = functional_summary(syn_labels, syn_feats, real_labels, real_feats, np.random.default_rng(FUNCTIONAL_SEED))
    for c, v in func["per_class"].items():
        fid["per_class"][c] |= v
    return fid | {"label_fidelity": func["label_fidelity"], "functional_settings": func["settings"]}


def keypoint_matches(syn: list[str], test: list[str], test_masks: list, test_groups: list | None = None,
                     cache_root: str | Path | None = None) -> dict[str, np.ndarray]:
    """Best RANSAC-verified test match (:mod:`.keypoints`) and best defect-patch NCC (:mod:`.patches`) of every
    synthetic image. Keypoints are cached per file (sha256) under `cache_root`: reruns and later sets reuse
    the test split's."""
    from benchmark.progress.bars import tqdm

    from benchmark.audit.keypoints import ReferenceIndex, cached_keypoints, match_all
    from benchmark.audit.patches import DefectPatches
    from benchmark.data.base import load_mask, load_rgb

    masks = [load_mask(m) if m else None for m in test_masks]
    index = ReferenceIndex([cached_keypoints(p, cache_root) for p in test], masks, test_groups)
    patches = DefectPatches([load_rgb(p) for p in test], masks)
    queries, ncc = [], []
    for p in tqdm(syn, desc="audit keypoints", leave=False, disable=len(syn) < 50, mininterval=2):
        queries.append(cached_keypoints(p, cache_root)["views"])
        ncc.append(patches.match(load_rgb(p)))
    out = match_all(index, queries)
    out["ncc"] = np.array([v for v, _ in ncc], np.float64).reshape(-1)
    out["ncc_idx"] = np.array([i for _, i in ncc], np.int64).reshape(-1)
    return out


def confirmed_twins(rows: list[dict], twin: np.ndarray, test: list[str], test_rel: list[str], train: list[str],
                    manifest: dict, thresholds: dict, cache_root) -> np.ndarray:
    """`twin` with the hash twins of the test images that flagged rows name kept only where keypoints verify
    them (a hash "twin" of look-alike parts is no leak). `split_leak` still counts the hash twins."""
    pos = {p: k for k, p in enumerate(test_rel)}
    js = sorted({pos[r["test_match"]] for r in rows if r["inherited"]})
    out = twin.copy()
    out[js] = keypoint_twins([test[j] for j in js], train, [e.get("group", e["path"]) for e in manifest["files"]["train"]],
                             int(thresholds.get("keypoint_inliers") or 4), cache_root)
    return out


def keypoint_twins(test: list[str], train: list[str], train_groups: list, min_inliers: int,
                   cache_root: str | Path | None) -> np.ndarray:
    """(len(test),) bool: does some train image verify a RANSAC transform with >= `min_inliers` inliers to
    each test image (an exposure of the same tile, a re-shot of the same part: a real leak of the split)?
    On Magnetic Tile every test image is within the hash threshold of some look-alike train tile, so the hash
    alone would call every copy of a test image "inherited" and let it through; distinct train parts verify
    0 inliers (calibration), exposures of one tile tens to hundreds."""
    from benchmark.audit.keypoints import ReferenceIndex, cached_keypoints, match_all

    index = ReferenceIndex([cached_keypoints(p, cache_root) for p in train], None, train_groups)
    got = match_all(index, [cached_keypoints(p, cache_root)["views"][:1] for p in test])
    return got["inliers"] >= min_inliers


def _with_abs(rows: list[dict], dataset: Dataset) -> list[dict]:
    """Rows with test matches as absolute paths (the figure opens them)."""
    return [r | {"test_hash_match": str(dataset.abspath(r["test_hash_match"]))} for r in rows]


def _json_default(v):
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


from benchmark.audit.hook import AuditRefused, ensure_audited  # noqa: E402
