"""The protocol core: one cell (dataset × arm × generator × seed × model × budget) → one record, for any task.

    seeds, config schema + guards → threads → dataset + verified frozen manifest (pilot seeds refused)
      → per seed group: arm (train + added) → no synthetic file in test → audit (refuses test near-copies)
        → per cell, under its lock: reuse the record or fit (failures captured) → base + task record, atomic

What differs per task (data, arms, engines, scores, record fields) is behind `benchmark.tasks.base.Task`.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from benchmark.arms import ArmData
from benchmark.config import validate
from benchmark.protocol.cells import claim, make_cell
from benchmark.protocol.guards import check_common, frozen_manifest, requested_seeds
from benchmark.protocol.record import base_record, failure
from benchmark.protocol.sets import arm_groups, audit_gate
from benchmark.records import cell_locks, ensure_writable, run_id, write_record
from benchmark.config.checks import ConfigError
from benchmark.progress.events import SweepEvents
from benchmark.split.folds import fold_view, frozen_sha256, n_folds
from benchmark.split.manifest import check_no_synthetic_in_test
from benchmark.tasks import create_task
from benchmark.train import set_threads

log = logging.getLogger("scarce")


def study_dir(cfg: dict) -> Path:
    return Path(cfg["results_root"]) / cfg["study"]


def task_of(cfg: dict):
    """The task instance `task.name` names (conf/task/)."""
    return create_task((cfg.get("task") or {}).get("name") or "classification")


def run_cells(cfg: dict, workers: int = 1, progress: SweepEvents | None = None) -> list[dict]:
    """Run the cells of `seeds` (or the one `seed`) for one arm; one record per seed, existing ones reused.
    `workers`: the launcher's parallel jobs (`threads=auto` gives each its share of the cores). `progress`:
    under `scarce-run -m`, where each cell's outcome is appended for the sweep's progress line."""
    t0 = time.perf_counter()
    task, seeds = checked_config(cfg)
    threads = set_threads(cfg.get("threads", 1), workers)  # every job sets its own (part of the cell)
    dataset = task.load_dataset(cfg["dataset"])
    manifest = frozen_manifest(cfg, dataset, seeds, task.verify_splits)
    ensure_writable(study_dir(cfg))
    cache = Path(cfg["cache_root"]) / "synthetic" / dataset.name
    out: list[dict] = []
    views = fold_views(cfg, task, manifest)  # a single split is its own one view
    if progress is not None:
        progress.plan(len(seeds) * len(views))
    for view in views:
        got: dict[int, dict] = {}
        for arm_cfg, subset_seed, group in arm_groups(cfg, task, seeds):  # per_seed: a set per seed (sets.py)
            arm = task.build_arm(arm_cfg, dataset, view, subset_seed, cache)
            check_no_synthetic_in_test(view, arm.added)
            refused = audit_gate(cfg, dataset, view, arm.synthetic, group)  # near-copies of test images (benchmark/audit)
            got.update(_run_group(cfg, task, dataset, view, arm, group, threads, t0, progress, refused))
        out += [got[s] for s in seeds]
    return out


def fold_views(cfg: dict, task, manifest: dict) -> list[dict]:
    """The manifests this job runs on: the single split, or of a K-fold manifest fold `split.fold` (null =
    every fold, one after the other: the feature bank embeds each image once for all of them)."""
    k = n_folds(manifest)
    if k == 1:
        if (cfg.get("split") or {}).get("fold") is not None:
            raise ConfigError("split.fold", cfg["split"]["fold"], "null: the manifest is a single split, not folds")
        return [fold_view(manifest, 0)]  # itself, or its base without the oracle's reserve
    if not task.cross_fitted:
        raise ConfigError("split.manifest", cfg["split"]["manifest"], f"a single split: the {task.name} task has "
                          f"no cross-fitted folds yet, and this manifest has {k}")
    fold = cfg["split"].get("fold")
    if fold is not None and not 0 <= fold < k:
        raise ConfigError("split.fold", fold, f"null (every fold) or 0..{k - 1}: the manifest has {k} folds")
    return [fold_view(manifest, f) for f in (range(k) if fold is None else [fold])]


def checked_config(cfg: dict):
    """(task, seeds) of a config that passed every check made before data is read. What these refuse is a
    config mistake, never a run's failure: the error is marked (`config_error`) so `scarce-run` exits 2 with
    its one line, whatever its type (KeyError for unknown names, FileNotFoundError for a missing checkpoint)."""
    try:
        task = task_of(cfg)
        seeds = requested_seeds(cfg)
        validate(cfg)  # types and ranges of every key (benchmark/config): a ConfigError, never a failed record
        check_common(cfg, task)
        task.check_config(cfg)
    except (ValueError, KeyError, OSError) as e:
        e.config_error = True
        raise
    return task, seeds


def _run_group(cfg: dict, task, dataset, manifest: dict, arm: ArmData, seeds: list[int], threads: int,
               t0: float, progress: SweepEvents | None = None, refused: Exception | None = None) -> dict[int, dict]:
    """Lock the cells (another sweep may be on them), keep the records that exist, fit the rest (or, for a
    per-seed set the audit refused, record the refusal as the seed's failure)."""
    mhash, sdir = frozen_sha256(manifest), study_dir(cfg)  # a fold's view: the stored manifest's hash
    cells = {s: make_cell(cfg, task, mhash, arm, s, threads, manifest.get("fold")) for s in seeds}
    rids = {s: run_id(c) for s, c in cells.items()}
    with cell_locks(sdir, list(rids.values())):  # files named by a run ID are written only under its lock
        out = {s: rec for s, c in cells.items() if (rec := claim(cfg, sdir, c)) is not None}
        if refused is not None:  # the audit's word stands over a record made before it refused the set
            out = {s: rec for s, rec in out.items() if rec["status"] != "ok"}
        todo = [s for s in seeds if s not in out]
        for s in out if progress is not None else ():
            progress.cell(rids[s], "skipped", 0.0)
        for batch in ([todo] if task.vectorised else [[s] for s in todo]) if todo else []:
            set_threads(threads)  # every batch starts from the cell's count (ultralytics may change it)
            started = time.perf_counter()
            results = ({s: failure(refused) for s in batch} if refused is not None
                       else _fit(cfg, task, dataset, arm, manifest, batch, rids))
            took = (time.perf_counter() - started) / len(batch)  # a vectorised batch: its share per seed
            for s in batch:
                record = base_record(cfg, task, s, cells[s], manifest, dataset, arm, threads)
                record.update(task.record_fields(cfg, dataset, arm))
                record.update(results[s])
                record.setdefault("timings", {}).update(total_s=time.perf_counter() - t0, seeds_in_job=len(todo))
                path = write_record(sdir, record)
                log.info("%s %s seed=%s%s %s: %s -> %s", record["status"], arm.arm, s,
                         f" fold={manifest['fold']}/{manifest['folds']}" if "fold" in manifest else "", dataset.name,
                         task.summary(record), path)
                out[s] = record
                if progress is not None:
                    progress.cell(rids[s], "done" if record["status"] == "ok" else "failed", took)
    return out


def _fit(cfg: dict, task, dataset, arm: ArmData, manifest: dict, seeds: list[int],
         rids: dict[int, str]) -> dict[int, dict]:
    """{seed: record fields}: the task's scores, or the failure with its traceback."""
    try:
        return {s: {"status": "ok", "error": None, **fields}
                for s, fields in task.fit(cfg, dataset, arm, manifest, seeds, rids).items()}
    except Exception as e:  # MemoryError and torch OOM (a RuntimeError) included. KeyboardInterrupt and
        # SystemExit are BaseExceptions and SIGTERM/SIGKILL end the process: no record, the cell stays missing.
        log.error("%s seeds %s failed: %s: %s", arm.arm, seeds, type(e).__name__, e)
        return {s: failure(e) for s in seeds}
