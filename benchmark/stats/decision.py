"""The verdict of a comparison — gain / no evidence / harm / not tested — from a pre-stated rule.

Default: the Holm-adjusted **seeds × test-units** t-test p (:mod:`benchmark.stats.crossed`) is below
α = 0.05 **and** its 100(1 − α) % interval excludes 0; the sign of the mean then says gain or harm.
That test treats seeds *and* independent test units (images, or near-duplicate groups where the split
is grouped) as random draws, so the verdict is about new seeds and new test images like these. A
seed-level rule (``p="p_holm", ci="t"``) speaks only for the particular frozen test images: a
generator that helps some of them and hurts others is called a gain up to 26–62 % of the time under
it. A design below ``min_seeds`` seeds (or, for a rule that generalises, below ``min_units`` = 4 independent
units) gets no verdict at all: "not tested". Why 4: with 2 units the unit component has 1 df; where the units
happen to agree its estimate is ≤ 0, the test falls back to the seed-level t, and under the null it calls a
difference 10–12 % of the time at α = 0.05 (15 seeds); 3 units give 5.6–7.2 %, 4 units 5.4–6.0 %, 11 units
4.7–5.6 % (tests/stats/test_min_units.py simulates it).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["DecisionRule", "VERDICTS", "decide", "verdict", "CI_KEYS", "P_KEYS", "UNIT_AWARE"]

VERDICTS = ("gain", "no evidence", "harm", "not tested")
# statistic-name → (low key, high key) in a comparison row (see benchmark.stats.compare)
CI_KEYS = {"cross": ("cross_ci_low", "cross_ci_high"), "t": ("ci_low", "ci_high"),
           "bootstrap": ("boot_ci_low", "boot_ci_high"), "hierarchical": ("hier_ci_low", "hier_ci_high")}
P_KEYS = {"cross_p_holm": "Holm-adjusted seeds × test-units t-test p",
          "cross_p": "seeds × test-units t-test p (unadjusted)",
          "p_holm": "Holm-adjusted seed-level t-test p", "p": "seed-level t-test p (unadjusted)",
          "wilcoxon_p_holm": "Holm-adjusted Wilcoxon p", "wilcoxon_p": "Wilcoxon p (unadjusted)"}
CI_NAMES = {"cross": "seeds × test-units t", "t": "seed-level t", "bootstrap": "seed bootstrap",
            "hierarchical": "seeds × test-units bootstrap"}
UNIT_AWARE = {"cross_p_holm", "cross_p", "cross", "hierarchical"}  # statistics that resample test units


@dataclass(frozen=True)
class DecisionRule:
    """``p`` names the p value (a key of :data:`P_KEYS`), ``ci`` the interval (a key of :data:`CI_KEYS`
    or ``None`` for none), computed at level 100(1 − α) %. ``min_seeds``: fewer paired seeds give "not
    tested", and so do fewer than ``min_units`` independent test units for a rule that generalises (its
    false-positive rate exceeds α below 4: module docstring). ``min_effect_pp`` optionally requires
    |mean| ≥ that many percentage points.
    ``target_effect_pp`` and ``power`` are the planning figures stated before the data: the report's
    "seeds needed" is the seeds for ``power`` to detect ``target_effect_pp`` under this rule's α."""

    alpha: float = 0.05
    p: str = "cross_p_holm"
    ci: str | None = "cross"
    min_seeds: int = 5
    min_units: int = 4
    min_effect_pp: float = 0.0
    target_effect_pp: float = 10.0
    power: float = 0.8

    def __post_init__(self) -> None:
        if self.p not in P_KEYS:
            raise ValueError(f"DecisionRule.p is {self.p!r}; expected one of {sorted(P_KEYS)}")
        if self.ci is not None and self.ci not in CI_KEYS:
            raise ValueError(f"DecisionRule.ci is {self.ci!r}; expected one of {sorted(CI_KEYS)} or None")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"DecisionRule.alpha is {self.alpha}; expected 0 < alpha < 1")
        if int(self.min_seeds) != self.min_seeds or self.min_seeds < 2:
            raise ValueError(f"DecisionRule.min_seeds is {self.min_seeds}; expected an integer >= 2")
        if int(self.min_units) != self.min_units or self.min_units < 2:
            raise ValueError(f"DecisionRule.min_units is {self.min_units}; expected an integer >= 2")
        if not 0.0 < self.power < 1.0 or not self.target_effect_pp > 0:
            raise ValueError(f"DecisionRule power={self.power}, target_effect_pp={self.target_effect_pp}; "
                             "expected 0 < power < 1 and a positive target effect")

    @property
    def confidence(self) -> float:
        """The level of every interval the rule reads: 1 − α."""
        return 1.0 - self.alpha

    @property
    def generalises(self) -> bool:
        """True when the rule's p or interval resamples test units (its verdict is about new images too)."""
        return self.p in UNIT_AWARE or self.ci in UNIT_AWARE

    def too_few_units(self, n_units):
        """True (elementwise for arrays) where a rule that generalises has fewer than ``min_units`` independent
        test units: "not tested". Always False for a seed-level rule. NaN counts as too few."""
        return self.generalises & ~(np.asarray(n_units, float) >= self.min_units)

    def seed_level(self) -> "DecisionRule":
        """This rule for an endpoint with no per-image decomposition (detection's AP): the same α, Holm,
        minimum seeds and planning figures, with each unit-aware statistic replaced by its seed-level
        counterpart (its verdicts then speak for the frozen test images only, and say so)."""
        p = {"cross_p_holm": "p_holm", "cross_p": "p"}.get(self.p, self.p)
        ci = "t" if self.ci in ("cross", "hierarchical") else self.ci
        return dataclasses.replace(self, p=p, ci=ci)

    def describe(self) -> str:
        parts = [f"{P_KEYS[self.p]} < {self.alpha:g}"]
        if self.ci:
            parts.append(f"{100 * self.confidence:g} % {CI_NAMES[self.ci]} interval of the mean difference excludes 0")
        if self.min_effect_pp:
            parts.append(f"|mean difference| ≥ {self.min_effect_pp:g} pp")
        need = f"at least {self.min_seeds} paired seeds" + (
            f" and {self.min_units} independent test units" if self.generalises else "")
        return " and ".join(parts) + f"; {need}, else 'not tested'"

    def population(self, n_images: int | None = None, n_units: int | None = None) -> str:
        """Which population a verdict under this rule is about, in words."""
        size = ""
        if n_images is not None:
            size = f" ({n_images} hardest-class test images" + (
                f" in {n_units} independent units)" if n_units is not None and n_units != n_images else ")")
        if self.generalises:
            return f"new seeds and new test images drawn like these{size}"
        return f"these frozen test images only{size}: not images like them"


