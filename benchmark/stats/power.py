"""What a design can resolve: the test split's granularity, the power of the paired t, the seeds needed.

``seeds_needed`` answers "how many seeds until this design detects a pre-stated effect δ with the
stated power (default 80 %)?" from the noncentral t — not "at how many seeds would the *expected* z
reach a target", which is a coin flip (the chance of reaching it there is 50–68 %) and, fed the
observed mean, plans on an effect inflated by having been selected. The seed-to-seed SD is the
design's noise estimate; δ is stated before the data (``DecisionRule.target_effect_pp``).

Where the test set is a handful of units, part of the variance of the mean does not shrink with
seeds (``unit_var``, σb²/G from :func:`benchmark.stats.crossed.crossed_test`): more seeds cannot
buy what more test images would, and the answer is then "not reachable" (``math.inf``).
"""
from __future__ import annotations

import math

from scipy import integrate as _integrate
from scipy import stats as _st

__all__ = ["resolution_pp", "power_paired_t", "seeds_needed", "DEFAULT_TARGET_Z", "MAX_SEEDS"]

DEFAULT_TARGET_Z = 3.4  # SCARCE's bar for a "significant" gain
MAX_SEEDS = 1000        # beyond this a design is called "not reachable": nobody runs it


def resolution_pp(n_test_images: int) -> float:
    """Smallest change in one run's hardest-class accuracy the test split can show: one image, 100/m pp.

    With 10 hardest-class test images a run's accuracy moves in steps of 10 pp, so a 4 pp gain is
    something no single run can exhibit; it can only appear as an average over seeds. NaN for m = 0.
    """
    return 100.0 / n_test_images if n_test_images and n_test_images > 0 else math.nan


def power_paired_t(effect: float, sd: float, n: int, alpha: float = 0.05, unit_var: float = 0.0) -> float:
    """Power of the two-sided paired t-test at level ``alpha`` with ``n`` seeds against a true mean ``effect``.

    The t statistic is noncentral t with df = n − 1 and noncentrality effect / √(sd²/n + unit_var):
    P(|T| > t_{1−α/2, n−1}). ``unit_var`` = 0 is the textbook case (statsmodels' ``TTestPower`` agrees).
    """
    if n < 2:
        return math.nan
    se = math.sqrt(sd * sd / n + unit_var)
    if se == 0.0:
        return 1.0 if effect != 0 else alpha
    nc, df = abs(effect) / se, n - 1
    crit = float(_st.t.ppf(1.0 - alpha / 2.0, df))
    power = float(_st.nct.sf(crit, df, nc) + _st.nct.cdf(-crit, df, nc))
    if math.isnan(power):  # scipy's nct gives NaN at large nc; at df = 1 already from nc ≈ 7.75 (power 0.46)
        power = _nct_power_quad(crit, df, nc)
    return power


def _nct_power_quad(crit: float, df: int, nc: float) -> float:
    """P(|T| > crit) for T ~ noncentral t(df, nc), by integrating over V ~ χ²_df:
    T = (Z + nc) / √(V/df), so P(T > c) = E_V[Φ(nc − c√(V/df))] and P(T < −c) = E_V[Φ(−nc − c√(V/df))].
    Exact where scipy's closed form returns NaN (a normal approximation there is off by up to 0.57 at df = 1)."""
    def f(v: float) -> float:
        s = crit * math.sqrt(v / df)
        return (_st.norm.sf(s - nc) + _st.norm.cdf(-s - nc)) * _st.chi2.pdf(v, df)

    # over the central 1 − 2e-15 of χ²_df only: on [0, ∞) quad misses the mass of a large df's narrow peak
    lo, hi = float(_st.chi2.ppf(1e-15, df)), float(_st.chi2.isf(1e-15, df))
    return float(min(1.0, _integrate.quad(f, lo, hi, limit=200, points=[float(df)])[0]))


def seeds_needed(sd: float, effect: float, alpha: float = 0.05, power: float = 0.8,
                 unit_var: float = 0.0, max_seeds: int = MAX_SEEDS) -> float:
    """Smallest n ≥ 2 seeds at which :func:`power_paired_t` reaches ``power`` for a true ``effect``.

    ``sd``: SD of the per-seed paired difference (fractions, like ``effect``). ``math.inf`` = not
    reachable within ``max_seeds`` (always so when ``unit_var`` alone keeps the power below target);
    NaN when sd or effect is missing or the effect is 0.
    """
    vals = (sd, effect, unit_var)
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in vals) or effect == 0:
        return math.nan
    if power_paired_t(effect, sd, max_seeds, alpha, unit_var) < power:
        return math.inf
    lo, hi = 2, max_seeds                       # power rises with n: bisect for the smallest n that reaches it
    if power_paired_t(effect, sd, lo, alpha, unit_var) >= power:
        return float(lo)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if power_paired_t(effect, sd, mid, alpha, unit_var) >= power:
            hi = mid
        else:
            lo = mid
    return float(hi)
