"""Issue 21 item 1, end to end: two custom imagefolder datasets split and run side by side with no `--out` and no
`split.manifest`, each under its own `dataset.id` in its manifest, its caches, its records and the report."""
from __future__ import annotations

import csv
import json

import pytest

import benchmark.split.manifest as manifest_mod
from benchmark.cli import compose_config, main
from benchmark.run import run_seeds
from tests.conftest import write_tiny_dataset

# the cheapest engine the e2e tests use: feature bank on a tiny random-init timm model
FAST = ["trainer=featurebank", "model=timm", "model.name=resnet10t", "model.image_size=32", "trainer.views=1",
        "trainer.max_steps=20", "trainer.batch_size=8", "synthetic.volume=4", "audit.enabled=false", "threads=1"]
IDS = {"welds": 32, "castings": 24}  # id -> image size: the two folders hold different bytes


@pytest.fixture
def two_folders(tmp_path, monkeypatch):
    """Two rendered folders; the project root (where default manifests go) moved into tmp_path."""
    monkeypatch.setattr(manifest_mod, "PROJECT_ROOT", tmp_path / "project")
    roots = {i: write_tiny_dataset(tmp_path / i, size=s).root for i, s in IDS.items()}
    common = [f"results_root={tmp_path / 'results'}", f"cache_root={tmp_path / 'cache'}", "study=side", *FAST]
    return tmp_path, roots, common


def over_for(ds_id: str, roots: dict, common: list[str]) -> list[str]:
    root = roots[ds_id]
    return ["dataset=imagefolder", f"dataset.id={ds_id}", f"dataset.root={root}",
            f"dataset.masks={root.parent / 'masks'}", *common]


def test_two_imagefolders_side_by_side(two_folders, capsys):
    tmp, roots, common = two_folders
    splits = tmp / "project" / "datasets" / "splits"
    for ds_id in IDS:  # `scarce split` takes the id as an override, like `scarce-run`
        assert main(["split", "imagefolder", *over_for(ds_id, roots, common), "--hardest", "hole"]) == 0
        assert f"wrote {splits / f'{ds_id}.json'}" in capsys.readouterr().out
    assert sorted(p.name for p in splits.glob("*.json")) == ["castings.json", "welds.json"]  # no imagefolder.json
    manifests = {i: json.loads((splits / f"{i}.json").read_text()) for i in IDS}
    for ds_id, m in manifests.items():
        assert m["dataset"] == ds_id and m["config"]["options"]["id"] == ds_id
        assert m["config"]["options"]["adapter"] == "imagefolder"
    assert manifests["welds"]["files"] != manifests["castings"]["files"]  # other bytes, other hashes

    # the same id on the other folder: the frozen manifest is not overwritten (and never shared)
    clash = ["dataset=imagefolder", "dataset.id=welds", f"dataset.root={roots['castings']}", *common]
    assert main(["split", "imagefolder", *clash, "--hardest", "hole"]) == 2
    assert "the split is frozen" in capsys.readouterr().err
    assert json.loads((splits / "welds.json").read_text()) == manifests["welds"]

    for ds_id in IDS:
        for arm in ("real", "synthetic"):
            run_seeds(compose_config([*over_for(ds_id, roots, common), f"arm={arm}", "generator=cutpaste",
                                      "seeds=[0,1]"]))
    study = tmp / "results" / "side"
    stored = [json.loads(p.read_text()) for p in sorted((study / "records").glob("*.json"))]
    assert len(stored) == 2 * 2 * 2 and {r["status"] for r in stored} == {"ok"}
    assert sorted({r["cell"]["dataset"] for r in stored}) == ["castings", "welds"]  # part of every run ID
    for r in stored:
        assert r["cell"]["dataset"] == r["config"]["dataset"]["id"]
    # dataset-scoped caches: one synthetic-set folder per id, none named after the adapter
    syn = tmp / "cache" / "synthetic"
    assert sorted(p.name for p in syn.iterdir()) == ["castings", "welds"]
    keys = {i: {r["synthetic"]["key"] for r in stored if r["cell"]["dataset"] == i and r["synthetic"]} for i in IDS}
    assert keys["welds"] and keys["castings"] and not keys["welds"] & keys["castings"]

    assert main(["report", str(study)]) == 0
    with open(study / "report" / "table.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["dataset"] for r in rows) == ["castings", "welds"]
    assert all(r["hardest_class"] == "hole" and r["n_seeds"] == "2" for r in rows)
    assert "imagefolder" not in (study / "report" / "table.md").read_text()
