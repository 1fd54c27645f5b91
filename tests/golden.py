"""Golden records: a fixed set of cells whose numbers a refactor must not move by accident.

Each cell is a list of Hydra overrides run through :func:`benchmark.run.run_seeds` into a throw-away
study; what is pinned is the run ID (the cell's identity), the headline metrics and every stored
prediction (classification: per-image probabilities; detection: boxes, scores and classes).
``python -m tests.golden --write [--only CELL ...]`` records them (or only those) into ``tests/golden/cells.json``;
``tests/test_golden.py`` reruns the cells and compares (probabilities to 2e-6: records store 6
decimals, so a last-digit rounding flip is the only difference allowed).

Float results are bitwise stable on one machine type, not across CPU families: torch dispatches other
kernels (AVX2 / AVX512 / AMX, oneDNN, MKL) and sums in another order, and 12 fine-tune steps amplify a
last-bit difference into another hardest-class accuracy (demo/finetune/real: 0.233 on the machine that
recorded ``cells.json``, 0.167 on an AVX512 machine at the same commit). So records are also kept per
platform (:func:`platform_key`: torch version, its CPU capability and the CPU's vector-ISA flags) under
``tests/golden/platforms/<key>.json`` (``--write --platform``), compared at the tight tolerance where the key
matches; every platform also compares with ``cells.json`` at the portable tolerance of the cell's engine
(:data:`PORTABLE`).

The cells cover both engines on the embedded demo and on the frozen Magnetic Tile split (which needs
``../shared/data/magnetic_tile``), every arm, and a tiny detection run. Budgets are small: this pins
code paths, not accuracy.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from benchmark import PROJECT_ROOT

GOLDEN = PROJECT_ROOT / "tests" / "golden" / "cells.json"
PLATFORMS = PROJECT_ROOT / "tests" / "golden" / "platforms"
# Across platforms, by engine (the middle part of a cell's name): the same cells and files in the same order,
# and the numbers an engine keeps within these (probabilities / scores in [0, 1], metrics as fractions). Measured
# between the reference machine and an AVX512 one at one commit: feature bank probabilities 1.5e-4 apart, metrics
# equal; YOLO scores and metrics equal but boxes 2.2 px apart and classes reordered; fine-tune (12 steps from
# ImageNet weights at 64 px) probabilities 0.30 apart and the demo's hardest class 6 of its 30 test images: a
# last-bit kernel difference grows through training, so fine-tune cells pin identity and files only across
# platforms, their numbers only on a platform with its own records. (tols, metric atol or None = not compared)
PORTABLE: dict[str, tuple[dict, float | None]] = {
    "featurebank": ({"probs": 1e-3}, 0.04),  # 0.04: one test image of 30 may flip at a decision boundary
    "yolo": ({"scores": 1e-3}, 0.01),
    "finetune": ({}, None),
}


def portable(name: str) -> tuple[dict, float | None]:
    return PORTABLE[name.split("/")[1]]


def platform_key() -> str:
    """This machine's compute platform (:func:`benchmark.records.compute_platform`, also in every record)."""
    from benchmark.records import compute_platform

    return compute_platform()


def platform_file(key: str | None = None) -> Path:
    return PLATFORMS / f"{key or platform_key()}.json"
