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
from benchmark.arms import ArmData, build_arm, few_shot_subset
from benchmark.audit import ensure_audited
from benchmark.data import create_dataset
from benchmark.metrics import classification_metrics
from benchmark.generators import GENERATORS
from benchmark.records import SCHEMA_VERSION, cell_locks, cell_summary, check_record_slot, ensure_writable, \
    existing_record, library_versions, record_path, remove_stale_temp, run_id, write_expected, write_record
from benchmark.split.manifest import check_no_synthetic_in_test, default_manifest_path, file_hashes, \
    load_manifest, manifest_sha256, split_items, split_units, verify
from benchmark.train import check_threads, create_engine, set_threads
from benchmark.train.finetune import total_steps
from benchmark.train.models import check_model

log = logging.getLogger("scarce")


def dataset_from_cfg(dcfg: dict):
    opts = {k: v for k, v in dcfg.items() if k != "name"}
    return create_dataset(dcfg["name"], **opts)


def study_dir(cfg: dict) -> Path:
    return Path(cfg["results_root"]) / cfg["study"]


def make_cell(cfg: dict, mhash: str, arm: ArmData, seed: int, threads: int) -> dict:
    """Everything that defines the numbers of a run, and nothing else (no job number, no time). `threads` is the
    resolved torch thread count: float reduction order depends on it, so a run under another count is another cell."""
    return {"dataset": cfg["dataset"]["name"], "manifest_sha256": mhash, **arm.cell, "seed": int(seed),
            "k": cfg.get("k"), "model": cfg["model"], "trainer": cfg["trainer"],
            "synthetic": cfg["synthetic"] if arm.arm != "real" else None, "threads": int(threads)}


def requested_seeds(cfg: dict) -> list[int]:
    """`seeds=[...]` trains a block of seeds in one job (vectorised by engines that can); else `seed`."""
    raw = cfg.get("seeds") or [cfg["seed"]]
    not_int = [s for s in raw if not isinstance(s, int) or isinstance(s, bool)]
    if not_int:
        raise ValueError(f"seed(s) {not_int} are not integers; expected integers >= 0")
    seeds = [int(s) for s in raw]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds={seeds}: duplicated seed; expected distinct seeds")
    bad = [s for s in seeds if s < 0]
    if bad:
        raise ValueError(f"seed(s) {bad} are negative; expected integers >= 0")
    return seeds


def check_config(cfg: dict) -> None:
    """Refuse a config that can only fail, before data is read and before a failed record could be written
    (config mistakes are not training failures: they would be skipped, not retried, by later sweeps)."""
    check_threads(cfg.get("threads", 1))  # an int >= 1 or "auto"; part of the cell
    create_engine(cfg["trainer"]["engine"])  # KeyError listing the known engines
    check_model(cfg["model"])
    if cfg["arm"]["name"] != "real":
        GENERATORS.get(cfg["generator"]["name"])  # KeyError listing the known generators
    total_steps(cfg["trainer"], 1)  # max_steps xor epochs


def load_frozen(cfg: dict, seeds: list[int]):
    """Dataset and its verified frozen manifest; refuses changed files and reported pilot seeds."""
    dataset = dataset_from_cfg(cfg["dataset"])
    return dataset, frozen_manifest(cfg, dataset, seeds, ("train", "test"))


def frozen_manifest(cfg: dict, dataset, seeds: list[int], splits: tuple[str, ...]) -> dict:
    """The manifest of `dataset` (`split.manifest` or its default), verified on `splits`, with a hardest class,
    and no reported seed among the pilot seeds that chose it. Shared by classification and detection."""
    mpath = Path(cfg["split"]["manifest"] or default_manifest_path(dataset.name))
    manifest = load_manifest(mpath)
    verify(manifest, dataset, splits)
    if manifest["hardest"] is None:
        raise ValueError(f"{mpath}: field 'hardest' is empty; run `scarce split {dataset.name}` to choose it")
    pilots = manifest["hardest"].get("evidence", {}).get("pilot_seeds", [])
    if set(seeds) & set(pilots):
        raise ValueError(f"seed(s) {sorted(set(seeds) & set(pilots))} are pilot seeds used to choose the "
                         f"hardest class {pilots}; reported seeds must be disjoint from pilot seeds")
    return manifest


