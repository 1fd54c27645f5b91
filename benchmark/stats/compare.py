"""One comparison of two arms, every statistic at once; and the study-wide adjustment and verdicts.

``compare_arms`` pairs by seed (only seeds where both arms have a value; the rest are listed), then
computes SCARCE's z and the t-test on the same differences, Wilcoxon, Cohen's d_z, a seed bootstrap
and — when per-image correctness is given — the seeds × test-units t-test (the default rule's test,
:mod:`benchmark.stats.crossed`) and bootstrap, the design's effective test size and resolution, the
seeds needed for the rule's power at its pre-stated effect, and a missing-seed sensitivity line.
``adjust_study`` applies Holm once per pre-registered family (``primary`` / ``secondary``) and the
decision rule. Values are fractions (0.1 = 10 pp) except the ``*_pp`` keys.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from benchmark.stats.bootstrap import DEFAULT_N_BOOT, bootstrap_ci, hierarchical_bootstrap_ci
from benchmark.stats.crossed import crossed_test, unit_count
from benchmark.stats.decision import DecisionRule, verdict
from benchmark.stats.multiple import holm
from benchmark.stats.paired import cohens_dz, paired_differences, paired_summary, ttest_paired, wilcoxon_p
from benchmark.stats.power import resolution_pp, seeds_needed

__all__ = ["compare_arms", "adjust_study", "wider_interval", "worst_case", "FAMILIES", "HOLM_KEYS"]

FAMILIES = ("primary", "secondary")
HOLM_KEYS = ("cross_p", "p", "wilcoxon_p")  # each gets a "<key>_holm" within its family


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


def _value(m: Mapping[int, float], seed: int) -> float | None:
    v = m.get(seed)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def worst_case(a: Mapping[int, float], b: Mapping[int, float], design_seeds, observed_mean: float,
               confidence: float = 0.95) -> dict:
    """Missing-seed sensitivity: every design seed without a pair imputed against the observed sign.

    For an observed gain a missing A scores 0 and a missing B scores 1 (the reverse for a harm), then
    the seed-level t-test is rerun over all design seeds. Keys ``imputed`` (seeds imputed),
    ``worst_mean``, ``worst_p`` (NaN when nothing was imputed or fewer than 2 seeds result).
    """
    seeds = sorted(set(int(s) for s in design_seeds) | set(a) | set(b))
    fill_a, fill_b = (0.0, 1.0) if not observed_mean < 0 else (1.0, 0.0)
    va, vb = [_value(a, s) for s in seeds], [_value(b, s) for s in seeds]
    imputed = [s for s, x, y in zip(seeds, va, vb) if x is None or y is None]
    if not imputed or len(seeds) < 2:
        return {"imputed": imputed, "worst_mean": math.nan, "worst_p": math.nan}
    d = np.array([(fill_a if x is None else x) - (fill_b if y is None else y) for x, y in zip(va, vb)])
    t = ttest_paired(d, confidence)
    return {"imputed": imputed, "worst_mean": float(d.mean()), "worst_p": t["p"]}


def compare_arms(a: Mapping[int, float], b: Mapping[int, float], rng: np.random.Generator, *,
                 correct_a: Mapping[int, np.ndarray] | None = None,
                 correct_b: Mapping[int, np.ndarray] | None = None, units: Sequence | None = None,
                 design_seeds: Sequence[int] | None = None, n_boot: int = DEFAULT_N_BOOT,
                 rule: DecisionRule = DecisionRule()) -> dict:
    """All statistics of ``a − b`` paired by seed, intervals at the rule's level 1 − α.

    ``a``/``b``: ``{seed: hardest-class accuracy}``. ``correct_a``/``correct_b``: optional
    ``{seed: per-image correctness}`` over the hardest-class test images, every vector in the same
    image order (both arms share the test split); ``units``: one independent-unit label per image
    (its near-duplicate group), None = every image its own unit. Without per-image data (or if any
    paired seed lacks it) the seeds × units statistics are NaN. ``design_seeds``: every seed the
    design ran in either arm (failed runs included), for the missing-seed sensitivity.
    """
    conf = rule.confidence
    seeds, d, dropped = paired_differences(a, b)
    s = paired_summary(d, conf)
    ca, cb = _stack(correct_a, list(seeds)), _stack(correct_b, list(seeds))
    seed_ci = bootstrap_ci(d, rng, n_boot, conf)
    have = ca is not None and cb is not None and ca.shape[1] > 0
    n_img = int(ca.shape[1]) if have else None
    hier_ci = hierarchical_bootstrap_ci(ca, cb, rng, n_boot, conf, units) if have else (math.nan, math.nan)
    cross = crossed_test(ca - cb, units, conf) if have else crossed_test(np.empty((0, 0)))
    unit_var = cross["unit_var"] if rule.generalises else 0.0
    sens = worst_case(a, b, design_seeds or [], s["mean"], conf)
    return {
        **s,
        "seeds": [int(x) for x in seeds],
        "dropped_seeds": sorted(set(dropped) | set(sens["imputed"])),
        "cohens_dz": cohens_dz(d) if d.size else math.nan,
        "wilcoxon_p": wilcoxon_p(d),
        "boot_ci_low": seed_ci[0], "boot_ci_high": seed_ci[1],
        "hier_ci_low": hier_ci[0], "hier_ci_high": hier_ci[1],
        "wider_ci": wider_interval(seed_ci, hier_ci),
        "cross_p": cross["p"], "cross_ci_low": cross["ci_low"], "cross_ci_high": cross["ci_high"],
        "cross_df": cross["df"], "cross_se": cross["se"], "unit_var": cross["unit_var"],
        "n_test_images": n_img,
        "n_units": unit_count(units, n_img) if have else None,
        "resolution_pp": resolution_pp(n_img) if n_img else math.nan,
        "seeds_needed": seeds_needed(s["sd"], rule.target_effect_pp / 100.0, rule.alpha, rule.power,
                                     0.0 if math.isnan(unit_var) else unit_var),
        "worst_mean": sens["worst_mean"], "worst_p": sens["worst_p"],
    }


def adjust_study(rows: Sequence[dict], rule: DecisionRule = DecisionRule()) -> list[dict]:
    """Holm-adjust :data:`HOLM_KEYS` once per family and attach ``verdict`` from ``rule``.

    A row's ``family`` is ``primary`` (the pre-registered comparisons: synthetic − its count-matched
    placebo, per generator and group) or ``secondary`` (everything else); rows without one are
    primary. A comparison that could not be tested keeps its place in its family (p counted as 1), so
    failed runs cannot shrink the family. Adds ``family_size``. Returns new dicts.
    """
    out = [dict(r) for r in rows]
    for fam in {r.setdefault("family", "primary") for r in out}:
        idx = [i for i, r in enumerate(out) if r["family"] == fam]
        for key in HOLM_KEYS:
            adj = holm([out[i].get(key, math.nan) for i in idx], count_missing=True)
            for i, v in zip(idx, adj):
                out[i][f"{key}_holm"] = float(v)
        for i in idx:
            out[i]["family_size"] = len(idx)
    for r in out:
        r["verdict"] = verdict(r, rule)
    return out
