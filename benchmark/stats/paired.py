"""Paired-by-seed statistics for arm comparisons (synthetic vs real, synthetic vs placebo).

Every arm is run over the same seeds, so the honest unit of evidence is the per-seed difference
d_s = acc(arm A, seed s) − acc(arm B, seed s): it cancels the seed-to-seed variance that both arms
share (split, init, data order). Everything here is a pure function, arrays in → numbers out, with
no I/O; functions that need randomness (bootstrap, permutation tests, to come) take an explicit
``np.random.Generator`` so results are reproducible.

SCARCE reports ``z = mean(d) / (sd(d)/√n)`` with the sample sd (ddof=1). That is numerically the
one-sample t statistic; we keep SCARCE's name for comparability and give the t-test p value and CI
(which use the t distribution with n−1 df, the right reference for small n) alongside it.

Layout: pairing → point statistics (z, Cohen's d_z) → tests/intervals (t, Wilcoxon) → summaries.
Resampling lives in :mod:`benchmark.stats.bootstrap`, multiplicity in :mod:`benchmark.stats.multiple`,
the whole per-comparison bundle in :mod:`benchmark.stats.compare`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

import numpy as np
from scipy import stats as _st

__all__ = ["paired_differences", "on_grid", "scarce_z", "cohens_dz", "ttest_paired", "signflip_p", "wilcoxon_p",
           "paired_summary", "GRID_DECIMALS", "EXACT_MAX_N"]

# Accuracies are k/m and their differences come out as 0.19999999999999996 and 0.20000000000000007.
# Rank tests must see those as the tie they are: every difference is rounded to 10 decimals first. Two
# genuinely different values differ by at least 1/(m·runs per seed) >> 1e-10 for any real test set.
GRID_DECIMALS = 10
EXACT_MAX_N = 16  # exact sign-flip enumeration (2^n patterns) up to this many differences


# --------------------------------------------------------------------------------------- pairing
def _is_missing(v: object) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and math.isnan(v))


def paired_differences(
    a: Mapping[int, float], b: Mapping[int, float]
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Per-seed ``d = a − b`` over the seeds both arms have, plus the seeds that could not be paired.

    Returns ``(seeds, d, dropped)``: ``seeds`` sorted ascending, ``d`` aligned with it, ``dropped`` the
    sorted seeds present in only one mapping. A value of ``None``/NaN counts as absent (a run with no
    metric cannot be paired), so such seeds land in ``dropped`` too. Dropped seeds are returned rather
    than silently discarded so reports can show how much of the design was lost.
    """
    ka = {s for s, v in a.items() if not _is_missing(v)}
    kb = {s for s, v in b.items() if not _is_missing(v)}
    both = sorted(ka & kb)
    dropped = sorted((set(a) | set(b)) - set(both))
    seeds = np.asarray(both, dtype=int)
    d = np.asarray([float(a[s]) - float(b[s]) for s in both], dtype=float)
    return seeds, d, [int(s) for s in dropped]


# ------------------------------------------------------------------------------ point statistics
def on_grid(d, decimals: int = GRID_DECIMALS) -> np.ndarray:
    """``d`` rounded to ``decimals`` (default 10), ``-0.0`` made ``0.0``: float noise of k/m differences
    removed, so ties are ties and zeros are zeros for rank, sign and constancy checks."""
    return np.round(np.asarray(d, dtype=float), decimals) + 0.0


def _as_1d(d) -> np.ndarray:
    arr = np.asarray(d, dtype=float).ravel()
    if np.isnan(arr).any():
        raise ValueError("differences contain NaN; pair with paired_differences() first")
    return arr


def _constant(arr: np.ndarray) -> bool:
    """All values equal once on the grid (:func:`on_grid`). Not tested by ``sd == 0``: the float sd of
    identical values can come out as 1e-17, which would turn an undefined ratio into a meaningless huge
    z; 0.3 − 0.1 and 0.4 − 0.2 differ by 3e-17 and are the same difference."""
    g = on_grid(arr)
    return bool(g.size and np.all(g == g[0]))


