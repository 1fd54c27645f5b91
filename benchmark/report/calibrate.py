"""`scarce calibrate`: A/A simulations on a study's own runs (see :mod:`benchmark.stats.calibration`).

Per group (:data:`benchmark.report.design.GROUP_KEYS`) the pool is two arms' ok runs at the same seeds
— by default ``real`` and its placebo, paired by seed exactly as the real design pairs arms — as two
(seeds × hardest-class test images) correctness matrices, with the images' independent units (their
near-duplicate groups) from the records. A study with only one of the two arms pairs different seeds
of that arm instead (said in the ``pairing`` column); it then has no heterogeneous null. Writes
``calibration.csv`` (one row per simulated study), ``calibration_summary.csv`` (rates per group and
scenario) and ``aa_hist.png/svg`` into the report directory, where ``scarce report`` picks them up.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.csvsafe import safe_to_csv
from benchmark.report.artefacts import CALIBRATION_SIMS, CALIBRATION_SUMMARY, write_aa_histogram
from benchmark.report.collect import StudyData, load_study
from benchmark.report.comparisons import iter_arm_groups, ok_runs, per_seed_correct, shared_images
from benchmark.stats import DecisionRule
from benchmark.stats.calibration import MIN_POOL_SEEDS, calibrate
from benchmark.stats.power import DEFAULT_TARGET_Z

__all__ = ["calibration_pools", "run_calibration", "calibrate_study", "format_summary"]

SAME_SEED, OTHER_SEED = "same seed (as the design)", "different seeds of one arm"


def _arm(arms: dict, name: str) -> str | None:
    """``name`` itself, or for ``placebo`` the group's first placebo label (``placebo[g]``)."""
    if name in arms:
        return name
    return next((lab for lab in arms if lab.split("[")[0] == name), None)


def calibration_pools(data: StudyData, arms_ab: tuple[str, str] = ("real", "placebo")) -> list[dict]:
    """Per group: ``{key, a, b, ca, cb, units, pairing, reason}``; ``reason`` is set (and the matrices
    are None) when the group's pool is too small to calibrate anything."""
    pools = []
    for key, arms in iter_arm_groups(data.frame):
        la, lb = _arm(arms, arms_ab[0]), _arm(arms, arms_ab[1])
        if la is None and lb is None:
            continue
        ra = ok_runs(arms[la or lb])
        rb = ok_runs(arms[lb]) if la and lb else ra
        ra, rb = ra[ra["run_id"].isin(data.correct)], rb[rb["run_id"].isin(data.correct)]
        images, units = shared_images(ra, rb, data)
        pool = {"key": key, "a": la or lb, "b": lb if la and lb else la or lb, "units": units, "ca": None,
                "cb": None, "pairing": SAME_SEED if la and lb else OTHER_SEED, "reason": None}
        if images:
            pa, pb = per_seed_correct(ra, data, images), per_seed_correct(rb, data, images)
            seeds = sorted(set(pa) & set(pb)) if la and lb else sorted(pa)
            if len(seeds) >= 2:
                pool["ca"] = np.vstack([pa[s] for s in seeds])
                pool["cb"] = (np.vstack([pb[s] for s in seeds]) if la and lb
                              else np.roll(pool["ca"], 1, axis=0))    # seed s against seed s−1
        n_units = len(set(units)) if units else len(images)
        n_pairs = 0 if pool["ca"] is None else pool["ca"].shape[0]
        if n_pairs < MIN_POOL_SEEDS or n_units < 2:
            pool["reason"] = (f"{n_pairs} seed pairs and {n_units} independent test unit(s); expected at least "
                              f"{MIN_POOL_SEEDS} and 2 to say anything")
        pools.append(pool)
    return pools


def _group_name(key: dict) -> str:
    k = f" k={key['k']}" if key["k"] is not None else ""
    return f"{key['dataset']}/{key['hardest_class']}/{key['model']}/{key['engine']}{k}"


