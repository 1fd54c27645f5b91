"""Multiplicity: Holm's step-down adjustment across all comparisons of a study.

A study with two generators already makes 6 comparisons (each generator vs real and vs placebo,
placebo vs real, generator vs generator); at α = 0.05 each, the chance that at least one is
"significant" by luck alone is far above 5 %. Holm (1979) controls that family-wise error rate
under any dependence between the tests and is uniformly more powerful than Bonferroni.
(``scipy.stats.false_discovery_control`` is Benjamini–Hochberg, which controls the false discovery
rate instead — a different, weaker guarantee.)
"""
from __future__ import annotations

import numpy as np

__all__ = ["holm"]


def holm(pvalues, count_missing: bool = False) -> np.ndarray:
    """Holm-adjusted p values in the input order.

    With the m p values sorted ascending, p_(1) ≤ … ≤ p_(m):
    ``adj_(j) = min(1, max_{i ≤ j} (m − i + 1) · p_(i))``. Rejecting where ``adj < α`` is Holm's
    procedure at level α. NaN inputs (comparisons that could not be tested) stay NaN. With
    ``count_missing=False`` they do not count towards m; with ``True`` they count as p = 1, so a
    pre-registered family does not shrink (and its survivors' p values do not fall) when runs fail.
    """
    p = np.asarray(pvalues, dtype=float).ravel()
    out = np.full(p.shape, np.nan)
    missing = np.isnan(p)
    if ((p[~missing] < 0) | (p[~missing] > 1)).any():
        raise ValueError("p values must lie in [0, 1]")
    work = np.where(missing, 1.0, p) if count_missing else p
    ok = np.flatnonzero(~np.isnan(work))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(work[ok], kind="stable")]
    scaled = (m - np.arange(m)) * work[order]
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    out[missing] = np.nan
    return out
