"""A cell is everything that defines a run's numbers, and nothing else (no job number, no time); its hash is
the run ID. Under the cell's lock a run claims it: reuse the record that exists, or train."""
from __future__ import annotations

import logging
from pathlib import Path

from benchmark.arms import ArmData
from benchmark.config.checks import ConfigError
from benchmark.data.ident import dataset_id
from benchmark.endpoints import declared_primary
from benchmark.records import cell_summary, check_record_slot, existing_record, record_path, remove_stale_temp, \
    run_id, write_expected
from benchmark.submit.links import note_claim

log = logging.getLogger("scarce")
# Every cell names its task, so two tasks never share a run ID; classification cells predate tasks and leave
# it out, so their run IDs (and every classification study recorded before tasks) stay what they were.
UNTAGGED_TASKS = ("classification",)


def make_cell(cfg: dict, task, mhash: str, arm: ArmData, seed: int, threads: int, fold: int | None = None) -> dict:
    """`threads` is the resolved torch thread count: float reduction order depends on it, so a run under
    another count is another cell. The task adds what else defines it (model, trainer, volume, ...)."""
    tag = {} if task.name in UNTAGGED_TASKS else {"task": task.name}
    return {**tag, "dataset": dataset_id(cfg["dataset"]), "manifest_sha256": mhash, **fold_of(fold), **arm.cell,
            "seed": int(seed), **task.cell(cfg, arm), "threads": int(threads)}


def fold_of(fold: int | None) -> dict:
    """A cell's fold of a cross-fitted manifest (absent on a single split: its run IDs stay what they were)."""
    return {} if fold is None else {"fold": int(fold)}


def claim(cfg: dict, sdir: Path, cell: dict) -> dict | None:
    """Under the cell's lock: drop temp files of a killed writer, declare the cell for `scarce status`,
    and return the existing record to keep instead of training (or None to train)."""
    rid = run_id(cell)
    check_record_slot(sdir, rid)  # before minutes of training, not after
    remove_stale_temp(sdir, rid)  # safe: no live writer can own them while we hold the lock
    gen = cfg["generator"]["name"] if cell.get("synthetic") is not None else None  # arms that ask a generator
    write_expected(sdir, rid, cell_summary(rid, cell, gen))
    note_claim(sdir, rid)  # a job our SLURM launchers submitted: link its job id to the cell (scarce status)
    return reusable(cfg, sdir, rid)


def reusable(cfg: dict, sdir: Path, rid: str) -> dict | None:
    """The existing record to keep instead of training: an ok one, and a failed one unless
    `retry_failed=true` (a deterministic failure would only fail again); `force=true` reruns both."""
    rec = None if cfg.get("force", False) else existing_record(sdir, rid)
    if rec is None:
        return None
    where = record_path(sdir, rid)
    if rec["status"] == "ok":
        log.info("skip %s: ok record exists (%s)", rid, where)
        return same_primary(cfg, rec, where)
    if cfg.get("retry_failed", False):
        log.info("retry %s: failed record exists (%s) and retry_failed=true", rid, where)
        return None
    log.info("skip %s: failed record exists (%s: %s); rerun it with retry_failed=true", rid, where,
             (rec.get("error") or {}).get("message"))
    return same_primary(cfg, rec, where)


def same_primary(cfg: dict, rec: dict, where: Path) -> dict:
    """A record kept for this run must have been run under the primary endpoint this run declares: the
    primary endpoint is declared before running, never switched on records that exist (ConfigError)."""
    want, had = declared_primary(cfg), declared_primary(rec.get("config"))
    if want != had:
        raise ConfigError("endpoints.primary", want, repr(had), message=(
            f"endpoints.primary={want!r}: the study's record {where} was run declaring {had!r}; the primary "
            f"endpoint is declared before running: use a new study, or endpoints.primary={had}, or force=true "
            "to rerun every cell"))
    return rec
