"""One run = one cell: arms, records, skip-if-done, determinism, refusal on a tampered test file."""
from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from benchmark.cli import compose_config
from benchmark.run import run
from benchmark.split.manifest import ManifestError, load_manifest
from benchmark.split.pilot import make_split
from tests.conftest import write_tiny_dataset

TINY = ["model=timm", "model.name=resnet10t", "model.image_size=32", "trainer.max_steps=4",
        "trainer.batch_size=8", "trainer.warmup_steps=0", "synthetic.volume=5", "threads=1"]


@pytest.fixture
def study(tmp_path):
    ds = write_tiny_dataset(tmp_path / "data")
    over = ["dataset=imagefolder", "dataset.id=imagefolder", f"dataset.root={ds.root}", f"dataset.masks={tmp_path / 'data' / 'masks'}",
            f"results_root={tmp_path / 'results'}", "study=t", f"split.manifest={tmp_path / 'split.json'}",
            f"cache_root={tmp_path / 'cache'}", *TINY]
    cfg = OmegaConf.to_container(compose_config(over), resolve=True)
    make_split(cfg, seed=0, pilot_seeds=[1000], out=tmp_path / "split.json")
    return ds, over, tmp_path


def cfg_for(over, *extra):
    return compose_config([*over, *extra])


def test_three_arms_placebo_count_matched(study):
    ds, over, tmp = study
    manifest = load_manifest(tmp / "split.json")
    hardest = manifest["hardest"]["class"]
    assert manifest["hardest"]["rule"] == "selection" and hardest in ("hole", "scratch")
    recs = {a: run(cfg_for(over, f"arm={a}", "seed=1")) for a in ("real", "synthetic", "placebo")}
    assert all(r["status"] == "ok" for r in recs.values()), [r.get("error") for r in recs.values()]
    assert sum(recs["real"]["added_counts"].values()) == 0
    assert recs["synthetic"]["added_counts"][hardest] == 5
    assert recs["placebo"]["added_counts"] == recs["synthetic"]["added_counts"]  # count-matched, per class
    assert len({r["run_id"] for r in recs.values()}) == 3
    m = recs["synthetic"]["metrics"]
    assert set(m["per_class_accuracy"]) == set(ds.classes) and m["hardest_class"] == hardest
    assert len(recs["synthetic"]["predictions"]["probs"]) == sum(manifest["counts"]["test"].values())
    assert recs["synthetic"]["synthetic"]["content_sha256"]


def test_same_cell_twice_identical_metrics_and_skip(study):
    _, over, tmp = study
    a = run(cfg_for(over, "arm=synthetic", "seed=2"))
    path = tmp / "results" / "t" / "records" / f"{a['run_id']}.json"
    mtime = path.stat().st_mtime_ns
    skipped = run(cfg_for(over, "arm=synthetic", "seed=2"))  # ok record exists -> skipped, file untouched
    assert skipped["run_id"] == a["run_id"] and path.stat().st_mtime_ns == mtime
    b = run(cfg_for(over, "arm=synthetic", "seed=2", "force=true"))
    assert b["run_id"] == a["run_id"]
    assert json.dumps(a["metrics"], sort_keys=True) == json.dumps(b["metrics"], sort_keys=True)
    assert a["predictions"] == b["predictions"]  # bitwise-identical probabilities
    c = run(cfg_for(over, "arm=synthetic", "seed=3"))
    assert c["run_id"] != a["run_id"]


def test_run_refuses_tampered_test_file_and_pilot_seed(study):
    ds, over, tmp = study
    victim = load_manifest(tmp / "split.json")["files"]["test"][0]["path"]
    p = ds.abspath(victim)
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 1
    p.write_bytes(bytes(data))
    with pytest.raises(ManifestError, match=str(p)):
        run(cfg_for(over, "arm=real", "seed=0"))
    assert not (tmp / "results" / "t" / "records").exists()  # refused before any record


def test_pilot_seed_cannot_be_reported(study):
    _, over, _ = study
    with pytest.raises(ValueError, match="pilot seed"):
        run(cfg_for(over, "arm=real", "seed=1000"))


def test_failed_run_writes_failed_record(study):
    _, over, tmp = study
    rec = run(cfg_for(over, "arm=real", "seed=4", "trainer.lr=1e30"))  # diverges -> non-finite loss
    assert rec["status"] == "failed" and rec["error"]["type"] == "FloatingPointError"
    assert (tmp / "results" / "t" / "records" / f"{rec['run_id']}.json").exists()


def test_seed_block_in_one_job_equals_separate_jobs(study):
    from benchmark.run import run_seeds

    _, over, tmp = study
    block = run_seeds(cfg_for(over, "arm=placebo", "seeds=[5,6]", "study=block"))
    alone = [run(cfg_for(over, "arm=placebo", f"seed={s}", "study=alone")) for s in (5, 6)]
    assert [r["run_id"] for r in block] == [r["run_id"] for r in alone]  # same cells, same IDs
    assert [r["predictions"] for r in block] == [r["predictions"] for r in alone]
    assert [r["cell"]["seed"] for r in block] == [5, 6]
    with pytest.raises(ValueError, match="negative"):
        run_seeds(cfg_for(over, "arm=real", "seeds=[1,-2]"))


def test_few_shot_k_same_images_in_every_arm_of_a_seed(study):
    from benchmark.arms import few_shot_subset
    from benchmark.split.manifest import split_items

    _, over, tmp = study
    train = split_items(load_manifest(tmp / "split.json"), "train")
    a, b = few_shot_subset(train, 2, seed=7), few_shot_subset(train, 2, seed=7)
    assert a == b and len(a) == 2 * 3  # 2 per class, 3 classes
    assert few_shot_subset(train, 2, seed=8) != a
    with pytest.raises(ValueError, match="larger than class"):
        few_shot_subset(train, 99, seed=0)
    recs = {arm: run(cfg_for(over, f"arm={arm}", "seed=7", "k=2")) for arm in ("real", "synthetic", "placebo")}
    assert all(r["status"] == "ok" for r in recs.values())
    for r in recs.values():  # every arm trains on the same 2 real images per class (+ its added ones)
        real_counts = {c: n - r["added_counts"].get(c, 0) for c, n in r["train_counts"].items()}
        assert set(real_counts.values()) == {2}
    assert recs["real"]["cell"]["k"] == 2
