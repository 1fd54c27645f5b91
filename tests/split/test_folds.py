"""Cross-fitted folds: every non-selection image tested exactly once, never the selection split, groups whole,
hand edits refused naming the field, a changed file in any fold refused naming it, records merged per seed."""
import copy

import numpy as np
import pytest
from omegaconf import OmegaConf

from benchmark.cli import compose_config
from benchmark.report.collect import load_study
from benchmark.run import run_seeds
from benchmark.split.folds import check_folds, fold_counts, fold_view, frozen_sha256, n_folds
from benchmark.split.manifest import ManifestError, build_split, load_manifest, manifest_sha256
from benchmark.split.pilot import make_split
from tests.conftest import write_tiny_dataset
from tests.split.test_split_groups import part_of, write_parts

COUNTS = {"good": 18, "hole": 12, "scratch": 10}
TINY = ["model=timm", "model.name=resnet10t", "model.pretrained=false", "model.image_size=32",
        "trainer.max_steps=2", "trainer.batch_size=8", "trainer.warmup_steps=0", "threads=1"]


def paths(entries):
    return [e["path"] for e in entries]


def test_every_non_selection_image_is_tested_exactly_once_and_selection_never(tmp_path):
    ds = write_tiny_dataset(tmp_path / "d", COUNTS)
    single, folded = build_split(ds, seed=3), build_split(ds, seed=3, folds=3)
    assert n_folds(single) == 1 and n_folds(folded) == 3 and "fold" not in str(single["files"])
    tested = [p for f in range(3) for p in paths(fold_view(folded, f)["files"]["test"])]
    pool = paths(single["files"]["train"]) + paths(single["files"]["test"])
    assert sorted(tested) == sorted(pool) and len(set(tested)) == len(tested)  # once each, all of them
    assert paths(folded["files"]["selection"]) == paths(single["files"]["selection"])  # the same selection
    assert not set(tested) & set(paths(folded["files"]["selection"]))
    for f in range(3):
        v = fold_view(folded, f)
        assert not set(paths(v["files"]["train"])) & set(paths(v["files"]["test"]))
        assert sorted(paths(v["files"]["train"]) + paths(v["files"]["test"])) == sorted(pool)
        assert all(v["counts"]["test"][c] >= 2 for c in COUNTS)  # stratified: 8..14 per class into 3 folds
    assert fold_view(folded, 0)["files"] == folded["files"]  # the stored form is fold 0's view
    assert frozen_sha256(fold_view(folded, 2)) == manifest_sha256(folded)


def test_grouped_folds_keep_every_part_in_one_fold(tmp_path):
    ds = write_parts(tmp_path / "d", parts_per_class=12)
    m = build_split(ds, seed=0, group={"method": "near_duplicate", "max_bits": 8}, folds=4)
    fold_of_part: dict[str, set] = {}
    for f in range(4):
        for e in fold_view(m, f)["files"]["test"]:
            fold_of_part.setdefault(part_of(e["path"]), set()).add(f)
    sel_parts = {part_of(e["path"]) for e in m["files"]["selection"]}
    assert all(len(v) == 1 for v in fold_of_part.values()) and not sel_parts & set(fold_of_part)
    assert sum(map(len, fold_of_part.values())) + len(sel_parts) == 24
    check_folds(m, "m.json")


def hand_edit(m, how):
    m = copy.deepcopy(m)
    how(m)
    return m


@pytest.mark.parametrize("how, field", [
    (lambda m: m.update(folds=1), "'folds'"),
    (lambda m: m.update(folds=True), "'folds'"),
    (lambda m: m["files"]["test"][0].update(fold=2), "files.test[0].fold"),  # a test entry moved to fold 2
    (lambda m: m["files"]["train"][0].update(fold=0), "files.train[0].fold"),
    (lambda m: m["files"]["train"][0].pop("fold"), "files.train[0].fold"),
    (lambda m: m["files"]["train"][0].update(fold=9), "files.train[0].fold"),
])
def test_hand_edited_folds_are_refused_naming_the_field(tmp_path, how, field):
    ds = write_tiny_dataset(tmp_path / "d", COUNTS)
    m = build_split(ds, seed=3, folds=3)
    check_folds(m, "m.json")
    with pytest.raises(ManifestError, match=rf"m\.json: field {field}".replace("[", r"\[").replace("]", r"\]")):
        check_folds(hand_edit(m, how), "m.json")


