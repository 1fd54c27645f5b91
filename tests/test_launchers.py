"""Launchers are picked by config only, and give the same numbers: the same tiny 3 arms x 3 seeds study
through the basic launcher, joblib (`hydra/launcher=parallel`) and submitit's local executor
(`hydra/launcher=local`) yields identical metrics and per-image probabilities, run ID by run ID.

Under submitit every job is a fresh Python process (~5 s of imports on 2 cores), so there the study is
swept as 3 jobs of one arm x `seeds=[0,1,2]` instead of 9 one-seed jobs: the same 9 cells and run IDs,
a third of the process start-ups, and the comparison also covers seed blocks against one-seed jobs."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

from benchmark import PROJECT_ROOT
from benchmark.records import load_records

BIN = Path(sys.executable).parent
TINY = ["model=timm", "model.name=resnet10t", "model.pretrained=false", "model.image_size=32",
        "trainer.max_steps=3", "trainer.batch_size=8", "trainer.warmup_steps=0", "synthetic.volume=4", "threads=1"]
LAUNCHERS = {"basic": ["seed=0,1,2"], "joblib": ["seed=0,1,2", "hydra/launcher=parallel", "hydra.launcher.n_jobs=2"],
             "submitit_local": ["seeds=[0,1,2]", "hydra/launcher=local"]}


def hydra_launcher(*overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    return dict(cfg.hydra.launcher)


def test_slurm_and_local_configs_compose():
    slurm = hydra_launcher("hydra/launcher=slurm")
    assert slurm["_target_"].endswith("SlurmLauncher")
    for key in ("partition", "timeout_min", "gpus_per_node", "array_parallelism", "max_num_timeout"):
        assert key in slurm, key
    assert slurm["additional_parameters"]["requeue"] is True
    text = (PROJECT_ROOT / "conf/hydra/launcher/slurm.yaml").read_text()
    assert "resumable" in text  # requeue is documented as safe only because runs are resumable
    assert hydra_launcher("hydra/launcher=local")["_target_"].endswith("LocalLauncher")
    assert hydra_launcher("hydra/launcher=slurm", "hydra.launcher.partition=gpu")["partition"] == "gpu"


def test_ray_cluster_config():
    conf = yaml.safe_load((PROJECT_ROOT / "conf/hydra/launcher/ray_cluster.yaml").read_text())
    assert conf["defaults"] == ["ray"] and conf["ray"]["init"]["address"] == "auto"
    if importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is None:
        pytest.skip("hydra-ray-launcher not installed (not a project dependency; see README)")
    launcher = hydra_launcher("hydra/launcher=ray_cluster")
    assert launcher["_target_"].endswith("RayLauncher") and launcher["ray"]["init"]["address"] == "auto"


def test_same_study_same_numbers_on_every_launcher(tmp_path):
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    studies = {}
    for name, extra in LAUNCHERS.items():
        cmd = [str(BIN / "scarce-run"), "-m", "dataset=demo", f"study={name}", "arm=real,placebo,synthetic",
               *TINY, *extra, f"results_root={tmp_path / 'results'}",
               f"cache_root={tmp_path / ('cache-' + name)}"]  # each launcher generates its own synthetic set
        p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        recs = load_records(tmp_path / "results" / name)
        assert len(recs) == 9 and {r["status"] for r in recs} == {"ok"}, name
        studies[name] = {r["run_id"]: r for r in recs}
    # submitit really ran each job in its own process, through its own folder
    assert list((tmp_path / "results" / "submitit_local" / ".hydra" / "multirun").glob("*/.submitit/*"))
    base = studies["basic"]
    for name, recs in studies.items():
        assert set(recs) == set(base), name
        for rid, r in recs.items():
            assert json.dumps(r["metrics"], sort_keys=True) == json.dumps(base[rid]["metrics"], sort_keys=True)
            assert r["predictions"] == base[rid]["predictions"], (name, rid)


def test_default_threads_same_records_under_basic_and_joblib(tmp_path):
    """The same command, with no `threads=` given, gives identical records whether its jobs run one after
    another (basic) or in 2 joblib workers: the default thread count is fixed (1), not cores / workers
    (it used to be 2 threads under basic and 1 under joblib on 2 cores: other probabilities, one run ID)."""
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    tiny = [o for o in TINY if not o.startswith("threads=")]
    studies = {}
    for name, extra in {"basic": [], "joblib": ["hydra/launcher=parallel", "hydra.launcher.n_jobs=2"]}.items():
        cmd = [str(BIN / "scarce-run"), "-m", "dataset=demo", f"study={name}", "arm=real", "seed=0,1", *tiny,
               *extra, f"results_root={tmp_path / 'results'}", f"cache_root={tmp_path / 'cache'}"]
        p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        recs = load_records(tmp_path / "results" / name)
        assert len(recs) == 2 and {r["status"] for r in recs} == {"ok"}, name
        studies[name] = {r["run_id"]: r for r in recs}
    basic, joblib = studies["basic"], studies["joblib"]
    assert set(basic) == set(joblib)
    for rid, r in joblib.items():
        assert r["cell"] == basic[rid]["cell"] and r["threads"] == basic[rid]["threads"] == 1
        assert json.dumps(r["metrics"], sort_keys=True) == json.dumps(basic[rid]["metrics"], sort_keys=True)
        assert r["predictions"] == basic[rid]["predictions"], rid
