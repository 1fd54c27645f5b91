"""Exchange rate: how many real images a synthetic set is worth, with a bootstrap CI.

Three designs answer it, each in its own unit:

- **oracle** (classification, ``arm=oracle``): the oracle adds R withheld real images of the hardest class,
  the generator N images, both over the same count-matched placebo. The set is worth
  ``R · (syn − plc) / (oracle − plc)`` real images (its share of the oracle's gain, in images), i.e. that / N
  per synthetic image. Linear in the oracle's gain — an assumption the design cannot check at one R.
- **few-shot** (k real labels per class): the real-only curve, interpolated, reaches the +synthetic accuracy at
  its smallest k at some k_real (:func:`benchmark.stats.fewshot.label_efficiency`, SCARCE's Pill "k = 2 +
  synthetic ≈ k = 5 real"); the set saves ``k_real − k_syn`` real labels per class.
- **parity** (detection): real N + synthetic M against the real volume curve (N, N + M, …): the real count at
  which the interpolated curve reaches the +synthetic mAP, minus N (that / M per synthetic image).

Every CI is a percentile bootstrap with one draw per replicate shared by every arm (and every k or volume):
seeds as ``rng.integers(0, n, (n_boot, n))`` then test units as ``rng.integers(0, G, (n_boot, G))`` — the
draw order of :func:`benchmark.stats.bootstrap.hierarchical_bootstrap_means`, so with one generator state the
numerator's replicates are exactly that function's (tested). Per-seed values (no per-image correctness, e.g.
detection's mAP) are resampled over seeds only. A ratio whose denominator's replicates reach 0 has no interval
and none is invented: NaN bounds and a status say why. Pure functions; arrays in, dicts of numbers out.
"""
from __future__ import annotations

import math

import numpy as np

from benchmark.stats.bootstrap import DEFAULT_N_BOOT, draw_replicates, replicate_means
from benchmark.stats.crossed import unit_totals
from benchmark.stats.fewshot import interpolate_k, label_efficiency

__all__ = ["draw_replicates", "replicate_means", "percentile_bounds", "oracle_exchange", "fewshot_exchange",
           "parity_exchange", "OK"]

OK = "resolved"  # the status of an estimate with a finite interval
NAN = math.nan