def decide(mean, p, ci_low, ci_high, rule: DecisionRule = DecisionRule(), n_seeds=None,
           n_units=None) -> np.ndarray:
    """Vectorised verdicts: arrays of mean difference (fraction), p, CI bounds → array of strings.

    ``n_seeds`` / ``n_units`` (optional arrays): below ``rule.min_seeds`` seeds, or ``rule.min_units`` units for a
    rule that generalises, the verdict is "not tested". Otherwise anything missing (NaN p or CI) is
    "no evidence". ``ci_low``/``ci_high`` are ignored when ``rule.ci`` is None.
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
    with np.errstate(invalid="ignore"):
        if n_seeds is not None:
            out[np.broadcast_to(~(np.asarray(n_seeds, float) >= rule.min_seeds), out.shape)] = VERDICTS[3]
        if n_units is not None:
            out[np.broadcast_to(rule.too_few_units(n_units), out.shape)] = VERDICTS[3]
    return out


def verdict(row: Mapping, rule: DecisionRule = DecisionRule()) -> str:
    """Verdict of one comparison row (keys as produced by :func:`benchmark.stats.compare.compare_arms`
    plus the Holm p values from :func:`benchmark.stats.compare.adjust_study`)."""
    lo_key, hi_key = CI_KEYS[rule.ci] if rule.ci else ("ci_low", "ci_high")
    nan = float("nan")
    units = row.get("n_units")
    return str(decide(row.get("mean", nan), row.get(rule.p, nan), row.get(lo_key, nan),
                      row.get(hi_key, nan), rule, row.get("n", nan),
                      nan if units is None else units)[()])
