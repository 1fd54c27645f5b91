"""`dataset.id` (benchmark/data/ident.py, issue 21 item 1): required for the custom adapters, checked like every
schema field (one line naming `dataset.id` and what is expected), and the one name manifests, caches, records
and report rows of a custom dataset go by; built-in datasets keep their names."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from benchmark.cli import compose_config
from benchmark.config import ConfigError, validate
from benchmark.data.ident import dataset_id, split_command
from benchmark.generators import GenRequest, create_generator
from benchmark.protocol.cells import make_cell
from benchmark.report.plan import dataset_overrides
from benchmark.split.manifest import build_split, default_manifest_path, file_hashes, split_items
from benchmark.tasks import create_task
from tests.conftest import write_tiny_dataset
from tests.detect_fixtures import write_yolo_tree


def plain(*over):
    return OmegaConf.to_container(compose_config(list(over)), resolve=True)


def refused(*over) -> str:
    with pytest.raises(ConfigError) as e:
        validate(plain(*over))
    assert e.value.key == "dataset.id"
    return str(e.value)


EXPECTED = "expected a name of your own for this data: 1-64 characters, letters, digits, '_', '-' or '.'"


@pytest.mark.parametrize("bad", ["a/b", "'my welds'", "-x", ".hidden", "x" * 65, "'we!ds'", "12", "../up"])
def test_malformed_id_refused_naming_the_field(bad):
    msg = refused("dataset=imagefolder", "dataset.root=/data/w", f"dataset.id={bad}")
    assert msg.startswith("dataset.id=") and EXPECTED in msg


@pytest.mark.parametrize("adapter", ["imagefolder", "yolo"])
def test_custom_dataset_without_id_refused_with_an_example(adapter):
    msg = refused(f"dataset={adapter}", "dataset.root=/data/Weld seams")
    assert msg.startswith(f"dataset.id: missing; dataset={adapter} reads any folder") and "dataset.id=Weld_seams" \
        in msg and "datasets/splits/<id>.json" in msg
    # no usable folder name: a neutral example
    assert "dataset.id=welds" in refused(f"dataset={adapter}", "dataset.root=/data/mt")


@pytest.mark.parametrize("taken,what", [
    ("magnetic_tile", "the built-in dataset 'magnetic_tile'"), ("Magnetic-Tile", "the built-in dataset"),
    ("yolo", "the built-in dataset 'yolo'"), ("mvtec_ad_bottle", "the built-in dataset"),
    ("plantvillage_corn", "a name the plantvillage adapter derives"),
    ("wood", "the published dataset 'MVTec Wood' (results/published/scarce_table1.csv)"),
    ("MT", "the published dataset 'Magnetic Tile'")])
def test_id_of_another_dataset_refused(taken, what):
    """Hostile: a custom id may not take a built-in's manifest / cache, nor match a published row in the report."""
    msg = refused("dataset=imagefolder", "dataset.root=/data/w", f"dataset.id={taken}")
    assert msg.startswith(f"dataset.id={taken!r}: expected a name no other dataset has") and what in msg


def test_defaults_builtins_keep_their_name_and_legacy_id_is_kept():
    assert dataset_id(plain("dataset=magnetic_tile")["dataset"]) == "magnetic_tile"
    assert dataset_id(plain("dataset=demo")["dataset"]) == "demo"
    assert dataset_id(plain("dataset=mvtec_ad_pill")["dataset"]) == "mvtec_ad_pill"
    msg = refused("dataset=magnetic_tile", "+dataset.id=mine")
    assert "expected null: dataset=magnetic_tile is a built-in dataset whose id is its name" in msg
    # the id every imagefolder split had before ids: old manifests, records and run IDs stay valid
    cfg = plain("dataset=imagefolder", "dataset.root=/data/w", "dataset.id=imagefolder")
    assert validate(cfg) and dataset_id(cfg["dataset"]) == "imagefolder"
    assert split_command(cfg["dataset"]) == "scarce split imagefolder dataset.id=imagefolder dataset.root=/data/w"
    assert split_command(plain("dataset=demo")["dataset"]) == "scarce split demo"


def test_id_names_the_dataset_its_manifest_cell_and_cache(tmp_path):
    ds_a = write_tiny_dataset(tmp_path / "a")
    write_tiny_dataset(tmp_path / "b")  # byte-identical images, another id
    task = create_task("classification")
    loaded = {}
    for i, folder in (("welds", "a"), ("castings", "b")):
        cfg = plain("dataset=imagefolder", f"dataset.id={i}", f"dataset.root={tmp_path / folder / 'images'}",
                    f"dataset.masks={tmp_path / folder / 'masks'}")
        loaded[i] = ds = task.load_dataset(cfg["dataset"])
        assert ds.name == i and ds.classes == ds_a.classes
        assert default_manifest_path(ds.name).name == f"{i}.json"
        m = build_split(ds, seed=0)
        assert m["dataset"] == i
        arm = task.build_arm({**cfg, "arm": {"name": "real"}, "k": None}, ds, {**m, "hardest": {"class": "hole"}},
                             None, tmp_path / "cache")
        assert make_cell(cfg, task, "sha", arm, 0, 1)["dataset"] == i
        assert dataset_overrides({**m, "config": {**m["config"], "options": {"adapter": "imagefolder"}}}) == \
            ["dataset=imagefolder", f"dataset.id={i}"]
    # the same bytes under two ids: two synthetic-set keys (so two cache entries), never one
    gen = create_generator("augment")
    keys = set()
    for i, ds in loaded.items():
        m = build_split(ds, seed=0)
        req = GenRequest(ds, split_items(m, "train"), file_hashes(m, "train"), {"hole": 2}, 0)
        keys.add(gen.cache_key(req))
    assert len(keys) == 2


def test_yolo_takes_its_id(tmp_path):
    root = write_yolo_tree(tmp_path / "y", ["a", "b"], {"i0": ["0 0.5 0.5 0.2 0.2"], "i1": ["1 0.5 0.5 0.2 0.2"]})
    cfg = plain("task=detection", "dataset=yolo", "dataset.id=parts", f"dataset.root={root}")
    assert create_task("detection").load_dataset(cfg["dataset"]).name == "parts"
