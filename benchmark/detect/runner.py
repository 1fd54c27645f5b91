"""One detection cell -> one record, with the same protocol as classification (`benchmark/run.py`):
frozen manifest verified before training, pilot seeds refused, per-cell locks, ok records skipped,
failed records kept unless `retry_failed`, atomic writes through `benchmark/records.py`.

`scarce-run` routes here when the dataset config says `task: detection`.
"""
from __future__ import annotations

import logging
import shutil
import time
import traceback
from pathlib import Path

from benchmark.arms import ArmData
from benchmark.detect.arms import build_det_arm
from benchmark.detect.data import DetDataset, DetItem, create_det_dataset
from benchmark.records import SCHEMA_VERSION, cell_locks, cell_summary, check_record_slot, ensure_writable, \
    existing_record, library_versions, record_path, remove_stale_temp, run_id, write_expected, write_record
from benchmark.split.manifest import check_no_synthetic_in_test, file_hashes, manifest_sha256

log = logging.getLogger("scarce")
DETERMINISM = ("ultralytics deterministic=True (torch.use_deterministic_algorithms, warn_only). The run seed varies "
               "weight init and augmentation (ultralytics init_seeds(seed): python/numpy/torch RNGs) and the train "
               "batch order (the train loader's shuffle generator is seeded from the run seed by "
               "benchmark/detect/yolo.py, whatever the ultralytics release does; the shuffle seed is in fit); "
               "validation and test loaders are not shuffled. torch threads are pinned to the cell's `threads` "
               "in training, validation and prediction. On CPU the same cell (config, seed, threads) gives the "
               "same numbers. On GPU some ultralytics ops have no deterministic kernel (warned, not enforced), so "
               "numbers can differ between runs there.")


def det_split_items(manifest: dict, split: str) -> list[DetItem]:
    return [DetItem(e["path"], e["label"], e.get("mask"), e.get("boxes")) for e in manifest["files"][split]]


def check_det_config(cfg: dict) -> None:
    """Refuse what can only fail, before any data is read (never recorded as a failed run)."""
    from benchmark.detect.arms import DET_ARMS
    from benchmark.detect.generators import DET_GENERATORS
    from benchmark.train import check_threads

    check_threads(cfg.get("threads", 1))  # an int >= 1 or "auto"; part of the cell
    if cfg["arm"]["name"] not in DET_ARMS:
        raise ValueError(f"arm={cfg['arm']['name']!r}: not a detection arm; expected one of {DET_ARMS}")
    if cfg["arm"]["name"] in ("synthetic", "placebo"):
        DET_GENERATORS.get(cfg["generator"]["name"])
    if cfg["trainer"].get("engine") != "yolo":
        raise ValueError(f"trainer.engine={cfg['trainer'].get('engine')!r}: a detection dataset needs trainer=yolo")
    if cfg.get("k") is not None:
        raise ValueError("k (few-shot) is not supported for detection; use parity.base for a smaller real set")


def load_frozen_det(cfg: dict, seeds: list[int]) -> tuple[DetDataset, dict]:
    from benchmark.run import frozen_manifest

    ds = create_det_dataset(cfg["dataset"])
    return ds, frozen_manifest(cfg, ds, seeds, ("train", "selection", "test"))


