"""One comparison of two arms, every statistic at once; and the study-wide adjustment and verdicts.

``compare_arms`` pairs by seed (only seeds where both arms have a value; the rest are listed), then
computes SCARCE's z and the t-test on the same differences, Wilcoxon, Cohen's d_z, a seed bootstrap
and — when per-image correctness is given — the seeds × test-images bootstrap, plus the design's
resolution and the seeds a target z would need. ``adjust_study`` applies Holm across all the
comparisons of a study and the decision rule. Values are fractions (0.1 = 10 pp) except the
``*_pp`` keys.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from benchmark.stats.bootstrap import DEFAULT_N_BOOT, bootstrap_ci, hierarchical_bootstrap_ci
from benchmark.stats.decision import DecisionRule, verdict
from benchmark.stats.multiple import holm
from benchmark.stats.paired import cohens_dz, paired_differences, paired_summary, wilcoxon_p
from benchmark.stats.power import DEFAULT_TARGET_Z, resolution_pp, seeds_needed

__all__ = ["compare_arms", "adjust_study", "wider_interval"]


def wider_interval(seed_ci: tuple[float, float], hier_ci: tuple[float, float], tol: float = 1e-12) -> str:
    """"seeds × images", "seeds only" or "equal" — which of the two bootstrap intervals is wider."""
    ws, wh = seed_ci[1] - seed_ci[0], hier_ci[1] - hier_ci[0]
    if math.isnan(wh) and math.isnan(ws):
        return "–"
    if math.isnan(ws) or wh > ws + tol:
        return "seeds × images"
    if math.isnan(wh) or ws > wh + tol:
        return "seeds only"
    return "equal"


def _stack(correct: Mapping[int, np.ndarray] | None, seeds: Sequence[int]) -> np.ndarray | None:
    if correct is None or any(s not in correct or correct[s] is None for s in seeds):
        return None
    rows = [np.asarray(correct[s], dtype=float) for s in seeds]
    if len({r.shape for r in rows}) > 1:
        raise ValueError("per-image correctness vectors differ in length across seeds; align images first")
    return np.vstack(rows) if rows else None


def compare_arms(a: Mapping[int, float], b: Mapping[int, float], rng: np.random.Generator, *,
                 correct_a: Mapping[int, np.ndarray] | None = None,
                 correct_b: Mapping[int, np.ndarray] | None = None,
                 n_boot: int = DEFAULT_N_BOOT, confidence: float = 0.95,
                 target_z: float = DEFAULT_TARGET_Z) -> dict:
    """All statistics of ``a − b`` paired by seed.

    ``a``/``b``: ``{seed: hardest-class accuracy}``. ``correct_a``/``correct_b``: optional
    ``{seed: per-image correctness}`` over the hardest-class test images, every vector in the same
    image order (both arms share the test split). Without them (or if any paired seed lacks one) the
    hierarchical interval is NaN and only the seed-level statistics are given.
    """
    seeds, d, dropped = paired_differences(a, b)
    s = paired_summary(d, confidence)
    ca, cb = _stack(correct_a, list(seeds)), _stack(correct_b, list(seeds))
    seed_ci = bootstrap_ci(d, rng, n_boot, confidence)
    hier_ci = ((math.nan, math.nan) if ca is None or cb is None or ca.shape[1] == 0
               else hierarchical_bootstrap_ci(ca, cb, rng, n_boot, confidence))
    n_img = int(ca.shape[1]) if ca is not None else None
    return {
        **s,
        "seeds": [int(x) for x in seeds],
        "dropped_seeds": dropped,
        "cohens_dz": cohens_dz(d) if d.size else math.nan,
        "wilcoxon_p": wilcoxon_p(d),
        "boot_ci_low": seed_ci[0], "boot_ci_high": seed_ci[1],
        "hier_ci_low": hier_ci[0], "hier_ci_high": hier_ci[1],
        "wider_ci": wider_interval(seed_ci, hier_ci),
        "n_test_images": n_img,
        "resolution_pp": resolution_pp(n_img) if n_img else math.nan,
        "seeds_needed": seeds_needed(s["mean"], s["sd"], target_z),
        "target_z": target_z,
    }


def adjust_study(rows: Sequence[dict], rule: DecisionRule = DecisionRule()) -> list[dict]:
    """Holm-adjust the t-test and Wilcoxon p values across *all* comparisons of a study and attach
    ``verdict`` from ``rule``. Returns new dicts; the input is not modified."""
    out = [dict(r) for r in rows]
    for key in ("p", "wilcoxon_p"):
        adj = holm([r.get(key, math.nan) for r in out])
        for r, v in zip(out, adj):
            r[f"{key}_holm"] = float(v)
    for r in out:
        r["verdict"] = verdict(r, rule)
    return out
