"""Equivalence and superiority of paired differences (e.g. mAP of "N real + M synthetic" minus mAP of
"N + M real", one difference per seed). Pure functions: arrays in, numbers out.

TOST (two one-sided t-tests, Schuirmann 1987) with margin δ > 0 on d = A − B:
  H0a: mean(d) ≤ −δ  vs  H1a: mean(d) > −δ   (p_lower = P(T ≥ (mean + δ)/se))
  H0b: mean(d) ≥ +δ  vs  H1b: mean(d) < +δ   (p_upper = P(T ≤ (mean − δ)/se))
p_tost = max(p_lower, p_upper); equivalence at level α iff p_tost < α, which is the same as the
(1 − 2α) t interval of the mean lying inside (−δ, +δ). Superiority: one-sided t-test of mean(d) > δ_s
(δ_s = 0: plain superiority; δ_s = −δ: non-inferiority).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st

from benchmark.stats.paired import on_grid

__all__ = ["tost_paired", "superiority_paired", "parity_verdict"]


def _arr(d) -> np.ndarray:
    a = np.asarray(d, dtype=float).ravel()
    return a[~np.isnan(a)]


def _mean_se(a: np.ndarray) -> tuple[float, float, int]:
    return float(a.mean()), float(a.std(ddof=1)) / math.sqrt(a.size), a.size - 1


def tost_paired(d, margin: float, alpha: float = 0.05) -> dict[str, float | bool]:
    """TOST on paired differences d with equivalence margin ±margin. Keys: n, mean, se, df, t_lower, t_upper,
    p_lower, p_upper, p_tost, ci_low, ci_high (the 1 − 2α t interval), equivalent. n < 2 gives NaN."""
    if not margin > 0:
        raise ValueError(f"tost_paired: margin={margin!r}; expected a positive equivalence margin")
    a, nan = _arr(d), float("nan")
    out = {"n": int(a.size), "margin": float(margin), "alpha": float(alpha)}
    if a.size < 2:
        return out | dict.fromkeys(("mean", "se", "df", "t_lower", "t_upper", "p_lower", "p_upper", "p_tost",
                                    "ci_low", "ci_high"), nan) | {"equivalent": False}
    mean, se, df = _mean_se(a)
    g = on_grid(a)
    if np.all(g == g[0]):  # constant on the grid: certain about the mean (float std may not be exactly 0)
        mean, margin = float(g[0]), float(on_grid(margin))  # 0.6 − 0.4 is the margin 0.2, not just inside it
        inside = -margin < mean < margin
        p = 0.0 if inside else 1.0
        return out | {"mean": mean, "se": 0.0, "df": df, "t_lower": math.inf if mean > -margin else -math.inf,
                      "t_upper": -math.inf if mean < margin else math.inf, "p_lower": float(mean <= -margin),
                      "p_upper": float(mean >= margin), "p_tost": p, "ci_low": mean, "ci_high": mean,
                      "equivalent": inside}
    t_lo, t_up = (mean + margin) / se, (mean - margin) / se
    p_lo, p_up = float(_st.t.sf(t_lo, df)), float(_st.t.cdf(t_up, df))
    ci = _st.ttest_1samp(a, 0.0).confidence_interval(1 - 2 * alpha)  # the (1 − 2α) t interval
    p = max(p_lo, p_up)
    return out | {"mean": mean, "se": se, "df": df, "t_lower": t_lo, "t_upper": t_up, "p_lower": p_lo,
                  "p_upper": p_up, "p_tost": p, "ci_low": float(ci.low), "ci_high": float(ci.high),
                  "equivalent": bool(p < alpha)}


def superiority_paired(d, margin: float = 0.0) -> dict[str, float]:
    """One-sided t-test of mean(d) > margin (scipy `ttest_1samp(alternative='greater')`). Keys n, t, p.

    Constant differences above the margin get the exact one-sided sign-flip bound 1 / 2^n (only the
    all-plus pattern reaches the mean), never p = 0: two seeds that agree are not a certainty."""
    a = _arr(d)
    if a.size < 2:
        return {"n": int(a.size), "t": float("nan"), "p": float("nan")}
    g = on_grid(a)
    if np.all(g == g[0]):
        gap = float(on_grid(g[0] - margin))
        return {"n": int(a.size), "t": math.copysign(math.inf, gap) if gap else 0.0,
                "p": 2.0 ** -a.size if gap > 0 else 1.0}
    res = _st.ttest_1samp(a, margin, alternative="greater")
    return {"n": int(a.size), "t": float(res.statistic), "p": float(res.pvalue)}


def parity_verdict(tost: dict, sup_a: dict, sup_b: dict, alpha: float = 0.05) -> str:
    """Plain words: 'A better' / 'B better', 'equivalent (±δ)', or 'inconclusive'.

    Superiority is two-sided at α: each one-sided direction at α/2 (two one-sided tests at α each would
    be a two-sided test at 2α)."""
    if sup_a["p"] < alpha / 2:
        return "A better"
    if sup_b["p"] < alpha / 2:
        return "B better"
    if tost.get("equivalent"):
        return f"equivalent (±{tost['margin']:g})"
    return "inconclusive"
