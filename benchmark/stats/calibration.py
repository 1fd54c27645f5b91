"""A/A calibration: how often does a decision rule call a gain when there is none, and find a planted one?

The pool is a study's own runs of two arms at the **same seeds** (by default real and placebo), as the
real design pairs them: ``ca[s, i]`` / ``cb[s, i]`` = correctness of arm A / B's seed-s run on
hardest-class test image i, and ``units[i]`` the independent unit of image i (its near-duplicate group;
every image its own unit when the split is not grouped). A simulated study takes ``n_seeds`` distinct
seed pairs of the pool (without replacement) and every unit once, and relabels the arms at random:

- **exchangeable** null: arms A and B are exchangeable within a seed, so each simulated seed's
  differences get a random sign (swapping the two runs of a seed). No image has an effect of its own.
- **heterogeneous** null: the observed per-image differences are kept but each independent unit's
  direction is a coin flip — the two arms swap on all of that unit's images in every seed of the study
  — so every unit keeps the size of the effect the data show for it (images one arm always gets right
  and the other always wrong stay so), while over the population of units the effect is symmetric
  about zero. This is the null under which a seed-level rule calls gains 26–62 % of the time; a rule
  that generalises over units must not. (Centring the differences by their mean instead would give
  every unchanged image a small, noise-free constant effect — a signal no real null has.)
- **planted**: the heterogeneous null plus an effect δ on arm A — each image A got wrong is made right
  with probability δ / (1 − p̄_A) — so arm A is better by ≈ δ in expectation; the detection rate is the
  share of studies called a gain. Its ``achieved_pp`` is the mean simulated effect.

Nothing is drawn with replacement: a bootstrap draw repeats seeds and units, and every test would
count a repeated one as two independent draws (anti-conservative: 10 % false positives at a nominal
5 % in ``tests/stats/test_stats_calibration.py``). The rates are those of the randomisation null, given the
study's own runs. Each simulated study makes one comparison, so its Holm adjustment is over a family
of one (Holm p = the unadjusted p): a real study's primary family of K comparisons is stricter, and its per-comparison
false-positive rate lower. Pools with fewer than ``MIN_POOL_SEEDS`` seed pairs or 2 units are refused:
a 2-run pool can only resample two runs, and its "rates" say nothing.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats as _st

from benchmark.stats.bootstrap import bootstrap_ci, hierarchical_bootstrap_ci
from benchmark.stats.crossed import crossed_anova, crossed_t, unit_totals
from benchmark.stats.decision import DecisionRule, decide
from benchmark.stats.paired import on_grid, wilcoxon_p
from benchmark.stats.power import DEFAULT_TARGET_Z

__all__ = ["null_studies", "study_statistics", "detection_rates", "calibrate", "SCENARIOS", "MIN_POOL_SEEDS"]

SCENARIOS = ("exchangeable", "heterogeneous", "planted")
MIN_POOL_SEEDS = 5


def _check_pool(ca, cb, units) -> tuple[np.ndarray, np.ndarray, list]:
    a, b = np.asarray(ca, dtype=float), np.asarray(cb, dtype=float)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"calibration pool: expected two (seeds × images) matrices of one shape; got {a.shape}, {b.shape}")
    labels = list(range(a.shape[1])) if units is None else list(units)
    if len(labels) != a.shape[1]:
        raise ValueError(f"calibration pool: {len(labels)} unit labels for {a.shape[1]} images")
    g = len(set(labels))
    if a.shape[0] < MIN_POOL_SEEDS or g < 2:
        raise ValueError(f"calibration pool has {a.shape[0]} seed pairs and {g} independent test unit(s); "
                         f"expected at least {MIN_POOL_SEEDS} seed pairs and 2 units to say anything")
    return a, b, labels


def null_studies(ca, cb, units, n_seeds: int, n_sims: int, rng: np.random.Generator,
                 scenario: str = "heterogeneous", planted: float = 0.0) -> np.ndarray:
    """``y`` (n_sims, n_seeds, G): the unit-level differences of ``n_sims`` simulated studies
    (:func:`benchmark.stats.crossed.unit_totals` of the drawn seeds' per-image differences)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario {scenario!r}; expected one of {SCENARIOS}")
    if n_seeds < 2:
        raise ValueError("a simulated study needs at least 2 seeds")
    a, b, labels = _check_pool(ca, cb, units)
    s, m = a.shape
    if n_seeds > s:
        raise ValueError(f"a simulated study of {n_seeds} seeds from a pool of {s} seed pairs would repeat seeds; "
                         f"expected at most {s}")
    rows = np.argsort(rng.random((n_sims, s)), axis=1)[:, :n_seeds]   # distinct seed pairs, A and B together
    ra, rb = a[rows], b[rows]                                     # (n_sims, n_seeds, m)
    if scenario == "exchangeable":                                # swap the arms of a whole seed
        swap = rng.random((n_sims, n_seeds, 1)) < 0.5
    else:                                                         # swap the arms on a whole unit, every seed
        col = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)[1]
        swap = (rng.random((n_sims, 1, int(col.max()) + 1)) < 0.5)[:, :, col]
    ra, rb = np.where(swap, rb, ra), np.where(swap, ra, rb)
    if scenario == "planted" and planted:
        room = 1.0 - float(ra.mean())
        q = min(1.0, planted / room) if room > 0 else 0.0
        ra = ra + (1.0 - ra) * (rng.random(ra.shape) < q)
    x = ra - rb
    y, sizes = unit_totals(x.reshape(-1, m), labels)              # (n_sims·n_seeds, G) totals / mean size
    return y.reshape(n_sims, n_seeds, sizes.size)


