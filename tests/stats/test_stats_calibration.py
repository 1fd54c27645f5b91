"""A/A calibration (issue 15 item 6): the nulls are null, the heterogeneous null exposes a seed-level rule,
planted effects are planted, the pool's seed pairing is kept, and pools too small are refused."""
import math

import numpy as np
import pytest

from benchmark.stats import DecisionRule
from benchmark.stats.calibration import calibrate, null_studies, study_statistics
from benchmark.stats.crossed import crossed_test
from benchmark.stats.paired import ttest_paired


def _hetero_pool(rng, seeds=15, m=10, effect=0.3):
    """Arm B helps half the images by +effect and hurts the other half: zero effect on the population."""
    pa = rng.uniform(0.3, 0.7, m)
    pb = np.clip(pa + np.where(np.arange(m) % 2 == 0, effect, -effect), 0, 1)
    return (rng.random((seeds, m)) < pa).astype(float), (rng.random((seeds, m)) < pb).astype(float)


def test_refuses_pools_too_small():
    with pytest.raises(ValueError, match="seed pairs"):
        null_studies(np.ones((2, 6)), np.zeros((2, 6)), None, 5, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="independent test unit"):  # 6 shots of one tile = one unit
        null_studies(np.ones((8, 6)), np.zeros((8, 6)), ["tile"] * 6, 5, 10, np.random.default_rng(0))


def test_exchangeable_flips_whole_seeds_and_keeps_pairing():
    # A always right, B always wrong: every simulated seed is +1 or −1 on every unit, never a mix,
    # because a seed's two runs are swapped together (the design's pairing), not image by image
    y = null_studies(np.ones((6, 4)), np.zeros((6, 4)), None, 5, 400, np.random.default_rng(1), "exchangeable")
    assert y.shape == (400, 5, 4)
    assert set(np.unique(y)) == {-1.0, 1.0} and np.all(np.ptp(y, axis=2) == 0)
    assert abs(y.mean()) < 0.05


def test_heterogeneous_swaps_whole_units_and_draws_nothing_twice():
    # A right on every image: each unit is +1 in every seed or −1 in every seed (a unit's direction is one
    # coin for the whole study), and the seeds of a study are distinct pool seeds
    ca = np.ones((6, 4))
    ca[:, 0] = np.arange(6) / 10          # tags each pool seed on image 0 (B is 0 there)
    y = null_studies(ca, np.zeros((6, 4)), None, 6, 300, np.random.default_rng(2), "heterogeneous")
    assert np.all(np.ptp(y[:, :, 1:], axis=1) == 0) and set(np.unique(y[:, :, 1:])) == {-1.0, 1.0}
    tags = np.abs(y[:, :, 0])
    assert all(len(set(np.round(row, 9))) == 6 for row in tags)   # every pool seed exactly once
    with pytest.raises(ValueError, match="repeat seeds"):
        null_studies(ca, np.zeros((6, 4)), None, 7, 10, np.random.default_rng(0))


def test_heterogeneous_null_has_no_effect_and_keeps_per_image_effects():
    ca, cb = _hetero_pool(np.random.default_rng(2))
    y = null_studies(ca, cb, None, 10, 3000, np.random.default_rng(3), "heterogeneous")
    assert abs(y.mean()) < 0.01                               # population effect 0
    # per-unit effects survive: within a study the unit means differ far more than seed noise alone
    assert np.mean(np.ptp(y.mean(axis=1), axis=1)) > 0.3


def test_planted_effect_size():
    ca, cb = _hetero_pool(np.random.default_rng(4), effect=0.0)
    y = null_studies(ca, cb, None, 10, 4000, np.random.default_rng(5), "planted", planted=0.10)
    assert y.mean() == pytest.approx(0.10, abs=0.01)


def test_vectorised_statistics_match_scalar():
    ca, cb = _hetero_pool(np.random.default_rng(6), seeds=8, m=7)
    y = null_studies(ca, cb, None, 6, 40, np.random.default_rng(7), "heterogeneous")
    st = study_statistics(y, np.random.default_rng(8), DecisionRule(alpha=0.1))
    for i in range(40):
        full = y[i]
        c = crossed_test(full, confidence=0.9)
        t = ttest_paired(full.mean(axis=1), 0.9)
        assert st["cross_p"][i] == pytest.approx(c["p"], abs=1e-9)
        assert st["cross_ci_low"][i] == pytest.approx(c["ci_low"], abs=1e-9)
        assert st["p"][i] == pytest.approx(t["p"], abs=1e-9) and st["ci_high"][i] == pytest.approx(t["ci_high"], abs=1e-9)


def test_heterogeneous_null_exposes_the_seed_level_rule():
    # issue 15 items 4 and 6: per-image effects around 0, 15 seeds. The seed-level rule calls far more
    # than 5 % (it treats 10 frozen images as the population); the default rule stays at the nominal level.
    ca, cb = _hetero_pool(np.random.default_rng(9), seeds=15, m=10)
    seed_rule = DecisionRule(p="p_holm", ci="t")
    het_seed = calibrate(ca, cb, None, 15, np.random.default_rng(10), n_sims=1500, rule=seed_rule)["heterogeneous"]
    res = calibrate(ca, cb, None, 15, np.random.default_rng(11), n_sims=1500)
    assert het_seed["rates"]["rule_any"] > 0.15
    for scenario in ("exchangeable", "heterogeneous"):
        r = res[scenario]["rates"]
        assert r["rule_any"] <= 0.05 + 2 * r["rule_any_se"], scenario
    assert res["planted"]["achieved_pp"] == pytest.approx(10, abs=1.5)
    assert res["planted"]["rates"]["rule_gain"] > res["heterogeneous"]["rates"]["rule_gain"]
    assert not math.isnan(res["exchangeable"]["rates"]["cross_p"])
