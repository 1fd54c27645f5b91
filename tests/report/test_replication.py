"""Published vs reproduced (benchmark.report.replication) on a hand-built Magnetic Tile / blowhole study.

10 blowhole test images (m = 10); a run with accuracy a gets the first 10·a right. Per seed (0..5):

    real       .3  .4  .2  .3  .3  .3
    placebo    .3  .4  .3  .3  .4  .3      placebo − real  = 0, 0, 10, 0, 10, 0 pp
    cutpaste   .5  .6  .4  .6  .5  .6      synthetic − real = 20, 20, 20, 30, 20, 30 pp
"""
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import TTestPower

from benchmark.cli import main
from benchmark.records import write_record
from benchmark.report.artefacts import ReportContext
from benchmark.report.collect import study_from_records
from benchmark.report.published import load_table1
from benchmark.report.replication import replication_frame, replication_verdict
from benchmark.stats.plausibility import mde_from_interval
from tests.report.test_report_study import record

REAL = [.3, .4, .2, .3, .3, .3]
PLACEBO = [.3, .4, .3, .3, .4, .3]
CUTPASTE = [.5, .6, .4, .6, .5, .6]
NULL_D = 100 * (np.array(PLACEBO) - np.array(REAL))
SYN_D = 100 * (np.array(CUTPASTE) - np.array(REAL))


def _records(hardest="blowhole", cutpaste=CUTPASTE, k=None):
    recs = [record(arm, gen, seed, acc, dataset="magnetic_tile", hardest=hardest, k=k)
            for arm, gen, accs in (("real", None, REAL), ("placebo", None, PLACEBO), ("synthetic", "cutpaste", cutpaste))
            for seed, acc in enumerate(accs)]
    for r in recs:   # the builder's first class is 'crack': rename it to this study's hardest class
        r["metrics"]["classes"] = [hardest, "good", "hole"]
        r["predictions"]["paths"] = [p.replace("crack", hardest) for p in r["predictions"]["paths"]]
    return recs


@pytest.fixture(scope="module")
def ctx():
    return ReportContext(study_from_records(_records()), n_boot=200)


def _table1_with_gain(gain):
    t1 = load_table1()
    t1.loc[t1["dataset"] == "Magnetic Tile", "gain_pp"] = gain
    return t1


def test_verdict_precedence():
    assert replication_verdict(29.1, 10.0, 20.0, 5.0) == "smaller"
    assert replication_verdict(29.1, 30.0, 40.0, 5.0) == "larger"
    assert replication_verdict(29.1, 20.0, 35.0, 5.0) == "consistent"
    assert replication_verdict(29.1, 20.0, 35.0, 40.0) == "not resolvable here"   # contains it, cannot resolve it
    assert replication_verdict(29.1, -5.0, 35.0, 5.0) == "not resolvable here"    # cannot tell it from 0 either
    assert replication_verdict(29.1, 10.0, 20.0, 40.0) == "smaller"     # an excluding interval counts anyway
    assert replication_verdict(29.1, math.nan, math.nan, 5.0) == "not resolvable here"


def test_side_by_side_and_plausibility(ctx):
    rep = ctx.replication
    assert len(rep) == 1
    r = rep.iloc[0]
    assert r["generators"] == "cutpaste (ours) vs Synthgen (black box)"
    assert (r["published_real_acc_pct"], r["published_synthetic_acc_pct"], r["published_gain_pp"], r["published_z"]) \
        == (55.8, 84.9, 29.1, 13.2)
    assert r["real_acc_pct"] == pytest.approx(100 * np.mean(REAL))
    assert r["synthetic_acc_pct"] == pytest.approx(100 * np.mean(CUTPASTE))
    assert r["placebo_acc_pct"] == pytest.approx(100 * np.mean(PLACEBO))
    assert r["gain_pp"] == pytest.approx(SYN_D.mean()) and r["n_seeds"] == 6 and r["n_test_images"] == 10
    assert r["z"] == pytest.approx(SYN_D.mean() / (SYN_D.std(ddof=1) / math.sqrt(6)))
    assert r["null_sd_pp"] == pytest.approx(NULL_D.std(ddof=1)) and r["synthetic_sd_pp"] == pytest.approx(SYN_D.std(ddof=1))
    assert r["implied_sd_n_min_pp"] == pytest.approx(29.1 * math.sqrt(7) / 13.2)
    assert r["implied_sd_n_max_pp"] == pytest.approx(29.1 * math.sqrt(15) / 13.2)
    assert r["seeds_for_z_null"] == math.ceil((13.2 * NULL_D.std(ddof=1) / 29.1) ** 2)
    assert r["seeds_for_z_synthetic"] == math.ceil((13.2 * SYN_D.std(ddof=1) / 29.1) ** 2)
    es = TTestPower().solve_power(effect_size=None, nobs=6, alpha=0.05, power=0.8, alternative="two-sided")
    assert r["mde_seed_pp"] == pytest.approx(es * NULL_D.std(ddof=1), rel=1e-5) and r["mde_basis"] == "placebo − real"
    null = ctx.comparisons.set_index("comparison").loc["placebo[cutpaste] − real"]
    # the rule's MDE: its seeds × test-units test on the null pair, from that pair's rule interval and df
    assert r["mde_pp"] == pytest.approx(mde_from_interval(null["rule_ci_low_pp"], null["rule_ci_high_pp"],
                                                          null["cross_df"]))
    comp = ctx.comparisons.set_index("comparison").loc["synthetic[cutpaste] − real"]
    assert (r["gain_ci_low_pp"], r["gain_ci_high_pp"], r["verdict"]) == \
        (comp["rule_ci_low_pp"], comp["rule_ci_high_pp"], comp["verdict"])


