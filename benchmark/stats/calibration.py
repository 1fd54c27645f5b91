"""A/A calibration: how often does a decision rule call a gain when the two arms are the same?

Null studies are built from one arm's real runs (by default the real-only arm; two placebo arms work
the same way). Each simulated study has ``n_seeds`` pseudo-seeds; pseudo-seed j takes two *different*
runs of the pool as arm A and arm B, and every simulated study draws its own test set by resampling
the hardest-class test images with replacement — one draw shared by all its runs, as the real test
split is. Both arms come from the same runs, so any "effect" is noise from seeds and test images,
with the discreteness of a handful of test images kept intact (accuracies stay on the 1/m grid).

A planted effect of δ makes each image arm A got wrong right with probability δ / (1 − p̄), p̄ the
pool's mean accuracy, so arm A is better by δ in expectation and still on the 1/m grid; the
detection rate is the share of those studies the rule calls a gain.

Each simulated study makes one comparison, so Holm leaves its p unchanged: in a real study with
several comparisons Holm is stricter and the rule's false-positive rate per comparison is lower.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st

from benchmark.stats.bootstrap import bootstrap_ci, hierarchical_bootstrap_ci
from benchmark.stats.decision import DecisionRule, decide
from benchmark.stats.paired import wilcoxon_p
from benchmark.stats.power import DEFAULT_TARGET_Z

__all__ = ["null_studies", "study_statistics", "detection_rates", "calibrate"]


def null_studies(correct, n_seeds: int, n_sims: int, rng: np.random.Generator,
                 planted: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-image correctness of arms A and B in ``n_sims`` null studies, each ``(n_sims, n_seeds, m)``.

    ``correct``: (runs × hardest-class test images) matrix of one arm, at least 2 runs. ``planted``
    (a fraction, 0.10 = 10 pp) is added to arm A as described in the module docstring; it is capped
    where the pool is too accurate to gain that much (then the achieved effect is smaller).
    """
    pool = np.asarray(correct, dtype=float)
    if pool.ndim != 2 or pool.shape[0] < 2 or pool.shape[1] == 0:
        raise ValueError(f"need a (runs × images) pool with ≥ 2 runs and ≥ 1 image; got shape {pool.shape}")
    if n_seeds < 2:
        raise ValueError("a simulated study needs at least 2 seeds")
    s, m = pool.shape
    run_a = rng.integers(0, s, size=(n_sims, n_seeds))
    run_b = (run_a + rng.integers(1, s, size=(n_sims, n_seeds))) % s   # uniform over the other runs
    images = rng.integers(0, m, size=(n_sims, 1, m))                    # one test-set draw per study
    ca = np.take_along_axis(pool[run_a], images.repeat(n_seeds, axis=1), axis=2)
    cb = np.take_along_axis(pool[run_b], images.repeat(n_seeds, axis=1), axis=2)
    if planted:
        room = 1.0 - float(pool.mean())
        q = min(1.0, planted / room) if room > 0 else 0.0
        ca = ca + (1.0 - ca) * (rng.random(ca.shape) < q)
    return ca, cb


def _t_statistics(d: np.ndarray, confidence: float) -> dict[str, np.ndarray]:
    """Row-wise z (= t), two-sided p and t CI with :func:`benchmark.stats.paired.scarce_z`'s
    degenerate choices (constant rows: z = ±inf or 0, p = 0 or 1, zero-width CI)."""
    n = d.shape[1]
    mean = d.mean(axis=1)
    sd = d.std(axis=1, ddof=1)
    const = np.ptp(d, axis=1) <= 1e-12 * np.maximum(1.0, np.abs(d).max(axis=1))  # as paired._constant
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(const, np.sign(mean) * np.inf, mean / (sd / math.sqrt(n)))
    z = np.where(const & (mean == 0), 0.0, z)
    p = np.where(const, np.where(mean == 0, 1.0, 0.0), 2 * _st.t.sf(np.abs(z), n - 1))
    half = np.where(const, 0.0, float(_st.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n))
    return {"mean": mean, "sd": np.where(const, 0.0, sd), "z": z, "p": p,
            "ci_low": mean - half, "ci_high": mean + half}


def study_statistics(ca: np.ndarray, cb: np.ndarray, rng: np.random.Generator,
                     rule: DecisionRule = DecisionRule(), n_boot: int = 400,
                     confidence: float = 0.95) -> dict[str, np.ndarray]:
    """Per simulated study: ``mean, sd, z, p, ci_low, ci_high`` (t) and the rule's ``verdict``.

    The rule's own p (Wilcoxon if it asks for it) and interval (bootstrap or hierarchical, with
    ``n_boot`` replicates per study) are computed only when the rule uses them.
    """
    d = ca.mean(axis=2) - cb.mean(axis=2)
    out = _t_statistics(d, confidence)
    p_rule = out["p"]
    if rule.p.startswith("wilcoxon"):
        p_rule = np.array([wilcoxon_p(row) for row in d])
        out["wilcoxon_p"] = p_rule
    lo, hi = out["ci_low"], out["ci_high"]
    if rule.ci == "bootstrap":
        lo, hi = np.array([bootstrap_ci(row, rng, n_boot, confidence) for row in d]).T
    elif rule.ci == "hierarchical":
        lo, hi = np.array([hierarchical_bootstrap_ci(a, b, rng, n_boot, confidence)
                           for a, b in zip(ca, cb)]).T
    out["rule_ci_low"], out["rule_ci_high"] = lo, hi
    out["verdict"] = decide(out["mean"], p_rule, lo, hi, rule)
    return out


def detection_rates(stats: dict[str, np.ndarray], alpha: float = 0.05,
                    target_z: float = DEFAULT_TARGET_Z) -> dict[str, float]:
    """Shares of simulated studies: rule says anything but "no evidence" / says "gain"; |z| ≥ target /
    z ≥ target (SCARCE's bar, two- and one-sided); unadjusted t p < α (nominally α under the null).
    ``*_se`` are Monte Carlo standard errors √(r(1 − r)/n)."""
    n = len(stats["z"])
    rates = {
        "rule_any": float(np.mean(stats["verdict"] != "no evidence")),
        "rule_gain": float(np.mean(stats["verdict"] == "gain")),
        "z_abs": float(np.mean(np.abs(stats["z"]) >= target_z)),
        "z_gain": float(np.mean(stats["z"] >= target_z)),
        "t_p": float(np.mean(stats["p"] < alpha)),
    }
    rates.update({f"{k}_se": math.sqrt(v * (1 - v) / n) if n else math.nan for k, v in list(rates.items())})
    return rates


def calibrate(correct, n_seeds: int, rng: np.random.Generator, *, n_sims: int = 2000,
              planted_pp: float = 10.0, rule: DecisionRule = DecisionRule(),
              target_z: float = DEFAULT_TARGET_Z, n_boot: int = 400) -> dict[str, dict]:
    """A/A and planted-effect simulations from one pool: ``{"A/A": {...}, "planted": {...}}``, each
    with ``stats`` (per-study arrays), ``rates`` and ``achieved_pp`` (mean simulated effect, pp)."""
    out = {}
    for name, planted in (("A/A", 0.0), ("planted", planted_pp / 100.0)):
        ca, cb = null_studies(correct, n_seeds, n_sims, rng, planted)
        st = study_statistics(ca, cb, rng, rule, n_boot)
        out[name] = {"stats": st, "rates": detection_rates(st, rule.alpha, target_z),
                     "achieved_pp": 100.0 * float(st["mean"].mean()), "planted_pp": 100.0 * planted}
    return out
