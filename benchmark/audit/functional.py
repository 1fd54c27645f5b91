"""Functional audit of a synthetic set: does it look like the real class (stylistic coherence) and do its
labels match its pixels (label fidelity)? Pure functions on backbone features (arrays in, numbers out).

- :func:`discriminator_auc`: a real-vs-synthetic classifier (standardised features -> L2 logistic
  regression), cross-validated with stratified K folds; ROC AUC of its out-of-fold scores. 0.5 = the two sets
  are indistinguishable to a linear probe on these features; near 1 = the synthetic set is a separate domain
  (a shortcut risk: a model can learn "synthetic" instead of the defect). CI: percentile bootstrap of the
  out-of-fold scores, resampling real and synthetic scores separately (stratified). It holds the K fitted
  probes fixed, so it covers the sampling of the images scored, not the refitting of the probe.
- :func:`prdc`: precision, recall, density, coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity
  Metrics for Generative Models"), k-NN balls in Euclidean feature space as in their reference code
  (clovaai/generative-evaluation-prdc): strict `<` against each real point's k-th neighbour distance.
- :func:`label_fidelity`: a real-only model (the same probe fit on the real train features of ALL classes)
  predicts each synthetic image; accuracy against the synthetic labels, beside chance 1 / C and the probe's
  own cross-validated accuracy on the real train images of the class (how well the probe knows the class at
  all: where that is low, e.g. demo `pit` 19 %, label fidelity is a weak test of the labels on this class).
"""
from __future__ import annotations

import math

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["discriminator_auc", "prdc", "label_fidelity", "functional_summary", "probe", "FUNCTIONAL_VERSION"]

FUNCTIONAL_VERSION = 1  # part of the audit cache key: audits written before these figures are recomputed
FUNCTIONAL_SEED = 0  # the audit's own seed (folds, bootstrap): fixed, so one set always gets the same figures
FOLDS = 5          # stratified folds of the discriminator and of the real probe's own CV accuracy
N_BOOT = 2000      # bootstrap resamples of the out-of-fold scores (AUC CI)
PRDC_K = 5         # Naeem et al.'s default k
PROBE_C = 1.0      # inverse L2 strength of the logistic probes (sklearn's default; not tuned on anything)