def _brute_ns(mean_pct, m):
    return [n for n in range(7, 16)
            if any(abs(Fraction(100 * k, n * m) - Fraction(str(mean_pct))) <= Fraction(1, 20) for k in range(n * m + 1))]


def test_grim_off_for_the_published_m_and_labelled_at_ours(ctx):
    r = ctx.replication.iloc[0]
    assert r["grim_published"] == "off (m not given)"
    for col, value in (("grim_real_at_our_m", 55.8), ("grim_synthetic_at_our_m", 84.9)):
        ns = _brute_ns(value, 10)
        assert r[col].startswith("if the test class had our m = 10 images: ")
        want = ("not reachable for any" if not ns else "reachable for every" if len(ns) == 9
                else "reachable for n = " + ", ".join(map(str, ns)))
        assert want in r[col], (col, ns)


@pytest.mark.parametrize("gain, expected", [(29.1, "not resolvable here"), (80.0, "smaller"), (-5.0, "larger")])
def test_each_verdict_on_the_study(ctx, gain, expected):
    r = replication_frame(ctx.table, ctx.comparisons, _table1_with_gain(gain)).iloc[0]
    lo, hi = r["gain_ci_low_pp"], r["gain_ci_high_pp"]
    assert (hi < gain) == (expected == "smaller") and (lo > gain) == (expected == "larger")
    if expected == "not resolvable here":   # the interval holds the published gain, and 0 too
        assert lo <= 0 <= hi and lo <= gain <= hi
    assert r["replication"] == expected


def test_consistent_on_a_stronger_study():
    # cutpaste .8/.9: synthetic − real = 50..60 pp; the interval holds 29.1, excludes 0, and the MDE is below it
    strong = [.8, .9, .8, .9, .8, .9]
    recs = [r for r in _records() if r["cell"]["arm"] != "synthetic"]
    recs += [r for r in _records(cutpaste=strong) if r["cell"]["arm"] == "synthetic"]
    r = ReportContext(study_from_records(recs), n_boot=200).replication.iloc[0]
    assert r["gain_ci_low_pp"] > 0 and r["gain_ci_low_pp"] <= 29.1 <= r["gain_ci_high_pp"] and r["mde_pp"] < 29.1
    assert r["replication"] == "consistent" and r["verdict"] == "gain"


def test_other_hardest_class_or_few_shot_has_no_row():
    c = ReportContext(study_from_records(_records(hardest="uneven")), n_boot=200)
    assert c.replication.empty
    few = ReportContext(study_from_records(_records(k=2)), n_boot=200)   # k = 2 labels per class: not Table 1's design
    assert len(few.table) == 1 and few.replication.empty


def test_files_page_and_cli_printout(tmp_path, capsys):
    for r in _records():
        write_record(tmp_path / "study", r)
    assert main(["report", str(tmp_path / "study"), "--out", str(tmp_path / "out")]) == 0
    out, rep = capsys.readouterr().out, tmp_path / "out"
    assert all((rep / f"replication.{ext}").is_file() for ext in ("csv", "md", "tex"))
    assert pd.read_csv(rep / "replication.csv")["replication"].tolist() == ["not resolvable here"]  # CI holds 0
    md = (rep / "replication.md").read_text()
    assert md.startswith("## Published vs reproduced") and "SCARCE technical report, Table 1" in md
    assert "Published vs reproduced" in (rep / "index.html").read_text()
    tail = out[out.index("published vs reproduced"):]
    assert "magnetic_tile [blowhole] cutpaste (ours) vs Synthgen (black box)" in tail
    assert "5.83 pp at n = 7, 8.54 pp at n = 15" in tail and "replication: not resolvable here" in tail
