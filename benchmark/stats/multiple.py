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


def holm(pvalues) -> np.ndarray:
    """Holm-adjusted p values in the input order.

    With the m non-missing p values sorted ascending, p_(1) ≤ … ≤ p_(m):
    ``adj_(j) = min(1, max_{i ≤ j} (m − i + 1) · p_(i))``. Rejecting where ``adj < α`` is Holm's
    procedure at level α. NaN inputs (comparisons that could not be tested) stay NaN and do not
    count towards m.
    """
    p = np.asarray(pvalues, dtype=float).ravel()
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    if ((p[ok] < 0) | (p[ok] > 1)).any():
        raise ValueError("p values must lie in [0, 1]")
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out
