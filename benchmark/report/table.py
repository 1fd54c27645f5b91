"""SCARCE-style Table 1 from a records frame: one row per (dataset, hardest class, model, generator).

Only ``status == "ok"`` runs count. A *group* is one synthetic generator evaluated on one dataset and
model; the ``real`` arm has no generator, so its runs are shared by every generator group of that
dataset/model. ``placebo`` runs are matched to the group by generator when they carry one (a placebo
count-matched to that generator's N), else the generator-less placebo runs are shared like ``real``.

Gains are means of *paired* per-seed differences (see :mod:`benchmark.stats.paired`), not differences
of arm means: the arm means are over each arm's own ok seeds, so when seeds are dropped the two can
disagree, and the table shows the dropped seeds so a reader can see why.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from benchmark.stats import paired_differences, paired_summary

ARMS = ("real", "placebo", "synthetic")
GROUP_KEYS = ("dataset", "hardest_class", "model", "generator")
TABLE_COLUMNS = [
    "dataset", "hardest_class", "model", "generator",
    "real_acc_pct", "synthetic_acc_pct", "placebo_acc_pct",
    "gain_pp", "gain_vs_placebo_pp", "z", "z_vs_placebo",
    "n_seeds", "n_seeds_vs_placebo", "dropped_seeds",
]
# Human headers in SCARCE Table 1's order, for the markdown/CSV renderers.
TABLE_HEADERS = {
    "dataset": "Dataset", "hardest_class": "Hardest class", "model": "Model", "generator": "Generator",
    "real_acc_pct": "Real-only acc (%)", "synthetic_acc_pct": "+Synthetic acc (%)",
    "placebo_acc_pct": "Placebo acc (%)", "gain_pp": "Gain (pp)",
    "gain_vs_placebo_pp": "Gain over placebo (pp)", "z": "z (SCARCE)", "z_vs_placebo": "z vs placebo",
    "n_seeds": "n seeds", "n_seeds_vs_placebo": "n seeds vs placebo", "dropped_seeds": "Dropped seeds",
}


def ok_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Runs that finished and have a hardest-class accuracy; everything else cannot enter a mean."""
    if frame.empty or "status" not in frame:
        return frame.iloc[0:0]
    ok = frame[(frame["status"] == "ok") & frame["hardest_acc"].notna()].copy()
    ok["generator"] = ok["generator"].astype(object).where(ok["generator"].notna(), None)
    return ok


def seed_series(rows: pd.DataFrame, label: str = "") -> dict[int, float]:
    """``{seed: hardest_acc}`` for one arm of one group.

    Several ok runs for one seed (cells differing in k, engine or synthetic set) are averaged with a
    warning: the table would otherwise pick one arbitrarily.
    """
    if rows.empty:
        return {}
    dup = rows["seed"].duplicated(keep=False)
    if dup.any():
        warnings.warn(f"{label}: {int(dup.sum())} runs share a seed; their accuracies are averaged",
                      stacklevel=2)
    s = rows.groupby("seed")["hardest_acc"].mean()
    return {int(k): float(v) for k, v in s.items()}


def _placebo_rows(base: pd.DataFrame, generator: Any) -> pd.DataFrame:
    placebo = base[base["arm"] == "placebo"]
    own = placebo[placebo["generator"] == generator] if generator is not None else placebo.iloc[0:0]
    return own if not own.empty else placebo[placebo["generator"].isna()]


def iter_groups(frame: pd.DataFrame) -> Iterator[tuple[dict[str, Any], dict[str, dict[int, float]]]]:
    """Yield ``(key, arms)`` per table group, ``arms`` mapping each arm name to ``{seed: acc}``.

    A dataset/model with no synthetic runs still yields one group (generator ``None``) so real-only
    results are reported rather than vanishing. Shared with the plots so both pair identically.
    """
    ok = ok_rows(frame)
    if ok.empty:
        return
    for (dataset, hardest, model), base in ok.groupby(["dataset", "hardest_class", "model"],
                                                      dropna=False, sort=True):
        syn = base[base["arm"] == "synthetic"]
        gens = sorted({g for g in syn["generator"]}, key=lambda g: (g is None, str(g))) or [None]
        for gen in gens:
            key = {"dataset": dataset, "hardest_class": hardest, "model": model, "generator": gen}
            label = f"{dataset}/{hardest}/{model}/{gen}"
            arms = {
                "real": seed_series(base[base["arm"] == "real"], f"{label}/real"),
                "placebo": seed_series(_placebo_rows(base, gen), f"{label}/placebo"),
                "synthetic": seed_series(syn[syn["generator"] == gen] if gen is not None
                                         else syn[syn["generator"].isna()], f"{label}/synthetic"),
            }
            yield key, arms


def _mean_pct(series: dict[int, float]) -> float:
    return 100.0 * float(np.mean(list(series.values()))) if series else float("nan")


def group_row(key: dict[str, Any], arms: dict[str, dict[int, float]]) -> dict[str, Any]:
    """One Table-1 row from one group's per-seed accuracies (percent / percentage points)."""
    _, d, dropped = paired_differences(arms["synthetic"], arms["real"])
    _, dp, _ = paired_differences(arms["synthetic"], arms["placebo"])
    s, sp = paired_summary(d), paired_summary(dp)
    return {
        **key,
        "real_acc_pct": _mean_pct(arms["real"]),
        "synthetic_acc_pct": _mean_pct(arms["synthetic"]),
        "placebo_acc_pct": _mean_pct(arms["placebo"]),
        "gain_pp": 100.0 * s["mean"],
        "gain_vs_placebo_pp": 100.0 * sp["mean"],
        "z": s["z"],
        "z_vs_placebo": sp["z"],
        "n_seeds": s["n"],
        "n_seeds_vs_placebo": sp["n"],
        "dropped_seeds": dropped,
    }


def study_table(frame: pd.DataFrame) -> pd.DataFrame:
    """SCARCE Table 1: per group, arm means (%), paired gains (pp) and z, seeds paired and dropped.

    ``dropped_seeds`` lists seeds with an ok run in only one of real/synthetic. Missing arms give NaN
    (and n = 0), never an exception, so a half-finished study still reports.
    """
    rows = [group_row(key, arms) for key, arms in iter_groups(frame)]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
