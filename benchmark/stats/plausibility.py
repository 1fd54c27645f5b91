"""What a published (gain, z) pair implies, and whether a published mean can be reached at all.

Pure functions, numbers in, numbers out. SCARCE's z is mean(d) / (sd(d)/√n) over n seed-paired differences
d with no correction, so a published gain and z fix the SD of d once n is known:

- :func:`implied_sd`: sd(d) = gain·√n/|z|. Where only a range of n is stated (7 to 15), the SD is pinned to
  the interval between its values at the two ends; it can then be set beside an SD measured on the same task;
- :func:`seeds_for_z`: the n at which a true mean ``gain`` with paired SD ``sd`` gives an *expected* |z| of
  ``z`` (n = (z·sd/gain)², rounded up) — the size of study a reported |z| needs under a stated noise level;
- :func:`mde_paired`: the smallest true mean a two-sided paired t-test detects at n seeds with the stated
  power (noncentral t, :func:`benchmark.stats.power.power_paired_t`); :func:`mde_from_interval` the same for
  whatever test stands behind a t interval (e.g. the seeds × test-units one a verdict rule reads), from the
  interval's half-width and df;
- :func:`grim_reachable`: a GRIM-style granularity check (Brown & Heathers 2017). One run's accuracy on
  m test images is c/m; a mean over n seeds is Σc/(n·m), a point of the 1/(n·m) grid. A reported mean
  with ``decimals`` decimals is reachable for (n, m) when some grid point rounds to it. With m unknown there
  is nothing to check, and the function says so instead of guessing m.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from scipy import optimize as _opt
from scipy import stats as _st

from benchmark.stats.power import power_paired_t

__all__ = ["implied_sd", "seeds_for_z", "mde_paired", "mde_from_interval", "grim_point", "grim_reachable", "GRIM_OFF"]

GRIM_OFF = "off (m not given)"


def _missing(*vals) -> bool:
    return any(v is None or (isinstance(v, float) and math.isnan(v)) for v in vals)


def implied_sd(gain: float, z: float, n: int) -> float:
    """SD of the paired differences that makes mean ``gain`` over ``n`` seeds give SCARCE's ``z``:
    gain·√n/|z| (same unit as ``gain``). NaN when an input is missing or z = 0."""
    if _missing(gain, z, n) or z == 0 or n < 1:
        return math.nan
    return abs(gain) * math.sqrt(n) / abs(z)


def seeds_for_z(z: float, gain: float, sd: float) -> float:
    """Seeds n at which a true mean ``gain`` with paired SD ``sd`` has expected |z| = ``z``: ⌈(z·sd/gain)²⌉.

    "Expected" in the plug-in sense (the sample SD set to ``sd``): reaching the value at that n is roughly a
    coin flip, so this sizes a claim, it does not plan a study (that is :func:`benchmark.stats.power.seeds_needed`).
    NaN when an input is missing; ``math.inf`` for gain = 0 (no n reaches a nonzero z).
    """
    if _missing(z, gain, sd):
        return math.nan
    if gain == 0:
        return math.inf
    n = (z * sd / gain) ** 2
    # (z·sd/gain)² is often an integer up to float error (e.g. with an sd implied at that n): do not round it up
    return float(max(1, math.ceil(n - 1e-9)))


def mde_paired(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true mean (unit of ``sd``) that a two-sided paired t-test at level ``alpha`` over ``n`` seeds
    detects with probability ``power``. NaN for n < 2 or a missing sd; 0 when sd = 0."""
    if _missing(sd, n) or n < 2:
        return math.nan
    if sd == 0:
        return 0.0
    if not alpha < power < 1:
        raise ValueError(f"power must lie in (alpha, 1), got {power}")
    f = lambda d: power_paired_t(d, sd, n, alpha) - power  # noqa: E731  (power rises with d from alpha)
    hi = sd
    while f(hi) < 0:
        hi *= 2.0
    return float(_opt.brentq(f, 0.0, hi, xtol=1e-12 * sd, rtol=1e-12))


def mde_from_interval(ci_low: float, ci_high: float, df: float, confidence: float = 0.95,
                      power: float = 0.8) -> float:
    """MDE of the two-sided t-test behind a ``confidence`` t interval [ci_low, ci_high] with ``df`` degrees of
    freedom (unit of the interval): its standard error is the half-width / t_{1−α/2, df}, and a paired t over
    n = df + 1 seeds with sd = se·√n is the same test, so this is :func:`mde_paired` of that. ``df`` may be
    fractional (Satterthwaite); ``math.inf`` (an interval with no df, e.g. a bootstrap one) uses the normal.
    NaN when an input is missing or df < 1."""
    if _missing(ci_low, ci_high, df) or df < 1 or ci_high < ci_low:
        return math.nan
    alpha = 1.0 - confidence
    if math.isinf(df):
        z = _st.norm.ppf(1.0 - alpha / 2.0)
        se = (ci_high - ci_low) / 2.0 / z
        return float(_opt.brentq(lambda d: _st.norm.sf(z - d / se) + _st.norm.cdf(-z - d / se) - power,
                                 0.0, 20.0 * se + 1e-300)) if se > 0 else 0.0
    se = (ci_high - ci_low) / 2.0 / float(_st.t.ppf(1.0 - alpha / 2.0, df))
    return mde_paired(se * math.sqrt(df + 1.0), df + 1.0, alpha, power)


def grim_point(mean_pct: float, decimals: int, n: int, m: int) -> bool:
    """Whether some mean over ``n`` seeds of accuracies on ``m`` images (k/(n·m), k = 0..n·m, in %) rounds to
    ``mean_pct`` at ``decimals`` decimals. Exact integer arithmetic; a grid point on the rounding boundary
    counts as reachable (either rounding convention may have been used)."""
    scale = 10 ** decimals
    v = round(mean_pct * scale)          # the reported value as an integer count of 10^-decimals %
    nm = n * m
    # |100·k/(nm) − v/scale| ≤ 1/(2·scale)  ⇔  |200·scale·k − 2·v·nm| ≤ nm
    k0 = round(v * nm / (100 * scale))
    return any(0 <= k <= nm and abs(200 * scale * k - 2 * v * nm) <= nm for k in (k0 - 1, k0, k0 + 1))


def grim_reachable(mean_pct: float, decimals: int, n_range: Iterable[int],
                   m_range: Iterable[int] | None) -> dict:
    """GRIM check of a reported mean accuracy (%) over every (n, m) of ``n_range`` × ``m_range``.

    Returns ``{"checked", "pairs", "any", "status"}``: ``pairs`` the reachable (n, m); ``any`` whether there
    is one; ``status`` in words. ``m_range`` None (the test count is not given): not checked, ``any`` None.
    """
    if m_range is None or _missing(mean_pct):
        return {"checked": False, "pairs": [], "any": None, "status": GRIM_OFF if m_range is None else "no value"}
    grid = [(n, m) for n in n_range for m in m_range]
    pairs = [(n, m) for n, m in grid if grim_point(mean_pct, decimals, n, m)]
    if not pairs:
        status = "not reachable for any of the (n, m) checked"
    elif len(pairs) == len(grid):
        status = "reachable for every (n, m) checked"
    else:
        status = "reachable for n = " + ", ".join(str(n) for n, _ in pairs) if len({m for _, m in grid}) == 1 \
            else f"reachable for {len(pairs)} of {len(grid)} (n, m)"
    return {"checked": True, "pairs": pairs, "any": bool(pairs), "status": status}
