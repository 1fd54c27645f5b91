"""The ``saturating_linear`` volume model, f(v) = a + b (1 − e^(−v/c)) − d v, against independent routes: a
brute-force grid over c with linear least squares for (a, b, d), a numerical derivative scan for V and an argmax
scan for the optimum, and statsmodels' sums of squares for its lack-of-fit test."""
from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.stats.volume import (curve_at, describe_v, diminishing_volume, fit_curve, lack_of_fit, marginal_gain,
                                    optimum_volume, volume_fit)

M = "saturating_linear"
VOL = np.array([0.0, 8, 16, 31, 47, 62, 93, 124])
RISE_FALL = (0.27, 0.20, 20.0, 0.002)  # optimum at 20 ln(0.2 / 0.04) = 32.2 images, f(124) = 0.222 < f(0) = 0.27


def _grid_fit(v, y, cs):
    """Brute force: for each c on a fine grid, (a, b, d) by linear least squares on [1, 1 − e^(−v/c), −v]."""
    best = (math.inf, None)
    for c in cs:
        X = np.column_stack([np.ones_like(v), 1 - np.exp(-v / c), -v])
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        sse = float(((X @ coef - y) ** 2).sum())
        best = min(best, (sse, (coef[0], coef[1], c, coef[2])), key=lambda t: t[0])
    return best


def test_noise_free_fit_recovers_the_four_parameters():
    y = curve_at(VOL, RISE_FALL, M)
    assert np.allclose(fit_curve(VOL, y, M), RISE_FALL, rtol=1e-4, atol=1e-7)
    assert np.isnan(fit_curve(VOL[:3], y[:3], M)).all()  # four parameters need four volumes


@pytest.mark.parametrize("rng_seed", [3, 4, 5])
def test_noisy_fit_reaches_the_brute_force_grid_minimum(rng_seed):
    rng = np.random.default_rng(rng_seed)
    v = np.repeat(VOL, 15)
    y = curve_at(v, RISE_FALL, M) + rng.normal(0, 0.08, v.size)
    p = fit_curve(v, y, M)
    sse_fit = float(((curve_at(v, p, M) - y) ** 2).sum())
    sse_grid, q = _grid_fit(v, y, np.geomspace(0.08, 12400, 4000))
    assert sse_fit <= sse_grid * (1 + 1e-6)  # at least as good as the grid ...
    assert sse_fit == pytest.approx(sse_grid, rel=1e-3)  # ... and the same minimum


@pytest.mark.parametrize("params", [RISE_FALL, (0.3, 0.25, 20.0, 0.0), (0.3, 0.25, 20.0, -0.0005),
                                    (0.3, 0.25, 20.0, -0.002), (0.3, 0.01, 20.0, 0.001)])
def test_diminishing_volume_and_optimum_match_scans(params):
    t = 0.001  # 0.1 pp per image on a 0..1 endpoint
    grid = np.linspace(0, 400, 400_001)
    f = curve_at(grid, params, M)
    numeric = np.gradient(f, grid)
    below = grid[numeric < t]
    want = below[0] if below.size else math.inf  # d <= −t: the slope never falls below t
    assert diminishing_volume(params, t, M) == pytest.approx(want, abs=0.01)
    assert np.allclose(marginal_gain(grid[::1000], params, M), numeric[::1000], atol=1e-6)
    opt = optimum_volume(params, M, 124.0)
    inner = np.argmax(f[grid <= 124.0])
    if 0 < inner < (grid <= 124.0).sum() - 1:  # an interior maximum within the tested range
        assert opt == pytest.approx(grid[inner], abs=1e-2)
    else:  # rises to the end, or never rises: no optimum claimed
        assert math.isinf(opt)


def test_lack_of_fit_sums_of_squares_match_statsmodels():
    """At the fitted c the model is linear in (a, b, d): statsmodels' OLS on those columns against the cell-means
    model gives the same residual sums of squares; F then has df (m − 4, n − m), c counted as a parameter."""
    import pandas as pd
    import statsmodels.formula.api as smf
    from scipy import stats

    rng = np.random.default_rng(7)
    v = np.repeat(VOL, 10)
    y = curve_at(v, RISE_FALL, M) + rng.normal(0, 0.05, v.size)
    p = fit_curve(v, y, M)
    df = pd.DataFrame({"v": v, "y": y, "s": 1 - np.exp(-v / p[2])})
    lin = smf.ols("y ~ s + v", df).fit()
    cells = smf.ols("y ~ C(v)", df).fit()
    m, n = VOL.size, v.size
    f_want = ((lin.ssr - cells.ssr) / (m - 4)) / (cells.ssr / (n - m))
    got = lack_of_fit(v, y, curve_at(v, p, M), 4)
    assert np.allclose(lin.fittedvalues, curve_at(v, p, M), atol=1e-6)  # the same least-squares curve
    assert got["F"] == pytest.approx(f_want, rel=1e-6) and (got["df1"], got["df2"]) == (m - 4, n - m)
    assert got["p"] == pytest.approx(stats.f.sf(f_want, m - 4, n - m), rel=1e-6)


def test_a_fall_below_the_start_is_described_where_peak_is_rejected():
    rng = np.random.default_rng(2)
    vals = curve_at(VOL, RISE_FALL, M) + rng.normal(0, 0.03, (15, VOL.size))
    f = volume_fit(VOL, vals, M, 0.001, np.random.default_rng(0), n_boot=100)
    assert f["reached"] and 0 < f["diminishing_v"] < f["optimum_v"] < 124
    assert f["optimum_v_lo"] <= 32.2 <= f["optimum_v_hi"] and f["d_lo"] <= 0.002 <= f["d_hi"]
    said = describe_v(f)
    assert "diminishing returns after" in said and "fitted optimum is at" in said
    # peak returns to a from above and cannot fall below it: its lack-of-fit test rejects this curve
    assert volume_fit(VOL, vals, "peak", 0.001, np.random.default_rng(0), n_boot=20)["lof_p"] < 0.05
    assert math.isnan(volume_fit(VOL, vals, "saturating", 0.001, np.random.default_rng(0), n_boot=5)["d"])
