"""DecisionRule.min_units: a rule that generalises over test units gives no verdict below 4 independent units.

Why (simulated here, so the threshold is tested, not asserted): with 2 units the unit variance has 1 df; where
the two units happen to agree, MS_unit ≤ MS_resid, benchmark/stats/crossed.py drops the unit term and the test
becomes the seed-level t, which ignores that the next test images may differ. Under the null it then calls a
difference far more often than α.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from benchmark.stats.calibration import detection_rates, study_statistics
from benchmark.stats.decision import DecisionRule, decide
from benchmark.stats.plan import mde

N_SIMS, N_SEEDS = 4000, 15


def null_studies(n_units: int, rng: np.random.Generator, sd_seed=0.05, sd_unit=0.10, sd_resid=0.05) -> np.ndarray:
    """(N_SIMS, N_SEEDS, n_units) differences with mean 0: a seed effect, a unit effect and noise."""
    return (rng.normal(0, sd_seed, (N_SIMS, N_SEEDS, 1)) + rng.normal(0, sd_unit, (N_SIMS, 1, n_units))
            + rng.normal(0, sd_resid, (N_SIMS, N_SEEDS, n_units)))


def false_positive_rate(n_units: int, rule: DecisionRule, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    rates = detection_rates(study_statistics(null_studies(n_units, rng), rng, rule), rule.alpha)
    return rates["rule_any"], rates["rule_any_se"]


def test_two_units_are_anti_conservative_and_four_are_not():
    loose = DecisionRule(min_units=2)  # the rule before min_units
    two, se = false_positive_rate(2, loose, 0)
    # an exact binomial test of the excess: the rate is above α = 0.05, not a Monte Carlo accident
    assert two > 0.08 and stats.binomtest(round(two * N_SIMS), N_SIMS, 0.05, alternative="greater").pvalue < 1e-6
    four, se4 = false_positive_rate(4, loose, 1)
    assert four < 0.05 + 3 * max(se4, math.sqrt(0.05 * 0.95 / N_SIMS)) + 0.01  # 5.4-5.9 % in /work notes
    assert false_positive_rate(2, DecisionRule(), 0)[0] == 0.0  # the default rule: "not tested", never a call
    assert false_positive_rate(4, DecisionRule(), 1)[0] == four  # from 4 units on it is the same test


def test_decide_and_describe_use_min_units():
    rule = DecisionRule()
    assert rule.min_units == 4 and "4 independent test units" in rule.describe()
    got = decide([0.2] * 4, [0.001] * 4, [0.1] * 4, [0.3] * 4, rule, n_seeds=[15] * 4, n_units=[2, 3, 4, 11])
    assert list(got) == ["not tested", "not tested", "gain", "gain"]
    seed_rule = rule.seed_level()  # speaks for these images only: units do not gate it
    assert list(decide([0.2], [0.001], [0.1], [0.3], seed_rule, n_seeds=[15], n_units=[2])) == ["gain"]
    with pytest.raises(ValueError, match="min_units"):
        DecisionRule(min_units=1)


def test_the_planner_says_a_two_unit_design_cannot_be_powered():
    values = np.random.default_rng(0).random((6, 40)) < 0.5  # pilot correctness, 6 seeds x 40 selection images
    got = mde(values.astype(float), np.arange(40) // 4, [6, 5], 15, 0)
    assert got == {"mde_pp": math.inf, "rate": 0.0, "se": 0.0, "reached": False}
