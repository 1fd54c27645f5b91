"""`scarce calibrate`: A/A simulations on a study's own runs (see :mod:`benchmark.stats.calibration`).

Per group (dataset, hardest class, model, k) the pool is one arm's ok runs — by default ``real`` —
as a (runs × hardest-class test images) correctness matrix. Writes ``calibration.csv`` (one row per
simulated study), ``calibration_summary.csv`` (rates per group and scenario) and ``aa_hist.png/svg``
into the report directory, where ``scarce report`` picks them up.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.report.artefacts import CALIBRATION_SIMS, CALIBRATION_SUMMARY, write_aa_histogram
from benchmark.report.collect import StudyData, load_study
from benchmark.report.comparisons import iter_arm_groups, ok_runs, shared_images
from benchmark.stats import DecisionRule
from benchmark.stats.calibration import calibrate
from benchmark.stats.power import DEFAULT_TARGET_Z

__all__ = ["calibration_pools", "run_calibration", "calibrate_study", "format_summary"]


def calibration_pools(data: StudyData, arm: str = "real") -> list[tuple[dict, np.ndarray, int]]:
    """``(group key, runs × images correctness, seeds in the study's design)`` per group with ≥ 2 ok
    runs of ``arm`` carrying per-image predictions."""
    pools = []
    for key, arms in iter_arm_groups(data.frame):
        if arm not in arms:
            continue
        rows = ok_runs(arms[arm])
        rows = rows[rows["run_id"].isin(data.correct)]
        images = shared_images(rows, rows.iloc[0:0], data)
        if len(rows) < 2 or not images:
            continue
        mat = []
        for rid in rows["run_id"]:
            paths, corr = data.correct[rid]
            pos = {p: i for i, p in enumerate(paths)}
            mat.append(corr[[pos[p] for p in images]])
        pools.append((key, np.vstack(mat), int(rows["seed"].nunique())))
    return pools


def _group_name(key: dict) -> str:
    k = f" k={key['k']}" if key["k"] is not None else ""
    return f"{key['dataset']}/{key['hardest_class']}/{key['model']}{k}"


def calibrate_study(data: StudyData, *, arm: str = "real", n_sims: int = 2000, n_seeds: int | None = None,
                    planted_pp: float = 10.0, rule: DecisionRule = DecisionRule(),
                    target_z: float = DEFAULT_TARGET_Z, seed: int = 0,
                    n_boot: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(summary, sims)`` frames for every pool of ``arm`` in the study (empty if there is none)."""
    summary, sims = [], []
    for i, (key, pool, design_seeds) in enumerate(calibration_pools(data, arm)):
        n = n_seeds or max(design_seeds, 2)
        res = calibrate(pool, n, np.random.default_rng([seed, i]), n_sims=n_sims, planted_pp=planted_pp,
                        rule=rule, target_z=target_z, n_boot=n_boot)
        name = _group_name(key)
        for scenario, r in res.items():
            rates = r["rates"]
            summary.append({
                "group": name, **key, "pool_arm": arm, "pool_runs": pool.shape[0], "n_test_images": pool.shape[1],
                "n_seeds": n, "n_sims": n_sims, "scenario": scenario, "planted_pp": r["planted_pp"],
                "achieved_pp": r["achieved_pp"], "rule": rule.describe(), "alpha": rule.alpha, "target_z": target_z,
                "rate_rule": rates["rule_any"] if scenario == "A/A" else rates["rule_gain"],
                "rate_z": rates["z_abs"] if scenario == "A/A" else rates["z_gain"],
                **{f"rate_{k}": v for k, v in rates.items()},
            })
            st = r["stats"]
            sims.append(pd.DataFrame({
                "group": name, "scenario": scenario, "sim": np.arange(n_sims), "mean_pp": 100 * st["mean"],
                "z": st["z"], "p": st["p"], "ci_low_pp": 100 * st["rule_ci_low"],
                "ci_high_pp": 100 * st["rule_ci_high"], "verdict": st["verdict"]}))
    return pd.DataFrame(summary), (pd.concat(sims, ignore_index=True) if sims else pd.DataFrame())


def format_summary(summary: pd.DataFrame) -> str:
    """The figures in words, one block per group."""
    if summary.empty:
        return "no group has ≥ 2 ok runs with per-image predictions in the pool arm: nothing to calibrate"
    lines = []
    for group, g in summary.groupby("group", sort=False):
        r0 = g.iloc[0]
        lines.append(f"{group}: pool = {r0.pool_runs} {r0.pool_arm} runs × {r0.n_test_images} hardest-class test "
                     f"images; {r0.n_sims} simulated studies of {r0.n_seeds} seeds each")
        lines.append(f"  rule: {r0.rule}")
        for r in g.itertuples():
            se_rule, se_z = (r.rate_rule_any_se, r.rate_z_abs_se) if r.scenario == "A/A" else (
                r.rate_rule_gain_se, r.rate_z_gain_se)
            if r.scenario == "A/A":
                lines.append(f"  A/A (no true difference): false-positive rate  rule {100 * r.rate_rule:5.1f} % "
                             f"(± {100 * se_rule:.1f})   SCARCE |z| ≥ {r.target_z:g} {100 * r.rate_z:5.1f} % "
                             f"(± {100 * se_z:.1f})   unadjusted t p < {r.alpha:g} {100 * r.rate_t_p:5.1f} %")
            else:
                lines.append(f"  planted +{r.planted_pp:g} pp (achieved {r.achieved_pp:+.1f} pp): detection rate  "
                             f"rule {100 * r.rate_rule:5.1f} % (± {100 * se_rule:.1f})   SCARCE z ≥ {r.target_z:g} "
                             f"{100 * r.rate_z:5.1f} % (± {100 * se_z:.1f})")
    return "\n".join(lines)


def run_calibration(study_dir: Path, out_dir: Path | None = None, **kwargs) -> tuple[pd.DataFrame, dict[str, Path]]:
    """Load ``study_dir``, simulate, write the CSVs and the A/A figure; returns ``(summary, paths)``.
    ``kwargs`` go to :func:`calibrate_study`."""
    study_dir = Path(study_dir)
    out_dir = Path(out_dir) if out_dir is not None else study_dir / "report"
    summary, sims = calibrate_study(load_study(study_dir), **kwargs)
    if summary.empty:
        return summary, {}
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"calibration_csv": out_dir / CALIBRATION_SIMS, "calibration_summary_csv": out_dir / CALIBRATION_SUMMARY}
    sims.to_csv(paths["calibration_csv"], index=False)
    summary.to_csv(paths["calibration_summary_csv"], index=False)
    rule = kwargs.get("rule", DecisionRule())
    paths |= write_aa_histogram(None, out_dir, sims, kwargs.get("target_z", DEFAULT_TARGET_Z), rule.alpha)
    return summary, paths
