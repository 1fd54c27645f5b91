"""Object detection: images with boxes, YOLO trained from scratch, mAP@.5:.95 and the hardest class's AP.

The data, arms, generators and the YOLO engine live in `benchmark/detect/`; this module is their `Task`.
Beyond the shared arms, `real_plus` (N + M *more real* images) is the parity arm (see detect/arms.py).
"""
from __future__ import annotations

import importlib.metadata as md
import json
import shutil
from pathlib import Path

from benchmark.arms import ArmData
from benchmark.detect import yolo  # noqa: F401  (registers the "yolo" engine)
from benchmark.detect.arms import DET_ARMS, build_det_arm
from benchmark.detect.data import create_det_dataset, det_split_items
from benchmark.detect.generators import DET_GENERATORS
from benchmark.records import library_versions
from benchmark.split.manifest import file_hashes
from benchmark.tasks._registry import register_task
from benchmark.tasks.base import Task
from benchmark.train.share import synthetic_cell

DETERMINISM = ("ultralytics deterministic=True (torch.use_deterministic_algorithms, warn_only). The run seed varies "
               "weight init and augmentation (ultralytics init_seeds(seed): python/numpy/torch RNGs) and the train "
               "batch order (the train loader's shuffle generator is seeded from the run seed by "
               "benchmark/detect/yolo.py, whatever the ultralytics release does; the shuffle seed is in fit); "
               "validation and test loaders are not shuffled. torch threads are pinned to the cell's `threads` "
               "in training, validation and prediction. On CPU the same cell (config, seed, threads) gives the "
               "same numbers. On GPU some ultralytics ops have no deterministic kernel (warned, not enforced), so "
               "numbers can differ between runs there.")


@register_task("detection")
class Detection(Task):
    name = "detection"
    dataset_task = "detection"
    arms = DET_ARMS
    engines = ("yolo",)
    verify_splits = ("train", "selection", "test")  # ultralytics' end-of-training validation reads selection
    vectorised = False  # one YOLO training per seed

    @property
    def generators(self):
        return DET_GENERATORS

    def check_config(self, cfg: dict) -> None:
        if cfg.get("k") is not None:
            raise ValueError("k (few-shot) is not supported for detection; use parity.base for a smaller real set")

    def load_dataset(self, dcfg: dict):
        return create_det_dataset(dcfg)

    def build_arm(self, cfg: dict, dataset, manifest: dict, subset_seed: int | None, cache: Path) -> ArmData:
        return build_det_arm(cfg["arm"]["name"], dataset, det_split_items(manifest, "train"),
                             file_hashes(manifest, "train"), manifest["hardest"]["class"], cfg["generator"],
                             cfg["synthetic"], cfg.get("parity"), cache)

    def cell(self, cfg: dict, arm: ArmData) -> dict:
        return {"model": cfg["model"], "trainer": cfg["trainer"],
                "synthetic": synthetic_cell(cfg["synthetic"]) if arm.arm in ("synthetic", "placebo") else None}

    def fit(self, cfg: dict, dataset, arm: ArmData, manifest: dict, seeds: list[int],
            run_ids: dict[int, str]) -> dict[int, dict]:
        from benchmark.train import create_engine

        fit_and_score = create_engine(cfg["trainer"]["engine"])
        sel, test = det_split_items(manifest, "selection"), det_split_items(manifest, "test")
        out = {}
        for s in seeds:
            work = Path(cfg["cache_root"]).resolve() / "detect" / "runs" / run_ids[s]
            try:
                out[s] = fit_and_score(cfg, dataset, arm.train, sel, test, s, manifest["hardest"]["class"], work)
            finally:
                if not cfg["trainer"].get("keep_runs", False):
                    shutil.rmtree(work, ignore_errors=True)
        return out

    def record_fields(self, cfg: dict, dataset, arm: ArmData) -> dict:
        return {"train_objects": dataset.object_counts(arm.train),
                "n_real": arm.cell["n_real"], "n_added": len(arm.added),
                "versions": {**library_versions(), "ultralytics": md.version("ultralytics")},
                "determinism": DETERMINISM}

    def frame_columns(self, record: dict) -> dict:
        """mAP columns, the real-set size and the parity design (benchmark/report/detection.py reads them)."""
        m, cell, cfg = record.get("metrics") or {}, record["cell"], record.get("config") or {}
        return {"map50_95": m.get("map50_95"), "map50": m.get("map50"),
                "hardest_ap50_95": m.get("hardest_class_ap50_95"), "hardest_ap50": m.get("hardest_class_ap50"),
                "n_real": record.get("n_real"), "parity_base": (cell.get("parity") or {}).get("base"),
                "parity_margin": (cfg.get("parity") or {}).get("margin"), "published": cfg.get("published"),
                # the real arm's kept detector and its classes (JSON text): the det_fidelity table (report/det_fidelity.py)
                "kept_weights": json.dumps(kw) if (kw := (record.get("fit") or {}).get("kept_weights")) else None,
                "classes": json.dumps(m.get("classes") or [])}

    def write_report(self, data, out_dir: Path, rule, html: bool) -> dict[str, Path]:
        """Volume curve, parity table and paired AP statistics under the study's rule (seed level)."""
        from benchmark.report.detection_artefacts import write_detection_report

        return write_detection_report(data, out_dir, html=html, rule=rule)

    def summary(self, record: dict) -> str:
        m = record.get("metrics") or {}
        return f"mAP50-95={m.get('map50_95')} hardest {record['hardest_class']} AP50-95={m.get('hardest_class_ap50_95')}"

    def make_split(self, cfg: dict, seed: int, pilot_seeds: list[int], hardest: str | None, reason: str,
                   out: Path | None, force: bool) -> tuple[Path, dict]:
        from benchmark.detect.split import make_det_split

        return make_det_split(cfg, seed, pilot_seeds, hardest, reason, out, force)
