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

import numpy as np
from scipy import stats as _st

__all__ = ["paired_differences", "scarce_z", "cohens_dz", "ttest_paired", "wilcoxon_p", "paired_summary"]


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
def _as_1d(d) -> np.ndarray:
    arr = np.asarray(d, dtype=float).ravel()
    if np.isnan(arr).any():
        raise ValueError("differences contain NaN; pair with paired_differences() first")
    return arr


def _constant(arr: np.ndarray) -> bool:
    """All values equal up to float rounding. Not tested by ``sd == 0``: the float sd of identical values
    can come out as 1e-17, which would turn an undefined ratio into a meaningless huge z. The tolerance
    (1e-12 relative) absorbs subtraction rounding — 0.3 − 0.1 and 0.4 − 0.2 differ by 3e-17 — so a
    mathematically constant d (common: accuracies are multiples of 1/m) is treated as constant."""
    return bool(np.ptp(arr) <= 1e-12 * max(1.0, float(np.abs(arr).max())))


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
    constant d gives t = ±inf / 0, p = 0 / 1 and a zero-width CI at the mean (scipy would warn and
    return NaN there, which hides a perfectly consistent effect).
    """
    arr = _as_1d(d)
    n = arr.size
    nan = float("nan")
    if n < 2:
        return {"t": nan, "df": nan, "p": nan, "ci_low": nan, "ci_high": nan}
    mean, df = float(arr.mean()), n - 1
    if _constant(arr):
        t = scarce_z(arr)
        return {"t": t, "df": df, "p": 1.0 if t == 0.0 else 0.0, "ci_low": mean, "ci_high": mean}
    res = _st.ttest_1samp(arr, 0.0)
    se = float(arr.std(ddof=1)) / math.sqrt(n)
    half = float(_st.t.ppf(0.5 + confidence / 2.0, df)) * se
    return {"t": float(res.statistic), "df": df, "p": float(res.pvalue),
            "ci_low": mean - half, "ci_high": mean + half}


def wilcoxon_p(d) -> float:
    """Two-sided Wilcoxon signed-rank p of "d is symmetric about 0" (``scipy.stats.wilcoxon``).

    Zero differences are dropped (``zero_method="wilcox"``, the textbook rule); scipy uses the exact
    null distribution for small n without ties and a normal approximation otherwise. Degenerate
    cases: n = 0 gives NaN; every d zero gives 1.0 (no signed evidence at all, where scipy would
    return NaN). With n ≤ 5 non-zero differences the exact two-sided p can never go below
    2 / 2^n (0.0625 at n = 5): a handful of seeds cannot reach p < 0.05 with this test.
    """
    arr = _as_1d(d)
    if arr.size == 0:
        return float("nan")
    if not np.any(arr != 0.0):
        return 1.0
    return float(_st.wilcoxon(arr, zero_method="wilcox", alternative="two-sided").pvalue)


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
