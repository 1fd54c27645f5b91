"""The config schema (benchmark/config): every shipped config passes it; each bad value is one line naming key,
value and what is allowed; the caps on synthetic.volume; a killed generator's temp folder is removed by the next
job while a live writer's is kept (issue 17 item 3)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from benchmark import PROJECT_ROOT
from benchmark.cli import compose_config
from benchmark.config import ConfigError, validate
from benchmark.data.ident import CUSTOM
from benchmark.config.schema import TRAINERS, FinetuneTrainer, TopLevel, Synthetic
from benchmark.io import _temp_prefix, _writer_tag, atomic_dir, remove_stale_temp_dirs
from benchmark.train.loop import total_steps


def plain(*over):
    return OmegaConf.to_container(compose_config(list(over)), resolve=True)


EXPERIMENTS = sorted(p.stem for p in (PROJECT_ROOT / "conf" / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("over", [[], ["trainer=featurebank"], ["task=detection"], ["task=defect_binary"],
                                  ["model=timm"], *[[f"experiment={e}"] for e in EXPERIMENTS]])
def test_every_shipped_config_passes(over):
    cfg = plain(*over)
    if cfg["dataset"]["name"] in CUSTOM:  # an experiment on the user's own folder: its id is the user's to give
        cfg = plain(*over, "dataset.id=parts")
    assert validate(cfg) is cfg


def test_schema_defaults_are_the_yaml_defaults():
    """The schemas type conf/ as it is (no key added to a group: that would change every run ID)."""
    from dataclasses import asdict

    for engine, schema in TRAINERS.items():
        trainer = plain(f"trainer={engine}")["trainer"]
        assert set(trainer) == set(asdict(schema())), engine
    top = plain()
    assert set(asdict(Synthetic())) == set(top["synthetic"])
    assert {k for k in asdict(TopLevel())} <= set(top)
    assert asdict(FinetuneTrainer()) == plain()["trainer"]


@pytest.mark.parametrize("over,line", [
    (["trainer.max_steps=-5"], "trainer.max_steps=-5: expected an integer >= 1, or null with trainer.epochs set"),
    (["trainer=featurebank", "trainer.max_steps=0"], "trainer.max_steps=0: expected an integer >= 1"),
    (["trainer.max_steps=null", "trainer.epochs=-1"], "trainer.epochs=-1: expected an integer >= 1"),
    (["trainer.lr=-1"], "trainer.lr=-1: expected a finite number > 0"),
    (["trainer.lr=nan"], "trainer.lr=nan: expected a finite number > 0"),
    (["trainer.batch_size=0"], "trainer.batch_size=0: expected an integer >= 1"),
    (["trainer.balance=oops"], "trainer.balance='oops': expected sampler or none"),
    (["trainer.augment.crop_scale=[0.9,0.1]"], "trainer.augment.crop_scale=[0.9, 0.1]: expected [lo, hi]"),
    (["model.image_size=0"], "model.image_size=0: expected an integer in [8, 4096] (pixels)"),
    (["task=detection", "trainer.epochs=0"], "trainer.epochs=0: expected an integer >= 1"),
    (["task=detection", "trainer.lr0=-1"], "trainer.lr0=-1: expected a finite number > 0"),
    ([f"seed={2 ** 64}"], f"seed={2 ** 64}: expected an integer in [0, {2 ** 63 - 1}] (2**63-1)"),
    (["synthetic.volume=1e12"], "synthetic.volume=1000000000000.0: expected a fraction of the class's real train "
                                "count <= 100 (a float; limits.max_volume_fraction)"),
    (["synthetic.volume=200000"], "synthetic.volume=200000: expected an image count per target class <= 100000"),
    (["synthetic.volume=nan"], "synthetic.volume=nan: expected an image count per target class (int) or a "
                               "fraction of its real train count (float), finite"),
    (["synthetic.volume=-inf"], "synthetic.volume=-inf: expected"),
    (["synthetic.classes=pit"], "synthetic.classes='pit': expected null (the hardest class), all, or a list of "
                                "class names such as [pit]"),
    (["study=../../../escape"], "study='../../../escape': expected a plain relative name under results_root"),
    (["study=/abs/where"], "study='/abs/where': expected a plain relative name"),
    (["study=a/../../b"], "study='a/../../b': expected"),
    (["trainer.max_steps=abc"], "trainer.max_steps='abc': expected an integer >= 1"),
    (["threads=-1"], 'threads=-1: expected an integer >= 1, or "auto"'),
    (["k=0"], "k=0: expected at least 1 real label per class"),
    (["split.group=oops"], "split.group='oops': expected null or near_duplicate"),
    (["split.fractions={train:0.5,selection:0.3,test:0.3}"], "split.fractions={'train': 0.5, 'selection': 0.3, "
     "'test': 0.3}: expected null (train 0.6 / selection 0.2 / test 0.2) or {train, selection, test}: numbers in "
     "(0, 1) summing to 1"),
    (["split.fractions={train:0.5,test:0.5}"], "split.fractions={'train': 0.5, 'test': 0.5}: expected null"),
    (["split.fractions={train:0,selection:0.5,test:0.5}"], "split.fractions={'train': 0, 'selection': 0.5, 'test': "
                                                           "0.5}: expected null"),
    (["audit.thresholds.cosine=2"], "audit.thresholds.cosine=2: expected a number in [-1, 1]"),
    (["endpoints.primary=auc"], "endpoints.primary='auc': expected one of hardest_accuracy, hardest_ap, hardest_prob, "
                                "balanced_accuracy"),
    (["endpoints.primary=hardest_log_loss"], "endpoints.primary='hardest_log_loss': expected one of"),
])
def test_bad_value_is_one_line_naming_key_value_and_allowed(over, line):
    with pytest.raises(ConfigError) as e:
        validate(plain(*over))
    assert str(e.value).startswith(line) and "\n" not in str(e.value)
    assert isinstance(e.value, ValueError)


@pytest.mark.parametrize("name", ["hardest_accuracy", "hardest_ap", "hardest_prob", "balanced_accuracy"])
def test_every_primary_endpoint_passes(name):
    cfg = plain(f"endpoints.primary={name}")
    assert validate(cfg)["endpoints"] == {"primary": name}
    assert plain()["endpoints"] == {"primary": "hardest_accuracy"}  # the default changes no existing verdict


def test_volume_caps_are_configurable_and_good_values_pass():
    validate(plain("synthetic.volume=0.5"))
    validate(plain("synthetic.volume=100.0"))
    validate(plain("synthetic.volume=100000"))
    validate(plain("synthetic.classes=all"))
    validate(plain("synthetic.classes=[pit,crack]"))
    validate(plain("synthetic.volume=200000", "limits.max_volume_count=500000"))
    with pytest.raises(ConfigError, match=r"<= 2 \(a float; limits.max_volume_fraction\)"):
        validate(plain("synthetic.volume=2.5", "limits.max_volume_fraction=2.0"))
    validate(plain("study=mt/fewshot"))


def test_total_steps_refuses_what_is_no_budget():
    assert total_steps({"max_steps": 5, "epochs": None, "batch_size": 4}, 10) == 5
    assert total_steps({"max_steps": None, "epochs": 2, "batch_size": 4}, 10) == 6
    for bad, key in (({"max_steps": -5}, "max_steps"), ({"max_steps": None, "epochs": -1}, "epochs"),
                     ({"max_steps": 3, "batch_size": 0}, "batch_size")):
        with pytest.raises(ValueError, match=rf"trainer.{key}=-?\d+: expected an integer >= 1"):
            total_steps(bad, 10)


# ---- temp folders of a killed generator ------------------------------------------------------------------

def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_temp_dir_of_a_killed_writer_is_removed_by_the_next_job(tmp_path):
    final = tmp_path / "cutpaste-abc"
    host = _writer_tag().split("@", 1)[1]
    dead = tmp_path / f"{_temp_prefix(final)}p{_dead_pid()}@{host}x1y2"
    (dead / "sub").mkdir(parents=True)
    (dead / "sub" / "0001.png").write_bytes(b"x")
    live = tmp_path / f"{_temp_prefix(final)}p{os.getppid()}@{host}live"  # a running process (pytest's parent)
    live.mkdir()
    old_untagged = tmp_path / f"{_temp_prefix(final)}k3j4"  # left by a writer before the tag: by age only
    old_untagged.mkdir()
    past = time.time() - 7 * 3600
    os.utime(old_untagged, (past, past))
    fresh_untagged = tmp_path / f"{_temp_prefix(final)}q5r6"
    fresh_untagged.mkdir()
    other = tmp_path / ".other-set-p1@h-zz"  # another final's temp dir: never touched
    other.mkdir()

    def build(tmp: Path):
        assert tmp.name.startswith(_temp_prefix(final) + _writer_tag())
        (tmp / "index.csv").write_text("ok\n")

    assert atomic_dir(final, "index.csv", build) == final
    assert (final / "index.csv").read_text() == "ok\n"
    assert not dead.exists() and not old_untagged.exists()
    assert live.exists() and fresh_untagged.exists() and other.exists()
    assert sorted(p.name for p in final.iterdir()) == ["index.csv"]  # no writer tag inside the set


def test_temp_dir_of_another_host_is_kept_until_old(tmp_path):
    final = tmp_path / "set"
    far = tmp_path / f"{_temp_prefix(final)}p1@some_other_node-abcd"
    far.mkdir()
    assert remove_stale_temp_dirs(final) == [] and far.exists()
    past = time.time() - 7 * 3600
    os.utime(far, (past, past))
    assert remove_stale_temp_dirs(final) == [far] and not far.exists()
