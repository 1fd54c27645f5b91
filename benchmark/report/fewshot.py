"""Few-shot curves (hardest-class accuracy vs k, per arm, with t CIs over seeds) and label efficiency."""
from __future__ import annotations

import pandas as pd

from benchmark.report.comparisons import iter_arm_groups
from benchmark.report.design import seed_series
from benchmark.report.published import published_fewshot
from benchmark.stats import label_efficiency, mean_ci

__all__ = ["fewshot_curves", "label_efficiency_table", "is_fewshot", "CURVE_COLUMNS", "EFFICIENCY_COLUMNS",
           "EFFICIENCY_HEADERS"]

# curve_design: the design key without k (records_frame): two budgets or manifests are two curves, never one
CURVE_KEYS = ["dataset", "hardest_class", "model", "curve_design"]
CURVE_COLUMNS = [*CURVE_KEYS, "arm", "k", "n_seeds", "mean_pct", "ci_low_pct", "ci_high_pct"]
EFFICIENCY_COLUMNS = [*CURVE_KEYS, "source", "arm", "k_synthetic", "acc_synthetic_pct", "k_real_grid",
                      "fewer_labels_pct_grid", "k_real_interp", "fewer_labels_pct_interp", "status"]
EFFICIENCY_HEADERS = {
    "dataset": "Dataset", "hardest_class": "Hardest class", "model": "Model", "curve_design": "Design",
    "source": "Source", "arm": "Arm",
    "k_synthetic": "k with synthetic", "acc_synthetic_pct": "Its accuracy (%)",
    "k_real_grid": "Real-only k (measured grid)", "fewer_labels_pct_grid": "Fewer real labels (%, grid)",
    "k_real_interp": "Real-only k (interpolated)", "fewer_labels_pct_interp": "Fewer real labels (%, interp.)",
    "status": "Status",
}


def is_fewshot(frame: pd.DataFrame) -> bool:
    """True when ok runs cover at least two distinct k (a curve needs two points)."""
    if frame.empty or "k" not in frame:
        return False
    ok = frame[frame["status"] == "ok"]
    return ok["k"].dropna().nunique() >= 2


def fewshot_curves(frame: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per (dataset, hardest class, model, arm, k): seeds, mean and t CI of hardest-class accuracy (%).

    Arms and designs are the comparisons' (:func:`benchmark.report.comparisons.iter_arm_groups`): one
    run per seed, so n counts seeds as the comparisons do.
    """
    ok = frame[(frame["status"] == "ok") & frame["hardest_acc"].notna() & frame["k"].notna()] if len(frame) else frame
    rows = []
    for key, arms in iter_arm_groups(ok):
        for arm, g in arms.items():
            per_seed = list(seed_series(g, f"{key['dataset']}/{arm}/k={key['k']}").values())
            mean, lo, hi = mean_ci(per_seed, confidence)
            cd = g["curve_design"].iloc[0] if "curve_design" in g else None
            rows.append({"dataset": key["dataset"], "hardest_class": key["hardest_class"], "model": key["model"],
                         "curve_design": cd, "arm": arm, "k": int(key["k"]), "n_seeds": len(per_seed), "mean_pct": 100 * mean,
                         "ci_low_pct": 100 * lo, "ci_high_pct": 100 * hi})
    out = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    return out.sort_values([*CURVE_KEYS, "arm", "k"], kind="stable").reset_index(drop=True)


def _efficiency_row(key: dict, source: str, arm: str, real: pd.DataFrame, syn: pd.DataFrame) -> dict:
    eff = label_efficiency(real["k"], real["mean_pct"], syn["k"], syn["mean_pct"])
    eff["acc_synthetic_pct"] = eff.pop("acc_synthetic")
    return {**key, "source": source, "arm": arm, **eff}


def label_efficiency_table(curves: pd.DataFrame, with_published: bool = True) -> pd.DataFrame:
    """Per group and synthetic arm: real-only k needed to match the synthetic arm at its smallest k.

    When the dataset and hardest class match SCARCE's published few-shot points, a row computed the
    same way from those points follows ("published (SCARCE)"), side by side with this study's.
    """
    rows = []
    for values, g in curves.groupby(CURVE_KEYS, sort=True, dropna=False):
        key = dict(zip(CURVE_KEYS, values))
        ds, hc = key["dataset"], key["hardest_class"]
        real = g[g["arm"] == "real"]
        for arm in sorted(a for a in g["arm"].unique() if a.startswith("synthetic")):
            rows.append(_efficiency_row(key, "this study", arm, real, g[g["arm"] == arm]))
        pub = published_fewshot(ds, hc) if with_published else pd.DataFrame()
        if not pub.empty:
            p = pub.rename(columns={"hardest_acc_pct": "mean_pct"})
            rows.append(_efficiency_row(key, "published (SCARCE)", "synthetic", p[p["arm"] == "real"],
                                        p[p["arm"] == "synthetic"]))
    return pd.DataFrame(rows, columns=EFFICIENCY_COLUMNS)
