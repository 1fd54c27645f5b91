"""synthetic.sets=per_seed: each training seed its own generated set (benchmark/protocol/sets.py), its placebo
matched to that set, a refused set failing only its own seed, and the report pooling the seeds' sets of one size
into one arm (benchmark/report/design.py) and one volume-curve point (benchmark/report/volume.py)."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from benchmark.arms import generated_arm
from benchmark.audit.command import synthetic_items
from benchmark.audit.hook import AuditRefused
from benchmark.cli import compose_config
from benchmark.config.checks import ConfigError
from benchmark.config.schema import validate
from benchmark.generators import GENERATORS
from benchmark.protocol.sets import arm_groups, set_seed
from benchmark.report.collect import load_study
from benchmark.report.comparisons import iter_arm_groups
from benchmark.report.volume import volume_curves
from benchmark.run import run_seeds
from benchmark.split.manifest import file_hashes, load_manifest, split_items
from benchmark.tasks import create_task
from benchmark.train.share import synthetic_cell
from tests.train.test_engines import study  # noqa: F401  (fixture: a tiny split, featurebank-ready)

FB = ["trainer=featurebank", "trainer.max_steps=20", "generator=cutpaste", "generator.seed=3"]


def _cfg(*over):
    return OmegaConf.to_container(compose_config(list(over)), resolve=True)


def test_set_seed_is_a_pure_function_with_a_stream_per_pair():
    assert set_seed(4, 31) == set_seed(4, 31)
    assert set_seed(4, 31) != set_seed(5, 30)  # a sum would give both the same set
    seeds = {set_seed(b, s) for b in range(5) for s in range(200)}
    assert len(seeds) == 1000 and all(0 <= x < 2 ** 31 for x in seeds)


def test_config_and_cell_keep_run_ids_when_sets_are_shared():
    assert validate(_cfg())["synthetic"]["sets"] == "shared"
    assert validate(_cfg("synthetic.sets=per_seed"))["synthetic"]["sets"] == "per_seed"
    with pytest.raises(ConfigError, match="synthetic.sets"):
        validate(_cfg("synthetic.sets=each"))
    assert synthetic_cell({"volume": 5, "classes": None, "share": None, "sets": "shared"}) == {"volume": 5,
                                                                                              "classes": None}
    assert synthetic_cell({"volume": 5, "sets": "per_seed"}) == {"volume": 5, "sets": "per_seed"}


def test_arm_groups_split_only_generated_arms():
    task = create_task("classification")
    real = arm_groups(_cfg("arm=real", "synthetic.sets=per_seed", "generator.seed=3"), task, [1, 2, 3])
    assert [(c["generator"]["seed"], g) for c, _, g in real] == [(3, [1, 2, 3])]  # one vectorised group, as before
    syn = arm_groups(_cfg("arm=placebo", "synthetic.sets=per_seed", "generator.seed=3"), task, [1, 2])
    assert [(c["generator"]["seed"], g) for c, _, g in syn] == [(set_seed(3, 1), [1]), (set_seed(3, 2), [2])]
    shared = arm_groups(_cfg("arm=synthetic", "generator.seed=3"), task, [1, 2])
    assert [(c["generator"]["seed"], g) for c, _, g in shared] == [(3, [1, 2])]


def test_each_seed_trains_on_its_own_set_and_its_own_placebo(study):  # noqa: F811
    over, tmp = study
    cfg = _cfg(*over, *FB, "seeds=[1,2]")
    syn = run_seeds({**cfg, "arm": {"name": "synthetic"}, "synthetic": {**cfg["synthetic"], "sets": "per_seed"}})
    plc = run_seeds({**cfg, "arm": {"name": "placebo"}, "synthetic": {**cfg["synthetic"], "sets": "per_seed"}})
    shared = run_seeds({**cfg, "arm": {"name": "synthetic"}})
    assert all(r["status"] == "ok" for r in syn + plc + shared), [r.get("error") for r in syn + plc + shared]
    # an independent route to seed s's set: the generator asked directly with the derived seed
    manifest = load_manifest(tmp / "split.json")
    ds = create_task("classification").load_dataset(cfg["dataset"])
    counts = {manifest["hardest"]["class"]: 5}
    for r, p in zip(syn, plc):
        s = r["cell"]["seed"]
        want = generated_arm("synthetic", ds, split_items(manifest, "train"), file_hashes(manifest, "train"), counts,
                             {**cfg["generator"], "seed": set_seed(3, s)}, GENERATORS, tmp / "cache" / "synthetic" / ds.name)
        assert r["cell"]["synthetic_key"] == want.synthetic.key and r["cell"]["synthetic"]["sets"] == "per_seed"
        assert p["cell"]["placebo_seed"] == set_seed(3, s) and p["added_counts"] == r["added_counts"]
        assert r["config"]["generator"]["seed"] == 3  # the record keeps the declared base seed
        by_hand = synthetic_items("cutpaste", {**cfg, "seed": s, "synthetic": {**cfg["synthetic"], "sets": "per_seed"}},
                                  ds, manifest)  # `scarce audit cutpaste synthetic.sets=per_seed seed=s`
        assert by_hand.key == want.synthetic.key
    assert syn[0]["cell"]["synthetic_key"] != syn[1]["cell"]["synthetic_key"]
    assert shared[0]["cell"]["synthetic_key"] == shared[1]["cell"]["synthetic_key"]
    assert "sets" not in shared[0]["cell"]["synthetic"]  # shared cells: the run IDs recorded before `sets`


def test_a_refused_per_seed_set_fails_its_own_seed_only(study, monkeypatch, caplog):  # noqa: F811
    import benchmark.protocol.sets as sets

    over, _ = study
    calls = []

    def refuse_second(cfg, dataset, manifest, syn):
        calls.append(syn.key)
        if len(calls) == 2:
            raise AuditRefused(f"synthetic set {syn.key}: 1 of 5 images are near-copies of test images")

    monkeypatch.setattr(sets, "ensure_audited", refuse_second)
    cfg = _cfg(*over, *FB, "seeds=[1,2,3]", "arm=synthetic", "synthetic.sets=per_seed")
    recs = run_seeds(cfg)
    assert [r["status"] for r in recs] == ["ok", "failed", "ok"]
    assert recs[1]["error"]["type"] == "AuditRefused" and calls[1] in recs[1]["error"]["message"]
    assert "AuditRefused" in recs[1]["error"]["traceback"]
    assert "seed 2: its own synthetic set is refused" in caplog.text  # the log names the seed, not the default
    monkeypatch.setattr(sets, "ensure_audited", lambda *a: (_ for _ in ()).throw(AuditRefused("refused later")))
    again = run_seeds(cfg)  # an audit that now refuses seed 1's set too: its ok record does not stand
    assert [r["status"] for r in again] == ["failed"] * 3 and again[0]["run_id"] == recs[0]["run_id"]
    assert again[1]["error"]["message"] == recs[1]["error"]["message"]  # a failed record is kept as it was
    calls.clear()
    with pytest.raises(AuditRefused):  # a shared set would be every seed's: the job stops
        monkeypatch.setattr(sets, "ensure_audited", lambda *a: (_ for _ in ()).throw(AuditRefused("refused")))
        run_seeds(_cfg(*over, *FB, "seeds=[1,2]", "arm=synthetic", "synthetic.volume=4"))


def test_report_pools_the_seeds_sets_of_one_size_into_one_arm_and_one_curve_point(study):  # noqa: F811
    over, tmp = study
    for arm in ("real", "synthetic", "placebo"):
        for v in (3, 5):
            run_seeds(_cfg(*over, *FB, "seeds=[1,2,3]", f"arm={arm}", f"synthetic.volume={v}",
                           "synthetic.sets=per_seed"))
    data = load_study(tmp / "results" / "t")
    [(_, arms)] = list(iter_arm_groups(data.frame))
    assert set(arms) == {"real", "synthetic[cutpaste#n=3]", "synthetic[cutpaste#n=5]", "placebo[cutpaste#n=3]",
                         "placebo[cutpaste#n=5]"}
    assert arms["synthetic[cutpaste#n=5]"]["synthetic_key"].nunique() == 3  # three sets, one arm
    [curve] = volume_curves(data)
    assert curve["sets"] == "per_seed" and sorted(curve["points"]) == [3, 5]
    assert all(sorted(p["synthetic"]) == sorted(p["reference"]) == [1, 2, 3] for p in curve["points"].values())


def test_a_curve_claims_per_seed_sets_only_when_the_seeds_sets_differ():
    """A generator that ignores its seed (a vendor's fixed folder) under sets=per_seed gives every seed one set:
    the curve must not say its CIs include set-to-set variation."""
    import pandas as pd

    from benchmark.report.volume import _sets

    own = pd.DataFrame({"sets": ["per_seed"] * 3, "seed": [1, 2, 3], "synthetic_key": ["a", "b", "c"]})
    same = own.assign(synthetic_key="a")
    assert _sets([own, own]) == "per_seed"
    assert _sets([own, same]) == "shared" and _sets([own.assign(sets="shared")]) == "shared"