def scarce_z(d) -> float:
    """SCARCE's ``z = mean(d) / (sd(d, ddof=1) / √n)``.

    Degenerate cases (chosen so a table never crashes and the sign still reads right):
    - n < 2: ``nan`` (no sample sd exists);
    - every d identical and non-zero: ``±inf`` with the sign of the mean (a perfectly consistent
      effect; common when the hardest class has a handful of test images, so accuracies are coarse);
    - every d zero: ``0.0`` (no effect at all, rather than the undefined 0/0).
    """
    arr = _as_1d(d)
    n = arr.size
    if n < 2:
        return float("nan")
    mean = float(arr.mean())
    if _constant(arr):
        return 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
    sd = float(arr.std(ddof=1))
    return mean / (sd / math.sqrt(n))


def cohens_dz(d) -> float:
    """Cohen's d_z = mean(d) / sd(d, ddof=1): the paired effect in units of its own seed-to-seed sd.

    It equals ``scarce_z(d) / √n`` (z grows with the number of seeds, d_z does not), with the same
    degenerate choices: NaN for n < 2, ±inf for a constant non-zero d, 0 for d all zero.
    """
    arr = _as_1d(d)
    z = scarce_z(arr)
    return z if arr.size < 2 or math.isinf(z) or z == 0.0 else z / math.sqrt(arr.size)


# --------------------------------------------------------------------------- tests and intervals
def ttest_paired(d, confidence: float = 0.95) -> dict[str, float]:
    """Two-sided one-sample t-test of mean(d) = 0 and the t-based CI of the mean.

    Returns ``t, df, p, ci_low, ci_high``. Degenerate cases follow :func:`scarce_z`: n < 2 gives NaN;
    constant d gives t = ±inf / 0 and a zero-width CI at the mean. Its p is **not** 0: a t p of 0 for
    two seeds that happen to agree is a certainty no design of n seeds can give. It is the exact
    sign-flip p instead, ``2 / 2^n`` (only the all-plus and all-minus sign patterns reach |mean|), which
    is what :func:`signflip_p` returns for a constant non-zero d; 1.0 when every d is 0.
    """
    arr = _as_1d(d)
    n = arr.size
    nan = float("nan")
    if n < 2:
        return {"t": nan, "df": nan, "p": nan, "ci_low": nan, "ci_high": nan}
    mean, df = float(arr.mean()), n - 1
    if _constant(arr):
        t = scarce_z(arr)
        return {"t": t, "df": df, "p": 1.0 if t == 0.0 else 2.0 ** (1 - n), "ci_low": mean, "ci_high": mean}
    res = _st.ttest_1samp(arr, 0.0)
    ci = res.confidence_interval(confidence)
    return {"t": float(res.statistic), "df": df, "p": float(res.pvalue),
            "ci_low": float(ci.low), "ci_high": float(ci.high)}


