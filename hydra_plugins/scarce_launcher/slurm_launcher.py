"""`hydra/launcher=slurm` (waits for the array, as before) and `hydra/launcher=slurm_submit` (`wait: false`:
submits the array and returns at once): hydra-submitit-launcher's SlurmLauncher plus a submission file.

Here, under `hydra_plugins`, because Hydra instantiates launchers from that package only (and imports it
at start-up, which registers the `scarce_slurm` schema: SlurmQueueConf plus `wait`, and, through
benchmark.config, the project's schemas and the `scarce_study` resolver). Keep the imports light (no torch).

Both modes write `<study>/.submissions/<job_id>.json` (job id, array task -> Hydra job number and
overrides, submit time, the sweep command) right after `sbatch` returns; each job, when it claims a cell,
adds the cell's run ID to `<study>/.submissions/tasks/<task job id>.json` (benchmark.submit.links), which is
how `scarce status` joins SLURM's job states to the records. The jobs are the same pickled callable in
both modes, so a sweep submitted in the background writes the same records (same cells, same run IDs).
"""

import datetime as dt
import logging
import os
import shlex
import sys
from dataclasses import dataclass  # no `from __future__ import annotations`: Hydra's plugin scan loads this
from pathlib import Path           # module outside sys.modules, where dataclasses cannot resolve string annotations
from typing import Any, Sequence

from hydra.core.config_store import ConfigStore
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra_plugins.hydra_submitit_launcher import submitit_launcher as upstream
from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf
from omegaconf import OmegaConf

import benchmark.config  # noqa: F401  Hydra imports this module before it composes: the `scarce_study` resolver
from benchmark.records import atomic_write_json
from benchmark.submit.links import JOB_ENV, submissions_dir

log = logging.getLogger("scarce")
SCHEMA = 1
STUDY_KEYS = ("study", "results_root")  # overrides that move a job to another study directory


@dataclass
class ScarceSlurmConf(SlurmQueueConf):
    _target_: str = "hydra_plugins.scarce_launcher.slurm_launcher.SlurmLauncher"
    wait: bool = True  # false: return once sbatch accepted the array (the jobs run on)


ConfigStore.instance().store(group="hydra/launcher", name="scarce_slurm", node=ScarceSlurmConf, provider="scarce")


class SlurmLauncher(upstream.SlurmLauncher):
    """Submits the sweep as one array job, writes the submission file, waits for the jobs unless `wait: false`."""

    def __init__(self, wait: bool = True, **params: Any) -> None:
        super().__init__(**params)  # submitit gets the plugin's parameters only
        self.wait = bool(wait)

    def __call__(self, sweep_overrides, job_dir_key, job_num, job_id, singleton_state):  # on the node
        import submitit

        os.environ[JOB_ENV] = submitit.JobEnvironment().job_id  # "<array>_<task>", or "<id>" for one job
        return super().__call__(sweep_overrides, job_dir_key, job_num, job_id, singleton_state)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        executor = self._executor()
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if "mode" in self.config.hydra.sweep:
            os.chmod(sweep_dir, mode=int(str(self.config.hydra.sweep.mode), 8))
        job_params = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info("\t#%d : %s", idx, " ".join(filter_overrides(overrides)))
            job_params.append((list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state()))
        jobs = executor.map_array(self, *zip(*job_params))  # sbatch: one array (or one job for one cell)
        for study, sub in self._submissions(jobs, job_overrides, initial_job_idx, sweep_dir).items():
            path = submissions_dir(study) / f"{sub['job_id']}.json"
            atomic_write_json(path, sub)
            log.info("submitted %d job(s) as SLURM job %s (%s); scarce status %s", len(sub["tasks"]),
                     sub["job_id"], path, study)
        if self.wait:
            return [j.results()[0] for j in jobs]
        # Hydra's sweeper reads each JobReturn's return_value and its callbacks get the list: COMPLETED
        # returns that say "submitted" let the submitting process end at once (exit 0)
        return [JobReturn(overrides=list(o), cfg=None, hydra_cfg=None, working_dir=str(sweep_dir / str(i)),
                          task_name=str(self.config.hydra.job.name), status=JobStatus.COMPLETED,
                          _return_value={"run_id": None, "status": "submitted", "job_id": j.job_id})
                for i, (o, j) in enumerate(zip(job_overrides, jobs), start=initial_job_idx)]

    def _executor(self):
        """submitit's SLURM executor with this config's parameters (the upstream plugin's own mapping)."""
        import submitit

        params = dict(self.params)
        init = {"folder": params.pop("submitit_folder")}
        if "max_num_timeout" in params:
            init["slurm_max_num_timeout"] = params.pop("max_num_timeout")
        executor = submitit.AutoExecutor(cluster=self._EXECUTOR, **init)
        base = set(OmegaConf.structured(upstream.BaseQueueConf).keys())
        executor.update_parameters(**{k if k in base else f"{self._EXECUTOR}_{k}": v for k, v in params.items()})
        log.info("Submitit '%s' sweep output dir : %s", self._EXECUTOR, self.config.hydra.sweep.dir)
        return executor

    def _submissions(self, jobs, job_overrides, first: int, sweep_dir: Path) -> dict[Path, dict]:
        """One submission record per study directory the jobs write into (one, unless `study` is swept)."""
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        array_id = str(jobs[0].job_id).split("_")[0]
        out: dict[Path, dict] = {}
        for idx, (overrides, job) in enumerate(zip(job_overrides, jobs), start=first):
            study = self._study_of(overrides)
            sub = out.setdefault(study, {
                "schema": SCHEMA, "job_id": array_id, "scheduler": self._EXECUTOR, "submitted": now,
                "wait": self.wait, "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                "cwd": os.getcwd(), "sweep_dir": str(sweep_dir), "tasks": []})
            sub["tasks"].append({"job_id": str(job.job_id), "job_num": idx, "overrides": list(overrides)})
        return out

    def _study_of(self, overrides: Sequence[str]) -> Path:
        cfg = self.config
        moved = [o for o in overrides if (kv := o.lstrip("+~").split("=", 1))[0] in STUDY_KEYS
                 and kv[1:] != [str(cfg.get(kv[0]))]]  # `study=mt` on the command line is in every job: as the base
        if moved:
            cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        return Path(str(cfg.results_root)) / str(cfg.study)
