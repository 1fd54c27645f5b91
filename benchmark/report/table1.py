"""SCARCE-style Table 1 from a records frame: one row per (group, generator). (What the table *holds*;
how any table is written as CSV / Markdown / LaTeX / HTML is :mod:`.table_formats`.)

Only ``status == "ok"`` runs count. Groups and arm labels are those of the comparisons
(:func:`benchmark.report.comparisons.iter_arm_groups`): one design per group, the ``real`` arm shared
by every generator of the group, and each generator's placebo the one **count-matched to what that
generator delivered** (:func:`benchmark.report.design.matched_placebo`'s rule), never an average over
placebo cells of other volumes.

Gains are means of *paired* per-seed differences (see :mod:`benchmark.stats.paired`), not differences
of arm means: the arm means are over each arm's own ok seeds, so when seeds are dropped the two can
disagree, and the table shows the dropped seeds so a reader can see why.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from benchmark.report.design import seed_series
from benchmark.stats import paired_differences, paired_summary

ARMS = ("real", "placebo", "synthetic")
TABLE_COLUMNS = [
    "dataset", "hardest_class", "model", "engine", "k", "design", "generator",
    "real_acc_pct", "synthetic_acc_pct", "placebo_acc_pct",
    "gain_pp", "gain_vs_placebo_pp", "z", "z_vs_placebo",
    "n_seeds", "n_seeds_vs_placebo", "dropped_seeds",
]
# Human headers in SCARCE Table 1's order, for the markdown/CSV renderers.
TABLE_HEADERS = {
    "dataset": "Dataset", "hardest_class": "Hardest class", "model": "Model", "engine": "Engine", "k": "k",
    "design": "Design", "generator": "Generator", "real_acc_pct": "Real-only acc (%)", "synthetic_acc_pct": "+Synthetic acc (%)",
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


def iter_groups(frame: pd.DataFrame) -> Iterator[tuple[dict[str, Any], dict[str, dict[int, float]]]]:
    """Yield ``(key, arms)`` per table group, ``arms`` mapping real / placebo / synthetic to ``{seed: acc}``.

    A group with no synthetic runs still yields one row (generator ``None``) so real-only results are
    reported rather than vanishing. Shared with the per-seed figure (:mod:`.paired_seeds`) so both pair identically.
    """
    from benchmark.report.comparisons import iter_arm_groups, placebo_of

    ok = ok_rows(frame)
    if ok.empty:
        return
    for key, arms in iter_arm_groups(ok):
        syn = [lab for lab in arms if lab.startswith("synthetic[")] or [None]
        for lab in syn:
            gen = None if lab is None else lab[len("synthetic["):-1]
            row_key = {**key, "generator": gen}
            name = "/".join(str(v) for v in row_key.values())
            plc = placebo_of(lab, arms) if lab else None
            yield row_key, {
                "real": seed_series(arms["real"], f"{name}/real") if "real" in arms else {},
                "placebo": seed_series(arms[plc], f"{name}/{plc}") if plc else {},
                "synthetic": seed_series(arms[lab], f"{name}/{lab}") if lab else {},
            }


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
