"""`scarce plan`'s statistics (benchmark/stats/plan.py) against independent computations."""
from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.stats.decision import DecisionRule
from benchmark.stats.plan import aa_pool, detection_rate, mde, pairs_available, realise_design
from benchmark.stats.power import power_paired_t

SEED_RULE = DecisionRule(p="p", ci="t")  # the plain seed-level rule: t p < α and its t interval excludes 0


def iid_pilots(n_pilots: int, n_images: int, p: float, seed: int) -> np.ndarray:
    """Pilot outcomes with no image effect at all: every image right with probability p in every run."""
    return (np.random.default_rng(seed).random((n_pilots, n_images)) < p).astype(float)


@pytest.mark.parametrize("delta", [0.04, 0.07])
def test_seed_level_power_is_the_noncentral_t_when_units_are_identical(delta):
    """Identical units: a seed's mean difference is ≈ normal with var (pA(1 − pA) + p(1 − p)) / m, so the
    seed-level rule's power is the noncentral t's (one-sided: the gain side)."""
    p, m, n = 0.5, 120, 8
    values = iid_pilots(60, m, p, 0)           # 60 pilots: 1,770 A/A pairs, a study of 8 rarely shares a run
    rate, se = detection_rate(values, np.arange(m), [1] * m, n, delta, 1, n_sims=3000, rule=SEED_RULE)
    pa = p + delta                             # the planted effect makes a wrong image right w.p. δ / (1 − p)
    sd = math.sqrt((pa * (1 - pa) + p * (1 - p)) / m)
    expected = power_paired_t(delta, sd, n)
    assert 0.2 < expected < 0.95               # a power where the check has teeth
    assert abs(rate - expected) < 3 * se + 0.01, (rate, se, expected)


def test_mde_is_the_first_grid_point_that_reaches_the_power():
    values = iid_pilots(12, 60, 0.4, 2)
    sizes, units = [3] * 10, np.repeat(np.arange(20), 3)
    res = mde(values, units, sizes, 10, 7, n_sims=400)
    assert res["reached"] and 0 < res["mde_pp"] < 100
    at = detection_rate(values, units, sizes, 10, res["mde_pp"] / 100, 7, n_sims=400)
    below = detection_rate(values, units, sizes, 10, (res["mde_pp"] - 0.5) / 100, 7, n_sims=400)
    assert at[0] == res["rate"] >= 0.8 > below[0]


def test_more_seeds_and_more_units_lower_the_mde():
    values = iid_pilots(12, 60, 0.4, 3)
    units = np.arange(60)
    few, more_seeds = (mde(values, units, [1] * 10, n, 0, n_sims=400)["mde_pp"] for n in (5, 15))
    more_units = mde(values, units, [1] * 40, 5, 0, n_sims=400)["mde_pp"]
    assert more_seeds < few and more_units < few


def test_no_room_is_not_reachable():
    """Pilots that get every image right leave no room for a gain: no δ is ever detected."""
    res = mde(np.ones((10, 8)), np.arange(8), [1] * 8, 5, 0, n_sims=200)
    assert res == {"mde_pp": math.inf, "rate": 0.0, "se": 0.0, "reached": False}


def test_a_design_unit_is_filled_from_one_selection_unit():
    sel_units = np.array([0, 0, 0, 1, 1, 2, 7, 7, 7, 7])
    cols, units = realise_design(sel_units, [4, 1, 3], np.random.default_rng(0))
    assert units.tolist() == [0] * 4 + [1] + [2] * 3   # the design's own size structure
    for u in range(3):
        assert len(set(sel_units[cols[units == u]])) == 1
    with pytest.raises(ValueError, match="expected at least one unit"):
        realise_design(sel_units, [2, 0], np.random.default_rng(0))


def test_aa_pool_pairs_every_two_distinct_pilots_once():
    values = np.arange(5)[:, None] * np.ones((5, 3))   # pilot p's values are all p
    ca, cb = aa_pool(values, np.random.default_rng(0))
    pairs = {frozenset((a, b)) for a, b in zip(ca[:, 0], cb[:, 0])}
    assert len(ca) == pairs_available(5) == len(pairs) == 10 and all(len(pr) == 2 for pr in pairs)
    assert 0 < (ca[:, 0] > cb[:, 0]).sum() < 10        # orientations are coin flips, not all "lower first"
    with pytest.raises(ValueError, match=r"expected \(pilot runs >= 2, images\)"):
        aa_pool(values[:1], np.random.default_rng(0))
