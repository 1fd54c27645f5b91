"""The endpoints a classification run is scored on, from its stored probabilities: pure functions, arrays in,
a number out (``y_true``: (N,) int labels over the whole test set; ``probs``: (N, C); ``hardest``: the hardest
class's index).

- ``hardest_accuracy``: recall of the hardest class (argmax == hardest over its test images). The headline
  (SCARCE's endpoint) and the default primary endpoint.
- ``hardest_ap``: average precision of the hardest class one-vs-rest over the **whole** test set, its
  probability as the score (sklearn's ``average_precision_score``).
- ``hardest_prob``: mean probability the model gives the true class on the hardest-class test images.
- ``hardest_log_loss``: mean −log of that probability (clipped at :data:`EPS`); lower is better.
- ``balanced_accuracy``: mean per-class recall over all classes present in the test set.

AP and the probability endpoints use every test image's score rather than a 0/1 per hardest-class image, so
an arm that moves the hardest class's probabilities without flipping an argmax still shows (sensitivity).
Which endpoint is primary is declared before running (``endpoints.primary`` in conf/config.yaml).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Endpoint", "ENDPOINTS", "PRIMARY_CHOICES", "DEFAULT_PRIMARY", "EPS", "hardest_accuracy",
           "hardest_ap", "hardest_prob", "hardest_log_loss", "balanced_accuracy", "true_class_prob",
           "all_endpoints", "declared_primary"]

# probabilities are stored rounded to 6 decimals, so a stored 0 means "below 5e-7": clip there, not at 1e-15
EPS = 1e-6


def _arrays(y_true, probs) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y_true, dtype=int).ravel(), np.asarray(probs, dtype=float)
    if p.ndim != 2 or p.shape[0] != y.size:
        raise ValueError(f"probs has shape {p.shape}; expected (N, C) with N = {y.size} labels")
    return y, p


def true_class_prob(y_true, probs, hardest: int) -> np.ndarray:
    """Per hardest-class test image (in test order), the probability given to its true class."""
    y, p = _arrays(y_true, probs)
    return p[y == hardest, hardest]


def hardest_accuracy(y_true, probs, hardest: int) -> float:
    """Fraction of hardest-class test images whose argmax is the hardest class (NaN without any)."""
    y, p = _arrays(y_true, probs)
    sel = y == hardest
    return float((p[sel].argmax(1) == hardest).mean()) if sel.any() else float("nan")


def hardest_ap(y_true, probs, hardest: int) -> float:
    """Average precision of "is the hardest class" over the whole test set, scored by its probability."""
    y, p = _arrays(y_true, probs)
    pos = y == hardest
    from sklearn.metrics import average_precision_score  # here: the config schema imports this module (no sklearn)

    return float(average_precision_score(pos, p[:, hardest])) if pos.any() else float("nan")


def hardest_prob(y_true, probs, hardest: int) -> float:
    """Mean true-class probability over the hardest-class test images (NaN without any)."""
    q = true_class_prob(y_true, probs, hardest)
    return float(q.mean()) if q.size else float("nan")


def hardest_log_loss(y_true, probs, hardest: int) -> float:
    """Mean −log(true-class probability) over the hardest-class test images, probabilities clipped at EPS."""
    q = true_class_prob(y_true, probs, hardest)
    return float(-np.log(np.clip(q, EPS, 1.0)).mean()) if q.size else float("nan")


def balanced_accuracy(y_true, probs, hardest: int | None = None) -> float:
    """Mean recall over the classes present in ``y_true`` (argmax predictions); ``hardest`` is unused."""
    y, p = _arrays(y_true, probs)
    if not y.size:
        return float("nan")
    with warnings.catch_warnings():  # a class predicted but absent from the test set: a recall it has not, no news
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        from sklearn.metrics import balanced_accuracy_score

        return float(balanced_accuracy_score(y, p.argmax(1)))


@dataclass(frozen=True)
class Endpoint:
    """``score``: the run's value; ``per_image``: its per-hardest-class-image decomposition (the mean of
    these values is ``score``), or None where there is none (AP, balanced accuracy: seed-level statistics
    only); ``scale``/``unit``: how a difference is printed; ``higher_is_better``: the sign of a gain."""

    name: str
    title: str
    score: Callable[..., float]
    per_image: Callable[..., np.ndarray] | None
    higher_is_better: bool = True
    scale: float = 100.0
    unit: str = "pp"


def _correct(y_true, probs, hardest: int) -> np.ndarray:
    y, p = _arrays(y_true, probs)
    return (p[y == hardest].argmax(1) == hardest).astype(float)


def _nll(y_true, probs, hardest: int) -> np.ndarray:
    return -np.log(np.clip(true_class_prob(y_true, probs, hardest), EPS, 1.0))


ENDPOINTS: dict[str, Endpoint] = {e.name: e for e in (
    Endpoint("hardest_accuracy", "hardest-class accuracy", hardest_accuracy, _correct),
    Endpoint("hardest_ap", "hardest-class AP (one-vs-rest, whole test set)", hardest_ap, None),
    Endpoint("hardest_prob", "mean true-class probability on hardest-class test images", hardest_prob,
             true_class_prob),
    Endpoint("hardest_log_loss", "log-loss on hardest-class test images", hardest_log_loss, _nll,
             higher_is_better=False, scale=1.0, unit="nats"),
    Endpoint("balanced_accuracy", "balanced accuracy (mean per-class recall)", balanced_accuracy, None),
)}
DEFAULT_PRIMARY = "hardest_accuracy"
# a primary endpoint's differences are printed, planned and thresholded in percentage points (the report's
# *_pp columns, DecisionRule.target_effect_pp): log-loss (nats, lower is better) is reported as secondary only
PRIMARY_CHOICES = tuple(n for n, e in ENDPOINTS.items() if e.unit == "pp" and e.higher_is_better)


def all_endpoints(y_true, probs, hardest: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Every endpoint's value, and the per-image values of those that decompose (hardest-class test order)."""
    scores = {n: e.score(y_true, probs, hardest) for n, e in ENDPOINTS.items()}
    per_image = {n: e.per_image(y_true, probs, hardest) for n, e in ENDPOINTS.items() if e.per_image}
    return scores, per_image


def declared_primary(config: dict | None) -> str:
    """The primary endpoint a run's config declared (``endpoints.primary``); the default where it names none
    (records written before the key existed were all run under hardest-class accuracy)."""
    return ((config or {}).get("endpoints") or {}).get("primary") or DEFAULT_PRIMARY
