"""The torch thread count is part of the cell (issue 15, item 11): float reduction order depends on it, so a
record made under one count is never reused for another, and the default is fixed (1), not derived from the
launcher. `threads` must be an int >= 1 or "auto", refused otherwise before any data is read.
The cross-launcher acceptance test is in tests/test_launchers.py."""
from __future__ import annotations

import os

import pytest
from omegaconf import OmegaConf

from benchmark.cli import compose_config
from benchmark.records import load_records, run_id
from benchmark.protocol.cells import make_cell
from benchmark.run import run
from benchmark.tasks import create_task
from benchmark.train import resolve_threads
from tests.protocol.test_resume import make_study

TINY = ["model=timm", "model.name=resnet10t", "model.pretrained=false", "model.image_size=32",
        "trainer.max_steps=3", "trainer.batch_size=8", "trainer.warmup_steps=0", "synthetic.volume=4"]
BAD = ["threads=null", "threads=0", "threads=-1", "threads=1.5", "threads='2'", "threads=true", "threads=many"]


@pytest.fixture
def study(tmp_path):
    return make_study(tmp_path, tiny=TINY)  # no threads= in the base overrides: each test sets its own


def test_default_is_one_thread_on_every_launcher():
    cfg = compose_config([])
    assert cfg.threads == 1
    assert resolve_threads(1, workers=1) == resolve_threads(1, workers=2) == 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert resolve_threads("auto", workers=1) == max(1, cores)
    assert resolve_threads("auto", workers=cores * 4) == 1


def test_threads_is_in_the_cell_and_its_run_id():
    from benchmark.arms import ArmData

    arm = ArmData("real", [], cell={"arm": "real"})
    cfg = OmegaConf.to_container(compose_config(["arm=real"]), resolve=True)
    task = create_task("classification")
    one, two = make_cell(cfg, task, "m" * 64, arm, 0, 1), make_cell(cfg, task, "m" * 64, arm, 0, 2)
    assert one["threads"] == 1 and two["threads"] == 2
    assert run_id(one) != run_id(two)


def test_record_under_another_thread_count_is_not_reused(study):
    over, sdir = study
    one = run(compose_config([*over, "arm=real", "seed=0"]))  # the default: 1 thread
    assert one["status"] == "ok" and one["cell"]["threads"] == one["threads"] == 1
    two = run(compose_config([*over, "arm=real", "seed=0", "threads=2"]))
    assert two["status"] == "ok" and two["cell"]["threads"] == two["threads"] == 2
    assert two["run_id"] != one["run_id"] and two["timings"] != one["timings"]  # trained, not the 1-thread record
    assert len(load_records(sdir)) == 2
    again = run(compose_config([*over, "arm=real", "seed=0", "threads=1"]))  # its own record is still reused
    assert again["run_id"] == one["run_id"] and again["timings"] == one["timings"]
    auto = run(compose_config([*over, "arm=real", "seed=0", "threads=auto"]))  # auto: the resolved count is the cell
    assert auto["cell"]["threads"] == resolve_threads("auto")
    assert auto["run_id"] == {1: one, 2: two}.get(auto["cell"]["threads"], auto)["run_id"]  # same count, same cell


@pytest.mark.parametrize("bad", BAD)
def test_bad_threads_refused_before_data_is_read(tmp_path, bad):
    over = ["dataset=imagefolder", "dataset.id=imagefolder", f"dataset.root={tmp_path / 'absent'}", f"results_root={tmp_path / 'r'}",
            f"split.manifest={tmp_path / 'absent.json'}", *TINY, bad]
    value = OmegaConf.to_container(compose_config(over), resolve=True)["threads"]
    with pytest.raises(ValueError) as e:  # not a dataset / manifest error: nothing was read
        run(compose_config(over))
    msg = str(e.value)
    assert msg.startswith(f"threads={value!r}:") and 'an integer >= 1, or "auto"' in msg
    assert not (tmp_path / "r").exists()


def test_bad_threads_refused_by_the_detection_runner(tmp_path):
    over = ["experiment=demo_det", f"dataset.root={tmp_path / 'absent'}", f"split.manifest={tmp_path / 'a.json'}",
            f"results_root={tmp_path / 'r'}", "threads=0"]
    with pytest.raises(ValueError, match=r"threads=0: expected an integer >= 1"):
        run(compose_config(over))
    assert not (tmp_path / "r").exists()
