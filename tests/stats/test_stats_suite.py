"""The statistics suite against hand-computed values and textbook examples (arithmetic in comments)."""
import math

import numpy as np
import pytest

from benchmark.stats import (DecisionRule, bootstrap_ci, cohens_dz, compare_arms, decide, hierarchical_bootstrap_ci,
                             holm, paired_summary, resolution_pp, seeds_needed, verdict, wilcoxon_p)
from benchmark.stats.bootstrap import bootstrap_means, hierarchical_bootstrap_means
from benchmark.stats.compare import adjust_study, wider_interval

SLEEP_D = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4]  # Student's sleep data, drug 2 − drug 1
# Darwin's Zea mays (Fisher 1935): cross- minus self-fertilised height, eighths of an inch
DARWIN_D = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]


# ----------------------------------------------------------------------------------- Cohen's d_z
def test_cohens_dz_hand_computed():
    # d = [1, 2, 3, 4]: mean 2.5, sd sqrt(5/3) = 1.290994 → d_z = 1.936492 (= √15 / √4 = z / √n)
    assert cohens_dz([1, 2, 3, 4]) == pytest.approx(1.936492, abs=1e-6)
    # sleep: mean 1.58, sd 1.229995 → d_z = 1.284558
    assert cohens_dz(SLEEP_D) == pytest.approx(1.284558, abs=1e-6)
    assert math.isnan(cohens_dz([0.5]))
    assert cohens_dz([0.1, 0.1]) == math.inf and cohens_dz([0.0, 0.0]) == 0.0


