"""Paired statistics against hand-computed values (arithmetic in the comments)."""
import math

import numpy as np
import pytest

from benchmark.stats import paired_differences, paired_summary, scarce_z, ttest_paired


def test_scarce_z_hand_computed():
    # d = [1, 2, 3, 4]: mean 2.5; deviations ±1.5, ±0.5 → SS = 2.25+0.25+0.25+2.25 = 5
    # sd = sqrt(5/3) = 1.290994; se = sd/√4 = 0.645497; z = 2.5/0.645497 = √15 = 3.872983
    assert scarce_z([1, 2, 3, 4]) == pytest.approx(3.872983, abs=1e-6)
    # d = [0.25, 0, 0.25]: mean 1/6; SS = (1/12)²+(1/6)²+(1/12)² = 6/144 → var = 1/48,
    # sd = 0.144338, se = sd/√3 = 1/12, z = (1/6)/(1/12) = 2
    assert scarce_z([0.25, 0.0, 0.25]) == pytest.approx(2.0)
    # sign follows the mean
    assert scarce_z([-1, -2, -3, -4]) == pytest.approx(-3.872983, abs=1e-6)


def test_scarce_z_degenerate_choices():
    assert math.isnan(scarce_z([]))
    assert math.isnan(scarce_z([0.3]))                  # n < 2: no sample sd
    assert scarce_z([0.125, 0.125, 0.125]) == math.inf  # constant, non-zero: perfectly consistent gain
    assert scarce_z([-0.2, -0.2]) == -math.inf
    assert scarce_z([0.0, 0.0, 0.0]) == 0.0             # no effect: 0, not 0/0
    with pytest.raises(ValueError):
        scarce_z([0.1, float("nan")])


def test_summary_d_1234():
    # As above: mean 2.5, sd 1.290994, z = t = √15 = 3.872983, df = 3.
    # Two-sided p: Student t CDF with ν = 3 is F(t) = 1/2 + [u/(1+u²) + atan(u)]/π, u = t/√3 = √5
    # → F = 1/2 + [√5/6 + atan(√5)]/π = 1/2 + [0.372678 + 1.150262]/π = 0.984767
    # → p = 2·(1 − F) = 0.030466.
    # 95% CI: t_{0.975, 3} = 3.182446 (table) → 2.5 ± 3.182446·0.645497 = 2.5 ± 2.054260
    s = paired_summary(np.array([1.0, 2.0, 3.0, 4.0]))
    assert s["n"] == 4
    assert s["mean"] == pytest.approx(2.5)
    assert s["sd"] == pytest.approx(1.290994, abs=1e-6)
    assert s["se"] == pytest.approx(0.645497, abs=1e-6)
    assert s["z"] == pytest.approx(3.872983, abs=1e-6)
    assert s["t"] == pytest.approx(s["z"])
    assert s["df"] == 3
    assert s["p"] == pytest.approx(0.030466, abs=1e-6)
    assert s["ci_low"] == pytest.approx(0.445740, abs=1e-5)
    assert s["ci_high"] == pytest.approx(4.554260, abs=1e-5)


def test_textbook_student_sleep_data():
    # Student (1908) / Cushny & Peebles sleep data, the classic paired t-test example
    # (R: t.test(extra ~ group, data = sleep, paired = TRUE) → t = 4.0621, df = 9, p = 0.002833,
    #  95% CI 0.7001142 .. 2.4598858 for drug 2 − drug 1).
    drug1 = dict(enumerate([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0], start=1))
    drug2 = dict(enumerate([1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4], start=1))
    seeds, d, dropped = paired_differences(drug2, drug1)
    # d = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4]; Σd = 15.8 → mean 1.58
    # Σ(d − 1.58)² = 13.616 → sd = sqrt(13.616/9) = 1.229995; se = 0.388959; t = 1.58/0.388959 = 4.062128
    assert list(seeds) == list(range(1, 11)) and dropped == []
    np.testing.assert_allclose(d, [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4], atol=1e-12)
    s = paired_summary(d)
    assert s["mean"] == pytest.approx(1.58)
    assert s["sd"] == pytest.approx(1.229995, abs=1e-6)
    assert s["z"] == pytest.approx(4.062128, abs=1e-6)
    assert s["df"] == 9
    assert s["p"] == pytest.approx(0.002833, abs=1e-6)
    assert s["ci_low"] == pytest.approx(0.7001142, abs=1e-6)
    assert s["ci_high"] == pytest.approx(2.4598858, abs=1e-6)