def arm_for(cfg: dict, dataset, manifest: dict, seed: int | None) -> ArmData:
    """The arm's training items. With `k`, the real train split is first cut to k labels per class,
    drawn by the seed, so every arm of a seed sees the same k real images (and generators see only them)."""
    train = split_items(manifest, "train")
    if cfg.get("k") is not None:
        train = few_shot_subset(train, int(cfg["k"]), int(seed))
    cache = Path(cfg["cache_root"]) / "synthetic" / dataset.name
    arm = build_arm(cfg["arm"]["name"], dataset, train, file_hashes(manifest, "train"),
                    manifest["hardest"]["class"], cfg["generator"], cfg["synthetic"], cache)
    check_no_synthetic_in_test(manifest, arm.added)
    ensure_audited(cfg, dataset, manifest, arm.synthetic)  # refuses near-copies of test images (benchmark/audit)
    return arm


def run(cfg: DictConfig | dict) -> dict:
    """Run one cell (`seed`) and write its record; an existing `ok` record for the cell is reused."""
    return run_seeds(cfg)[0]


def run_seeds(cfg: DictConfig | dict) -> list[dict]:
    """Run the cells of `seeds` (or the one `seed`) for one arm; one record per seed, ok ones skipped."""
    cfg = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    if cfg["dataset"].get("task") == "detection":  # boxes + YOLO: same protocol, its own runner
        from benchmark.detect.runner import run_detection

        return run_detection(cfg, _launcher_workers())
    t0 = time.perf_counter()
    seeds = requested_seeds(cfg)
    check_config(cfg)
    threads = set_threads(cfg.get("threads", 1), _launcher_workers())  # every job sets its own (part of the cell)
    dataset, manifest = load_frozen(cfg, seeds)
    ensure_writable(study_dir(cfg))
    # Without k all seeds share one training set (one engine call, vectorised where possible);
    # with k each seed has its own k-shot subset.
    groups = [(None, seeds)] if cfg.get("k") is None else [(s, [s]) for s in seeds]
    out: dict[int, dict] = {}
    for subset_seed, group in groups:
        arm = arm_for(cfg, dataset, manifest, subset_seed)
        out.update(_run_group(cfg, dataset, manifest, arm, group, threads, t0))
    return [out[s] for s in seeds]


def _run_group(cfg: dict, dataset, manifest: dict, arm: ArmData, seeds: list[int], threads: int,
               t0: float) -> dict[int, dict]:
    """Lock the cells (another sweep may be on them), keep the records that exist, train the rest."""
    mhash, sdir = manifest_sha256(manifest), study_dir(cfg)
    cells = {s: make_cell(cfg, mhash, arm, s, threads) for s in seeds}
    with cell_locks(sdir, [run_id(c) for c in cells.values()]):  # files named by a run ID: written only
        out = {s: rec for s, c in cells.items() if (rec := _claim(cfg, sdir, c)) is not None}  # under its lock
        todo = [s for s in seeds if s not in out]
        results = _fit(cfg, dataset, arm, split_items(manifest, "test"), todo, manifest["hardest"]["class"])
        for s in todo:
            record = _base_record(cfg, s, cells[s], manifest, dataset, arm, threads)
            record.update(results[s])
            if record["status"] == "ok" and (units := split_units(manifest, "test")) is not None:
                record["predictions"]["groups"] = units  # independent test units (benchmark/stats/crossed)
            record["timings"] = {"total_s": time.perf_counter() - t0, "seeds_in_job": len(todo)}
            _log_record(record, write_record(sdir, record))
            out[s] = record
    return out


def _claim(cfg: dict, sdir: Path, cell: dict) -> dict | None:
    """Under the cell's lock: drop temp files of a killed writer, declare the cell for `scarce status`,
    and return the existing record to keep instead of training (or None to train)."""
    rid = run_id(cell)
    check_record_slot(sdir, rid)  # before minutes of training, not after
    remove_stale_temp(sdir, rid)  # safe: no live writer can own them while we hold the lock
    gen = cfg["generator"]["name"] if cell["arm"] != "real" else None
    write_expected(sdir, rid, cell_summary(rid, cell, gen))
    return _reusable(cfg, sdir, rid)


def _reusable(cfg: dict, sdir: Path, rid: str) -> dict | None:
    """The existing record to keep instead of training: an ok one, and a failed one unless
    `retry_failed=true` (a deterministic failure would only fail again); `force=true` reruns both."""
    rec = None if cfg.get("force", False) else existing_record(sdir, rid)
    if rec is None:
        return None
    where = record_path(sdir, rid)
    if rec["status"] == "ok":
        log.info("skip %s: ok record exists (%s)", rid, where)
        return rec
    if cfg.get("retry_failed", False):
        log.info("retry %s: failed record exists (%s) and retry_failed=true", rid, where)
        return None
    log.info("skip %s: failed record exists (%s: %s); rerun it with retry_failed=true", rid, where,
             (rec.get("error") or {}).get("message"))
    return rec


