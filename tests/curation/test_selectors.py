"""Each curation selector against a brute-force loop, scipy, or a hand-built case with a known answer;
determinism (same seed, same pick); the registry and its conf/curation/ files agree."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import yaml
from scipy.spatial.distance import cdist, cosine
from scipy.stats import entropy

from benchmark import PROJECT_ROOT
from benchmark.curation import create_curator, list_curators
from benchmark.curation.selectors import uncertainty_scores

BUILTIN = ["none", "random", "similarity", "diversity", "confidence", "uncertainty"]


def _case(seed: int = 0):
    """pool (20, 4), real (12, 4) with labels a / b (6 each)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(20, 4)), rng.normal(size=(12, 4)), ["a"] * 6 + ["b"] * 6


def test_registry_and_conf_files_agree_and_unknown_names_list_the_known():
    docs = {p.stem: yaml.safe_load(p.read_text()) for p in (PROJECT_ROOT / "conf" / "curation").glob("*.yaml")}
    assert set(BUILTIN) <= set(list_curators()) == set(docs)
    assert all(d["name"] == stem for stem, d in docs.items())
    with pytest.raises(KeyError, match="known curation selectors: .*similarity"):
        create_curator("best")


@pytest.mark.parametrize("reduce", ["mean", "max"])
def test_similarity_is_the_top_n_by_cosine_to_the_class_real_images(reduce):
    pool, real, labels = _case()
    mine = [r for r, lab in zip(real, labels) if lab == "a"]
    agg = np.mean if reduce == "mean" else np.max
    score = [agg([1 - cosine(p, r) for r in mine]) for p in pool]  # scipy, one pair at a time
    want = sorted(sorted(range(len(pool)), key=lambda i: (-score[i], i))[:5])
    got = create_curator("similarity", reduce=reduce)(pool, real, labels, "a", 5, np.random.default_rng(0))
    assert got.tolist() == want


def _radius(x: np.ndarray, centers) -> float:
    return float(cdist(x, x[list(centers)]).min(axis=1).max())


def test_diversity_is_greedy_k_center_and_within_twice_the_optimal_radius():
    pool, _, _ = _case(1)
    x = pool[:10] / np.linalg.norm(pool[:10], axis=1, keepdims=True)  # the selector works on unit-norm rows
    got = create_curator("diversity")(pool[:10], None, None, "a", 4, np.random.default_rng(5))
    start = int(np.random.default_rng(5).integers(10))  # the same seeded start, then a brute-force greedy loop
    picked = [start]
    while len(picked) < 4:
        far = {i: cdist(x[[i]], x[picked]).min() for i in range(10) if i not in picked}
        picked.append(max(far, key=lambda i: (far[i], -i)))
    assert got.tolist() == sorted(picked)
    optimal = min(_radius(x, s) for s in itertools.combinations(range(10), 4))  # every 4-subset
    assert _radius(x, got) <= 2 * optimal + 1e-9  # Gonzalez's guarantee for greedy k-center


def _circle():
    """Real a near angle 0, real b near angle pi (unit circle); the pool at 9 angles from 0 to pi."""
    rng = np.random.default_rng(0)
    ang = np.r_[rng.normal(0, 0.1, 10), rng.normal(np.pi, 0.1, 10)]
    real = np.c_[np.cos(ang), np.sin(ang)]
    t = np.linspace(0, np.pi, 9)
    return np.c_[np.cos(t), np.sin(t)], real, ["a"] * 10 + ["b"] * 10


def test_confidence_keeps_the_most_typical_and_uncertainty_the_borderline_images():
    pool, real, labels = _circle()
    rng = np.random.default_rng(0)
    assert create_curator("confidence")(pool, real, labels, "a", 3, rng).tolist() == [0, 1, 2]  # nearest angle 0
    assert create_curator("confidence")(pool, real, labels, "b", 3, rng).tolist() == [6, 7, 8]
    for measure in ("margin", "entropy"):  # the boundary is at pi/2: pool index 4 and its neighbours
        got = create_curator("uncertainty", measure=measure)(pool, real, labels, "a", 3, rng)
        assert got.tolist() == [3, 4, 5]


def test_uncertainty_scores_match_scipy_and_a_sort():
    probs = np.random.default_rng(2).dirichlet(np.ones(4), size=30)
    np.testing.assert_allclose(uncertainty_scores(probs, "entropy"), entropy(probs.T), rtol=1e-9)
    margin = [1 - (sorted(p)[-1] - sorted(p)[-2]) for p in probs]
    np.testing.assert_allclose(uncertainty_scores(probs, "margin"), margin, rtol=1e-12)
    with pytest.raises(ValueError, match="margin or entropy"):
        uncertainty_scores(probs, "variance")


@pytest.mark.parametrize("name", BUILTIN)
def test_same_seed_same_pick_of_n_distinct_images(name):
    pool, real, labels = _case(3)
    fn = create_curator(name)
    a = fn(pool, real, labels, "b", 7, np.random.default_rng([4, 0]))
    b = fn(pool, real, labels, "b", 7, np.random.default_rng([4, 0]))
    assert a.tolist() == b.tolist() and len(set(a.tolist())) == 7 and a.tolist() == sorted(a.tolist())
    with pytest.raises(ValueError, match="pool of 20"):
        fn(pool, real, labels, "b", 21, np.random.default_rng(0))


def test_random_is_a_uniform_draw_and_the_seed_matters():
    pool, real, labels = _case()
    fn = create_curator("random")
    freq = np.zeros(20)
    for s in range(2000):
        freq[fn(pool, real, labels, "a", 6, np.random.default_rng(s))] += 1
    assert np.all(np.abs(freq / 2000 - 6 / 20) < 0.05)  # each image kept with probability n / P
    assert fn(pool, real, labels, "a", 6, np.random.default_rng(0)).tolist() != \
        fn(pool, real, labels, "a", 6, np.random.default_rng(1)).tolist()
