"""Issue 21 item 4: what `scarce report` prints last — the verdicts with their reason in words, the caveats, the
page — and no number that cannot exist printed as a float artefact (item 7). The words are checked against the
rule's own decision function (benchmark.stats.decision.decide), which they must explain, on random inputs."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmark.report.answer import classification_lines, fmt_num, verdict_words
from benchmark.report.ending import caveat_lines, report_ending
from benchmark.stats import DecisionRule
from benchmark.stats.decision import decide


@pytest.mark.parametrize("x", [None, math.nan, math.inf, -math.inf, "not reachable", np.float64("nan")])
def test_a_number_that_cannot_exist_prints_a_dash(x):
    assert fmt_num(x, "+.1f") == "—"
    assert fmt_num(np.float64(2.25), "+.1f") == "+2.2" and fmt_num(7, ".0f") == "7"


@pytest.mark.parametrize("rule", [DecisionRule(), DecisionRule().seed_level(), DecisionRule(min_effect_pp=5.0)])
def test_verdict_words_explain_the_rules_decision(rule):
    rng = np.random.default_rng(0)
    for _ in range(400):
        mean = rng.normal(0, 0.1)
        half = abs(rng.normal(0.08, 0.05))
        lo, hi = (mean - half, mean + half) if rng.random() > 0.1 else (math.nan, math.nan)
        p, n = float(rng.uniform(0, 0.2)), int(rng.integers(2, 12))
        v = str(decide(mean, p, lo, hi, rule, n, 30)[()])
        words = verdict_words(v, 100 * lo, 100 * hi, p, n, rule)
        if v == "not tested":
            assert n < rule.min_seeds and words == f"{n} seeds, fewer than the rule's {rule.min_seeds}"
        elif v in ("gain", "harm"):
            assert ("above 0" if v == "gain" else "below 0") in words and (lo > 0 if v == "gain" else hi < 0)
        elif "includes 0" in words:
            assert lo <= 0 <= hi
        elif "could be computed" in words:
            assert math.isnan(lo)
        elif "is not below" in words:
            assert p >= rule.alpha
        else:  # significant and outside 0, but below the minimum effect
            assert "minimum effect" in words and abs(mean) * 100 < rule.min_effect_pp


def _comparisons(tmp_path, **over) -> dict:
    row = {"dataset": "tiles", "hardest_class": "crack", "family": "primary", "comparison": "synthetic − placebo",
           "n": 6, "mean_pp": 4.0, "rule_ci_low_pp": -math.inf, "rule_ci_high_pp": math.nan, "rule_p": math.nan,
           "verdict": "no evidence", "dropped_seeds": "3 5", "seeds_needed": "not reachable",
           "worst_mean_pp": math.nan, "worst_p": 0.5, "oracle_share": math.inf, **over}
    second = {"comparison": "synthetic[b] − placebo"} | ({} if over else {"dropped_seeds": 4, "seeds_needed": "8"})
    pd.DataFrame([row, {**row, **second}]).to_csv(tmp_path / "comparisons.csv", index=False)
    (tmp_path / "index.html").write_text("<html></html>")
    return {"comparisons_csv": tmp_path / "comparisons.csv", "index_html": tmp_path / "index.html"}


def test_the_ending_prints_dashes_caveats_and_the_page_last(tmp_path):
    paths = _comparisons(tmp_path)
    lines = report_ending(paths)
    verdicts = [ln for ln in lines if " -> " in ln]
    assert len(verdicts) == 2 and all("nan" not in ln and "inf" not in ln for ln in verdicts)
    assert verdicts[0].startswith("tiles [crack] synthetic − placebo: +4.0 pp, 95 % CI [—, —], cross_p_holm —, "
                                  "6 seeds -> no evidence (no 95 % interval could be computed)")
    cav = caveat_lines(paths)
    assert cav == [
        "tiles synthetic − placebo: under-powered: 80 % power to detect 10 pp is not reachable with more seeds "
        "(the test images' own variance dominates: more independent test images are needed)",
        "tiles synthetic[b] − placebo: under-powered: 80 % power to detect 10 pp needs about 8 seeds; this study has 6",
        "tiles synthetic − placebo: seed(s) 3, 5 dropped (a run failed or is missing in one arm); imputed against "
        "the observed sign the mean would be — pp (seed-level p 0.5)",
        "tiles synthetic[b] − placebo: seed(s) 4 dropped (a run failed or is missing in one arm); imputed against "
        "the observed sign the mean would be — pp (seed-level p 0.5)"]
    assert lines[-len(cav) - 2:-1] == ["caveats:", *(f"  - {c}" for c in cav)]
    assert lines[-1] == f"report: {tmp_path / 'index.html'}  (2 files beside it; --verbose lists them)"
    assert lines.index("answer (primary comparisons, one rule, Holm within the family):") == 0  # no file list
    verbose = report_ending(paths, verbose=True)
    assert verbose[:3] == ["files:", f"  comparisons_csv: {tmp_path / 'comparisons.csv'}",
                           f"  index_html: {tmp_path / 'index.html'}"] and verbose[-1] == f"report: {tmp_path / 'index.html'}"


def test_no_caveat_says_so_and_the_oracle_share_is_finite_or_absent(tmp_path):
    paths = _comparisons(tmp_path, dropped_seeds=math.nan, seeds_needed="4", rule_ci_low_pp=1.0, rule_ci_high_pp=7.0,
                         rule_p=0.01, verdict="gain", oracle_share=0.4)
    lines = report_ending(paths)
    assert lines[-2] == "caveats: none found (power, dropped seeds, failed runs, audit, missing cells checked)"
    table = pd.read_csv(paths["comparisons_csv"])
    (first, second) = classification_lines(table, DecisionRule())
    assert ", 0.40 of the oracle's gain -> gain (the 95 % interval lies above 0 and cross_p_holm < 0.05)" in first
