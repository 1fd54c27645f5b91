"""`scarce-run`: one run = one cell (dataset × arm × generator × seed × model × budget).

`main` is a thin Hydra shell; `run(cfg) -> record` does the work and is what tests call.
"""
from __future__ import annotations

import logging
import os
import time
import traceback
from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from benchmark import PROJECT_ROOT
from benchmark.arms import ArmData, build_arm
from benchmark.data import create_dataset
from benchmark.metrics import classification_metrics
from benchmark.records import SCHEMA_VERSION, existing_ok, library_versions, read_record, record_path, \
    run_id, write_record
from benchmark.split.manifest import check_no_synthetic_in_test, default_manifest_path, file_hashes, \
    load_manifest, manifest_sha256, split_items, verify
from benchmark.train import create_engine, set_threads

log = logging.getLogger("scarce")


def dataset_from_cfg(dcfg: dict):
    opts = {k: v for k, v in dcfg.items() if k != "name"}
    return create_dataset(dcfg["name"], **opts)


def study_dir(cfg: dict) -> Path:
    return Path(cfg["results_root"]) / cfg["study"]


def make_cell(cfg: dict, mhash: str, arm: ArmData) -> dict:
    """Everything that defines the numbers of a run, and nothing else (no job number, no time)."""
    return {"dataset": cfg["dataset"]["name"], "manifest_sha256": mhash, **arm.cell, "seed": int(cfg["seed"]),
            "k": cfg.get("k"), "model": cfg["model"], "trainer": cfg["trainer"],
            "synthetic": cfg["synthetic"] if arm.arm != "real" else None}


def prepare(cfg: dict):
    """Dataset, verified manifest, hardest class and the arm's training items."""
    dataset = dataset_from_cfg(cfg["dataset"])
    mpath = Path(cfg["split"]["manifest"] or default_manifest_path(dataset.name))
    manifest = load_manifest(mpath)
    verify(manifest, dataset, ("train", "test"))
    if manifest["hardest"] is None:
        raise ValueError(f"{mpath}: field 'hardest' is empty; run `scarce split {dataset.name}` to choose it")
    pilots = manifest["hardest"].get("evidence", {}).get("pilot_seeds", [])
    if int(cfg["seed"]) in pilots:
        raise ValueError(f"seed={cfg['seed']} is a pilot seed used to choose the hardest class {pilots}; "
                         "reported seeds must be disjoint from pilot seeds")
    train = split_items(manifest, "train")
    sha = file_hashes(manifest, "train")
    cache = Path(cfg["cache_root"]) / "synthetic" / dataset.name
    arm = build_arm(cfg["arm"]["name"], dataset, train, sha, manifest["hardest"]["class"], cfg["generator"],
                    cfg["synthetic"], cache)
    check_no_synthetic_in_test(manifest, arm.added)
    return dataset, manifest, arm


def run(cfg: DictConfig | dict) -> dict:
    """Run one cell and write its record; an existing `ok` record for the same cell is reused."""
    cfg = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    t0 = time.perf_counter()
    threads = set_threads(cfg.get("threads"), _launcher_workers())
    dataset, manifest, arm = prepare(cfg)
    cell = make_cell(cfg, manifest_sha256(manifest), arm)
    rid, sdir = run_id(cell), study_dir(cfg)
    if existing_ok(sdir, rid) and not cfg.get("force", False):
        log.info("skip %s: ok record exists (%s)", rid, record_path(sdir, rid))
        return read_record(record_path(sdir, rid))
    hardest = manifest["hardest"]["class"]
    record = {"schema": SCHEMA_VERSION, "run_id": rid, "study": cfg["study"], "cell": cell, "config": cfg,
              "hardest_class": hardest, "hardest_rule": manifest["hardest"].get("rule"),
              "hardest_evidence": _evidence_summary(manifest["hardest"]),
              "train_counts": dataset.counts(arm.train), "added_counts": dataset.counts(arm.added),
              "synthetic": _synthetic_info(arm), "versions": library_versions(), "threads": threads}
    test = split_items(manifest, "test")
    try:
        engine = create_engine(cfg["trainer"]["engine"])
        probs, fit_log = engine(dataset, arm.train, test, cfg["model"], cfg["trainer"], int(cfg["seed"]))
        y = np.array([dataset.classes.index(it.label) for it in test])
        record.update(status="ok", error=None, fit=fit_log,
                      metrics=classification_metrics(y, probs, dataset.classes, hardest),
                      predictions={"paths": [it.path for it in test], "labels": y.tolist(),
                                   "probs": np.round(probs, 6).tolist()})
    except Exception as e:  # the sweep goes on; the failure is recorded with its traceback
        log.error("run %s failed: %s", rid, e)
        record.update(status="failed", error={"type": type(e).__name__, "message": str(e),
                                              "traceback": traceback.format_exc()})
    record["timings"] = {"total_s": time.perf_counter() - t0}
    path = write_record(sdir, record)
    acc = (record.get("metrics") or {}).get("hardest_class_accuracy")
    log.info("%s %s seed=%s %s: hardest %s acc=%s -> %s", record["status"], cfg["arm"]["name"], cfg["seed"],
             cfg["dataset"]["name"], hardest, acc, path)
    return record


def _evidence_summary(hardest: dict) -> dict:
    ev = hardest.get("evidence", {})
    return {k: ev.get(k) for k in ("description", "pilot_seeds", "mean_selection_accuracy") if k in ev}


def _synthetic_info(arm: ArmData) -> dict | None:
    s = arm.synthetic
    if s is None:
        return None
    return {"generator": s.generator, "key": s.key, "content_sha256": s.content_sha256, "root": str(s.root),
            "counts": s.counts()}


def _launcher_workers() -> int:
    """n_jobs of the joblib launcher when running under it (so each worker gets its share of cores)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        n = int(HydraConfig.get().launcher.get("n_jobs") or 1)
    except Exception:  # not under Hydra (tests, pilots) or a launcher without n_jobs
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return n if n > 0 else max(1, cores + 1 + n)  # joblib: -1 = all cores, -2 = all but one


@hydra.main(version_base="1.3", config_path=str(PROJECT_ROOT / "conf"), config_name="config")
def _hydra_main(cfg: DictConfig) -> dict | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    record = run(cfg)
    if record["status"] != "ok" and HydraConfig.get().mode == RunMode.RUN:
        raise SystemExit(f"run {record['run_id']} failed: {record['error']['message']}")  # non-zero exit
    return {"run_id": record["run_id"], "status": record["status"]}


def main() -> None:
    _hydra_main()
