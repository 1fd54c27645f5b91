"""benchmark.stats.plausibility against independent implementations: scipy's one-sample t on a constructed
sample, a brute-force Fraction enumeration of the GRIM grid, and statsmodels' TTestPower."""
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower

from benchmark.stats.plausibility import (GRIM_OFF, grim_point, grim_reachable, implied_sd, mde_from_interval, mde_paired,
                                         seeds_for_z)


def _sample(mean, sd, n, seed=0):
    """n values with exactly this mean and sample SD (ddof = 1)."""
    x = np.random.default_rng(seed).standard_normal(n)
    return mean + sd * (x - x.mean()) / x.std(ddof=1)


def test_implied_sd_magnetic_tile():
    # 29.1·√7/13.2 = 5.8327 pp; 29.1·√15/13.2 = 8.5382 pp
    assert implied_sd(29.1, 13.2, 7) == pytest.approx(5.8327, abs=1e-4)
    assert implied_sd(29.1, 13.2, 15) == pytest.approx(8.5382, abs=1e-4)
    assert implied_sd(29.1, -13.2, 7) == implied_sd(29.1, 13.2, 7)
    assert math.isnan(implied_sd(29.1, 0.0, 7)) and math.isnan(implied_sd(float("nan"), 3.0, 7))


@pytest.mark.parametrize("gain, z, n", [(29.1, 13.2, 7), (29.1, 13.2, 15), (9.0, 3.5, 11), (34.8, 5.6, 9)])
def test_implied_sd_gives_back_z_through_scipy(gain, z, n):
    x = _sample(gain, implied_sd(gain, z, n), n)
    assert stats.ttest_1samp(x, 0.0).statistic == pytest.approx(z, rel=1e-10)


def test_seeds_for_z():
    assert seeds_for_z(13.2, 29.1, implied_sd(29.1, 13.2, 7)) == 7      # back to the n the SD came from
    assert seeds_for_z(13.2, 29.1, implied_sd(29.1, 13.2, 15)) == 15
    # (3.4·10/5)² = 46.24 → 47 seeds
    assert seeds_for_z(3.4, 5.0, 10.0) == 47
    assert seeds_for_z(3.4, 0.0, 10.0) == math.inf and math.isnan(seeds_for_z(3.4, 5.0, float("nan")))


@pytest.mark.parametrize("z, gain, sd", [(13.2, 29.1, 12.0), (3.4, 2.0, 7.5), (5.6, 34.8, 20.0)])
def test_seeds_for_z_is_the_first_n_whose_plugin_t_reaches_z(z, gain, sd):
    n = int(seeds_for_z(z, gain, sd))
    t = lambda k: stats.ttest_1samp(_sample(gain, sd, k), 0.0).statistic  # noqa: E731
    assert t(n) >= z - 1e-9 and (n == 1 or t(n - 1) < z)


def _grim_brute(mean_pct, decimals, n, m):
    """Every mean Σc/(n·m) in %, as an exact fraction, rounded half-up and half-down: does one match?"""
    target, half = Fraction(str(mean_pct)), Fraction(1, 2 * 10 ** decimals)
    return any(abs(Fraction(100 * k, n * m) - target) <= half for k in range(n * m + 1))


@pytest.mark.parametrize("value", [55.8, 84.9, 46.2, 81.0, 99.7, 0.0, 100.0, 33.3, 12.5])
def test_grim_point_against_brute_force(value):
    for n in range(1, 16):
        for m in (3, 7, 10, 13, 24, 37):
            assert grim_point(value, 1, n, m) == _grim_brute(value, 1, n, m), (value, n, m)
    for n, m in ((7, 24), (9, 11), (15, 40)):
        assert grim_point(round(value, 2), 2, n, m) == _grim_brute(round(value, 2), 2, n, m)


def test_grim_reachable_summary_and_off():
    # 1 seed on 3 images: 0, 33.33, 66.67, 100 %: 50.0 is on no grid point, 33.3 is
    assert grim_reachable(50.0, 1, [1], [3])["any"] is False
    assert grim_reachable(33.3, 1, [1], [3])["pairs"] == [(1, 3)]
    got = grim_reachable(55.8, 1, range(7, 16), [24])
    assert got["checked"] and got["pairs"] == [(n, 24) for n in range(7, 16) if _grim_brute(55.8, 1, n, 24)]
    off = grim_reachable(55.8, 1, range(7, 16), None)
    assert off == {"checked": False, "pairs": [], "any": None, "status": GRIM_OFF}


@pytest.mark.parametrize("sd, n", [(5.8, 7), (8.5, 15), (1.0, 5), (12.0, 30)])
def test_mde_against_statsmodels(sd, n):
    for alpha, power in ((0.05, 0.8), (0.01, 0.9)):
        ours = mde_paired(sd, n, alpha=alpha, power=power)
        es = TTestPower().solve_power(effect_size=None, nobs=n, alpha=alpha, power=power, alternative="two-sided")
        assert ours == pytest.approx(es * sd, rel=1e-5)        # statsmodels' solver stops at its own tolerance
        assert TTestPower().power(ours / sd, n, alpha, alternative="two-sided") == pytest.approx(power, abs=1e-7)


def test_mde_by_simulation_where_statsmodels_fails():
    # n = 3, α = 0.01, 90 %: statsmodels' solver returns 4.19·sd there (its power is NaN on the way); simulating
    # the paired t shows the power at that effect is ~41 %, and ~90 % at ours
    sd, n = 1.0, 3
    d = mde_paired(sd, n, alpha=0.01, power=0.9)
    x = np.random.default_rng(1).standard_normal((200_000, n)) * sd + d
    t = x.mean(1) / (x.std(1, ddof=1) / math.sqrt(n))
    assert (np.abs(t) > stats.t.ppf(0.995, n - 1)).mean() == pytest.approx(0.9, abs=0.005)


def test_mde_edges():
    assert math.isnan(mde_paired(5.0, 1)) and mde_paired(0.0, 7) == 0.0
    with pytest.raises(ValueError):
        mde_paired(5.0, 7, power=0.01)


@pytest.mark.parametrize("n", [4, 7, 15, 40])
def test_mde_from_a_t_interval_is_the_tests_mde(n):
    """A seed t interval of a sample (scipy's) holds its test's SE and df: the MDE read off it equals
    statsmodels' MDE of that paired t at that sample's SD."""
    d = np.random.default_rng(n).normal(3.0, 6.0, n)
    ci = stats.ttest_1samp(d, 0.0).confidence_interval(0.95)
    es = TTestPower().solve_power(effect_size=None, nobs=n, alpha=0.05, power=0.8, alternative="two-sided")
    assert mde_from_interval(ci.low, ci.high, n - 1) == pytest.approx(es * d.std(ddof=1), rel=1e-5)


def test_mde_from_an_interval_without_df_is_the_normal_one():
    # 1.96·se half-width; normal MDE at 80 %: (z_.975 + z_.8)·se up to the far tail's ~0 share
    got = mde_from_interval(-1.959964, 1.959964, math.inf)
    assert got == pytest.approx(stats.norm.ppf(0.975) + stats.norm.ppf(0.8), rel=1e-4)
    assert math.isnan(mde_from_interval(math.nan, 1.0, 5)) and math.isnan(mde_from_interval(-1.0, 1.0, 0.5))