def test_a_group_in_two_folds_and_a_fold_without_the_hardest_class_are_refused(tmp_path):
    ds = write_parts(tmp_path / "d", parts_per_class=12)
    m = build_split(ds, seed=0, group={"method": "near_duplicate", "max_bits": 8}, folds=3)
    tr = m["files"]["train"]
    other = next(e for e in tr if e["fold"] != tr[0]["fold"])
    bad = hand_edit(m, lambda x: x["files"]["train"][tr.index(other)].update(group=tr[0]["group"]))
    with pytest.raises(ManifestError, match="expected every group in one fold"):
        check_folds(bad, "m.json")
    m["hardest"] = {"class": "crack"}
    gone = hand_edit(m, lambda x: [e.update(label="good") for e in x["files"]["test"] if e["label"] == "crack"])
    with pytest.raises(ManifestError, match=r"fold\(s\) \['0'\] have no 'crack'"):
        check_folds(gone, "m.json")


def folded_study(tmp_path, k=3):
    ds = write_tiny_dataset(tmp_path / "data", COUNTS)
    over = ["dataset=imagefolder", "dataset.id=imagefolder", f"dataset.root={ds.root}", f"dataset.masks={tmp_path / 'data' / 'masks'}",
            f"results_root={tmp_path / 'results'}", "study=t", f"split.manifest={tmp_path / 'split.json'}",
            f"cache_root={tmp_path / 'cache'}", *TINY]
    cfg = OmegaConf.to_container(compose_config([*over, f"split.folds={k}"]), resolve=True)
    make_split(cfg, seed=0, pilot_seeds=[1000], hardest="scratch", reason="test", out=tmp_path / "split.json")
    return ds, over


def test_a_k_fold_study_runs_every_fold_and_reports_the_union(tmp_path):
    ds, over = folded_study(tmp_path)
    manifest = load_manifest(tmp_path / "split.json")
    assert manifest["folds"] == 3 and sum(c["scratch"] for c in fold_counts(manifest).values()) == 8
    recs = run_seeds(compose_config([*over, "arm=real", "seeds=[0,1]"]))
    assert sorted((r["fold"], r["cell"]["seed"]) for r in recs) == [(f, s) for f in range(3) for s in (0, 1)]
    assert len({r["run_id"] for r in recs}) == 6 and all(r["folds"] == 3 for r in recs)
    one = run_seeds(compose_config([*over, "arm=real", "seeds=[0,1]", "split.fold=1"]))  # one fold: reused
    assert [r["run_id"] for r in one] == [r["run_id"] for r in recs if r["fold"] == 1]
    data = load_study(tmp_path / "results" / "t")
    assert len(data.frame) == 2 and data.frame["status"].eq("ok").all()  # one run per seed over the union
    for rid, (ps, correct, _) in data.correct.items():
        union = sorted(e["path"] for e in manifest["files"]["train"] + manifest["files"]["test"]
                       if e["label"] == "scratch")
        assert sorted(ps) == union  # every hardest-class non-selection image, once
        seed = int(data.frame.set_index("run_id").loc[rid, "seed"])
        per_fold = [r["metrics"]["hardest_class_accuracy"] * r["metrics"]["support"]["scratch"] for r in recs
                    if r["cell"]["seed"] == seed]
        assert np.isclose(correct.sum(), sum(per_fold))


def test_a_missing_fold_makes_the_union_incomplete_not_a_smaller_test_set(tmp_path):
    ds, over = folded_study(tmp_path)
    run_seeds(compose_config([*over, "arm=real", "seeds=[0]", "split.fold=2"]))
    data = load_study(tmp_path / "results" / "t")
    assert data.frame["status"].tolist() == ["failed"] and "fold(s) [0, 1] of 3" in data.frame["error"][0]


def test_a_changed_file_in_any_fold_is_refused_naming_it(tmp_path):
    ds, over = folded_study(tmp_path)
    manifest = load_manifest(tmp_path / "split.json")
    victim = fold_view(manifest, 2)["files"]["test"][0]["path"]  # tested only by fold 2, trained on by 0 and 1
    (ds.root / victim).write_bytes((ds.root / victim).read_bytes() + b"\0")
    for fold in ("0", "2", "null"):
        with pytest.raises(ManifestError, match=rf"{victim}: .* changed since the split was frozen"):
            run_seeds(compose_config([*over, "arm=real", "seeds=[0]", f"split.fold={fold}"]))


def test_split_fold_out_of_range_and_on_a_single_split_are_config_errors(tmp_path):
    from benchmark.config.checks import ConfigError

    ds, over = folded_study(tmp_path)
    with pytest.raises(ConfigError, match=r"split.fold=3: expected null \(every fold\) or 0..2"):
        run_seeds(compose_config([*over, "arm=real", "seeds=[0]", "split.fold=3"]))
    single = ["split.manifest=" + str(tmp_path / "one.json")]
    cfg = OmegaConf.to_container(compose_config([*over, *single]), resolve=True)
    make_split(cfg, seed=0, pilot_seeds=[1000], hardest="scratch", reason="test", out=tmp_path / "one.json")
    with pytest.raises(ConfigError, match="split.fold=0: expected null: the manifest is a single split"):
        run_seeds(compose_config([*over, *single, "arm=real", "seeds=[0]", "split.fold=0"]))
