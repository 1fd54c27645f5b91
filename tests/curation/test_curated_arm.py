"""Curated arms on the demo dataset: every variant trains on exactly N synthetic images per target class, the
selection never opens a selection or test file, `none` is today's arm (same set, same cell), the placebo stays
count-matched to N, and the curation config is checked."""
from __future__ import annotations

import builtins
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from benchmark import PROJECT_ROOT
from benchmark.config import validate
from benchmark.config.checks import ConfigError
from benchmark.data.base import load_rgb
from benchmark.split.manifest import split_items
from benchmark.tasks import create_task

SELECTORS = ["none", "random", "similarity", "diversity", "confidence", "uncertainty"]
N = 5


def _conf(group: str, name: str) -> dict:
    return yaml.safe_load((PROJECT_ROOT / "conf" / group / f"{name}.yaml").read_text())


@pytest.fixture(scope="module")
def demo():
    task = create_task("classification")
    dataset = task.load_dataset({"name": "demo", "root": None})
    manifest = json.loads((PROJECT_ROOT / "datasets" / "splits" / "demo.json").read_text())
    forbidden = {str(dataset.abspath(it.path).resolve()) for s in ("selection", "test")
                 for it in split_items(manifest, s)}
    return task, dataset, manifest, forbidden


@pytest.fixture
def guarded(monkeypatch, demo):
    """Opening a selection or test file fails; the curation features are cheap pixel statistics (6 per image,
    read through the same guarded `open`) and every path they were asked for is recorded."""
    seen: list[str] = []
    real_open = builtins.open

    def guarded_open(file, *a, **k):
        if isinstance(file, (str, Path)) and str(Path(file).resolve()) in demo[3]:
            raise AssertionError(f"curation read a selection/test file: {file}")
        return real_open(file, *a, **k)

    def features(paths, model, cache_root):
        seen.extend(paths)
        px = [np.asarray(load_rgb(p), dtype=np.float32) for p in paths]
        return np.stack([np.r_[x.mean(axis=(0, 1)), x.std(axis=(0, 1))] for x in px])

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr("benchmark.curation.pool.features_of", features)
    return seen


def _cfg(tmp_path: Path, arm: str, curation: str | None) -> dict:
    cfg = {"arm": {"name": arm}, "generator": _conf("generator", "cutpaste"), "k": None,
           "synthetic": {"volume": N, "classes": None}, "cache_root": str(tmp_path),
           "audit": {"model": {"name": "tf_efficientnet_lite0", "image_size": 64, "pretrained": True}}}
    return cfg if curation is None else cfg | {"curation": _conf("curation", curation)}


def _arm(demo, cfg):
    task, dataset, manifest, _ = demo
    return task.build_arm(cfg, dataset, manifest, None, Path(cfg["cache_root"]) / "synthetic" / "demo")


def test_every_variant_trains_on_exactly_n_and_never_reads_selection_or_test(tmp_path, demo, guarded):
    task, dataset, manifest, forbidden = demo
    with pytest.raises(AssertionError, match="selection/test file"):  # the guard does catch an image read
        load_rgb(sorted(forbidden)[0])
    train = split_items(manifest, "train")
    train_paths = {str(dataset.abspath(it.path).resolve()) for it in train}
    before = _arm(demo, _cfg(tmp_path, "synthetic", None))  # today's arm, no curation key at all
    picks = {}
    for name in SELECTORS:
        arm = _arm(demo, _cfg(tmp_path, "synthetic", name))
        assert arm.synthetic.counts() == {"pit": N} and len(arm.added) == N  # N per target class, whatever r
        assert len(arm.train) == len(train) + N and len({it.path for it in arm.added}) == N
        picks[name] = sorted(it.path for it in arm.added)
        if name == "none":  # no pool: today's set and cell (so today's run IDs)
            assert arm.cell == before.cell and "curation" not in arm.cell and not arm.synthetic.meta
            continue
        assert arm.cell["curation"] == _conf("curation", name) and arm.cell["synthetic_key"] == arm.synthetic.key
        assert arm.synthetic.meta["pool_counts"] == {"pit": N * 4}
        pool_dir = Path(arm.added[0].path).parent.parent
        assert all(Path(it.path).parent.parent == pool_dir for it in arm.added)  # all from the one pool
    assert len({tuple(p) for p in picks.values()}) == len(SELECTORS)  # the selectors disagree on this pool
    seen = {str(Path(p).resolve()) for p in guarded}
    assert seen and not seen & forbidden
    assert {p for p in seen if "synthetic" not in p} <= train_paths  # the only real images read: the train split


def test_curated_set_is_cached_and_deterministic(tmp_path, demo, guarded):
    a = _arm(demo, _cfg(tmp_path, "synthetic", "diversity"))
    n_read = len(guarded)
    b = _arm(demo, _cfg(tmp_path, "synthetic", "diversity"))
    assert len(guarded) == n_read  # the second build is a cache hit: no feature read
    fresh = _arm(demo, _cfg(tmp_path / "other", "synthetic", "diversity"))  # from scratch, another cache
    assert a.synthetic.key == b.synthetic.key == fresh.synthetic.key
    assert a.synthetic.content_sha256 == fresh.synthetic.content_sha256
    cfg = _cfg(tmp_path, "synthetic", "diversity")
    cfg["curation"]["seed"] = 1
    assert _arm(demo, cfg).synthetic.key != a.synthetic.key  # the selection seed is part of the key (and cell)


def test_placebo_stays_count_matched_to_n(tmp_path, demo, guarded):
    plain = _arm(demo, _cfg(tmp_path, "placebo", None))
    curated = _arm(demo, _cfg(tmp_path, "placebo", "similarity"))
    assert curated.cell == plain.cell and curated.cell["placebo_counts"] == {"pit": N}


@pytest.fixture(scope="module")
def composed():
    from omegaconf import OmegaConf

    from benchmark.cli import compose_config

    return OmegaConf.to_container(compose_config(["experiment=demo_curation", "curation=uncertainty"]), resolve=True)


@pytest.mark.parametrize("key, value, match", [
    ("name", "best", "curation.name='best': expected one of confidence, diversity, none, random"),
    ("pool_factor", 0, "curation.pool_factor=0: expected an integer in"),
    ("reduce", "mean", "curation.reduce='mean': expected no such option of curation=uncertainty .*c, measure"),
])
def test_config_refuses_unknown_selectors_and_options(composed, key, value, match):
    assert validate(composed)["curation"]["name"] == "uncertainty"
    bad = composed | {"curation": {**composed["curation"], key: value}}
    with pytest.raises(ConfigError, match=match):
        validate(bad)


def test_config_refuses_curation_for_detection(composed):
    with pytest.raises(ConfigError, match="curation.name='uncertainty': expected none: .*classification"):
        validate(composed | {"task": {"name": "detection"}})
    validate(composed | {"task": {"name": "detection"}, "curation": {"name": "none"}})  # none is every task's
