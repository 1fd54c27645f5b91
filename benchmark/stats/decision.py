"""The verdict of a comparison — gain / no evidence / harm — from a pre-stated, configurable rule.

Default: the Holm-adjusted t-test p is below 0.05 **and** the 95 % t interval of the mean paired
difference excludes 0; the sign of the mean then says gain or harm. With the t interval the second
condition is implied by the first (a t CI excludes 0 exactly when the unadjusted p < α); it becomes
a real extra hurdle with ``ci="hierarchical"`` (the seeds × test-images bootstrap), the stricter
choice when the hardest class has only a handful of test images.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["DecisionRule", "VERDICTS", "decide", "verdict", "CI_KEYS", "P_KEYS"]

VERDICTS = ("gain", "no evidence", "harm")
# statistic-name → (low key, high key) in a comparison row (see benchmark.stats.compare)
CI_KEYS = {"t": ("ci_low", "ci_high"), "bootstrap": ("boot_ci_low", "boot_ci_high"),
           "hierarchical": ("hier_ci_low", "hier_ci_high")}
P_KEYS = {"p_holm": "Holm-adjusted t-test p", "p": "t-test p (unadjusted)",
          "wilcoxon_p_holm": "Holm-adjusted Wilcoxon p", "wilcoxon_p": "Wilcoxon p (unadjusted)"}


@dataclass(frozen=True)
class DecisionRule:
    """``p`` names the p value (a key of :data:`P_KEYS`), ``ci`` the interval (a key of :data:`CI_KEYS`
    or ``None`` for none); ``min_effect_pp`` optionally requires |mean| ≥ that many percentage points."""

    alpha: float = 0.05
    p: str = "p_holm"
    ci: str | None = "t"
    min_effect_pp: float = 0.0

    def __post_init__(self) -> None:
        if self.p not in P_KEYS:
            raise ValueError(f"DecisionRule.p is {self.p!r}; expected one of {sorted(P_KEYS)}")
        if self.ci is not None and self.ci not in CI_KEYS:
            raise ValueError(f"DecisionRule.ci is {self.ci!r}; expected one of {sorted(CI_KEYS)} or None")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"DecisionRule.alpha is {self.alpha}; expected 0 < alpha < 1")

    def describe(self) -> str:
        parts = [f"{P_KEYS[self.p]} < {self.alpha:g}"]
        if self.ci:
            level = 100 * (1 - self.alpha)
            parts.append(f"{level:g} % {self.ci} CI of the mean difference excludes 0")
        if self.min_effect_pp:
            parts.append(f"|mean difference| ≥ {self.min_effect_pp:g} pp")
        return " and ".join(parts)


def decide(mean, p, ci_low, ci_high, rule: DecisionRule = DecisionRule()) -> np.ndarray:
    """Vectorised verdicts: arrays of mean difference (fraction), p, CI bounds → array of strings.

    Anything missing (NaN p or CI, e.g. fewer than 2 paired seeds) is "no evidence".
    ``ci_low``/``ci_high`` are ignored when ``rule.ci`` is None.
    """
    mean, p = np.asarray(mean, float), np.asarray(p, float)
    with np.errstate(invalid="ignore"):
        sig = p < rule.alpha
        if rule.ci is not None:
            lo, hi = np.asarray(ci_low, float), np.asarray(ci_high, float)
            sig &= (lo > 0) | (hi < 0)
        if rule.min_effect_pp:
            sig &= np.abs(mean) * 100.0 >= rule.min_effect_pp
    out = np.full(mean.shape, VERDICTS[1], dtype=object)
    out[sig & (mean > 0)] = VERDICTS[0]
    out[sig & (mean < 0)] = VERDICTS[2]
    return out


def verdict(row: Mapping, rule: DecisionRule = DecisionRule()) -> str:
    """Verdict of one comparison row (keys as produced by :func:`benchmark.stats.compare.compare_arms`
    plus ``p_holm`` from :func:`benchmark.stats.compare.adjust_study`)."""
    lo_key, hi_key = CI_KEYS[rule.ci] if rule.ci else ("ci_low", "ci_high")
    nan = float("nan")
    return str(decide(row.get("mean", nan), row.get(rule.p, nan), row.get(lo_key, nan),
                      row.get(hi_key, nan), rule)[()])