def test_t_df2_closed_form():
    # d = [0.25, 0, 0.25] → t = 2, df = 2. With ν = 2, F(t) = 1/2 + t/(2·sqrt(2 + t²)) = 1/2 + 2/(2√6)
    # = 0.908248 → p = 2·(1 − 0.908248) = 0.183503
    r = ttest_paired([0.25, 0.0, 0.25])
    assert r["t"] == pytest.approx(2.0)
    assert r["p"] == pytest.approx(0.183503, abs=1e-6)


def test_pairing_drops_unpaired_seeds():
    a = {0: 0.9, 1: 0.8, 2: 0.7, 5: 0.6}
    b = {1: 0.5, 2: 0.5, 0: 0.4, 7: 0.1}
    seeds, d, dropped = paired_differences(a, b)
    # common seeds 0, 1, 2 → d = [0.9−0.4, 0.8−0.5, 0.7−0.5] = [0.5, 0.3, 0.2]; 5 and 7 unpaired
    assert list(seeds) == [0, 1, 2]
    np.testing.assert_allclose(d, [0.5, 0.3, 0.2])
    assert dropped == [5, 7]


def test_pairing_treats_missing_values_as_absent():
    seeds, d, dropped = paired_differences({0: 0.5, 1: float("nan"), 2: None}, {0: 0.25, 1: 0.5, 2: 0.5})
    assert list(seeds) == [0] and list(d) == [0.25] and dropped == [1, 2]


def test_pairing_empty():
    seeds, d, dropped = paired_differences({}, {3: 0.5})
    assert seeds.size == 0 and d.size == 0 and dropped == [3]
    s = paired_summary(d)
    assert s["n"] == 0 and math.isnan(s["mean"]) and math.isnan(s["z"])


def test_summary_degenerate():
    one = paired_summary([0.4])
    assert one["n"] == 1 and one["mean"] == pytest.approx(0.4) and math.isnan(one["sd"]) and math.isnan(one["p"])
    const = paired_summary([0.125, 0.125, 0.125])
    # issue 15 item 2: a constant non-zero d is not p = 0 (Holm could never remove it) but the exact
    # sign-flip p: 2 of the 2^3 sign patterns reach |mean| → 2/8 = 0.25
    assert const["sd"] == 0.0 and const["z"] == math.inf and const["p"] == 0.25
    assert const["ci_low"] == const["ci_high"] == 0.125
    zero = paired_summary([0.0, 0.0])
    assert zero["z"] == 0.0 and zero["p"] == 1.0


def test_wilcoxon_on_the_grid():
    # issue 15 item 1: k/m differences carry float noise (0.19999999999999996 vs 0.20000000000000007);
    # ranked as distinct, true ties broke at random and the p came out 0.047. The tie-aware exact p is
    # 0.0625 (7 non-zero d with mid-ranks, all 2^7 sign patterns).
    from benchmark.stats import wilcoxon_p
    a = np.array([4, 4, 4, 4, 5, 4, 4, 4]) / 5
    b = np.array([3, 1, 5, 2, 4, 2, 2, 4]) / 5
    assert wilcoxon_p(a - b) == pytest.approx(0.0625, abs=1e-12)
    assert wilcoxon_p(np.round(a - b, 9)) == wilcoxon_p(a - b)


def test_constant_differences_signflip_bound():
    # issue 15 item 2: two seeds both +16.7 pp: the exact sign-flip p is 2/2^2 = 0.5, not 0
    from benchmark.stats.paired import signflip_p
    d = [1 / 6, 1 / 6]
    assert paired_summary(d)["p"] == 0.5 == signflip_p(d)
    assert paired_summary([0.3 - 0.1, 0.4 - 0.2, 0.2])["p"] == 0.25   # equal up to float noise = constant
