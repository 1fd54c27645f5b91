"""Audit benchmark: does the contamination audit catch copies of test images under ordinary augmentations,
and does it leave honest synthetic sets alone?

    python -m benchmark.bench.audit                       # demo, + magnetic_tile when ../shared/data has it
    python -m benchmark.bench.audit --datasets demo --victims 12 --honest cutpaste,augment,noise --no-backbone

Per dataset: `--victims` test images (the hardest class first, then other defect classes; all with masks)
are planted under every `benchmark.audit.corpus.COPY_TRANSFORMS` entry (`transplant`: the defect onto a
train nominal image); honest sets come from the generators (`--per-class` images of the hardest class
each). Everything goes through one `audit_set` call with the thresholds of conf/config.yaml. Prints
transform -> caught / total, generator -> flagged / total, and the audit's seconds per 1,000 synthetic images
(the whole audit: hashes, backbone features of the synthetic images, keypoints; train/test features cached
by a warm-up call first, as a run's audits share them).
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from benchmark import PROJECT_ROOT

SHARED_MT = PROJECT_ROOT.parent / "shared" / "data" / "magnetic_tile"


def audit_config() -> dict:
    cfg = OmegaConf.to_container(OmegaConf.load(PROJECT_ROOT / "conf" / "config.yaml"), resolve=False)
    return dict(cfg["audit"])


def load(name: str, root: str | None = None):
    from benchmark.data import create_dataset
    from benchmark.split.manifest import load_manifest

    root = root or (str(SHARED_MT) if name == "magnetic_tile" else None)
    ds = create_dataset(name, root=root) if root else create_dataset(name)
    return ds, load_manifest(PROJECT_ROOT / "datasets" / "splits" / f"{name}.json")


def planted_corpus(ds, manifest, n_victims: int, out: Path, seed: int = 0) -> list[tuple[str, str, str, str]]:
    """[(path, label, transform, victim test path)]: every COPY_TRANSFORMS entry applied to each victim."""
    from benchmark.audit.corpus import COPY_TRANSFORMS, plant
    from benchmark.data.base import load_mask, load_rgb
    from benchmark.split.manifest import split_items

    rng = np.random.default_rng(seed)
    hard = manifest["hardest"]["class"]
    # victims need a defect mask with pixels in it (transplant cuts the defect out; some masks are empty)
    test = [it for it in split_items(manifest, "test") if it.mask and np.any(load_mask(ds.abspath(it.mask)))]
    test.sort(key=lambda it: (it.label != hard, it.path))
    hard_n = sum(it.label == hard for it in test)
    rest = test[hard_n:]
    pick = test[:hard_n][:n_victims] + [rest[i] for i in sorted(rng.choice(len(rest), size=max(0, min(
        len(rest), n_victims - hard_n)), replace=False))]
    hosts = [it for it in split_items(manifest, "train") if it.label == ds.nominal]
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, v in enumerate(pick):
        img, mask = load_rgb(ds.abspath(v.path)), load_mask(ds.abspath(v.mask))
        for how in COPY_TRANSFORMS:
            host = load_rgb(ds.abspath(hosts[int(rng.integers(len(hosts)))].path)) if how == "transplant" else None
            p = out / f"v{k:02d}_{how}.png"
            plant(img, how, rng, mask=mask, host=host).save(p)
            rows.append((str(p), v.label, how, v.path))
    return rows


def honest_sets(ds, manifest, names: list[str], per_class: int, cache: Path) -> dict[str, list]:
    from benchmark.generators import GenRequest, create_generator
    from benchmark.split.manifest import file_hashes, split_items

    req = GenRequest(ds, split_items(manifest, "train"), file_hashes(manifest, "train"),
                     {manifest["hardest"]["class"]: per_class}, 0)
    out = {}
    for name in names:
        kw = {"train_steps": 600} if name == "diffusion" else {}  # a 32 px DDPM: ~100 s on 2 CPU cores
        t = time.perf_counter()
        out[name] = create_generator(name, **kw).materialize(req, cache).items
        print(f"  [{ds.name}] {name}: {len(out[name])} images generated in {time.perf_counter() - t:.0f} s", flush=True)
    return out


def bench(name: str, n_victims: int, generators: list[str], per_class: int, work: Path,
          image_size: int | None = None, no_backbone: bool = False, root: str | None = None) -> dict:
    from benchmark.audit import audit_set, keypoint_matches
    from benchmark.data.base import Item
    from benchmark.split.manifest import split_items

    ds, manifest = load(name, root)
    cfg = audit_config()
    if image_size:
        cfg["model"] = {**cfg["model"], "image_size": image_size}
    cache = work / "cache"
    rows = planted_corpus(ds, manifest, n_victims, work / f"{name}-planted")
    honest = honest_sets(ds, manifest, generators, per_class, work / f"{name}-gen")
    items = [Item(p, lab) for p, lab, _, _ in rows] + [it for its in honest.values() for it in its]
    run = audit_without_backbone if no_backbone else audit_set
    run(items[:2], ds, manifest, cfg, cache)  # warm-up: train / test hashes and features cached
    t = time.perf_counter()
    out = run(items, ds, manifest, cfg, cache)
    secs = time.perf_counter() - t
    test = split_items(manifest, "test")
    t = time.perf_counter()  # the keypoint / defect-patch detector alone, nothing cached (test keypoints too)
    keypoint_matches([it.path for it in items], [str(ds.abspath(it.path)) for it in test],
                     [ds.abspath(it.mask) if it.mask else None for it in test],
                     [e.get("group", e["path"]) for e in manifest["files"]["test"]], None)
    kp_secs = time.perf_counter() - t
    by_path = {r["path"]: r for r in out["images"]}
    caught = {}
    for p, _, how, victim in rows:
        r = by_path[p]
        caught.setdefault(how, []).append((caught_as_copy_of(r, victim, manifest), p, r))
    flagged = {g: [by_path[it.path] for it in its if by_path[it.path]["test_copy"]] for g, its in honest.items()}
    return {"dataset": name, "caught": caught, "flagged": flagged, "n_honest": {g: len(v) for g, v in honest.items()},
            "seconds": secs, "kp_seconds": kp_secs, "n_images": len(items), "thresholds": out["summary"]["thresholds"],
            "image_size": "off" if no_backbone else cfg["model"]["image_size"]}


def caught_as_copy_of(row: dict, victim: str, manifest: dict) -> bool:
    """Is audit row `row` flagged as a test copy, matched to the test image `victim` or to another image of
    its physical part (the manifest's `group`: one Magnetic Tile tile under another exposure is the same
    tile, and naming it names the copied tile)?"""
    group = {e["path"]: e.get("group", e["path"]) for e in manifest["files"]["test"]}
    matched = {row["test_hash_match"], row["test_cos_match"], row["test_kp_match"]} - {None}
    return bool(row["test_copy"]) and any(group.get(m, m) == group[victim] for m in matched)


def audit_without_backbone(items, ds, manifest, cfg, cache) -> dict:
    """`audit_set`'s contamination verdict with the backbone cosine left out (hashes + keypoints only): for a
    quick benchmark on a busy CPU. Cosine flags only at >= 0.99, where the hash flags too (docs/audit.md)."""
    from benchmark.audit import image_rows, keypoint_matches, summarize
    from benchmark.audit.contamination import cached_hashes, flags, nearest
    from benchmark.split.manifest import split_items

    thresholds = cfg["thresholds"]
    syn = [str(it.path) for it in items]
    test_items, train_items = split_items(manifest, "test"), split_items(manifest, "train")
    test = [str(ds.abspath(it.path)) for it in test_items]
    train = [str(ds.abspath(it.path)) for it in train_items]
    z = lambda n, v=None: np.zeros((n, 8, 1) if v else (n, 1), np.float32)  # cosine 0: never flags
    qh = cached_hashes(syn, "query", cache)
    near_test = nearest(qh, cached_hashes(test, "reference", cache), z(len(syn), 8), z(len(test)))
    rh_train = cached_hashes(train, "reference", cache)
    near_train = nearest(qh, rh_train, z(len(syn), 8), z(len(train)))
    twin = flags(nearest(cached_hashes(test, "query", cache), rh_train, z(len(test), 8), z(len(train))), thresholds)
    kp = keypoint_matches(syn, test, [ds.abspath(it.mask) if it.mask else None for it in test_items],
                          [e.get("group", e["path"]) for e in manifest["files"]["test"]], cache)
    rows = image_rows(items, near_test, near_train, [it.path for it in test_items], train, thresholds, twin, kp)
    return {"summary": summarize(rows, thresholds, twin), "images": rows}


def print_table(res: dict) -> None:
    n = res["n_images"]
    print(f"\n## {res['dataset']} (thresholds {res['thresholds']})\n")
    print("| planted transform | caught / total |\n|---|---:|")
    for how, v in res["caught"].items():
        miss = [Path(p).name for ok, p, _ in v if not ok]
        print(f"| {how} | {sum(ok for ok, _, _ in v)} / {len(v)}{'  missed: ' + ', '.join(miss) if miss else ''} |")
    tot = sum(len(v) for v in res["caught"].values())
    print(f"| **all** | {sum(ok for v in res['caught'].values() for ok, _, _ in v)} / {tot} |")
    print("\n| honest generator | flagged / total | of which refuse the set (not inherited) |\n|---|---:|---:|")
    for g, f in res["flagged"].items():
        m = max(1, res["n_honest"][g])
        new = sum(not r["inherited"] for r in f)
        print(f"| {g} | {len(f)} / {res['n_honest'][g]} ({100 * len(f) / m:.1f} %) | {new} ({100 * new / m:.1f} %) |")
    print(f"\naudit time: {res['seconds']:.1f} s for {n} synthetic images = {1000 * res['seconds'] / n:.0f} s per "
          f"1,000 synthetic images (whole audit, CPU, backbone at {res['image_size']} px); of which the keypoint / "
          f"defect-patch detector alone, nothing cached {1000 * res['kp_seconds'] / n:.0f} s per 1,000")


def audit_frame(p: dict, work: Path) -> pd.DataFrame:
    """`scarce bench --parts audit`: the benchmark on `p["dataset"]` (printed as above), as one long table:
    kind (planted / honest / time), name, n, of_total, rate."""
    quick = p.get("audit_quick", False)
    res = bench(p["dataset"], 2 if quick else 8, ["cutpaste", "noise"] if quick else
                ["cutpaste", "augment", "diffusion", "noise"], 20 if quick else 100, work / "audit", root=p.get("root"))
    print_table(res)
    rows = [("planted", how, sum(ok for ok, _, _ in v), len(v)) for how, v in res["caught"].items()]
    rows += [("honest", g, len(f), res["n_honest"][g]) for g, f in res["flagged"].items()]
    df = pd.DataFrame(rows, columns=["kind", "name", "n", "of_total"])
    df["rate"] = (df["n"] / df["of_total"]).round(4)
    per_1000 = {"s_per_1000_whole_audit": 1000 * res["seconds"] / res["n_images"],
                "s_per_1000_detector_uncached": 1000 * res["kp_seconds"] / res["n_images"]}
    df = pd.concat([df, pd.DataFrame([("time", k, round(v, 1), None, None) for k, v in per_1000.items()],
                                     columns=df.columns)], ignore_index=True)
    return df.assign(dataset=res["dataset"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="demo,magnetic_tile")
    ap.add_argument("--victims", type=int, default=12)
    ap.add_argument("--honest", default="cutpaste,augment,diffusion,noise",
                    help="generators (diffusion trains a 32 px DDPM for 600 steps first: ~100 s on 2 CPU cores)")
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--image-size", type=int, default=None, help="audit.model.image_size (default: the config's)")
    ap.add_argument("--no-backbone", action="store_true", help="hashes + keypoints only (no backbone cosine)")
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one, removed)")
    a = ap.parse_args(argv)
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="scarce-audit-bench-"))
    try:
        for name in a.datasets.split(","):
            if name == "magnetic_tile" and not SHARED_MT.is_dir():
                print(f"(magnetic_tile skipped: {SHARED_MT} absent)")
                continue
            print_table(bench(name, a.victims, a.honest.split(","), a.per_class, work / name, a.image_size,
                              a.no_backbone))
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
