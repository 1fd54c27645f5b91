"""`scarce-run`: one run = one cell (dataset × arm × generator × seed × model × budget), for any task.

`main` is a thin Hydra shell; `run(cfg) -> record` hands the config to the protocol core
(`benchmark/protocol/core.py`), which is what tests call. Nothing in the package imports this module.
"""
from __future__ import annotations

import logging
import os
import sys

import hydra
from omegaconf import DictConfig, OmegaConf

from benchmark import PROJECT_ROOT
from benchmark.config import ConfigError

log = logging.getLogger("scarce")


def run(cfg: DictConfig | dict) -> dict:
    """Run one cell (`seed`) and write its record; an existing `ok` record for the cell is reused."""
    return run_seeds(cfg)[0]


def run_seeds(cfg: DictConfig | dict) -> list[dict]:
    """Run the cells of `seeds` (or the one `seed`) for one arm; one record per seed, ok ones skipped."""
    from benchmark.progress import bars, events
    from benchmark.protocol import run_cells  # here, not at the top: a sweep's submitter never imports torch

    cfg = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    workers = _launcher_workers()
    bars.configure(workers)  # per-cell bars only when this job is the only one on the terminal
    return run_cells(cfg, workers, events.from_hydra())


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
    if HydraConfig.get().mode == RunMode.MULTIRUN and HydraConfig.get().job.num == 0:
        _plan_warning(cfg)  # once, before the sweep's first cell
    records = run_seeds(cfg)
    record = records[0]
    if record["status"] != "ok" and HydraConfig.get().mode == RunMode.RUN:
        raise SystemExit(f"run {record['run_id']} failed: {record['error']['type']}: "  # non-zero exit
                         f"{record['error']['message']} (rerun it with retry_failed=true)")
    return {"run_id": record["run_id"], "status": record["status"]}


def sweep_seed_count(plain: dict, sweeper_params: dict | None, argv: list[str]) -> int:
    """Seeds per arm of a sweep: ``seeds=[...]`` of the job, else the values of the ``seed`` sweep (the
    command line's, over ``hydra.sweeper.params``), else 1."""
    if plain.get("seeds"):
        return len(plain["seeds"])
    from hydra.core.override_parser.overrides_parser import OverridesParser

    given = [a for a in argv if a.split("=", 1)[0] == "seed"] or \
        [f"seed={v}" for k, v in (sweeper_params or {}).items() if k == "seed"]
    if not given:
        return 1
    ov = OverridesParser.create().parse_overrides(given[-1:])[0]
    return len(list(ov.sweep_string_iterator())) if ov.is_sweep_override() else 1


def _plan_warning(cfg: DictConfig) -> None:
    """`scarce plan`'s one-line warning when the study's own design cannot resolve the rule's target effect
    (only from an existing pilots sidecar: a sweep never trains pilots)."""
    from hydra.core.hydra_config import HydraConfig

    from benchmark.report.plan import sweep_warning

    try:
        plain = OmegaConf.to_container(cfg, resolve=True)
        params = HydraConfig.get().sweeper.get("params")
        params = OmegaConf.to_container(params) if isinstance(params, DictConfig) else dict(params or {})
        line = sweep_warning(plain, sweep_seed_count(plain, params, sys.argv[1:]))
    except Exception as e:  # noqa: BLE001  a plan that cannot be made is no reason not to sweep (the run says why)
        line = f"plan: no MDE check ({type(e).__name__}: {e})"
    if line:
        log.warning(line)


CONFIG_EXIT = 2  # a config mistake (schema, composition, override syntax): one line, nothing written


def config_error_line(ex: BaseException) -> str | None:
    """The one line to print for a config mistake, or None for anything else: our ConfigError (also when
    OmegaConf wrapped it, e.g. while resolving hydra.run.dir) or Hydra's own composition / override errors."""
    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    seen, e = set(), ex
    while e is not None and id(e) not in seen:  # our error first, wherever it sits in the chain
        if isinstance(e, ConfigError) or getattr(e, "config_error", False):  # marked by the protocol's checks
            msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
            return " ".join(str(msg).split())
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    if isinstance(ex, (ConfigCompositionException, MissingConfigException, OverrideParseException,
                       OmegaConfBaseException)):
        cause = ex.__cause__
        msg = str(ex) + (f" ({cause})" if isinstance(cause, OmegaConfBaseException) else "")
        return " ".join(msg.split())  # one line
    return None


def main() -> None:
    """`scarce-run`: a config mistake exits 2 with one line (no traceback, no record); a failed run exits 1."""
    import hydra._internal.utils as hydra_utils

    report = hydra_utils.run_and_report

    def run_and_report(func):
        def guarded():
            try:
                return func()
            except Exception as ex:
                line = config_error_line(ex)
                if line is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
                    raise
                print(f"scarce-run: config error: {line}", file=sys.stderr)
                raise SystemExit(CONFIG_EXIT) from None
        return report(guarded)

    hydra_utils.run_and_report = run_and_report  # Hydra would print a traceback and exit 1 for every error
    try:
        _hydra_main()
    finally:
        hydra_utils.run_and_report = report
