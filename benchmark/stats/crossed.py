"""Seeds × test units: a test whose verdict generalises beyond the particular test images.

Every run of a study is scored on the same frozen test images. A seed-level test (t over per-seed
differences) treats those images as the whole population: a generator that helps some test images
and hurts others — zero effect on the population of images like them — is called a gain far more
often than α, and the more seeds, the more often (each seed re-measures the same images). The fix
is to treat both seeds and test units as random draws, a two-way crossed random-effects design:

    x[s, u] = μ + a_s + b_u + e_su        (s: seed, u: independent test unit)

``x[s, u]`` is the difference A − B of unit u's correctness under seed s. A *unit* is what was drawn
independently: one image, or, where the split is grouped (several exposures of one tile), one
group — six shots of one tile are one draw, not six. With units of unequal size m_u the cell value
is the unit's total scaled by the mean unit size, ``y[s, u] = Σ_i∈u x[s, i] / m̄``, so that mean(y)
is exactly the image-weighted mean difference the tables report.

From the two-way ANOVA mean squares (seeds, units, residual; Cornfield–Tukey expectations
E[MS_s] = σe² + G σa², E[MS_u] = σe² + n σb², E[MS_e] = σe²) the variance of the mean is

    Var(ȳ) = σa²/n + σb²/G + σe²/(nG) = (MS_s + MS_u − MS_e) / (nG),

with Satterthwaite degrees of freedom; the t reference then gives p and CI. The estimate is never
allowed below the seed-only or the unit-only variance (``max(MS_s, MS_u, MS_s + MS_u − MS_e)``): it
is never narrower than either one-way t interval, and without a unit component it *is* the seed-level
t-test (df n − 1). Needs ≥ 2 seeds and ≥ 2 units: one unit cannot say anything about other units.

Pure functions: arrays in, numbers out.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st

from benchmark.stats.paired import on_grid

__all__ = ["unit_totals", "crossed_anova", "crossed_variance", "crossed_t", "crossed_test", "unit_count", "SOURCES"]


def unit_count(units, m: int) -> int:
    """Independent test units among ``m`` images: distinct labels of ``units``, or ``m`` without labels."""
    return m if units is None else len(set(units))


def unit_totals(diff, units=None) -> tuple[np.ndarray, np.ndarray]:
    """``(y, sizes)``: ``y`` (n seeds × G units) = per-unit total of ``diff`` over the unit's images
    divided by the mean unit size (so ``y.mean()`` equals ``diff.mean()``); ``sizes`` (G,) images per unit.

    ``diff``: (n seeds × m images) differences; ``units``: m labels (None: every image its own unit).
    Units are ordered by first appearance.
    """
    x = np.asarray(diff, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"expected a (seeds × images) matrix; got shape {x.shape}")
    if units is None:
        return x.copy(), np.ones(x.shape[1])
    labels = list(units)
    if len(labels) != x.shape[1]:
        raise ValueError(f"{len(labels)} unit labels for {x.shape[1]} images; expected one per image")
    order = {u: j for j, u in enumerate(dict.fromkeys(labels))}
    col = np.fromiter((order[u] for u in labels), dtype=int, count=len(labels))
    member = np.zeros((x.shape[1], len(order)))
    member[np.arange(x.shape[1]), col] = 1.0                 # (m, G) image → unit
    sizes = member.sum(axis=0)
    return (x @ member) / sizes.mean(), sizes


def crossed_anova(y, weights=None) -> dict:
    """Two-way ANOVA without replication of ``y`` (..., n seeds × G units): mean squares and their df.

    Leading axes are a batch (the A/A calibration passes thousands of simulated studies at once).
    ``weights`` (..., G): column multiplicities — a unit drawn k times by a bootstrap counts as k
    identical columns (exactly the ANOVA of the expanded matrix, without building it); None = all 1.
    Computed on the grid (:func:`benchmark.stats.paired.on_grid`), so a matrix constant up to float
    noise has sums of squares of exactly zero. Keys ``mean, n_seeds, n_units, ms_seed, ms_unit,
    ms_resid, df_seed, df_unit, df_resid`` (arrays over the batch; NaN mean squares for 0 df).
    """
    y = on_grid(np.asarray(y, dtype=float))
    n = y.shape[-2]
    w = np.ones(y.shape[:-2] + y.shape[-1:]) if weights is None else np.asarray(weights, dtype=float)
    g = w.sum(axis=-1)                                             # (...,) columns, repeats counted
    wb = w[..., None, :]                                           # (..., 1, G)
    rows = (y * wb).sum(axis=-1) / g[..., None]                    # (..., n) per-seed means
    cols = y.mean(axis=-2)                                         # (..., G) per-unit means
    grand = rows.mean(axis=-1)                                     # (...,)
    ss_s = g * ((rows - grand[..., None]) ** 2).sum(axis=-1)
    ss_u = n * (w * (cols - grand[..., None]) ** 2).sum(axis=-1)
    resid = y - rows[..., :, None] - cols[..., None, :] + grand[..., None, None]
    ss_e = np.maximum(0.0, (wb * resid ** 2).sum(axis=(-2, -1)))
    df_s, df_u = n - 1, g - 1
    df_e = df_s * df_u
    with np.errstate(divide="ignore", invalid="ignore"):
        ms = {"ms_seed": np.where(df_s > 0, ss_s / max(df_s, 1), np.nan),
              "ms_unit": np.where(df_u > 0, ss_u / np.maximum(df_u, 1), np.nan),
              "ms_resid": np.where(df_e > 0, ss_e / np.maximum(df_e, 1), np.nan)}
    return {"mean": grand, "n_seeds": n, "n_units": g, **ms, "df_seed": df_s, "df_unit": df_u, "df_resid": df_e}


def crossed_variance(a: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(var, df, source)`` of the mean from :func:`crossed_anova`'s mean squares (batched).

    var = max(MS_s, MS_u, MS_s + MS_u − MS_e) / (nG); df n − 1 when the seed term is the largest,
    G − 1 when the unit term is, else Satterthwaite's (1946) df of the combination. ``source`` is
    0 (seeds), 1 (units) or 2 (seeds + units). MS_u = MS_e (no unit component; common with 0/1 data)
    is decided with a relative tolerance of 1e-9, not by float noise: it is the seed-level t.
    """
    n, g = a["n_seeds"], a["n_units"]
    ms_s, ms_u, ms_e = a["ms_seed"], a["ms_unit"], a["ms_resid"]
    tol = 1e-9 * np.maximum(np.maximum(ms_s, ms_u), np.maximum(ms_e, 1e-300))
    no_unit, no_seed = ms_u - ms_e <= tol, ms_s - ms_e <= tol       # a component estimated as ≤ 0
    source = np.where(no_unit | no_seed, np.where(ms_s >= ms_u - tol, 0, 1), 2)
    comb = ms_s + ms_u - ms_e
    var = np.choose(source, [ms_s, ms_u, comb]) / (n * g)
    with np.errstate(divide="ignore", invalid="ignore"):
        satt = comb ** 2 / (ms_s ** 2 / a["df_seed"] + ms_u ** 2 / a["df_unit"] + ms_e ** 2 / a["df_resid"])
    df = np.choose(source, [np.broadcast_to(float(a["df_seed"]), np.shape(var)),
                            np.broadcast_to(np.asarray(a["df_unit"], float), np.shape(var)), satt])
    return var, df, source


