"""power_paired_t at 2 and 3 seeds, where scipy's noncentral t returns NaN for moderate noncentrality (at
df = 1 from nc ≈ 7.75, power ≈ 0.46) and a normal approximation is off by up to 0.57: checked against a
simulation of the paired t-test itself (independent of scipy's nct) and for monotonicity in the effect."""
import numpy as np
import pytest
from scipy import stats

from benchmark.stats.plausibility import mde_paired
from benchmark.stats.power import power_paired_t


def simulated_power(effect: float, sd: float, n: int, alpha: float, rng: np.random.Generator, reps: int = 200_000):
    d = rng.normal(effect, sd, size=(reps, n))
    t = stats.ttest_1samp(d, 0.0, axis=1).statistic
    return float(np.mean(np.abs(t) > stats.t.ppf(1 - alpha / 2, n - 1)))


@pytest.mark.parametrize("n, effect", [(2, 5.5), (2, 8.0), (2, 11.0), (2, 14.0), (3, 3.0), (3, 4.5)])
def test_small_n_power_matches_simulation(n, effect):
    rng = np.random.default_rng([n, int(effect * 10)])
    want = simulated_power(effect, 1.0, n, 0.05, rng)
    assert abs(power_paired_t(effect, 1.0, n) - want) < 0.006   # ~5 MC standard errors at 200k draws


@pytest.mark.parametrize("n", [2, 3, 4])
def test_power_rises_with_the_effect(n):
    powers = [power_paired_t(e, 1.0, n) for e in np.linspace(0.0, 30.0, 241)]
    assert all(np.isfinite(powers)) and np.all(np.diff(powers) >= -1e-9)


def test_mde_at_two_seeds_gives_the_stated_power():
    """The helper's n = 2 case: statsmodels says 11.55 SD; the old normal fallback gave 10.9 (power 0.77)."""
    mde = mde_paired(1.0, 2)
    assert abs(simulated_power(mde, 1.0, 2, 0.05, np.random.default_rng(7)) - 0.80) < 0.006


@pytest.mark.parametrize("df", [1, 2, 5, 30, 200, 999])
def test_the_integral_equals_scipys_closed_form_where_that_is_finite(df):
    from benchmark.stats.power import _nct_power_quad

    crit = stats.t.ppf(0.975, df)
    for nc in np.arange(0.0, 60.0, 0.5):
        closed = stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)
        if np.isfinite(closed):
            assert abs(_nct_power_quad(crit, df, nc) - closed) < 1e-8