# ------------------------------------------------------------------------------------- Wilcoxon
def _exact_signed_rank_cdf(n: int, w: int) -> float:
    """P(W ≤ w) under H0 by counting subsets of ranks {1..n} with sum ≤ w (the textbook definition)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1
    for r in range(1, n + 1):
        counts[r:] = counts[r:] + counts[:-r].copy()
    return counts[: w + 1].sum() / 2 ** n


def test_wilcoxon_darwin_textbook():
    # |d| ranks 1..15 in the listed order; the negatives, 48 and 67, have ranks 10 and 14 → W− = 24.
    # Exact two-sided p = 2·P(W ≤ 24) = 2·676/32768 = 0.041259765625 (676 subsets of {1..15} sum ≤ 24)
    assert _exact_signed_rank_cdf(15, 24) * 2 ** 15 == 676
    assert wilcoxon_p(DARWIN_D) == pytest.approx(2 * 676 / 2 ** 15, abs=1e-12)


def test_wilcoxon_small_n_floor_and_degenerate():
    # d = [1, 2, 3, 4]: all positive, W− = 0; P(W = 0) = 1/16 → two-sided p = 2/16 = 0.125
    assert wilcoxon_p([1, 2, 3, 4]) == pytest.approx(0.125)
    # five seeds, all positive: the smallest two-sided p there is, 2/2^5 = 0.0625 (> 0.05!)
    assert wilcoxon_p([0.1, 0.2, 0.3, 0.4, 0.5]) == pytest.approx(0.0625)
    assert wilcoxon_p([0.0, 0.0, 0.0]) == 1.0
    assert math.isnan(wilcoxon_p([]))


# ------------------------------------------------------------------------------------ bootstrap
def test_bootstrap_ci_matches_exact_bootstrap_distribution():
    # d = [1, 2, 3, 4]: the 4^4 = 256 equally likely resamples have sums 4..16; the numbers with
    # sum ≤ 4, 5, 6 are 1, 4, 10 → cumulative 1, 5, 15 of 256: P(sum ≤ 5) = 0.0195 < 0.025 < P(sum ≤ 6)
    # = 0.0586, so the 2.5 % quantile of the mean is 6/4 = 1.5; by symmetry the 97.5 % one is 14/4 = 3.5.
    lo, hi = bootstrap_ci([1, 2, 3, 4], np.random.default_rng(0), n_boot=20000)
    assert (lo, hi) == (1.5, 3.5)


def test_bootstrap_ci_degenerate_and_reproducible():
    assert bootstrap_ci([0.25, 0.25, 0.25], np.random.default_rng(0)) == (0.25, 0.25)
    assert all(math.isnan(v) for v in bootstrap_ci([0.3], np.random.default_rng(0)))
    a = bootstrap_ci(SLEEP_D, np.random.default_rng(7))
    assert a == bootstrap_ci(SLEEP_D, np.random.default_rng(7))


def test_hierarchical_equals_seed_bootstrap_without_image_noise():
    # every image of a (seed, arm) has the same outcome → resampling images changes nothing, and both
    # functions draw their seeds identically from the same generator state → identical distributions
    acc_a, acc_b = [1, 0, 1, 1, 0, 1], [0, 0, 1, 0, 0, 0]
    ca = np.repeat(np.array(acc_a, float)[:, None], 8, axis=1)
    cb = np.repeat(np.array(acc_b, float)[:, None], 8, axis=1)
    d = np.array(acc_a, float) - np.array(acc_b, float)
    seeds_only = bootstrap_means(d, np.random.default_rng(3), 500)
    both = hierarchical_bootstrap_means(ca, cb, np.random.default_rng(3), 500)
    np.testing.assert_allclose(both, seeds_only)


def test_hierarchical_sees_test_set_noise_that_seeds_miss():
    # 5 seeds, identical per-image outcomes: arm A right on 4 of 10 images, arm B on none → d = 0.4 on
    # every seed, so the seed bootstrap CI is [0.4, 0.4]. Resampling images gives mean = X/10 with
    # X ~ Binomial(10, 0.4): P(X ≤ 0) = 0.0060, P(X ≤ 1) = 0.0464 → 2.5 % quantile 0.1;
    # P(X ≤ 6) = 0.9452, P(X ≤ 7) = 0.9877 → 97.5 % quantile 0.7.
    ca = np.tile([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], (5, 1)).astype(float)
    cb = np.zeros((5, 10))
    assert bootstrap_ci(ca.mean(1) - cb.mean(1), np.random.default_rng(0)) == (0.4, 0.4)
    assert hierarchical_bootstrap_ci(ca, cb, np.random.default_rng(0), n_boot=20000) == pytest.approx((0.1, 0.7))


def test_hierarchical_draws_one_test_set_for_all_seeds():
    # 2 seeds, both with per-image d = [1]*5 + [0]*5 (mean 0.5). One shared image draw per replicate
    # gives X/10, X ~ Bin(10, 0.5): P(X ≤ 1) = 0.0107, P(X ≤ 2) = 0.0547 → CI (0.2, 0.8). Independent
    # draws per seed would give Y/20, Y ~ Bin(20, 0.5): P(Y ≤ 5) = 0.0207, P(Y ≤ 6) = 0.0577 → (0.3, 0.7).
    ca = np.tile([1, 1, 1, 1, 1, 0, 0, 0, 0, 0], (2, 1)).astype(float)
    lo, hi = hierarchical_bootstrap_ci(ca, np.zeros_like(ca), np.random.default_rng(1), n_boot=20000)
    assert (lo, hi) == pytest.approx((0.2, 0.8))


def test_hierarchical_input_checks():
    with pytest.raises(ValueError):
        hierarchical_bootstrap_ci(np.zeros((3, 4)), np.zeros((3, 5)), np.random.default_rng(0))
    assert all(math.isnan(v) for v in hierarchical_bootstrap_ci(np.zeros((0, 4)), np.zeros((0, 4)),
                                                                np.random.default_rng(0)))


def test_wider_interval():
    assert wider_interval((0.4, 0.4), (0.1, 0.7)) == "seeds × images"
    assert wider_interval((0.0, 1.0), (0.1, 0.7)) == "seeds only"
    assert wider_interval((0.1, 0.7), (0.1, 0.7)) == "equal"
    assert wider_interval((math.nan, math.nan), (math.nan, math.nan)) == "–"


# ----------------------------------------------------------------------------------------- Holm
def test_holm_textbook():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.06
    # back in input order [0.01, 0.04, 0.03, 0.005] → [0.03, 0.06, 0.06, 0.02]
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    # [0.5, 0.4]: 0.4·2 = 0.8, then max(0.8, 0.5·1) = 0.8 → both 0.8
    np.testing.assert_allclose(holm([0.5, 0.4]), [0.8, 0.8])
    # capped at 1: 0.6·2 = 1.2 → 1
    np.testing.assert_allclose(holm([0.6, 0.7]), [1.0, 1.0])
    np.testing.assert_allclose(holm([0.02]), [0.02])  # one test: unchanged


def test_holm_nan_does_not_count():
    # NaN stays NaN; m = 2 → [0.01·2, 0.04·1 → max(0.02, 0.04)] = [0.02, 0.04]
    out = holm([0.01, float("nan"), 0.04])
    assert math.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], [0.02, 0.04])
    assert np.isnan(holm([float("nan")])).all() and holm([]).size == 0
    with pytest.raises(ValueError):
        holm([1.2])


# ---------------------------------------------------------------------------------------- power
def test_resolution_pp():
    assert resolution_pp(10) == 10.0          # one of 10 images = 10 pp
    assert resolution_pp(12) == pytest.approx(8.333333, abs=1e-6)
    assert math.isnan(resolution_pp(0))


def test_seeds_needed_is_power_not_expected_z():
    # issue 15 item 7: seeds for 80 % power at a pre-stated effect, from the noncentral t.
    # effect 10 pp, sd 20 pp: d = 0.5 → statsmodels TTestPower().solve_power(0.5, power=0.8) = 33.37 → 34
    assert seeds_needed(0.2, 0.1) == 34
    # the old ⌈(z·sd/mean)²⌉ answer (3.4·2)² = 46.24 → 47 reaches z = 3.4 only in expectation: not what we plan on
    assert seeds_needed(0.2, 0.1, alpha=0.05, power=0.5) < 34
    # a variance that seeds cannot remove makes the target unreachable: "not reachable", never 34 digits
    assert seeds_needed(0.31, 0.1, unit_var=0.003) == math.inf
    assert seeds_needed(0.0, 0.1) == 2 and math.isnan(seeds_needed(math.nan, 0.1)) and math.isnan(seeds_needed(0.1, 0.0))


# ------------------------------------------------------------------------------------- decision
def test_decision_rule_default_and_options():
    rule = DecisionRule()  # issue 15 item 4: the default generalises over seeds and test units
    assert rule.generalises and rule.p == "cross_p_holm" and rule.ci == "cross" and rule.min_seeds == 5
    assert rule.describe().startswith("Holm-adjusted seeds × test-units t-test p < 0.05 and 95 % seeds × "
                                      "test-units t interval of the mean difference excludes 0")
    assert "new test images" in rule.population(6, 6) and "only" in DecisionRule(p="p_holm", ci="t").population(6)
    assert DecisionRule(alpha=0.1).describe().count("90 %") == 1   # the printed level is the computed one
    row = {"mean": 0.2, "p_holm": 0.01, "ci_low": 0.05, "ci_high": 0.35, "hier_ci_low": -0.1, "hier_ci_high": 0.5,
           "cross_p_holm": 0.01, "cross_ci_low": 0.02, "cross_ci_high": 0.38, "n": 5, "n_units": 6}
    seed_rule = DecisionRule(p="p_holm", ci="t")
    assert verdict(row) == "gain" and verdict(row, seed_rule) == "gain"
    assert verdict({**row, "mean": -0.2, "cross_ci_low": -0.35, "cross_ci_high": -0.05}) == "harm"
    assert verdict({**row, "cross_p_holm": 0.06}) == "no evidence"
    assert verdict(row, DecisionRule(p="p_holm", ci="hierarchical")) == "no evidence"  # seeds × images CI holds 0
    assert verdict(row, DecisionRule(min_effect_pp=25)) == "no evidence"   # 20 pp < 25 pp
    assert verdict({**row, "n": 4}) == "not tested"                        # item 2: below the minimum seeds
    assert verdict({**row, "n_units": 1}) == "not tested"                  # one tile says nothing about others
    assert verdict({**row, "n_units": 1}, seed_rule) == "gain"            # ... a seed-level rule does not ask
    assert verdict({"mean": math.nan, "cross_p_holm": math.nan, "n": 5, "n_units": 6}) == "no evidence"
    with pytest.raises(ValueError):
        DecisionRule(ci="bayes")
    with pytest.raises(ValueError):
        DecisionRule(p="q")


def test_decide_vectorised():
    out = decide([0.1, -0.1, 0.1, 0.1], [0.01, 0.01, 0.2, 0.01], [0.05, -0.2, -0.1, 0.0], [0.2, -0.05, 0.3, 0.2])
    # last: CI low bound exactly 0 does not exclude 0
    assert list(out) == ["gain", "harm", "no evidence", "no evidence"]


# ------------------------------------------------------------------------------------- compare
def test_compare_arms_all_statistics():
    # real  = [.3, .4, .2, .3, .3] (+ seed 5, unpaired), synthetic = [.5, .6, .4, .6, .5]
    # d = [.2, .2, .2, .3, .2]: mean .22; deviations −.02 ×4, +.08 → SS = 4·.0004 + .0064 = .008,
    # sd = sqrt(.008/4) = .0447214, se = .02 → z = .22/.02 = 11; d_z = 11/√5 = 4.919350.
    # t, df = 4: u = 11/√125, F = 1/2 + (3/4)(u − u³/3) = 0.9998059 → p = 0.000388.
    real = {0: .3, 1: .4, 2: .2, 3: .3, 4: .3, 5: .3}
    syn = {0: .5, 1: .6, 2: .4, 3: .6, 4: .5}
    # per-image correctness (10 images): the first round(10·acc) images right
    img = {s: (np.arange(10) < round(10 * a)).astype(float) for s, a in real.items()}
    imgs = {s: (np.arange(10) < round(10 * a)).astype(float) for s, a in syn.items()}
    r = compare_arms(syn, real, np.random.default_rng(0), correct_a=imgs, correct_b=img)
    assert r["n"] == 5 and r["seeds"] == [0, 1, 2, 3, 4] and r["dropped_seeds"] == [5]
    assert r["mean"] == pytest.approx(0.22) and r["z"] == pytest.approx(11.0)
    assert r["cohens_dz"] == pytest.approx(4.919350, abs=1e-6)
    assert r["p"] == pytest.approx(0.000388, abs=1e-6)
    assert r["wilcoxon_p"] == pytest.approx(0.0625)  # 5 positive d: the floor 2/2^5
    assert r["n_test_images"] == 10 and r["resolution_pp"] == 10.0
    # the same 3–4 images carry the whole difference in every seed: that image-to-image variance does not
    # shrink with seeds, so 80 % power at 10 pp is out of reach for a 10-image test set
    assert r["seeds_needed"] == math.inf
    assert r["boot_ci_low"] >= 0.2 - 1e-12 and r["boot_ci_high"] <= 0.26 + 1e-12  # means of values in {.2, .3}
    assert r["hier_ci_high"] - r["hier_ci_low"] > r["boot_ci_high"] - r["boot_ci_low"]
    assert r["wider_ci"] == "seeds × images"
    assert r["n_units"] == 10 and 0 < r["cross_p"] < 1 and r["cross_ci_low"] < r["mean"] < r["cross_ci_high"]
    assert r["worst_mean"] == pytest.approx((0.2 * 4 + 0.3 + (0.0 - 0.3)) / 6)  # seed 5: missing A scored 0
    no_img = compare_arms(syn, real, np.random.default_rng(0))
    assert math.isnan(no_img["hier_ci_low"]) and no_img["n_test_images"] is None and math.isnan(no_img["cross_p"])
    assert no_img["seeds_needed"] == 4  # seeds alone: sd 4.5 pp vs 10 pp → power 0.20, 0.54, 0.83 at n = 2, 3, 4


def test_adjust_study_holm_and_verdicts():
    base = {"n": 6, "n_units": 8}
    rows = [{**base, "mean": 0.2, "cross_p": 0.01, "cross_ci_low": 0.1, "cross_ci_high": 0.3, "p": 0.01, "wilcoxon_p": 0.0625},
            {**base, "mean": 0.1, "cross_p": 0.012, "cross_ci_low": 0.01, "cross_ci_high": 0.2, "p": 0.04, "wilcoxon_p": 0.1},
            {**base, "mean": math.nan, "cross_p": math.nan, "p": math.nan, "wilcoxon_p": math.nan}]
    out = adjust_study(rows)
    # issue 15 item 8: the untestable comparison keeps its place in the pre-registered family (m = 3):
    # [0.01·3, max(0.03, 0.012·2)] = [0.03, 0.03]; it does not shrink the family to 2
    assert [r["cross_p_holm"] for r in out[:2]] == pytest.approx([0.03, 0.03]) and math.isnan(out[2]["cross_p_holm"])
    assert [r["p_holm"] for r in out[:2]] == pytest.approx([0.03, 0.08])
    assert [r["verdict"] for r in out] == ["gain", "gain", "no evidence"] and out[0]["family_size"] == 3
    assert "cross_p_holm" not in rows[0]  # input untouched
    # families are adjusted apart: a secondary comparison does not weaken the primary one
    fam = adjust_study([{**rows[0], "family": "primary"}, {**rows[1], "family": "secondary"},
                        {**rows[1], "family": "secondary"}])
    assert fam[0]["cross_p_holm"] == pytest.approx(0.01) and fam[1]["cross_p_holm"] == pytest.approx(0.024)
    # three more comparisons in the family with p = 0.04 (m = 5): 0.01·5 = 0.05 is not < 0.05
    more = adjust_study(rows[:2] + [{**rows[1], "cross_p": 0.04} for _ in range(3)])
    assert more[0]["cross_p_holm"] == pytest.approx(0.05)
    assert [r["verdict"] for r in more] == ["no evidence"] * 5


def test_summary_unchanged_by_suite():
    # the existing summary still gives SCARCE's z and the t-test on the same d
    s = paired_summary([1.0, 2.0, 3.0, 4.0])
    assert s["z"] == pytest.approx(3.872983, abs=1e-6) and s["p"] == pytest.approx(0.030466, abs=1e-6)


def test_bootstrap_and_crossed_test_resample_independent_units():
    # issue 15 item 5: six shots of one tile are one draw. Two tiles of 3 shots each, arm A right on tile 0
    # and wrong on tile 1 in every seed; B the reverse. Per image the test set looks like 6 units and the
    # seeds x images bootstrap can draw a 5-1 mix; by tile there are 2 units and a draw is all-or-nothing.
    ca = np.tile([1, 1, 1, 0, 0, 0], (6, 1)).astype(float)
    cb = 1.0 - ca
    tiles = [0, 0, 0, 1, 1, 1]
    by_tile = hierarchical_bootstrap_means(ca, cb, np.random.default_rng(0), 2000, units=tiles)
    by_image = hierarchical_bootstrap_means(ca, cb, np.random.default_rng(0), 2000)
    assert set(np.round(by_tile, 9)) == {-1.0, 0.0, 1.0}      # both tiles, or one tile twice
    assert len(set(np.round(by_image, 9))) > 3
    from benchmark.stats.crossed import crossed_test
    assert crossed_test(ca - cb, tiles)["n_units"] == 2 and crossed_test(ca - cb)["n_units"] == 6
    r = compare_arms({s: 0.5 for s in range(6)}, {s: 0.5 for s in range(6)}, np.random.default_rng(1),
                     correct_a=dict(enumerate(ca)), correct_b=dict(enumerate(cb)), units=tiles)
    assert r["n_test_images"] == 6 and r["n_units"] == 2
