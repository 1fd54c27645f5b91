"""Fidelity of a synthetic set against the real train images: distributions and feature statistics.

Pure functions on arrays (features in, numbers out) plus one summary that groups them per class.
FID: Frechet distance between Gaussians fitted to two feature sets (matrix square root by
`scipy.linalg.sqrtm`). KID: unbiased squared MMD with the polynomial kernel k(x, y) = (x.y / D + 1)^3
(Binkowski et al. 2018). With fewer images than feature dimensions FID is strongly biased upwards
(its covariances are rank-deficient); KID is unbiased at any n >= 2, so compare sets by KID when small.
"""
from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
from scipy import linalg

from benchmark.audit.embeddings import unit


def trace_sqrt_product(xa: np.ndarray, xb: np.ndarray) -> float:
    """Tr (C_a C_b)^1/2 for C = X^T X / (n - 1) of centred xa (n, D), xb (m, D), by `scipy.linalg.sqrtm`.

    With n < D the D x D product is rank-deficient and slow to root; its non-zero eigenvalues are those of
    the n x n matrix K = Xa Xb^T Xb Xa^T / ((n-1)(m-1)) (eig(AB) = eig(BA)), so the smaller side is rooted."""
    c = (len(xa) - 1) * (len(xb) - 1)
    if xa.shape[1] <= len(xa):
        prod = (xa.T @ xa) @ (xb.T @ xb) / c                  # (D, D)
    else:
        m = xa @ xb.T                                          # (n, m)
        prod = m @ m.T / c                                     # (n, n), symmetric PSD
    with warnings.catch_warnings():  # a singular product (n < D) is expected; its root is still defined
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(prod)
    return float(np.real(np.trace(root)))  # round-off can leave tiny imaginary parts


def fid(a: np.ndarray, b: np.ndarray) -> float:
    """a (n, D), b (m, D) -> |mu_a - mu_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^1/2); NaN when n or m < 2."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    xa, xb = a - a.mean(axis=0), b - b.mean(axis=0)
    diff = a.mean(axis=0) - b.mean(axis=0)
    tr_a, tr_b = (xa * xa).sum() / (len(a) - 1), (xb * xb).sum() / (len(b) - 1)
    return float(max(diff @ diff + tr_a + tr_b - 2.0 * trace_sqrt_product(xa, xb), 0.0))


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> np.ndarray:
    """(n, D), (m, D) -> (n, m): (x.y / D + coef0)^degree."""
    return (x @ y.T / x.shape[1] + coef0) ** degree


def kid(a: np.ndarray, b: np.ndarray, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased MMD^2 (diagonals of the within-set kernels left out); NaN when n or m < 2."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    n, m = len(a), len(b)
    if n < 2 or m < 2:
        return math.nan
    kaa, kbb, kab = polynomial_kernel(a, a, degree, coef0), polynomial_kernel(b, b, degree, coef0), \
        polynomial_kernel(a, b, degree, coef0)
    return float((kaa.sum() - np.trace(kaa)) / (n * (n - 1)) + (kbb.sum() - np.trace(kbb)) / (m * (m - 1))
                 - 2.0 * kab.mean())


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine over all (a_i, b_j) pairs (SCARCE's "feature cosine to real images of the class")."""
    if len(a) == 0 or len(b) == 0:
        return math.nan
    return float((unit(np.asarray(a, np.float64)) @ unit(np.asarray(b, np.float64)).T).mean())


def within_cosine(a: np.ndarray) -> float:
    """Mean cosine over distinct pairs of one set: the real-vs-real baseline a synthetic set is read against."""
    n = len(a)
    if n < 2:
        return math.nan
    g = unit(np.asarray(a, np.float64)) @ unit(np.asarray(a, np.float64)).T
    return float((g.sum() - np.trace(g)) / (n * (n - 1)))


def shares(values: list) -> dict[str, float]:
    """{value: fraction} in descending order of count."""
    c = Counter(map(str, values))
    return {k: v / len(values) for k, v in c.most_common()} if values else {}


def fidelity_summary(syn_labels: list[str], syn_feats: np.ndarray, syn_meta: list[tuple[str, str]],
                     real_labels: list[str], real_feats: np.ndarray, real_meta: list[tuple[str, str]]) -> dict:
    """Class / size / mode distributions and, per synthetic class, cosine, FID and KID against the real
    train images of that class. `*_meta` are (\"WxH\", mode) per image; features are (n, D) view-0 rows."""
    syn_labels, real_labels = np.asarray(syn_labels), np.asarray(real_labels)
    per_class = {}
    for c in sorted(set(syn_labels.tolist())):
        s, r = syn_feats[syn_labels == c], real_feats[real_labels == c]
        per_class[c] = {"n_synthetic": int(len(s)), "n_real": int(len(r)), "mean_cosine_to_real": mean_cosine(s, r),
                        "real_within_cosine": within_cosine(r), "fid": fid(s, r), "kid": kid(s, r)}
    return {"class_share": {"synthetic": shares(syn_labels.tolist()), "real": shares(real_labels.tolist())},
            "size_share": {"synthetic": shares([m[0] for m in syn_meta]), "real": shares([m[0] for m in real_meta])},
            "mode_share": {"synthetic": shares([m[1] for m in syn_meta]), "real": shares([m[1] for m in real_meta])},
            "per_class": per_class}