def percentile_bounds(reps: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of ``reps``; +inf stands for "beyond the measured curve", so a bound that lands on
    or next to it is NaN (not a number the data can give), as is a bound of an empty set of replicates."""
    reps = np.asarray(reps, dtype=float)
    if reps.size == 0:
        return NAN, NAN
    with np.errstate(invalid="ignore"):
        lo, hi = np.quantile(reps, [0.5 - confidence / 2.0, 0.5 + confidence / 2.0])
    return (float(lo) if np.isfinite(lo) else NAN), (float(hi) if np.isfinite(hi) else NAN)


def _draw_for(cells: list[np.ndarray], rng: np.random.Generator, n_boot: int, units) -> np.ndarray:
    """(len(cells), n_boot) replicate means, one shared draw; cells all (n,) or all (n × m) of one shape."""
    shapes = {c.shape for c in cells}
    if len(shapes) != 1:
        raise ValueError(f"expected cells of one shape (seeds aligned, images aligned); got {sorted(shapes)}")
    shape = shapes.pop()
    if any(np.isnan(c).any() for c in cells):
        raise ValueError("NaN in per-seed values or per-image correctness")
    g = None if len(shape) == 1 else len(unit_totals(cells[0], units)[1])
    seeds, picks = draw_replicates(shape[0], g, rng, n_boot)
    return np.stack([replicate_means(c, seeds, picks, units) for c in cells])


def _n_units(shape: tuple, units) -> int | None:
    return None if len(shape) == 1 else (shape[1] if units is None else len(set(units)))


def oracle_exchange(syn, plc, oracle, n_oracle: int, n_syn: int, rng: np.random.Generator,
                    n_boot: int = DEFAULT_N_BOOT, confidence: float = 0.95, units=None) -> dict:
    """Real images the synthetic set is worth, ``n_oracle · (syn − plc) / (oracle − plc)``, with a CI.

    ``syn, plc, oracle``: (n seeds,) accuracies or (n seeds × m images) correctness, rows the same seeds and
    columns the same images in all three. Point estimate from the means; CI from the joint bootstrap (one seed
    and unit draw per replicate for all three arms, the ratio per replicate). When more than (1 − confidence)/2
    of the replicates have oracle − placebo ≤ 0 the bounds are NaN: "oracle gain not resolved".
    Keys: ``worth, ci_low, ci_high, per_image, per_image_low, per_image_high, share, status,
    share_oracle_unresolved`` (replicates with oracle − placebo ≤ 0), ``n_seeds, n_units``.
    """
    cells = [np.asarray(a, dtype=float) for a in (syn, plc, oracle)]
    n = cells[0].shape[0] if cells[0].ndim else 0
    out = {"worth": NAN, "ci_low": NAN, "ci_high": NAN, "share": NAN, "share_oracle_unresolved": NAN,
           "n_seeds": n, "n_units": _n_units(cells[0].shape, units)}
    if n == 0 or cells[0].size == 0:
        return _per_image({**out, "status": "no paired seeds"}, n_syn)
    num, den = float((cells[0] - cells[1]).mean()), float((cells[2] - cells[1]).mean())
    reps = _draw_for(cells, rng, n_boot, units)              # (3, n_boot): syn, plc, oracle
    num_b, den_b = reps[0] - reps[1], reps[2] - reps[1]
    out["share_oracle_unresolved"] = float(np.mean(den_b <= 0))
    if den <= 0:
        return _per_image({**out, "status": "no oracle gain (oracle ≤ placebo)"}, n_syn)
    out |= {"share": num / den, "worth": n_oracle * num / den}
    if out["share_oracle_unresolved"] > (1.0 - confidence) / 2.0:
        pct = 100 * out["share_oracle_unresolved"]
        return _per_image({**out, "status": f"oracle gain not resolved (≤ 0 in {pct:.0f} % of replicates)"}, n_syn)
    with np.errstate(divide="ignore", invalid="ignore"):     # the few den ≤ 0 replicates: ±inf, in the tails
        ratio = np.where(den_b > 0, n_oracle * num_b / den_b, np.copysign(np.inf, num_b))
    lo, hi = percentile_bounds(ratio, confidence)
    status = OK if n >= 2 or out["n_units"] else "one seed: no interval"
    if status != OK:
        lo = hi = NAN
    return _per_image({**out, "ci_low": lo, "ci_high": hi, "status": status}, n_syn)


def _per_image(out: dict, n_syn) -> dict:
    """Adds the worth per synthetic image (NaN without a positive count)."""
    ok = n_syn is not None and not (isinstance(n_syn, float) and math.isnan(n_syn)) and n_syn > 0
    for a, b in (("worth", "per_image"), ("ci_low", "per_image_low"), ("ci_high", "per_image_high")):
        out[b] = out[a] / n_syn if ok else NAN
    return out


def _fewshot_k(k_real, acc_real, k_syn, acc_syn) -> float:
    """label_efficiency's interpolated real-only k, +inf when beyond the largest real-only k."""
    k = label_efficiency(k_real, acc_real, k_syn, acc_syn)["k_real_interp"]
    return math.inf if math.isnan(k) else k


def fewshot_exchange(real: dict, syn: dict, rng: np.random.Generator, n_boot: int = DEFAULT_N_BOOT,
                     confidence: float = 0.95, units=None) -> dict:
    """Real labels per class the synthetic arm saves at its smallest k, with a CI over seeds (× test units).

    ``real``, ``syn``: {k: (n seeds,) accuracies or (n seeds × m images) correctness}, every cell on the same
    seeds and images (one seed and unit draw per replicate serves every arm and k: the test split is shared,
    and real and synthetic of one seed and k share the few-shot draw). The point estimate is
    :func:`benchmark.stats.fewshot.label_efficiency` on the cell means; each replicate is label_efficiency on
    the replicate's means. Keys: label_efficiency's, plus ``labels_saved`` (k_real_interp − k_synthetic),
    ``k_real_low/high, saved_low/high, fewer_pct_low/high``, ``share_beyond`` (replicates past the largest
    real-only k: their upper bounds are NaN when that share exceeds (1 − confidence)/2), ``n_seeds, n_units``.
    """
    kr, ks = sorted(real), sorted(syn)
    cells = [np.asarray(real[k], dtype=float) for k in kr] + [np.asarray(syn[k], dtype=float) for k in ks]
    point = label_efficiency(kr, [c.mean() for c in cells[:len(kr)]], ks, [c.mean() for c in cells[len(kr):]])
    out = {**point, "labels_saved": point["k_real_interp"] - point["k_synthetic"], "k_real_low": NAN,
           "k_real_high": NAN, "saved_low": NAN, "saved_high": NAN, "fewer_pct_low": NAN, "fewer_pct_high": NAN,
           "share_beyond": NAN, "n_seeds": cells[0].shape[0] if cells else 0,
           "n_units": _n_units(cells[0].shape, units) if cells else None}
    if point["status"] == "missing arm" or cells[0].size == 0:
        return out
    if cells[0].ndim == 1 and cells[0].shape[0] < 2:
        return {**out, "status": f"{point['status']}; one value per k: no interval"}
    reps = _draw_for(cells, rng, n_boot, units)              # (cells, n_boot)
    kb = np.array([_fewshot_k(kr, reps[:len(kr), b], ks, reps[len(kr):, b]) for b in range(n_boot)])
    lo, hi = percentile_bounds(kb, confidence)
    k0 = point["k_synthetic"]
    out |= {"k_real_low": lo, "k_real_high": hi, "saved_low": lo - k0, "saved_high": hi - k0,
            "fewer_pct_low": 100 * (1 - k0 / lo) if lo else NAN, "fewer_pct_high": 100 * (1 - k0 / hi) if hi else NAN,
            "share_beyond": float(np.mean(np.isinf(kb)))}
    if math.isnan(hi):
        out["status"] = f"{point['status']}; upper bound beyond the largest real-only k"
    return out


def parity_exchange(n_real: int, real_curve: dict, syn, n_syn: int, rng: np.random.Generator,
                    n_boot: int = DEFAULT_N_BOOT, confidence: float = 0.95) -> dict:
    """Real images M synthetic ones are worth beside N real: the real volume at which the interpolated real
    curve reaches the +synthetic mAP, minus N (per synthetic image: that / M), with a CI over seeds.

    ``real_curve``: {real images: (n seeds,) mAP} (N itself, N + M, …); ``syn``: (n seeds,) mAP of N real +
    ``n_syn`` synthetic, all on the same seeds. mAP has no per-image decomposition, so only seeds are
    resampled (the test images are fixed: the interval is about new seeds on these images). Past the largest
    real volume there is no number, only a lower bound (``worth_at_least``; no extrapolation); at or below the
    real-only mAP at N the set is worth 0 (status says so).
    """
    vols = sorted(real_curve)
    cells = [np.asarray(real_curve[v], dtype=float) for v in vols] + [np.asarray(syn, dtype=float)]
    n = cells[0].shape[0] if cells[0].ndim == 1 else 0
    out = {"worth": NAN, "ci_low": NAN, "ci_high": NAN, "worth_at_least": NAN, "share_beyond": NAN, "n_seeds": n,
           "n_units": None}
    if not vols or n == 0 or any(c.ndim != 1 for c in cells):
        return _per_image({**out, "status": "no paired seeds"}, n_syn)
    means = [float(c.mean()) for c in cells]
    v = interpolate_k(vols, means[:-1], means[-1])
    if math.isnan(v):
        out |= {"worth_at_least": vols[-1] - n_real, "status": f"beyond the largest real volume ({vols[-1]})"}
    else:
        out |= {"worth": v - n_real, "status": OK if v > vols[0] else "no better than the smallest real volume"}
    if n >= 2:
        reps = _draw_for(cells, rng, n_boot, None)
        vb = np.array([interpolate_k(vols, reps[:-1, b], reps[-1, b]) for b in range(n_boot)])
        vb = np.where(np.isnan(vb), np.inf, vb) - n_real
        lo, hi = percentile_bounds(vb, confidence)
        out |= {"ci_low": lo, "ci_high": hi, "share_beyond": float(np.mean(np.isinf(vb)))}
        if math.isnan(hi) and out["status"] == OK:
            out["status"] = "upper bound beyond the largest real volume"
    else:
        out["status"] += "; one seed: no interval"
    return _per_image(out, n_syn)
