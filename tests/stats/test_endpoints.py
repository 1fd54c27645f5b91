"""The endpoints (benchmark/endpoints.py) against hand-computed values and an independent implementation."""
from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import log_loss

from benchmark.endpoints import (ENDPOINTS, EPS, PRIMARY_CHOICES, all_endpoints, balanced_accuracy,
                                 hardest_accuracy, hardest_ap, hardest_log_loss, hardest_prob, true_class_prob)

# 3 classes, the hardest is class 2; five test images
Y = np.array([0, 0, 1, 2, 2])
P = np.array([[0.7, 0.2, 0.1],    # class 0, right
              [0.2, 0.3, 0.5],    # class 0, called 2 (a false positive of the hardest class)
              [0.1, 0.6, 0.3],    # class 1, right
              [0.2, 0.2, 0.6],    # class 2, right
              [0.5, 0.1, 0.4]])   # class 2, called 0


def test_hand_computed_values():
    assert hardest_accuracy(Y, P, 2) == pytest.approx(1 / 2)
    # hardest-class scores ranked: 0.6 (pos), 0.5, 0.4 (pos), 0.3, 0.1 -> precision 1/1 and 2/3 at the positives
    assert hardest_ap(Y, P, 2) == pytest.approx((1 + 2 / 3) / 2)
    assert hardest_prob(Y, P, 2) == pytest.approx((0.6 + 0.4) / 2)
    assert hardest_log_loss(Y, P, 2) == pytest.approx(-(math.log(0.6) + math.log(0.4)) / 2)
    # recalls: class 0 1/2, class 1 1/1, class 2 1/2
    assert balanced_accuracy(Y, P) == pytest.approx((0.5 + 1 + 0.5) / 3)
    np.testing.assert_allclose(true_class_prob(Y, P, 2), [0.6, 0.4])


def test_a_probability_shift_moves_ap_and_prob_but_not_accuracy():
    """The point of the sensitive endpoints: a hardest-class image gaining probability without flipping its
    argmax leaves accuracy where it was and raises AP and the mean probability."""
    q = P.copy()
    q[4] = [0.45, 0.1, 0.449]  # still called 0, with more probability on its true class
    q[1] = [0.6, 0.3, 0.1]     # still called 0 (right), its hardest-class score now below both positives
    assert hardest_accuracy(Y, q, 2) == hardest_accuracy(Y, P, 2)
    assert hardest_ap(Y, q, 2) == pytest.approx(1.0)
    assert hardest_ap(Y, P, 2) < 0.9
    assert hardest_prob(Y, q, 2) > hardest_prob(Y, P, 2)


def _ap_by_hand(pos: np.ndarray, score: np.ndarray) -> float:
    """AP = mean over positives of the precision at its rank (no tied scores)."""
    order = np.argsort(-score, kind="stable")
    hits = pos[order].astype(float)
    precision = np.cumsum(hits) / np.arange(1, hits.size + 1)
    return float((precision * hits).sum() / hits.sum())


def _recall_mean(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean([(pred[y == c] == c).mean() for c in np.unique(y)]))


@pytest.mark.parametrize("seed", range(5))
def test_against_an_independent_implementation(seed):
    rng = np.random.default_rng(seed)
    n, c, h = 60, 4, int(rng.integers(4))
    y = rng.integers(0, c, n)
    y[:2] = h
    p = rng.dirichlet(np.ones(c), n)
    sel = y == h
    assert hardest_ap(y, p, h) == pytest.approx(_ap_by_hand(sel, p[:, h]))
    assert hardest_accuracy(y, p, h) == pytest.approx(np.mean(p[sel].argmax(1) == h))
    assert hardest_prob(y, p, h) == pytest.approx(np.mean(p[sel, h]))
    assert hardest_log_loss(y, p, h) == pytest.approx(log_loss(np.ones(sel.sum()), p[sel, h], labels=[0, 1]))
    assert balanced_accuracy(y, p) == pytest.approx(_recall_mean(y, p.argmax(1)))


def test_per_image_values_average_to_the_score():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 40)
    p = rng.dirichlet(np.ones(3), 40)
    scores, per_image = all_endpoints(y, p, 1)
    assert set(scores) == set(ENDPOINTS)
    assert set(per_image) == {"hardest_accuracy", "hardest_prob", "hardest_log_loss"}
    for name, values in per_image.items():
        assert values.shape == ((y == 1).sum(),)
        assert values.mean() == pytest.approx(scores[name]), name


def test_edge_cases():
    p0 = np.array([[1.0, 0.0], [0.0, 1.0]])  # a stored 0 for the true class: clipped, not infinite
    assert hardest_log_loss(np.array([1, 0]), p0, 1) == pytest.approx(-math.log(EPS))
    none = np.array([0, 0])  # no hardest-class test image: NaN, not an error
    for f in (hardest_accuracy, hardest_ap, hardest_prob, hardest_log_loss):
        assert math.isnan(f(none, p0, 1))
    with pytest.raises(ValueError, match=r"expected \(N, C\) with N = 3"):
        hardest_prob(np.array([0, 1, 1]), p0, 1)


def test_primary_choices_are_the_pp_endpoints():
    assert PRIMARY_CHOICES == ("hardest_accuracy", "hardest_ap", "hardest_prob", "balanced_accuracy")
    assert not ENDPOINTS["hardest_log_loss"].higher_is_better