def probe() -> object:
    """The linear probe every figure here uses: standardise, then L2 logistic regression (lbfgs: deterministic)."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=PROBE_C, max_iter=2000))


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2 ** 31 - 1))


def discriminator_auc(real: np.ndarray, syn: np.ndarray, rng: np.random.Generator, folds: int = FOLDS,
                      n_boot: int = N_BOOT, level: float = 0.95) -> dict:
    """real (n, D), syn (m, D) -> {auc, ci_low, ci_high, folds, n_real, n_synthetic, scores, labels}.

    Folds = min(`folds`, smaller set size); NaN figures when either set has < 2 images. `scores` / `labels`
    (n + m,) are the out-of-fold decision values and 1 = synthetic (kept for tests and plots)."""
    real, syn = np.asarray(real, np.float64), np.asarray(syn, np.float64)
    n, m = len(real), len(syn)
    k = min(int(folds), n, m)
    out = {"auc": math.nan, "ci_low": math.nan, "ci_high": math.nan, "folds": k, "n_real": n, "n_synthetic": m}
    if k < 2:
        return out | {"scores": np.zeros(0), "labels": np.zeros(0, int)}
    x, y = np.concatenate([real, syn]), np.r_[np.zeros(n, int), np.ones(m, int)]
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=_seed(rng))
    scores = cross_val_predict(probe(), x, y, cv=cv, method="decision_function")  # (n + m,) out of fold
    auc = float(roc_auc_score(y, scores))
    s_real, s_syn = scores[:n], scores[n:]
    boot = np.empty(n_boot)
    for b in range(n_boot):  # stratified: each resample keeps n real and m synthetic scores
        boot[b] = _auc_of(s_real[rng.integers(0, n, n)], s_syn[rng.integers(0, m, m)])
    a = (1.0 - level) / 2
    lo, hi = np.quantile(boot, [a, 1 - a])
    return out | {"auc": auc, "ci_low": float(lo), "ci_high": float(hi), "scores": scores, "labels": y}


def _auc_of(neg: np.ndarray, pos: np.ndarray) -> float:
    """Mann-Whitney AUC P(pos > neg) + 0.5 P(tie): equal to roc_auc_score, without building a label vector."""
    from scipy.stats import rankdata

    r = rankdata(np.concatenate([neg, pos]))
    return float((r[len(neg):].sum() - len(pos) * (len(pos) + 1) / 2) / (len(neg) * len(pos)))


def _kth_radius(x: np.ndarray, k: int) -> np.ndarray:
    """(n,) distance of each row to its k-th nearest OTHER row (self excluded)."""
    from scipy.spatial.distance import cdist

    d = cdist(x, x)
    return np.partition(d, k, axis=1)[:, k]  # column 0 after partition is the self-distance 0


def prdc(real: np.ndarray, fake: np.ndarray, k: int = PRDC_K) -> dict:
    """real (n, D), fake (m, D) -> {precision, recall, density, coverage, k}. k is capped at min(n, m) - 1
    (a k-th neighbour must exist in both sets); NaN when either set has < 2 rows.

    precision: share of fake inside some real k-NN ball; recall: share of real inside some fake k-NN ball;
    density: mean over fake of (number of real balls containing it) / k; coverage: share of real balls
    holding at least one fake."""
    from scipy.spatial.distance import cdist

    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    k = min(int(k), len(real) - 1, len(fake) - 1)
    if k < 1:
        return {"precision": math.nan, "recall": math.nan, "density": math.nan, "coverage": math.nan, "k": max(k, 0)}
    r_real, r_fake = _kth_radius(real, k), _kth_radius(fake, k)   # (n,), (m,)
    d = cdist(real, fake)                                         # (n, m)
    inside_real = d < r_real[:, None]                             # fake j inside real ball i
    return {"precision": float(inside_real.any(axis=0).mean()),
            "recall": float((d < r_fake[None, :]).any(axis=1).mean()),
            "density": float(inside_real.sum(axis=0).mean() / k),
            "coverage": float((d.min(axis=1) < r_real).mean()), "k": k}


def label_fidelity(real: np.ndarray, real_labels, syn: np.ndarray, syn_labels, rng: np.random.Generator,
                   folds: int = FOLDS) -> dict:
    """A probe fit on real train features of every class scores the synthetic images against their labels.

    -> {accuracy, chance, n_classes, per_class: {c: {accuracy, n, real_cv_accuracy, predicted}}}.
    `real_cv_accuracy`: the same probe's out-of-fold accuracy on the real train images of class c (stratified
    folds over the real train split; NaN when some class has fewer than 2 images): how well the probe knows
    the class at all, the figure to read `accuracy` against. `predicted`: shares of predicted classes."""
    real_labels, syn_labels = np.asarray(real_labels).astype(str), np.asarray(syn_labels).astype(str)
    classes = np.unique(real_labels)
    model = probe().fit(np.asarray(real, np.float64), real_labels)
    pred = model.predict(np.asarray(syn, np.float64))
    counts = {c: int((real_labels == c).sum()) for c in classes}
    k = min(int(folds), min(counts.values()))
    cv_pred = cross_val_predict(probe(), np.asarray(real, np.float64), real_labels,
                                cv=StratifiedKFold(n_splits=k, shuffle=True, random_state=_seed(rng))) \
        if k >= 2 else None
    per_class = {}
    for c in sorted(set(syn_labels.tolist())):
        hit = syn_labels == c
        got, n_pred = pred[hit], hit.sum()
        real_hit = real_labels == c
        per_class[c] = {"accuracy": float((got == c).mean()), "n": int(n_pred),
                        "real_cv_accuracy": float((cv_pred[real_hit] == c).mean())
                        if cv_pred is not None and real_hit.any() else math.nan,
                        "predicted": {str(p): float((got == p).mean()) for p in sorted(set(got.tolist()))}}
    return {"accuracy": float((pred == syn_labels).mean()) if len(pred) else math.nan,
            "chance": 1.0 / len(classes), "n_classes": int(len(classes)), "per_class": per_class}


def functional_summary(syn_labels, syn_feats: np.ndarray, real_labels, real_feats: np.ndarray,
                       rng: np.random.Generator) -> dict:
    """Per synthetic class: discriminator AUC [CI] vs the real train images of that class, PRDC against them,
    and label fidelity (probe fit on ALL real train classes). Features: (n, D) view-0 rows of the audit backbone.
    -> {per_class: {c: {...}}, label_fidelity: {accuracy, chance, n_classes}, settings: {...}}."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # small matrices: BLAS threads only contend (10x slower on a loaded 2-core box)
        return _functional_summary(syn_labels, syn_feats, real_labels, real_feats, rng)


def _functional_summary(syn_labels, syn_feats, real_labels, real_feats, rng) -> dict:
    syn_labels, real_labels = np.asarray(syn_labels).astype(str), np.asarray(real_labels).astype(str)
    lf = label_fidelity(real_feats, real_labels, syn_feats, syn_labels, rng)
    per_class = {}
    for c in sorted(set(syn_labels.tolist())):
        s, r = syn_feats[syn_labels == c], real_feats[real_labels == c]
        d, p = discriminator_auc(r, s, rng), prdc(r, s)
        per_class[c] = {"discriminator_auc": d["auc"], "auc_ci_low": d["ci_low"], "auc_ci_high": d["ci_high"],
                        "auc_folds": d["folds"], **{k: v for k, v in p.items() if k != "k"},
                        "prdc_k": p["k"], "label_fidelity": lf["per_class"][c]["accuracy"],
                        "label_chance": lf["chance"], "real_cv_accuracy": lf["per_class"][c]["real_cv_accuracy"],
                        "predicted": lf["per_class"][c]["predicted"]}
    return {"per_class": per_class,
            "label_fidelity": {k: lf[k] for k in ("accuracy", "chance", "n_classes")},
            "settings": {"folds": FOLDS, "n_boot": N_BOOT, "prdc_k": PRDC_K, "probe_C": PROBE_C,
                         "ci": "percentile bootstrap of out-of-fold scores (stratified)", "version": FUNCTIONAL_VERSION}}

