"""Few-shot label efficiency against SCARCE's published MVTec Pill points and hand-made curves."""
import math

import pytest

from benchmark.stats.fewshot import grid_k, interpolate_k, label_efficiency, mean_ci

# SCARCE, MVTec Pill (hardest-class accuracy, %): k = 2, 3, 5
PILL_K = [2, 3, 5]
PILL_REAL = [26.3, 33.5, 45.4]
PILL_SYN = [44.6, 49.0, 56.1]


def test_pill_published_points():
    eff = label_efficiency(PILL_K, PILL_REAL, PILL_K, PILL_SYN)
    # the synthetic arm at the smallest k: k = 2, 44.6 %
    assert eff["k_synthetic"] == 2 and eff["acc_synthetic"] == 44.6
    # SCARCE's reading, off the measured grid: real-only first reaches 44.6 % at k = 5 (45.4 %)
    # → 1 − 2/5 = 60 % fewer real labels
    assert eff["k_real_grid"] == 5 and eff["fewer_labels_pct_grid"] == pytest.approx(60.0)
    # interpolated between (3, 33.5) and (5, 45.4): k = 3 + 2·(44.6 − 33.5)/(45.4 − 33.5) = 3 + 22.2/11.9
    # = 4.865546 → 1 − 2/4.865546 = 58.8946 % fewer
    assert eff["k_real_interp"] == pytest.approx(4.865546, abs=1e-6)
    assert eff["fewer_labels_pct_interp"] == pytest.approx(58.8946, abs=1e-4)
    assert eff["status"] == "interpolated"


def test_interpolation_edges():
    assert interpolate_k([1, 2, 4], [0.2, 0.4, 0.8], 0.6) == pytest.approx(3.0)   # halfway 2 → 4
    assert interpolate_k([4, 1, 2], [0.8, 0.2, 0.4], 0.4) == pytest.approx(2.0)   # unsorted input, exact hit
    assert interpolate_k([1, 2], [0.5, 0.6], 0.4) == 1.0                          # already reached at k = 1
    assert math.isnan(interpolate_k([1, 2], [0.5, 0.6], 0.7))                     # never reached: no extrapolation
    # non-monotone curve: the first crossing counts (k = 1 + (0.5−0.3)/(0.6−0.3) = 1.6667)
    assert interpolate_k([1, 2, 3, 4], [0.3, 0.6, 0.4, 0.9], 0.5) == pytest.approx(5 / 3)
    assert grid_k([1, 2, 4], [0.2, 0.4, 0.8], 0.6) == 4
    assert math.isnan(grid_k([], [], 0.5))


def test_label_efficiency_statuses():
    same = label_efficiency([2, 5], [0.5, 0.6], [2, 5], [0.5, 0.7])
    assert same["status"] == "real-only matches at the smallest k" and same["fewer_labels_pct_interp"] == 0.0
    beyond = label_efficiency([2, 5], [0.2, 0.3], [2, 5], [0.5, 0.7])
    assert beyond["status"] == "beyond the largest real-only k" and math.isnan(beyond["k_real_interp"])
    assert label_efficiency([], [], [2], [0.5])["status"] == "missing arm"


def test_mean_ci():
    # [1, 2, 3, 4]: 2.5 ± t(0.975, 3)·sd/√4 = 2.5 ± 3.182446·0.645497 = 2.5 ± 2.054260
    m, lo, hi = mean_ci([1, 2, 3, 4])
    assert m == 2.5 and lo == pytest.approx(0.445740, abs=1e-5) and hi == pytest.approx(4.554260, abs=1e-5)
    assert mean_ci([0.3, 0.3]) == (0.3, 0.3, 0.3)
    m1 = mean_ci([0.3])
    assert m1[0] == 0.3 and math.isnan(m1[1])
    assert all(math.isnan(v) for v in mean_ci([]))