def run_detection(cfg: dict, workers: int = 1) -> list[dict]:
    """Run the cells of `seeds` (or `seed`) for one detection arm; one record per seed."""
    import torch

    from benchmark.run import requested_seeds, study_dir
    from benchmark.train import set_threads

    t0 = time.perf_counter()
    seeds = requested_seeds(cfg)
    check_det_config(cfg)
    threads = set_threads(cfg.get("threads", 1), workers)  # part of the cell; pinned through ultralytics (yolo.py)
    ds, manifest = load_frozen_det(cfg, seeds)
    sdir = ensure_writable(study_dir(cfg)).parent
    hardest = manifest["hardest"]["class"]
    train = det_split_items(manifest, "train")
    arm = build_det_arm(cfg["arm"]["name"], ds, train, file_hashes(manifest, "train"), hardest, cfg["generator"],
                        cfg["synthetic"], cfg.get("parity"), Path(cfg["cache_root"]) / "synthetic" / ds.name)
    check_no_synthetic_in_test(manifest, arm.added)
    mhash, out = manifest_sha256(manifest), []
    for s in seeds:
        torch.set_num_threads(threads)  # every seed starts from the cell's count
        cell = {"task": "detection", "dataset": ds.name, "manifest_sha256": mhash, **arm.cell, "seed": int(s),
                "model": cfg["model"], "trainer": cfg["trainer"],
                "synthetic": cfg["synthetic"] if arm.arm in ("synthetic", "placebo") else None, "threads": threads}
        rid = run_id(cell)
        with cell_locks(sdir, [rid]):
            rec = _claim(cfg, sdir, rid, cell)
            if rec is None:
                rec = _base(cfg, s, cell, manifest, ds, arm, threads)
                rec.update(_fit(cfg, ds, arm, manifest, s, hardest, rid))
                rec["timings"]["total_s"] = time.perf_counter() - t0
                path = write_record(sdir, rec)
                log.info("%s %s seed=%s %s: mAP50-95=%s hardest %s AP50-95=%s -> %s", rec["status"], arm.arm, s,
                         ds.name, (rec.get("metrics") or {}).get("map50_95"), hardest,
                         (rec.get("metrics") or {}).get("hardest_class_ap50_95"), path)
            out.append(rec)
    return out


def _claim(cfg: dict, sdir: Path, rid: str, cell: dict) -> dict | None:
    """Under the lock: declare the cell, return the record to keep (ok; failed unless retry_failed) or None."""
    check_record_slot(sdir, rid)  # before minutes of training, not after
    remove_stale_temp(sdir, rid)
    write_expected(sdir, rid, cell_summary(rid, cell, cell.get("generator")))
    rec = None if cfg.get("force", False) else existing_record(sdir, rid)
    if rec is None or (rec["status"] == "failed" and cfg.get("retry_failed", False)):
        return None
    log.info("skip %s: %s record exists (%s)%s", rid, rec["status"], record_path(sdir, rid),
             "; rerun it with retry_failed=true" if rec["status"] == "failed" else "")
    return rec


def _fit(cfg: dict, ds: DetDataset, arm: ArmData, manifest: dict, seed: int, hardest: str, rid: str) -> dict:
    from benchmark.detect.yolo import fit_and_score

    work = Path(cfg["cache_root"]).resolve() / "detect" / "runs" / rid
    try:
        res = fit_and_score(cfg, ds, arm.train, det_split_items(manifest, "selection"),
                            det_split_items(manifest, "test"), seed, hardest, work)
        return {"status": "ok", "error": None, **res}
    except Exception as e:  # MemoryError / OOM included; interrupts leave the cell missing (no record)
        log.error("%s seed %s failed: %s: %s", arm.arm, seed, type(e).__name__, e)
        return {"status": "failed", "timings": {},
                "error": {"type": type(e).__name__, "message": str(e) or type(e).__name__,
                          "traceback": traceback.format_exc()}}
    finally:
        if not cfg["trainer"].get("keep_runs", False):
            shutil.rmtree(work, ignore_errors=True)


def _base(cfg: dict, seed: int, cell: dict, manifest: dict, ds: DetDataset, arm: ArmData, threads: int) -> dict:
    import importlib.metadata as md

    syn = arm.synthetic
    ev = manifest["hardest"].get("evidence", {})
    return {"schema": SCHEMA_VERSION, "task": "detection", "run_id": run_id(cell), "study": cfg["study"],
            "cell": cell, "config": {**cfg, "seed": seed, "seeds": None}, "hardest_class": manifest["hardest"]["class"],
            "hardest_rule": manifest["hardest"].get("rule"),
            "hardest_evidence": {k: ev.get(k) for k in ("description", "pilot_seeds", "mean_selection_ap50_95")
                                 if k in ev},
            "train_counts": ds.counts(arm.train), "added_counts": ds.counts(arm.added),
            "train_objects": ds.object_counts(arm.train), "n_real": arm.cell["n_real"], "n_added": len(arm.added),
            "synthetic": None if syn is None else {"generator": syn.generator, "key": syn.key,
                                                   "content_sha256": syn.content_sha256, "root": str(syn.root),
                                                   "counts": syn.counts()},
            "versions": {**library_versions(), "ultralytics": md.version("ultralytics")}, "threads": threads,
            "determinism": DETERMINISM}
