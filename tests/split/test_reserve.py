"""The oracle's reserve: frozen per fold, never trained on by real / placebo / synthetic, added count-matched by
arm=oracle, refused when edited, too small, or missing."""
import copy

import pytest
from omegaconf import OmegaConf

from benchmark.cli import compose_config
from benchmark.split.folds import fold_view
from benchmark.split.manifest import ManifestError, build_split, load_manifest
from benchmark.split.pilot import make_split
from benchmark.split.reserve import check_reserve, draw_reserve, reserve_size
from benchmark.tasks import create_task
from tests.conftest import write_tiny_dataset
from tests.split.test_split_groups import part_of, write_parts

COUNTS = {"good": 18, "hole": 12, "scratch": 16}


def frozen(tmp_path, k=3, reserve=4, volume=3):
    ds = write_tiny_dataset(tmp_path / "data", COUNTS)
    over = ["dataset=imagefolder", "dataset.id=imagefolder", f"dataset.root={ds.root}", f"dataset.masks={tmp_path / 'data' / 'masks'}",
            f"split.manifest={tmp_path / 'split.json'}", f"cache_root={tmp_path / 'cache'}", "generator=cutpaste",
            f"synthetic.volume={volume}", "threads=1"]
    cfg = OmegaConf.to_container(compose_config([*over, f"split.folds={k}", f"split.reserve={reserve}"]), resolve=True)
    make_split(cfg, seed=0, pilot_seeds=[1000], hardest="scratch", reason="test", out=tmp_path / "split.json")
    return ds, over, load_manifest(tmp_path / "split.json")


def arm_of(over, name, ds, view, tmp_path):
    cfg = OmegaConf.to_container(compose_config([*over, f"arm={name}"]), resolve=True)
    return create_task("classification").build_arm(cfg, ds, view, None, tmp_path / "cache")


@pytest.mark.parametrize("k", [1, 3])
def test_the_reserve_is_never_in_real_placebo_or_synthetic_and_oracle_adds_it_count_matched(tmp_path, k):
    ds, over, m = frozen(tmp_path, k)
    check_reserve(m, "split.json")
    assert m["reserve"]["class"] == "scratch" and sorted(m["reserve"]["folds"]) == [str(f) for f in range(k)]
    for f in range(k):
        view = fold_view(m, f)
        held = {e["path"] for e in view["reserve_files"]}
        assert len(held) == 4 and not held & {e["path"] for e in view["files"]["train"] + view["files"]["test"]}
        assert held <= {e["path"] for e in fold_view(m, f, reserve=False)["files"]["train"]}  # the fold's train
        arms = {a: arm_of(over, a, ds, view, tmp_path) for a in ("real", "placebo", "synthetic", "oracle")}
        for a in ("real", "placebo", "synthetic"):
            assert not held & {it.path for it in arms[a].train}, a  # never trained on by these arms
        assert {it.path for it in arms["oracle"].added} <= held and len(arms["oracle"].added) == 3
        assert arms["oracle"].cell == {"arm": "oracle", "oracle_counts": {"scratch": 3}}
        assert ds.counts(arms["oracle"].added) == ds.counts(arms["placebo"].added) == {**{c: 0 for c in COUNTS},
                                                                                       "scratch": 3}


def test_oracle_refuses_a_volume_above_the_reserve_and_a_manifest_without_one(tmp_path):
    ds, over, m = frozen(tmp_path, 1, reserve=2, volume=3)
    with pytest.raises(ValueError, match="asks for 3 'scratch' images but the fold's reserve holds 2"):
        arm_of(over, "oracle", ds, fold_view(m, 0), tmp_path)
    with pytest.raises(ValueError, match="arm=oracle: the manifest has no reserve"):
        arm_of(over, "oracle", ds, {**build_split(ds, seed=0), "hardest": m["hardest"]}, tmp_path)


@pytest.mark.parametrize("edit, match", [
    (lambda m: m["reserve"]["folds"]["0"].append(m["files"]["selection"][0]["path"]), r"reserve\.folds\.0"),
    (lambda m: m["reserve"]["folds"]["1"].append(fold_view(m, 1)["files"]["test"][0]["path"]), r"reserve\.folds\.1"),
    (lambda m: m["reserve"].update(**{"class": "hole"}), "field 'reserve'"),
    (lambda m: m["reserve"]["folds"].pop("2"), "field 'reserve'"),
])
def test_hand_edited_reserves_are_refused_naming_the_field(tmp_path, edit, match):
    _, _, m = frozen(tmp_path, 3)
    bad = copy.deepcopy(m)
    edit(bad)
    with pytest.raises(ManifestError, match=match):
        check_reserve(bad, "split.json")


def test_a_grouped_reserve_withholds_whole_parts_and_sizes_are_checked(tmp_path):
    ds = write_parts(tmp_path / "d", parts_per_class=12)
    m = build_split(ds, seed=0, group={"method": "near_duplicate", "max_bits": 8}, folds=3)
    m["hardest"] = {"class": "crack"}
    r = draw_reserve(m, 4, seed=0)
    for f, held in r["folds"].items():
        parts = {part_of(p) for p in held}
        train = [e["path"] for e in fold_view(m, int(f), reserve=False)["files"]["train"]]
        assert len(held) >= 4 and all(part_of(p) not in parts for p in train if p not in held)  # whole parts
    assert reserve_size(0.25, 16) == 4
    for bad in (0, 16, 1.0, True, "4"):
        with pytest.raises(ValueError, match="split.reserve"):
            reserve_size(bad, 16)
