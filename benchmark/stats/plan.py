"""Minimum detectable effect of a design before it is run, from real-only pilot runs (`scarce plan`).

Arrays in, numbers out. ``values[p, j]`` is pilot run p's per-image endpoint value (1/0 correct for
hardest-class accuracy, the true-class probability for ``hardest_prob``) on the j-th hardest-class
**selection** image, ``sel_units[j]`` that image's independent unit (near-duplicate group).

A design is the size structure of its hardest-class test units (``sizes``: images per unit, from the
manifest). One *realisation* of it fills each unit of size n with a selection unit drawn with
replacement and n of that unit's images drawn with replacement, so the design's units keep the
selection's between-unit spread of difficulty. Its pool is every unordered pair of distinct pilots as
arm A and arm B of one simulated seed (an A/A pair; each pair's orientation is a coin flip, so a
pilot's luck enters a simulated study's mean with a random sign, as an independent run would).
:func:`benchmark.stats.calibration.null_studies` then plants δ and the study's rule decides
(:func:`benchmark.stats.calibration.study_statistics`). The detection rate averages over
``n_designs`` realisations; the MDE is the smallest δ on a grid whose rate reaches the rule's power.

Every δ of one bisection uses the same random numbers (a fresh generator from one seed), so the
rate is a smooth, near-monotone function of δ and the bisection does not chase Monte Carlo noise.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from benchmark.stats.calibration import null_studies, study_statistics
from benchmark.stats.decision import DecisionRule

__all__ = ["aa_pool", "realise_design", "design_pool", "detection_rate", "mde", "pairs_available"]


def pairs_available(n_pilots: int) -> int:
    """A/A pairs (distinct pilots) a pool of ``n_pilots`` runs offers: a study of n seeds needs n of them."""
    return n_pilots * (n_pilots - 1) // 2


def aa_pool(values: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(ca, cb)``: one row per unordered pair of distinct pilot runs, its orientation a coin flip."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 2 or v.shape[0] < 2:
        raise ValueError(f"pilot values have shape {v.shape}; expected (pilot runs >= 2, images)")
    ij = np.array(list(itertools.combinations(range(v.shape[0]), 2)))
    flip = rng.random(len(ij)) < 0.5
    ij[flip] = ij[flip][:, ::-1]
    return v[ij[:, 0]], v[ij[:, 1]]


def realise_design(sel_units, sizes, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(columns, units)``: selection-image indices and design-unit labels of one realisation of a design
    with ``len(sizes)`` units of ``sizes[u]`` images (see the module docstring)."""
    sel = np.asarray(sel_units)
    groups = [np.flatnonzero(sel == g) for g in np.unique(sel)]
    sizes = np.asarray(sizes, dtype=int)
    if sizes.size < 1 or (sizes < 1).any() or not groups:
        raise ValueError(f"design sizes {sizes.tolist()} over {len(groups)} selection units; "
                         "expected at least one unit of >= 1 image and a non-empty selection")
    picks = rng.integers(0, len(groups), sizes.size)
    cols = [groups[g][rng.integers(0, groups[g].size, n)] for g, n in zip(picks, sizes)]
    return np.concatenate(cols), np.repeat(np.arange(sizes.size), sizes)


def design_pool(values, sel_units, sizes, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ca, cb, units)``: the A/A pool of one realisation of the design (seed pairs × design images)."""
    cols, units = realise_design(sel_units, sizes, rng)
    ca, cb = aa_pool(np.asarray(values, dtype=float)[:, cols], rng)
    return ca, cb, units


def detection_rate(values, sel_units, sizes, n_seeds: int, delta: float, seed, *, n_sims: int = 1000,
                   n_designs: int | None = None, rule: DecisionRule = DecisionRule()) -> tuple[float, float]:
    """``(rate, mc_se)``: the share of simulated studies of ``n_seeds`` seeds on the design that ``rule``
    calls a gain when arm A is better by ``delta`` (a fraction), over ``n_designs`` realisations of the
    design (default one per 10 studies). ``mc_se`` is from the spread of the realisations' rates, so it
    counts the draw of the design's images as well as the studies'. ``seed`` seeds the one generator used."""
    rng = np.random.default_rng(seed)
    n_designs = n_designs or max(2, n_sims // 10)
    per = max(1, math.ceil(n_sims / n_designs))
    ys = []
    for _ in range(n_designs):
        ca, cb, units = design_pool(values, sel_units, sizes, rng)
        ys.append(null_studies(ca, cb, units, n_seeds, per, rng, scenario="planted", planted=delta))
    gain = (study_statistics(np.concatenate(ys), rng, rule)["verdict"] == "gain").reshape(n_designs, per)
    by_design = gain.mean(axis=1)
    return float(gain.mean()), float(by_design.std(ddof=1) / math.sqrt(n_designs))


def mde(values, sel_units, sizes, n_seeds: int, seed, *, rule: DecisionRule = DecisionRule(),
        step_pp: float = 0.5, coarse_pp: float = 5.0, max_pp: float = 100.0, **kwargs) -> dict:
    """Smallest δ on the grid ``step_pp, 2·step_pp, …, max_pp`` (pp) whose detection rate reaches
    ``rule.power``: the first point of a coarse ``coarse_pp`` grid that reaches it, then bisection below it.
    The rate need not rise all the way: a planted gain can only fix images arm A got wrong, so near the
    ceiling it is concentrated on the hard units and a rule that generalises over units sees that spread.
    ``{"mde_pp", "rate", "se", "reached"}``; ``mde_pp`` is ``math.inf`` (``rate``: the best rate seen)
    when no coarse point up to ``max_pp`` (or one step past the pilots' room, where nothing changes) does."""
    if rule.too_few_units(np.asarray(sizes).size):  # "not tested" whatever δ: nothing to find
        return {"mde_pp": math.inf, "rate": 0.0, "se": 0.0, "reached": False}

    def rate(k: int) -> tuple[float, float]:
        return detection_rate(values, sel_units, sizes, n_seeds, k * step_pp / 100.0, seed, rule=rule, **kwargs)

    # beyond the pilots' room (1 − mean value) every wrong image is made right already: stop one step past it
    room_pp = 100.0 * (1.0 - float(np.mean(values)))
    stride = max(1, int(round(coarse_pp / step_pp)))
    top = int(round(min(max_pp, room_pp + coarse_pp) / step_pp))
    lo, hi, best, seen = 0, None, None, (0.0, 0.0)   # rate(lo) < power (δ = 0 is the null)
    for k in range(stride, top + stride, stride):
        r = rate(min(k, top))
        if r[0] >= rule.power:
            hi, best = min(k, top), r
            break
        lo, seen = min(k, top), max(seen, r)
    if hi is None:
        return {"mde_pp": math.inf, "rate": seen[0], "se": seen[1], "reached": False}
    while hi - lo > 1:
        mid = (lo + hi) // 2
        r = rate(mid)
        if r[0] >= rule.power:
            hi, best = mid, r
        else:
            lo = mid
    return {"mde_pp": hi * step_pp, "rate": best[0], "se": best[1], "reached": True}