SOURCES = ("seeds", "units", "seeds + units")


def crossed_t(a: dict, confidence: float = 0.95) -> dict:
    """Batched t, p and CI from :func:`crossed_anova`. A zero variance (every seed and unit the same
    difference) gives the exact sign-flip bound p = 2 / 2^min(n, G) for a non-zero mean, 1 for zero."""
    var, df, source = crossed_variance(a)
    mean = a["mean"]
    n, g = a["n_seeds"], a["n_units"]
    zero = var <= 1e-15 * (1.0 + mean * mean)   # every seed and unit the same difference (float noise aside)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(np.where(zero, 1.0, var))
        t = mean / se
        p = 2.0 * _st.t.sf(np.abs(t), df)
        # not ttest_1samp(...).confidence_interval(): se and df here come from the crossed ANOVA, not one sample
        half = _st.t.ppf(0.5 + confidence / 2.0, df) * se
    bound = np.where(on_grid(mean) == 0.0, 1.0, 2.0 ** (1 - np.minimum(n, g)))
    with np.errstate(invalid="ignore"):
        t = np.where(zero, np.where(on_grid(mean) == 0.0, 0.0, np.sign(mean) * np.inf), t)
    return {"se": np.where(zero, 0.0, se), "df": df, "t": t, "p": np.where(zero, bound, p),
            "ci_low": np.where(zero, mean, mean - half), "ci_high": np.where(zero, mean, mean + half),
            "source": source}


def crossed_test(diff, units=None, confidence: float = 0.95) -> dict:
    """Two-sided t-test of "mean difference = 0 over new seeds *and* new test units", and its CI.

    ``diff``: (n seeds × m images) per-image differences A − B (correctness, 0/1 or fractions);
    ``units``: m unit labels (a group id per image), None = every image independent. Keys: ``mean``
    (image-weighted), ``se``, ``df``, ``t``, ``p``, ``ci_low``, ``ci_high``, ``n_seeds``, ``n_units``,
    ``sd_seed`` (SD of the per-seed mean difference), ``unit_var`` (the part of the variance of the mean
    that more seeds cannot remove, σb²/G), ``source`` ("seeds", "units", "seeds + units"). NaN p and
    CI with fewer than 2 seeds or 2 units.
    """
    x = np.asarray(diff, dtype=float)
    nan = math.nan
    out = {"mean": float(x.mean()) if x.size else nan, "n_seeds": int(x.shape[0]) if x.ndim == 2 else 0,
           "n_units": 0, "se": nan, "df": nan, "t": nan, "p": nan, "ci_low": nan, "ci_high": nan,
           "sd_seed": nan, "unit_var": nan, "source": "–"}
    if x.ndim != 2 or x.size == 0:
        return out
    y, _ = unit_totals(x, units)
    n, g = y.shape
    out["n_units"] = g
    if n < 2 or g < 2:
        return out
    a = crossed_anova(y)
    r = crossed_t(a, confidence)
    out.update({k: float(r[k]) for k in ("se", "df", "t", "p", "ci_low", "ci_high")})
    out.update(sd_seed=math.sqrt(float(a["ms_seed"]) / g), source=SOURCES[int(r["source"])],
               unit_var=max(0.0, float(a["ms_unit"] - a["ms_resid"])) / (n * g))
    return out
