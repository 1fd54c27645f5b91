"""A/A calibration: null studies are null, planted effects are planted, vectorised stats match the scalar ones."""
import math

import numpy as np
import pytest

from benchmark.stats import DecisionRule, paired_summary
from benchmark.stats.calibration import _t_statistics, calibrate, detection_rates, null_studies, study_statistics


def test_arms_use_different_runs():
    # pool of 2 runs: run 0 right on every image, run 1 on none. Each pseudo-seed pairs two *different*
    # runs, so every per-seed d is +1 or −1 (never 0), whatever the image resample.
    pool = np.vstack([np.ones(6), np.zeros(6)])
    ca, cb = null_studies(pool, 4, 500, np.random.default_rng(0))
    assert ca.shape == cb.shape == (500, 4, 6)
    d = ca.mean(2) - cb.mean(2)
    assert set(np.unique(d)) == {-1.0, 1.0}
    assert abs(d.mean()) < 0.05  # symmetric: A/B order is a coin flip


def test_one_test_set_draw_per_study():
    # pool rows identical except image order doesn't matter: with run rows equal, every seed of a study
    # sees the same resampled images, so acc_a is constant within a study
    pool = np.tile([1, 0, 1, 0, 0, 1, 1, 1], (3, 1)).astype(float)
    ca, cb = null_studies(pool, 5, 200, np.random.default_rng(1))
    acc = ca.mean(2)
    assert np.all(acc == acc[:, :1])
    assert np.all(ca.mean(2) == cb.mean(2))  # identical runs → d = 0 exactly


def test_planted_effect_size():
    # all-wrong pool: q = δ/(1 − 0) = 0.1, so each image of arm A turns right with p = 0.1 → E[acc_A] = 0.1
    pool = np.zeros((3, 10))
    ca, cb = null_studies(pool, 5, 4000, np.random.default_rng(2), planted=0.10)
    assert ca.mean() == pytest.approx(0.10, abs=0.005) and cb.mean() == 0.0
    # pool at 50 %: q = 0.1/0.5 = 0.2 of the wrong half → +10 pp in expectation
    half = np.tile([1, 0], (4, 5)).astype(float)
    ca, cb = null_studies(half, 5, 4000, np.random.default_rng(3), planted=0.10)
    assert (ca.mean() - cb.mean()) == pytest.approx(0.10, abs=0.005)


def test_vectorised_t_matches_scalar():
    rng = np.random.default_rng(4)
    d = np.round(rng.normal(0.05, 0.1, (50, 5)) * 10) / 10  # coarse, like a 10-image test class
    d[0] = 0.1   # constant non-zero → z = inf, p = 0
    d[1] = 0.0   # all zero → z = 0, p = 1
    v = _t_statistics(d, 0.95)
    for i, row in enumerate(d):
        s = paired_summary(row)
        assert v["z"][i] == pytest.approx(s["z"]) and v["p"][i] == pytest.approx(s["p"])
        assert v["ci_low"][i] == pytest.approx(s["ci_low"]) and v["ci_high"][i] == pytest.approx(s["ci_high"])


def test_rates_and_calibration():
    rng = np.random.default_rng(5)
    pool = (rng.random((6, 12)) < 0.5).astype(float)
    res = calibrate(pool, 5, np.random.default_rng(6), n_sims=1500, planted_pp=30)
    aa, planted = res["A/A"], res["planted"]
    # under the null the unadjusted t-test should not exceed its nominal 5 % by more than noise
    assert aa["rates"]["t_p"] <= 0.05 + 3 * aa["rates"]["t_p_se"] + 0.01
    assert abs(aa["achieved_pp"]) < 3
    assert planted["achieved_pp"] == pytest.approx(30, abs=3)
    assert planted["rates"]["rule_gain"] > aa["rates"]["rule_gain"]
    for r in (aa["rates"], planted["rates"]):
        assert all(0.0 <= v <= 1.0 for v in r.values())


def test_detection_rates_hand_counted():
    st = {"verdict": np.array(["gain", "no evidence", "harm", "no evidence"], dtype=object),
          "z": np.array([4.0, 1.0, -np.inf, 3.4]), "p": np.array([0.01, 0.5, 0.0, 0.06])}
    r = detection_rates(st, 0.05, 3.4)
    # rule: 2 of 4 non-"no evidence", 1 gain; |z| ≥ 3.4: 4, -inf, 3.4 → 3 of 4; z ≥ 3.4: 2 of 4; p < .05: 2
    assert (r["rule_any"], r["rule_gain"], r["z_abs"], r["z_gain"], r["t_p"]) == (0.5, 0.25, 0.75, 0.5, 0.5)
    assert r["rule_any_se"] == pytest.approx(math.sqrt(0.25 / 4))


def test_rule_with_hierarchical_ci_is_stricter():
    pool = (np.random.default_rng(7).random((5, 8)) < 0.5).astype(float)
    ca, cb = null_studies(pool, 5, 300, np.random.default_rng(8), planted=0.2)
    t_rule = study_statistics(ca, cb, np.random.default_rng(9), DecisionRule())
    h_rule = study_statistics(ca, cb, np.random.default_rng(9), DecisionRule(ci="hierarchical"), n_boot=200)
    # the hierarchical CI adds a condition, so it can only remove gains
    assert np.all((h_rule["verdict"] == "gain") <= (t_rule["verdict"] == "gain"))


def test_input_checks():
    with pytest.raises(ValueError):
        null_studies(np.ones((1, 5)), 5, 10, np.random.default_rng(0))
    with pytest.raises(ValueError):
        null_studies(np.ones((3, 5)), 1, 10, np.random.default_rng(0))
