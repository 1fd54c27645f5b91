"""The built-in curation selectors: pick n of the P pool images generated for one target class.

Every selector sees only backbone features of the pool (P, D) and of the *real train* images (R, D) with their
labels (R,): never selection or test images (the pool's caller, :mod:`benchmark.curation.pool`, reads only the
train split). Ties are broken by pool index (stable sort), and anything random is drawn from ``rng``, so the same
seed gives the same pick. The returned indices are sorted ascending (the pool's order is kept).
"""
from __future__ import annotations

import numpy as np

from benchmark.curation._registry import register_curator


def _unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _check(pool: np.ndarray, n: int) -> None:
    if not 1 <= n <= len(pool):
        raise ValueError(f"curation: asked for {n} images of a pool of {len(pool)}; expected 1 <= n <= pool size "
                         f"(curation.pool_factor >= 1 and a generator that delivers its pool)")


def _top(score: np.ndarray, n: int) -> np.ndarray:
    """The n highest scores' indices (ties: lower index first), sorted ascending."""
    return np.sort(np.argsort(-score, kind="stable")[:n])


@register_curator("none")
def first_n(pool, real, real_labels, target, n, rng):
    """The first n of the pool (what an uncurated generator delivers; the arm itself skips the pool for `none`)."""
    _check(pool, n)
    return np.arange(n)


@register_curator("random")
def random_n(pool, real, real_labels, target, n, rng):
    """A seeded uniform draw of n without replacement: the placebo of curation (selection without a criterion)."""
    _check(pool, n)
    return np.sort(rng.choice(len(pool), size=n, replace=False))


def similarity_scores(pool: np.ndarray, real: np.ndarray, real_labels, target: str, reduce: str = "mean"):
    """(P,) mean (or max) cosine of each pool image to the real train images of `target`."""
    mine = real[np.asarray(real_labels) == target]
    if not len(mine):
        raise ValueError(f"curation=similarity: no real train image of class {target!r} to compare with")
    cos = _unit(pool) @ _unit(mine).T  # (P, R_target)
    if reduce not in ("mean", "max"):
        raise ValueError(f"curation.reduce={reduce!r}: expected mean or max")
    return cos.mean(axis=1) if reduce == "mean" else cos.max(axis=1)


@register_curator("similarity")
def most_similar(pool, real, real_labels, target, n, rng, reduce: str = "mean"):
    """The n pool images nearest (cosine, mean or max over the class's real train images) to the real class."""
    _check(pool, n)
    return _top(similarity_scores(pool, real, real_labels, target, reduce), n)


def k_center(x: np.ndarray, n: int, start: int) -> np.ndarray:
    """Greedy k-center (farthest-point) order on rows of x (Euclidean): start, then each next point is the one
    farthest from everything picked so far (ties: lower index). (n,) indices in pick order."""
    picked = [start]
    dist = np.linalg.norm(x - x[start], axis=1)  # (P,) distance to the nearest picked point
    for _ in range(n - 1):
        nxt = int(np.argmax(dist))
        picked.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(x - x[nxt], axis=1))
    return np.asarray(picked)


@register_curator("diversity")
def most_diverse(pool, real, real_labels, target, n, rng):
    """k-center greedy on unit-norm pool features from a seeded random start: n images that cover the pool."""
    _check(pool, n)
    return np.sort(k_center(_unit(pool), n, int(rng.integers(len(pool)))))


def real_only_probs(pool: np.ndarray, real: np.ndarray, real_labels, seed: int, c: float = 1.0):
    """(P, C) probabilities of a class-balanced logistic regression fit on the real train features of all
    classes (unit-norm), and its class names (C,): the real-only model that judges the pool."""
    from sklearn.linear_model import LogisticRegression  # here: importing arms must not pay for sklearn

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed)
    model.fit(_unit(real), np.asarray(real_labels))
    return model.predict_proba(_unit(pool)), list(model.classes_)


@register_curator("confidence")
def most_confident(pool, real, real_labels, target, n, rng, c: float = 1.0):
    """The n pool images the real-only model gives the highest probability of the target class."""
    _check(pool, n)
    probs, classes = real_only_probs(pool, real, real_labels, int(rng.integers(2**31)), c)
    return _top(probs[:, classes.index(target)], n)


def uncertainty_scores(probs: np.ndarray, measure: str = "margin") -> np.ndarray:
    """(P,) higher = less certain: 1 - (top-1 minus top-2 probability), or the entropy of the row."""
    if measure == "margin":
        top = np.sort(probs, axis=1)[:, ::-1]
        return 1.0 - (top[:, 0] - top[:, 1])
    if measure == "entropy":
        return -(probs * np.log(np.clip(probs, 1e-12, 1.0))).sum(axis=1)
    raise ValueError(f"curation.measure={measure!r}: expected margin or entropy")


@register_curator("uncertainty")
def most_uncertain(pool, real, real_labels, target, n, rng, measure: str = "margin", c: float = 1.0):
    """The n pool images the real-only model is least sure about (margin or entropy, highest first)."""
    _check(pool, n)
    probs, _ = real_only_probs(pool, real, real_labels, int(rng.integers(2**31)), c)
    return _top(uncertainty_scores(probs, measure), n)