def _seed_t(d: np.ndarray, confidence: float) -> dict[str, np.ndarray]:
    """Row-wise seed-level t (scipy ``ttest_1samp`` over axis 1) with :func:`benchmark.stats.paired.ttest_paired`'s
    degenerate choices: a constant row gets t = ±inf / 0, p = 2 / 2^n / 1 and a zero-width CI."""
    n = d.shape[1]
    with warnings.catch_warnings():  # constant rows: scipy warns and returns NaN; they are replaced below
        warnings.simplefilter("ignore", RuntimeWarning)
        res = _st.ttest_1samp(d, 0.0, axis=1)
    ci = res.confidence_interval(confidence)
    g = on_grid(d)
    const = np.all(g == g[:, :1], axis=1)
    mean = d.mean(axis=1)
    zero = on_grid(mean) == 0.0
    with np.errstate(invalid="ignore"):
        t = np.where(const, np.where(zero, 0.0, np.sign(mean) * np.inf), res.statistic)
    return {"mean": mean, "z": t, "p": np.where(const, np.where(zero, 1.0, 2.0 ** (1 - n)), res.pvalue),
            "ci_low": np.where(const, mean, ci.low), "ci_high": np.where(const, mean, ci.high)}


def study_statistics(y: np.ndarray, rng: np.random.Generator, rule: DecisionRule = DecisionRule(),
                     n_boot: int = 400) -> dict[str, np.ndarray]:
    """Per simulated study: seed-level ``mean, z, p, ci_low, ci_high``; the seeds × units test
    ``cross_p, cross_ci_low, cross_ci_high``; the rule's own p and interval and its ``verdict``.
    Intervals at the rule's level 1 − α. Wilcoxon and the bootstraps only when the rule reads them."""
    conf = rule.confidence
    d = y.mean(axis=2)                                            # (n_sims, n_seeds) per-seed mean difference
    out = _seed_t(d, conf)
    cross = crossed_t(crossed_anova(y), conf)
    out.update(cross_p=cross["p"], cross_ci_low=cross["ci_low"], cross_ci_high=cross["ci_high"])
    p_of = {"p": out["p"], "p_holm": out["p"], "cross_p": cross["p"], "cross_p_holm": cross["p"]}
    if rule.p.startswith("wilcoxon"):
        p_of[rule.p] = out["wilcoxon_p"] = np.array([wilcoxon_p(row) for row in d])
    ci = {"t": (out["ci_low"], out["ci_high"]), "cross": (cross["ci_low"], cross["ci_high"]), None: (None, None)}
    if rule.ci == "bootstrap":
        ci["bootstrap"] = tuple(np.array([bootstrap_ci(row, rng, n_boot, conf) for row in d]).T)
    elif rule.ci == "hierarchical":
        ci["hierarchical"] = tuple(np.array([hierarchical_bootstrap_ci(yy, np.zeros_like(yy), rng, n_boot, conf)
                                             for yy in y]).T)
    out["rule_p"] = p_of[rule.p]
    out["rule_ci_low"], out["rule_ci_high"] = ci[rule.ci]
    out["verdict"] = decide(out["mean"], out["rule_p"], out["rule_ci_low"], out["rule_ci_high"], rule,
                            np.full(len(d), d.shape[1]), np.full(len(d), y.shape[2]))
    return out


def detection_rates(stats: dict[str, np.ndarray], alpha: float = 0.05,
                    target_z: float = DEFAULT_TARGET_Z) -> dict[str, float]:
    """Shares of simulated studies: the rule says anything but "no evidence"/"not tested" / says "gain";
    |z| ≥ target / z ≥ target (SCARCE's bar, two- and one-sided); seed-level t p < α and seeds × units
    p < α (both unadjusted; a family of one). ``*_se``: Monte Carlo standard errors √(r(1 − r)/n)."""
    n = len(stats["z"])
    v = stats["verdict"]
    rates = {
        "rule_any": float(np.mean((v == "gain") | (v == "harm"))),
        "rule_gain": float(np.mean(v == "gain")),
        "z_abs": float(np.mean(np.abs(stats["z"]) >= target_z)),
        "z_gain": float(np.mean(stats["z"] >= target_z)),
        "t_p": float(np.mean(stats["p"] < alpha)),
        "cross_p": float(np.mean(stats["cross_p"] < alpha)),
    }
    rates.update({f"{k}_se": math.sqrt(r * (1 - r) / n) if n else math.nan for k, r in list(rates.items())})
    return rates


def calibrate(ca, cb, units, n_seeds: int, rng: np.random.Generator, *, n_sims: int = 2000,
              planted_pp: float = 10.0, rule: DecisionRule = DecisionRule(),
              target_z: float = DEFAULT_TARGET_Z, n_boot: int = 400) -> dict[str, dict]:
    """Every scenario of :data:`SCENARIOS` from one pool: ``{scenario: {"stats", "rates", "achieved_pp",
    "planted_pp", "n_sims"}}``."""
    out = {}
    for scenario in SCENARIOS:
        planted = planted_pp / 100.0 if scenario == "planted" else 0.0
        y = null_studies(ca, cb, units, n_seeds, n_sims, rng, scenario, planted)
        st = study_statistics(y, rng, rule, n_boot)
        out[scenario] = {"stats": st, "rates": detection_rates(st, rule.alpha, target_z), "n_sims": n_sims,
                         "achieved_pp": 100.0 * float(st["mean"].mean()), "planted_pp": 100.0 * planted}
    return out
