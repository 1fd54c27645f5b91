"""Bootstrap intervals for a paired mean difference: over seeds, and over seeds × test images.

Two sources of noise sit in a hardest-class accuracy. *Seed noise* (initialisation, data order, the
few-shot draw) is what the seed-level statistics (z, t, Wilcoxon, :func:`bootstrap_ci`) see. *Test-set
noise* is invisible to them: every run is scored on the same frozen test split, so a test set that
happens to hold, say, 10 hardest-class images moves every seed of every arm together, and the
seed-level CI treats those 10 images as if they were the whole population. With so few images one
image is 10 pp, and a gain that rests on two or three particular images can look certain across
seeds. :func:`hierarchical_bootstrap_ci` adds that noise back by also resampling the images.

Pure functions; the caller passes a ``np.random.Generator``. Percentile intervals throughout.
"""
from __future__ import annotations

import math

import numpy as np

# draw_replicates / replicate_means are the draw and its means, shared with benchmark.stats.exchange (re-exported there)
__all__ = ["bootstrap_means", "bootstrap_ci", "hierarchical_bootstrap_means", "hierarchical_bootstrap_ci"]

DEFAULT_N_BOOT = 4000


def _interval(means: np.ndarray, confidence: float) -> tuple[float, float]:
    lo, hi = np.quantile(means, [0.5 - confidence / 2.0, 0.5 + confidence / 2.0])
    return float(lo), float(hi)


def bootstrap_means(d, rng: np.random.Generator, n_boot: int = DEFAULT_N_BOOT) -> np.ndarray:
    """``n_boot`` means of ``d`` resampled with replacement (seeds drawn as ``rng.integers(0, n, (n_boot, n))``).

    The draw is made exactly the same way as the seed draw of :func:`hierarchical_bootstrap_means`, so
    with the same generator state both resample the same seeds (tested: they agree when images carry
    no extra noise).
    """
    arr = np.asarray(d, dtype=float).ravel()
    if arr.size == 0:
        return np.empty(0)
    idx = rng.integers(0, arr.size, size=(n_boot, arr.size))
    return arr[idx].mean(axis=1)


def bootstrap_ci(d, rng: np.random.Generator, n_boot: int = DEFAULT_N_BOOT,
                 confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of mean(d) over seeds. NaN for n < 2 (one value has no spread to resample).

    With 5 seeds the bootstrap distribution has at most C(9, 5) = 126 distinct means and is too
    narrow by a factor ≈ √((n−1)/n); it is reported beside the t interval, not instead of it.
    """
    arr = np.asarray(d, dtype=float).ravel()
    if arr.size < 2:
        return math.nan, math.nan
    return _interval(bootstrap_means(arr, rng, n_boot), confidence)


def _check_matrices(correct_a, correct_b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(correct_a, dtype=float)
    b = np.asarray(correct_b, dtype=float)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"expected two (seeds × images) matrices of one shape; got {a.shape} and {b.shape}")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("per-image correctness contains NaN")
    return a, b


def hierarchical_bootstrap_means(correct_a, correct_b, rng: np.random.Generator,
                                 n_boot: int = DEFAULT_N_BOOT, units=None, max_cells: int = 4_000_000) -> np.ndarray:
    """Bootstrap distribution of mean over seeds of ``acc_a − acc_b`` resampling seeds, then test units.

    ``correct_a[s, i]`` is 1 when arm A's run for paired seed ``s`` classified hardest-class test image
    ``i`` correctly (a fraction in [0, 1] when several runs share a seed), rows aligned by seed and
    columns by image path in both matrices. ``units``: one label per image naming its independent unit
    (a near-duplicate group: the exposures of one tile); None = every image its own unit. A unit is
    resampled whole — six shots of one tile are one draw, not six.

    Each replicate draws ``n`` seeds with replacement, then ``G`` units with replacement **once**,
    and applies that one unit draw to every drawn seed and to both arms: the test split is shared
    by all runs, so a different test set would have changed all of them together. The replicate's
    mean is image-weighted (the units' totals over their images drawn). Resampling both crossed
    factors counts their interaction twice, so the interval errs on the wide side.
    """
    from benchmark.stats.crossed import unit_totals

    a, b = _check_matrices(correct_a, correct_b)
    n, m = a.shape
    if n == 0 or m == 0:
        return np.empty(0)
    seeds, picks = draw_replicates(n, len(unit_totals(a - b, units)[1]), rng, n_boot)  # seeds first, as bootstrap_means
    return replicate_means(a - b, seeds, picks, units, max_cells)


def draw_replicates(n: int, g: int | None, rng: np.random.Generator, n_boot: int = DEFAULT_N_BOOT):
    """``(seeds (n_boot, n), picks (n_boot, g) or None)``: one seed and one unit draw per replicate, in the
    order :func:`hierarchical_bootstrap_means` draws them (``g`` None: seeds only)."""
    seeds = rng.integers(0, n, size=(n_boot, n))
    picks = rng.integers(0, g, size=(n_boot, g)) if g is not None else None
    return seeds, picks


def replicate_means(x, seeds: np.ndarray, picks: np.ndarray | None = None, units=None,
                    max_cells: int = 4_000_000) -> np.ndarray:
    """(n_boot,) means of ``x`` under the given draws: ``x`` (n seeds,) per-seed values (``picks`` None) or
    (n seeds × m images) correctness, units resampled whole and the mean image-weighted, as
    :func:`hierarchical_bootstrap_means` does on ``a − b`` (one draw can serve several arms: the exchange rate)."""
    from benchmark.stats.crossed import unit_totals

    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        return x[seeds].mean(axis=1)
    y, sizes = unit_totals(x, units)                         # (n, G), (G,)
    totals = y * sizes.mean()                                # per-seed, per-unit sums
    n, g = totals.shape
    out = np.empty(seeds.shape[0])
    chunk = max(1, max_cells // (n * g))
    for start in range(0, seeds.shape[0], chunk):
        stop = min(start + chunk, seeds.shape[0])
        sel = totals[seeds[start:stop]]                      # (B, n, G)
        got = np.take_along_axis(sel, picks[start:stop, None, :].repeat(n, axis=1), axis=2)
        out[start:stop] = got.sum(axis=(1, 2)) / (n * sizes[picks[start:stop]].sum(axis=1))
    return out


def hierarchical_bootstrap_ci(correct_a, correct_b, rng: np.random.Generator,
                              n_boot: int = DEFAULT_N_BOOT, confidence: float = 0.95,
                              units=None) -> tuple[float, float]:
    """Percentile CI of the paired mean difference over seeds × test units (see the means above).

    Defined for a single seed too (then it is pure test-set noise); NaN when there is no seed or image.
    """
    means = hierarchical_bootstrap_means(correct_a, correct_b, rng, n_boot, units)
    if means.size == 0:
        return math.nan, math.nan
    return _interval(means, confidence)