def _grid_integers(arr: np.ndarray) -> np.ndarray:
    """``arr`` as whole numbers on its exact grid, so that sums of sign patterns that tie, tie exactly.

    Accuracies are k/m and a seed's differences k/(m·runs): each value is read back as the nearest
    fraction with denominator ≤ 10^6 (exact for any real test set: float noise is ~1e-16, two such
    fractions differ by ≥ 1e-12) and scaled by the common denominator. Rounding to decimals is not
    enough here: 1/3 + 1/3 and 2/3 rounded differ in the last digit. Falls back to 10-decimal units
    when the common denominator would lose float64 exactness.
    """
    fr = [Fraction(float(x)).limit_denominator(10 ** 6) for x in arr]
    den = math.lcm(*(f.denominator for f in fr)) if fr else 1
    ints = [f.numerator * (den // f.denominator) for f in fr]
    if ints and max(abs(i) for i in ints) * len(ints) >= 2 ** 53:
        return np.rint(on_grid(arr) * 10.0 ** GRID_DECIMALS)
    return np.asarray(ints, dtype=float)


def signflip_p(d) -> float:
    """Two-sided sign-flip permutation p of mean(d) = 0 (``scipy.stats.permutation_test``, one sample).

    The statistic is the sum of the differences in whole units of their exact k/m grid
    (:func:`_grid_integers`), so tied patterns are counted as ties. Exact (all 2^n sign patterns) for n ≤ :data:`EXACT_MAX_N`, else 2^16
    random patterns from a fixed seed. The smallest p n seeds can give is 2 / 2^n: 0.5 at n = 2, 0.0625
    at n = 5. NaN for n = 0.
    """
    arr = _grid_integers(_as_1d(d))
    if arr.size == 0:
        return float("nan")
    if not np.any(arr != 0.0):
        return 1.0
    exact = arr.size <= EXACT_MAX_N
    res = _st.permutation_test((arr,), lambda x, axis: np.sum(x, axis=axis), permutation_type="samples",
                               vectorized=True, n_resamples=np.inf if exact else 2 ** 16,
                               alternative="two-sided", rng=np.random.default_rng(0))
    return float(min(1.0, res.pvalue))


def _signed_rank_null(ranks2: np.ndarray) -> np.ndarray:
    """Exact null distribution of T+ (in doubled mid-ranks, whole numbers) over all 2^n sign patterns:
    ``counts[t]`` patterns give T+ = t. Each rank enters or not with probability 1/2 (a convolution)."""
    counts = np.zeros(int(ranks2.sum()) + 1)
    counts[0] = 1.0
    for r in ranks2.astype(int):
        counts[r:] = counts[r:] + counts[:-r].copy() if r else counts * 2
    return counts


def wilcoxon_p(d) -> float:
    """Two-sided Wilcoxon signed-rank p of "d is symmetric about 0", exact with ties, for any n.

    The differences are put on their grid first (:func:`on_grid`): without that, k/m float noise breaks
    true ties at random and the p moves (a = [4,4,4,4,5,4,4,4]/5, b = [3,1,5,2,4,2,2,4]/5 gave 0.047
    where the tie-aware exact p is 0.0625). Zero differences are dropped (the "wilcox" rule). The
    statistic is T+ over the mid-ranks (``scipy.stats.rankdata``) and its null distribution is
    enumerated exactly over all 2^n sign patterns by convolution (mid-ranks doubled are whole numbers),
    so the p is exact, reproducible and fast for any n; p = 2·min(P(T ≤ t), P(T ≥ t)), capped at 1
    (scipy's ``wilcoxon(method=PermutationMethod())`` gives the same). n = 0 gives NaN; every d zero 1.0.
    The exact two-sided p can never go below 2 / 2^n (0.0625 at n = 5).
    """
    arr = on_grid(_as_1d(d))
    if arr.size == 0:
        return float("nan")
    nz = arr[arr != 0.0]
    if nz.size == 0:
        return 1.0
    ranks2 = np.rint(2.0 * _st.rankdata(np.abs(nz)))              # doubled mid-ranks: whole numbers
    t = int(ranks2[nz > 0].sum())
    counts = _signed_rank_null(ranks2)
    total = counts.sum()                                           # 2^n
    lower, upper = counts[: t + 1].sum() / total, counts[t:].sum() / total
    return float(min(1.0, 2.0 * min(lower, upper)))


# ------------------------------------------------------------------------------------ summaries
def paired_summary(d, confidence: float = 0.95) -> dict[str, float]:
    """Everything a report row needs about one set of paired differences.

    Keys: ``n, mean, sd, se, z`` (SCARCE), ``t, df, p`` (two-sided t-test), ``ci_low, ci_high``
    (``confidence`` CI of the mean). n = 0 gives NaN everywhere but ``n``.
    """
    arr = _as_1d(d)
    n = arr.size
    nan = float("nan")
    mean = float(arr.mean()) if n else nan
    sd = float(arr.std(ddof=1)) if n >= 2 else nan
    if n >= 2 and _constant(arr):
        sd = 0.0
    se = sd / math.sqrt(n) if n >= 2 else nan
    out = {"n": n, "mean": mean, "sd": sd, "se": se, "z": scarce_z(arr) if n else nan}
    out.update(ttest_paired(arr, confidence) if n else
               {"t": nan, "df": nan, "p": nan, "ci_low": nan, "ci_high": nan})
    return out
