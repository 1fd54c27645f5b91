"""Few-shot curves (hardest-class accuracy vs k real labels per class) and label efficiency.

Label efficiency asks: with synthetic images at the smallest k, how many real labels would the
real-only arm need for the same accuracy? SCARCE's MVTec Pill example: +synthetic reaches 44.6 % at
k = 2, real-only needs k = 5 for 45.4 % → "60 % fewer real labels" (1 − 2/5). That reads k off the
measured grid; linear interpolation between the measured real-only points gives the k at which the
real-only curve crosses 44.6 % (≈ 4.87, i.e. ≈ 59 % fewer). Both are reported.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st

__all__ = ["mean_ci", "interpolate_k", "grid_k", "label_efficiency"]


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the t interval of the mean over seeds (NaN bounds for n < 2, the mean
    itself as both bounds when every value is equal)."""
    arr = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if arr.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, math.nan, math.nan
    if np.all(arr == arr[0]):
        return mean, mean, mean
    ci = _st.ttest_1samp(arr, 0.0).confidence_interval(confidence)
    return mean, float(ci.low), float(ci.high)


def _sorted_curve(k, acc) -> tuple[np.ndarray, np.ndarray]:
    k, acc = np.asarray(k, dtype=float), np.asarray(acc, dtype=float)
    if k.shape != acc.shape or k.ndim != 1:
        raise ValueError("k and accuracy must be 1-D arrays of one length")
    keep = ~(np.isnan(k) | np.isnan(acc))
    order = np.argsort(k[keep], kind="stable")
    return k[keep][order], acc[keep][order]


def interpolate_k(k, acc, target: float) -> float:
    """Smallest k at which the piecewise-linear curve through ``(k, acc)`` reaches ``target``.

    Walks the curve from the smallest k and interpolates inside the first segment that crosses the
    target. Returns the smallest k itself when it already reaches the target (a true answer may be
    lower but cannot be read off the data) and NaN when no measured point reaches it (no extrapolation).
    """
    ks, accs = _sorted_curve(k, acc)
    if ks.size == 0:
        return math.nan
    if accs[0] >= target:
        return float(ks[0])
    for (k0, a0), (k1, a1) in zip(zip(ks[:-1], accs[:-1]), zip(ks[1:], accs[1:])):
        if a0 < target <= a1:
            return float(k0 + (target - a0) / (a1 - a0) * (k1 - k0))
    return math.nan


def grid_k(k, acc, target: float) -> float:
    """Smallest *measured* k whose accuracy reaches ``target`` (SCARCE's reading); NaN if none does."""
    ks, accs = _sorted_curve(k, acc)
    hit = np.flatnonzero(accs >= target)
    return float(ks[hit[0]]) if hit.size else math.nan


def _fewer_pct(k_syn: float, k_real: float) -> float:
    return 100.0 * (1.0 - k_syn / k_real) if k_real and not math.isnan(k_real) else math.nan


def label_efficiency(k_real, acc_real, k_syn, acc_syn) -> dict:
    """Real-only labels needed to match the synthetic arm at its smallest k.

    Returns ``k_synthetic, acc_synthetic`` (the point matched), ``k_real_interp`` and
    ``fewer_labels_pct_interp`` (linear interpolation), ``k_real_grid`` and ``fewer_labels_pct_grid``
    (smallest measured k), and ``status``: "interpolated", "real-only matches at the smallest k"
    (synthetic saved nothing measurable) or "beyond the largest real-only k" (NaN k: more labels
    than measured would be needed; the saving is at least ``1 − k_syn / max k``).
    """
    ks, accs = _sorted_curve(k_syn, acc_syn)
    kr, ar = _sorted_curve(k_real, acc_real)
    nan = math.nan
    if ks.size == 0 or kr.size == 0:
        return {"k_synthetic": nan, "acc_synthetic": nan, "k_real_interp": nan, "fewer_labels_pct_interp": nan,
                "k_real_grid": nan, "fewer_labels_pct_grid": nan, "status": "missing arm"}
    k0, target = float(ks[0]), float(accs[0])
    ki, kg = interpolate_k(kr, ar, target), grid_k(kr, ar, target)
    if math.isnan(ki):
        status = "beyond the largest real-only k"
    elif ar[0] >= target:
        status = "real-only matches at the smallest k"
    else:
        status = "interpolated"
    return {"k_synthetic": k0, "acc_synthetic": target,
            "k_real_interp": ki, "fewer_labels_pct_interp": _fewer_pct(k0, ki),
            "k_real_grid": kg, "fewer_labels_pct_grid": _fewer_pct(k0, kg), "status": status}