def calibrate_study(data: StudyData, *, arms: tuple[str, str] = ("real", "placebo"), n_sims: int = 2000,
                    n_seeds: int | None = None, planted_pp: float = 10.0, rule: DecisionRule = DecisionRule(),
                    target_z: float = DEFAULT_TARGET_Z, seed: int = 0,
                    n_boot: int = 400) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """``(summary, sims, refused)`` for every pool of the study; ``refused`` says which groups could not
    be calibrated and why."""
    summary, sims, refused = [], [], []
    for i, pool in enumerate(calibration_pools(data, arms)):
        name = _group_name(pool["key"])
        if pool["reason"]:
            refused.append(f"{name}: not calibrated: {pool['reason']}")
            continue
        n = n_seeds or pool["ca"].shape[0]
        res = calibrate(pool["ca"], pool["cb"], pool["units"], n, np.random.default_rng([seed, i]), n_sims=n_sims,
                        planted_pp=planted_pp, rule=rule, target_z=target_z, n_boot=n_boot)
        for scenario, r in res.items():
            if scenario == "heterogeneous" and pool["pairing"] == OTHER_SEED:
                continue  # one arm has no per-image effect to keep
            rates = r["rates"]
            null = scenario != "planted"
            summary.append({
                "group": name, **pool["key"], "pool_a": pool["a"], "pool_b": pool["b"], "pairing": pool["pairing"],
                "pool_seeds": pool["ca"].shape[0], "n_test_images": pool["ca"].shape[1],
                "n_units": len(set(pool["units"])) if pool["units"] else pool["ca"].shape[1],
                "n_seeds": n, "n_sims": n_sims, "scenario": scenario, "planted_pp": r["planted_pp"],
                "achieved_pp": r["achieved_pp"], "rule": rule.describe(), "alpha": rule.alpha, "target_z": target_z,
                "rate_rule": rates["rule_any"] if null else rates["rule_gain"],
                "rate_z": rates["z_abs"] if null else rates["z_gain"],
                **{f"rate_{k}": v for k, v in rates.items()},
            })
            st = r["stats"]
            sims.append(pd.DataFrame({
                "group": name, "scenario": scenario, "sim": np.arange(n_sims), "mean_pp": 100 * st["mean"],
                "z": st["z"], "p": st["p"], "rule_p": st["rule_p"], "ci_low_pp": 100 * st["rule_ci_low"],
                "ci_high_pp": 100 * st["rule_ci_high"], "verdict": st["verdict"]}))
    return pd.DataFrame(summary), (pd.concat(sims, ignore_index=True) if sims else pd.DataFrame()), refused


SCENARIO_TEXT = {"exchangeable": "A/A, exchangeable null (arms swap within a seed)",
                 "heterogeneous": "A/A, heterogeneous null (per-image effects vary around 0)"}


def format_summary(summary: pd.DataFrame, refused: list[str] | None = None) -> str:
    """The figures in words, one block per group."""
    lines = list(refused or [])
    if summary.empty:
        lines.append("no group has a pool to calibrate (two arms at ≥ "
                     f"{MIN_POOL_SEEDS} common seeds with per-image predictions): nothing to calibrate")
        return "\n".join(lines)
    for group, g in summary.groupby("group", sort=False):
        r0 = g.iloc[0]
        lines.append(f"{group}: pool = {r0.pool_a} vs {r0.pool_b} ({r0.pairing}), {r0.pool_seeds} seed pairs × "
                     f"{r0.n_test_images} hardest-class test images in {r0.n_units} independent units; "
                     f"{r0.n_sims} simulated studies of {r0.n_seeds} seeds per scenario")
        lines.append(f"  rule: {r0.rule}")
        lines.append("  (each simulated study is one comparison: Holm over a family of 1 = the unadjusted p)")
        nominal = r0.alpha
        for r in g.itertuples():
            se_rule, se_z = (r.rate_rule_any_se, r.rate_z_abs_se) if r.scenario != "planted" else (
                r.rate_rule_gain_se, r.rate_z_gain_se)
            if r.scenario != "planted":
                ok = "≤" if r.rate_rule <= nominal + 2 * se_rule else ">"
                lines.append(f"  {SCENARIO_TEXT[r.scenario]}: false-positive rate  rule {100 * r.rate_rule:5.1f} % "
                             f"(± {100 * se_rule:.1f}; {ok} nominal {100 * nominal:g} % + 2 MC SE)   "
                             f"seed-level t p < {r.alpha:g} {100 * r.rate_t_p:5.1f} %   "
                             f"SCARCE |z| ≥ {r.target_z:g} {100 * r.rate_z:5.1f} % (± {100 * se_z:.1f})")
            else:
                lines.append(f"  planted +{r.planted_pp:g} pp on the heterogeneous null (achieved {r.achieved_pp:+.1f} pp): "
                             f"detection rate  rule {100 * r.rate_rule:5.1f} % (± {100 * se_rule:.1f})   "
                             f"SCARCE z ≥ {r.target_z:g} {100 * r.rate_z:5.1f} % (± {100 * se_z:.1f})")
    return "\n".join(lines)


def run_calibration(study_dir: Path, out_dir: Path | None = None, **kwargs) -> tuple[pd.DataFrame, dict[str, Path]]:
    """Load ``study_dir``, simulate, write the CSVs and the A/A figure; returns ``(summary, paths)``.
    ``kwargs`` go to :func:`calibrate_study`."""
    study_dir = Path(study_dir)
    out_dir = Path(out_dir) if out_dir is not None else study_dir / "report"
    summary, sims, refused = calibrate_study(load_study(study_dir), **kwargs)
    summary.attrs["refused"] = refused
    if summary.empty:
        return summary, {}
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"calibration_csv": out_dir / CALIBRATION_SIMS, "calibration_summary_csv": out_dir / CALIBRATION_SUMMARY}
    safe_to_csv(sims, paths["calibration_csv"], index=False)
    safe_to_csv(summary, paths["calibration_summary_csv"], index=False)
    rule = kwargs.get("rule", DecisionRule())
    paths |= write_aa_histogram(None, out_dir, sims, kwargs.get("target_z", DEFAULT_TARGET_Z), rule.alpha)
    return summary, paths