FAST = ["model.image_size=64", "threads=1"]
CELLS: dict[str, list[str]] = {
    "demo/finetune/synthetic": ["dataset=demo", "arm=synthetic", "generator=cutpaste", "seed=0",
                                "trainer.max_steps=12", "trainer.batch_size=16", "synthetic.volume=8", *FAST],
    "demo/finetune/real": ["dataset=demo", "arm=real", "seed=1", "trainer.max_steps=12",
                           "trainer.batch_size=16", *FAST],
    "demo/featurebank/placebo": ["dataset=demo", "arm=placebo", "generator=cutpaste", "seeds=[0,1]",
                                 "trainer=featurebank", "trainer.views=2", "trainer.max_steps=50",
                                 "synthetic.volume=8", *FAST],
    "magnetic_tile/featurebank/synthetic": ["dataset=magnetic_tile", "arm=synthetic", "generator=cutpaste",
                                            "seed=0", "trainer=featurebank", "trainer.views=1",
                                            "trainer.max_steps=50", "synthetic.volume=8", *FAST],
    "magnetic_tile/finetune/real": ["dataset=magnetic_tile", "arm=real", "seed=0", "trainer.max_steps=4",
                                    "trainer.batch_size=8", "model.image_size=32", "threads=1"],
}
NEEDS_SHARED = {name for name in CELLS if name.startswith("magnetic_tile")}


def run_cell(overrides: list[str], work: Path) -> list[dict]:
    """The records of one golden cell, run in ``work`` (results and caches there, nothing shared)."""
    from benchmark.cli import compose_config
    from benchmark.run import run_seeds

    cfg = compose_config([*overrides, f"results_root={work / 'results'}", f"cache_root={work / 'cache'}",
                          "study=golden", "audit.model.image_size=64"])
    # the frozen manifests live in the repository; every cell reads them, none writes them
    return run_seeds(cfg)


def summary(record: dict) -> dict:
    """What is pinned of one record."""
    m, p = record.get("metrics") or {}, record.get("predictions") or {}
    keep = ("hardest_class_accuracy", "accuracy", "balanced_accuracy", "map50_95", "map50", "hardest_class_ap50_95")
    out = {"run_id": record["run_id"], "status": record["status"],
           "metrics": {k: m[k] for k in keep if k in m}}
    for k in ("probs", "boxes", "scores", "classes", "paths"):
        if k in p:
            out[k] = p[k]
    return out


def record_cells(names: list[str] | None = None) -> dict[str, list[dict]]:
    out = {}
    for name in names or list(CELLS):
        with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
            out[name] = [summary(r) for r in run_cell(CELLS[name], Path(tmp))]
    return out


DETECTION = ["experiment=demo_det", "arm=synthetic", "seed=0", "trainer.epochs=2", "trainer.batch=16",
             "model.image_size=64", "synthetic.volume=8", "threads=2", "trainer.eval.pred_conf=0.0001"]  # keep boxes


def detection_cell(tmp: Path) -> list[dict]:
    """The detection cell: the embedded demo_det on its frozen split, 2 epochs at 64 px, as records."""
    return run_cell(DETECTION, tmp)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"record the golden cells into {GOLDEN}")
    ap.add_argument("--platform", action="store_true",
                    help=f"with --write: record into {PLATFORMS}/<this platform's key>.json instead")
    ap.add_argument("--only", action="append", default=None, metavar="CELL",
                    help="record only this cell (repeatable); the others keep their pinned records")
    args = ap.parse_args(argv)
    only = args.only or [*CELLS, "demo_det/yolo/synthetic"]
    unknown = sorted(set(only) - set(CELLS) - {"demo_det/yolo/synthetic"})
    if unknown:
        ap.error(f"--only {unknown}: unknown cells; expected some of {sorted(CELLS)} or demo_det/yolo/synthetic")
    cells = record_cells([n for n in only if n in CELLS])
    if "demo_det/yolo/synthetic" in only:
        with tempfile.TemporaryDirectory(prefix="golden-det-") as tmp:
            cells["demo_det/yolo/synthetic"] = [summary(r) for r in detection_cell(Path(tmp))]
    for name, recs in cells.items():
        print(name, [(r["run_id"], r["status"], r["metrics"]) for r in recs])
    if args.write:
        target = platform_file() if args.platform else GOLDEN
        target.parent.mkdir(parents=True, exist_ok=True)
        pinned = json.loads(target.read_text()) if args.only and target.exists() else {}
        target.write_text(json.dumps(pinned | cells, indent=1, sort_keys=True) + "\n")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
