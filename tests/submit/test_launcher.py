"""The SLURM launchers without a cluster: submitit's executor replaced by a stand-in that records what
would go to sbatch. `wait: false` must return at once with COMPLETED "submitted" JobReturns (Hydra's
sweeper reads return_value of each), never touch a job's results, and record the submission; `wait: true`
collects the results as the plugin did. Jobs link their job id to the cells they claim (note_claim)."""
from __future__ import annotations

import json

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.utils import JobStatus
from omegaconf import OmegaConf

from benchmark import PROJECT_ROOT
from benchmark.submit.links import JOB_ENV, link_path, note_claim, read_link


class FakeJob:
    def __init__(self, job_id: str):
        self.job_id = job_id

    def results(self):
        if FakeExecutor.no_wait:
            raise AssertionError(f"waited for job {self.job_id}")
        return [f"result of {self.job_id}"]


class FakeExecutor:
    no_wait = True
    made: list = []

    def __init__(self, cluster, folder, **init):
        self.cluster, self.folder, self.init, self.params = cluster, folder, init, {}
        FakeExecutor.made.append(self)

    def update_parameters(self, **params):
        self.params.update(params)

    def map_array(self, fn, *args):
        self.fn, self.args = fn, args
        return [FakeJob(f"41_{i}") for i in range(len(args[0]))]


def launcher(tmp_path, monkeypatch, *overrides):
    import submitit

    from hydra_plugins.scarce_launcher.slurm_launcher import SlurmLauncher

    monkeypatch.setattr(submitit, "AutoExecutor", FakeExecutor)
    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", return_hydra_config=True, overrides=[
            "study=bg", f"results_root={tmp_path / 'results'}", f"hydra.sweep.dir={tmp_path / 'sweep'}", *overrides])
    params = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    params.pop("_target_")
    params["submitit_folder"] = str(tmp_path / "sweep" / ".submitit" / "%j")
    lau = SlurmLauncher(**params)
    lau.config = cfg
    return lau


JOBS = [["study=bg", "arm=real", "seed=0"], ["study=bg", "arm=placebo", "seed=0"]]  # study as on the command line


def test_slurm_submit_returns_without_waiting(tmp_path, monkeypatch):
    FakeExecutor.no_wait, FakeExecutor.made = True, []
    lau = launcher(tmp_path, monkeypatch, "hydra/launcher=slurm_submit", "hydra.launcher.partition=gpu")
    assert lau.wait is False
    rets = lau.launch(JOBS, initial_job_idx=0)
    assert [r.status for r in rets] == [JobStatus.COMPLETED] * 2  # the sweeper's `r.return_value` does not raise
    assert [r.return_value for r in rets] == [{"run_id": None, "status": "submitted", "job_id": f"41_{i}"}
                                              for i in range(2)]
    ex = FakeExecutor.made[0]
    assert ex.cluster == "slurm" and ex.init == {"slurm_max_num_timeout": 2}
    assert ex.params["slurm_partition"] == "gpu" and "wait" not in ex.params and "slurm_wait" not in ex.params
    assert ex.args[0] == tuple(JOBS) and ex.args[2] == (0, 1)  # overrides and Hydra job numbers, in task order
    sub = json.loads((tmp_path / "results" / "bg" / ".submissions" / "41.json").read_text())
    assert sub["job_id"] == "41" and sub["wait"] is False and sub["scheduler"] == "slurm"
    assert sub["tasks"] == [{"job_id": f"41_{i}", "job_num": i, "overrides": o} for i, o in enumerate(JOBS)]


def test_slurm_waits_by_default(tmp_path, monkeypatch):
    FakeExecutor.no_wait, FakeExecutor.made = False, []
    lau = launcher(tmp_path, monkeypatch, "hydra/launcher=slurm")
    assert lau.wait is True
    assert lau.launch(JOBS, initial_job_idx=3) == ["result of 41_0", "result of 41_1"]
    sub = json.loads((tmp_path / "results" / "bg" / ".submissions" / "41.json").read_text())
    assert sub["wait"] is True and [t["job_num"] for t in sub["tasks"]] == [3, 4]


def test_launcher_schema_refuses_unknown_keys():
    from hydra.errors import ConfigCompositionException

    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        assert compose(config_name="config", return_hydra_config=True,
                       overrides=["hydra/launcher=slurm", "hydra.launcher.wait=false"]).hydra.launcher.wait is False
        with pytest.raises(ConfigCompositionException):
            compose(config_name="config", return_hydra_config=True, overrides=["hydra/launcher=slurm", "hydra.launcher.wiat=1"])


def test_note_claim_links_only_submitted_jobs(tmp_path, monkeypatch):
    monkeypatch.delenv(JOB_ENV, raising=False)
    note_claim(tmp_path, "aaa")
    assert not (tmp_path / ".submissions").exists()  # not started by our launchers: nothing written
    monkeypatch.setenv(JOB_ENV, "41_1")
    for rid in ("aaa", "bbb", "aaa"):  # a seed block claims several cells; a requeued job claims them again
        note_claim(tmp_path, rid)
    assert read_link(link_path(tmp_path, "41_1")) == ["aaa", "bbb"]


def test_swept_study_gets_a_submission_file_each(tmp_path, monkeypatch):
    class Loader:  # what Hydra's config loader does for a job's overrides, as far as the study goes
        def load_sweep_config(self, cfg, overrides):
            out = cfg.copy()
            out.study = dict(o.split("=", 1) for o in overrides)["study"]
            return out

    FakeExecutor.no_wait, FakeExecutor.made = True, []
    lau = launcher(tmp_path, monkeypatch, "hydra/launcher=slurm_submit")
    lau.hydra_context = type("Ctx", (), {"config_loader": Loader()})()
    lau.launch([["study=bg", "seed=0"], ["study=other", "seed=0"], ["study=other", "seed=1"]], initial_job_idx=0)
    subs = {p.parent.parent.name: json.loads(p.read_text()) for p in (tmp_path / "results").glob("*/.submissions/41.json")}
    assert {k: [t["job_id"] for t in v["tasks"]] for k, v in subs.items()} == {"bg": ["41_0"], "other": ["41_1", "41_2"]}