def _fit(cfg: dict, dataset, arm: ArmData, test, seeds: list[int], hardest: str) -> dict[int, dict]:
    """{seed: record fields}: metrics and per-image probabilities, or the failure with its traceback."""
    if not seeds:
        return {}
    try:
        engine = create_engine(cfg["trainer"]["engine"])
        fitted = engine(dataset, arm.train, test, cfg, seeds)
        y = np.array([dataset.classes.index(it.label) for it in test])
        out = {}
        for s, (probs, fit_log) in zip(seeds, fitted):
            out[s] = {"status": "ok", "error": None, "fit": fit_log,
                      "metrics": classification_metrics(y, probs, dataset.classes, hardest),
                      "predictions": {"paths": [it.path for it in test], "labels": y.tolist(),
                                      "probs": np.round(probs, 6).tolist()}}
        return out
    except Exception as e:  # MemoryError and torch OOM (a RuntimeError) included. KeyboardInterrupt and
        # SystemExit are BaseExceptions and SIGTERM/SIGKILL end the process: no record, the cell stays missing.
        log.error("%s seeds %s failed: %s: %s", cfg["arm"]["name"], seeds, type(e).__name__, e)
        err = {"type": type(e).__name__, "message": str(e) or type(e).__name__, "traceback": traceback.format_exc()}
        return {s: {"status": "failed", "error": err} for s in seeds}


def _base_record(cfg: dict, seed: int, cell: dict, manifest: dict, dataset, arm: ArmData, threads: int) -> dict:
    return {"schema": SCHEMA_VERSION, "run_id": run_id(cell), "study": cfg["study"], "cell": cell,
            "config": {**cfg, "seed": seed, "seeds": None}, "hardest_class": manifest["hardest"]["class"],
            "hardest_rule": manifest["hardest"].get("rule"),
            "hardest_evidence": _evidence_summary(manifest["hardest"]),
            "train_counts": dataset.counts(arm.train), "added_counts": dataset.counts(arm.added),
            "synthetic": _synthetic_info(arm), "versions": library_versions(), "threads": threads}


def _log_record(record: dict, path: Path) -> None:
    acc = (record.get("metrics") or {}).get("hardest_class_accuracy")
    log.info("%s %s seed=%s %s: hardest %s acc=%s -> %s", record["status"], record["cell"]["arm"],
             record["cell"]["seed"], record["cell"]["dataset"], record["hardest_class"], acc, path)


def _evidence_summary(hardest: dict) -> dict:
    ev = hardest.get("evidence", {})
    return {k: ev.get(k) for k in ("description", "pilot_seeds", "mean_selection_accuracy") if k in ev}


def _synthetic_info(arm: ArmData) -> dict | None:
    s = arm.synthetic
    if s is None:
        return None
    return {"generator": s.generator, "key": s.key, "content_sha256": s.content_sha256, "root": str(s.root),
            "counts": s.counts(), "audit": s.meta.get("audit")}


def _launcher_workers() -> int:
    """n_jobs of the joblib launcher when running under it (`threads=auto` gives each worker its share of cores)."""
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

    from benchmark.experiments import dataset_available, write_skip_note

    if cfg.get("skip_unavailable"):  # multi-dataset experiments: absent datasets get a note, not a crash
        plain = OmegaConf.to_container(cfg, resolve=True)
        ok, reason = dataset_available(plain["dataset"], plain["split"]["manifest"])
        if not ok:
            if HydraConfig.get().mode == RunMode.RUN:
                raise SystemExit(f"not run: {reason}")
            log.warning("skipped: %s (note: %s)", reason, write_skip_note(plain, reason))
            return {"run_id": None, "status": "skipped", "reason": reason}
    records = run_seeds(cfg)
    record = records[0]
    if record["status"] != "ok" and HydraConfig.get().mode == RunMode.RUN:
        raise SystemExit(f"run {record['run_id']} failed: {record['error']['type']}: "  # non-zero exit
                         f"{record['error']['message']} (rerun it with retry_failed=true)")
    return {"run_id": record["run_id"], "status": record["status"]}


def main() -> None:
    import sys

    # The defaults list holds `experiment: null` (lightning-hydra-template style: `experiment=demo`), which
    # makes Hydra refuse the other common spelling `+experiment=demo` ("Multiple values for experiment").
    # Both mean the same here, so accept both.
    sys.argv = [a[1:] if a.startswith("+experiment=") else a for a in sys.argv]
    _hydra_main()
