"""split.fractions: `scarce split` passes them to build_split; null is the 0.6 / 0.2 / 0.2 split byte for byte;
a dataset config's split_fractions is the default and never reaches the adapter or the manifest's options."""
from __future__ import annotations

from omegaconf import OmegaConf

from benchmark.cli import compose_config
from benchmark.data.ident import manifest_options
from benchmark.split.manifest import build_split, write_manifest
from benchmark.split.pilot import make_split
from tests.conftest import write_tiny_dataset

N = {"good": 20, "hole": 10, "scratch": 10}


def split_cfg(tmp_path, *over):
    root = tmp_path / "data"
    if not root.is_dir():
        write_tiny_dataset(root, N)
    return OmegaConf.to_container(compose_config(["dataset=imagefolder", "dataset.id=imagefolder", f"dataset.root={root / 'images'}",
                                                  f"dataset.masks={root / 'masks'}", *over]), resolve=True)


def freeze(cfg, out):
    return make_split(cfg, seed=0, pilot_seeds=[1000], hardest="scratch", reason="test", out=out)


def test_fractions_reach_the_split(tmp_path):
    cfg = split_cfg(tmp_path, "split.fractions={train:0.4,selection:0.1,test:0.5}")
    _, m = freeze(cfg, tmp_path / "split.json")
    assert m["config"]["fractions"] == {"train": 0.4, "selection": 0.1, "test": 0.5}
    assert m["counts"]["test"] == {"good": 10, "hole": 5, "scratch": 5}
    assert m["counts"]["selection"] == {"good": 2, "hole": 1, "scratch": 1}
    assert m["counts"]["train"] == {"good": 8, "hole": 4, "scratch": 4}


def test_null_fractions_write_the_manifest_of_the_default_split_byte_for_byte(tmp_path):
    cfg = split_cfg(tmp_path)
    assert cfg["split"]["fractions"] is None  # imagefolder's config declares no split_fractions
    path, m = freeze(cfg, tmp_path / "null.json")
    assert m["config"]["fractions"] == {"train": 0.6, "selection": 0.2, "test": 0.2}
    # what `scarce split` wrote before split.fractions existed: build_split without fractions
    ds = create_tiny(tmp_path)
    before = build_split(ds, seed=0, options=manifest_options(cfg["dataset"]))  # (+ id and adapter, issue 21)
    before["hardest"], before["created"] = m["hardest"], m["created"]  # `created` is the clock, to the second
    assert write_manifest(before, tmp_path / "before.json").read_bytes() == path.read_bytes()


def create_tiny(tmp_path):
    from benchmark.tasks import create_task

    return create_task("classification").load_dataset(split_cfg(tmp_path)["dataset"])


def test_the_demo_config_declares_its_fractions_and_the_adapter_never_sees_them(tmp_path):
    cfg = OmegaConf.to_container(compose_config(["dataset=demo"]), resolve=True)
    assert cfg["split"]["fractions"] == cfg["dataset"]["split_fractions"]
    assert OmegaConf.to_container(compose_config(["dataset=demo", "split.fractions=null"]),
                                  resolve=True)["split"]["fractions"] is None
    cfg = split_cfg(tmp_path, "+dataset.split_fractions={train:0.4,selection:0.1,test:0.5}")
    _, m = freeze(cfg, tmp_path / "split.json")
    assert m["config"]["fractions"] == {"train": 0.4, "selection": 0.1, "test": 0.5}
    assert "split_fractions" not in m["config"]["options"]


def test_the_frozen_demo_split_has_30_pit_test_images_and_pit_scarce_in_train():
    """The demo study's verdicts need test images of its scarce class (one of 6 was 16.7 points); synthetic
    images can only help where the class is scarce in train. The hardest class is still chosen on selection."""
    import json

    from benchmark import PROJECT_ROOT
    from benchmark.data.demo import DEMO_COUNTS

    m = json.loads((PROJECT_ROOT / "datasets" / "splits" / "demo.json").read_text())
    cfg = OmegaConf.to_container(compose_config(["dataset=demo"]), resolve=True)
    assert m["config"]["fractions"] == cfg["split"]["fractions"]  # frozen with the fractions the config declares
    counts = m["counts"]
    assert {c: sum(counts[s][c] for s in counts) for c in DEMO_COUNTS} == DEMO_COUNTS
    assert m["hardest"]["class"] == "pit" and m["hardest"]["rule"] == "selection"
    assert counts["test"]["pit"] >= 30
    train = counts["train"]
    assert train["pit"] <= 24 and train["pit"] == min(train.values())
    assert all(train["pit"] < n for c, n in train.items() if c != "pit")
