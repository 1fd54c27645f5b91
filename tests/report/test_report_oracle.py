"""The oracle arm in a report: its own 'control' family (outside the primary Holm), each generator's gain as
a share of the oracle's, and the answer line that says when even the oracle is not resolved."""
import math

import numpy as np
import pytest

from benchmark.report.answer import classification_lines
from benchmark.report.collect import study_from_records
from benchmark.report.comparisons import comparison_pairs, comparisons_frame, oracle_shares
from benchmark.stats import DecisionRule
from tests.report.test_report_study import record

PLACEBO = {s: .3 for s in range(8)}


def oracle_record(seed, acc):
    r = record("oracle", None, seed, acc)
    r["cell"] = {**r["cell"], "oracle_counts": {"crack": 20}}
    from benchmark.records import run_id
    r["run_id"] = run_id(r["cell"])
    return r


def study(oracle_acc):
    recs = [record("real", None, s, .3) for s in range(8)]
    recs += [record("placebo", "cutpaste", s, PLACEBO[s]) for s in range(8)]
    recs += [record("synthetic", "cutpaste", s, .4 + .1 * (s % 2)) for s in range(8)]  # +15 pp on average
    recs += [oracle_record(s, oracle_acc(s)) for s in range(8)]
    return study_from_records(recs)


def test_oracle_pairs_are_a_control_family_and_never_join_the_primary_one():
    labels = ["oracle", "placebo[a]", "real", "synthetic[a]"]
    pairs = comparison_pairs(labels)
    assert [p for p in pairs if p[2] == "control"] == [("oracle", "placebo[a]", "control")]
    assert ("oracle", "real", "secondary") in pairs and all(p[0] != "oracle" for p in pairs if p[2] == "primary")
    assert comparison_pairs(["oracle", "real"]) == [("oracle", "real", "control")]


def test_share_of_the_oracle_gain_and_the_control_verdict():
    comp = comparisons_frame(study(lambda s: .6), n_boot=200)  # oracle +30 pp over placebo, every seed
    ctl = comp[comp["family"] == "control"].iloc[0]
    prim = comp[comp["family"] == "primary"].iloc[0]
    assert ctl["comparison"] == "oracle − placebo[cutpaste]" and math.isclose(ctl["mean_pp"], 30.0)
    assert prim["family_size"] == 1  # the oracle row is not in the primary family's Holm
    assert math.isclose(prim["oracle_share"], prim["mean_pp"] / 30.0) and math.isclose(prim["oracle_share"], .5)
    assert comp.loc[comp["family"] != "primary", "oracle_share"].isna().all()
    lines = classification_lines(comp, DecisionRule())
    assert ", 0.50 of the oracle's gain -> " in lines[0] and lines[-1].startswith("control: tiles [crack] oracle")


@pytest.mark.parametrize("acc", [lambda s: .3, lambda s: .2 + .2 * (s % 2)])
def test_an_unresolved_oracle_says_the_design_cannot_resolve_real_information(acc):
    comp = comparisons_frame(study(acc), n_boot=200)
    ctl = comp[comp["family"] == "control"].iloc[0]
    assert ctl["verdict"] != "gain"
    line = classification_lines(comp, DecisionRule())[-1]
    assert "cannot resolve real information at this size" in line
    assert np.isnan(oracle_shares(comp.assign(mean_pp=comp["mean_pp"].where(comp["family"] != "control", 0.0)))).all()
