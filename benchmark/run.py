"""`scarce-run`: one run = one cell (dataset × arm × generator × seed × model × budget), for any task.

`main` is a thin Hydra shell; `run(cfg) -> record` hands the config to the protocol core
(`benchmark/protocol/core.py`), which is what tests call. Nothing in the package imports this module.
"""
from __future__ import annotations

import logging
import os

import hydra
from omegaconf import DictConfig, OmegaConf

from benchmark import PROJECT_ROOT
from benchmark.protocol import run_cells

log = logging.getLogger("scarce")


def run(cfg: DictConfig | dict) -> dict:
    """Run one cell (`seed`) and write its record; an existing `ok` record for the cell is reused."""
    return run_seeds(cfg)[0]


def run_seeds(cfg: DictConfig | dict) -> list[dict]:
    """Run the cells of `seeds` (or the one `seed`) for one arm; one record per seed, ok ones skipped."""
    cfg = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    return run_cells(cfg, _launcher_workers())


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
    _hydra_main()
