"""The report's artefacts: one ``write_*(ctx, out_dir) -> {name: path}`` function each.

:class:`ReportContext` holds the study and computes each derived table once (comparisons with their
bootstraps are the expensive part), so writers and the HTML page share the same numbers.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from benchmark.report.collect import StudyData
from benchmark.report.comparisons import COMPARISON_HEADERS, comparisons_frame, endpoint_rule, iter_arm_groups
from benchmark.report.fewshot import (EFFICIENCY_HEADERS, fewshot_curves, is_fewshot,
                                      label_efficiency_table)
from benchmark.report.notrun import rule_note
from benchmark.report.published import PUBLISHED_HEADERS, published_fewshot, with_published
from benchmark.report.table1 import TABLE_HEADERS, study_table
from benchmark.report.table_formats import write_table_formats
from benchmark.stats import DecisionRule
from benchmark.stats.bootstrap import DEFAULT_N_BOOT

__all__ = ["ReportContext", "failures_frame", "scarce_table", "selection_notes", "write_table",
           "write_comparisons", "write_failures", "write_paired_seeds", "write_forest", "write_fewshot",
           "write_confusion", "write_aa_histogram", "FAILURE_COLUMNS", "CALIBRATION_SIMS", "CALIBRATION_SUMMARY"]

FAILURE_COLUMNS = ["run_id", "dataset", "model", "arm", "generator", "seed", "error"]
CALIBRATION_SIMS = "calibration.csv"           # written by `scarce calibrate`, picked up by the report
CALIBRATION_SUMMARY = "calibration_summary.csv"


@dataclass
class ReportContext:
    """The study, the decision rule, bootstrap settings, and what has been written so far."""

    data: StudyData
    rule: DecisionRule = DecisionRule()
    seed: int = 0
    n_boot: int = DEFAULT_N_BOOT
    written: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the rule as it applies to the primary endpoint (its seed-level form for AP / balanced accuracy)
        self.rule = endpoint_rule(self.rule, self.data.primary)

    @property
    def frame(self) -> pd.DataFrame:
        return self.data.frame

    @cached_property
    def secondary(self) -> pd.DataFrame:
        from benchmark.report.endpoints import secondary_frame

        return secondary_frame(self.data, self.rule)

    @cached_property
    def comparisons(self) -> pd.DataFrame:
        return comparisons_frame(self.data, self.rule, self.seed, self.n_boot)

    @cached_property
    def table(self) -> pd.DataFrame:
        return scarce_table(self.frame)

    @cached_property
    def replication(self) -> pd.DataFrame:
        from benchmark.report.replication import replication_frame

        return replication_frame(self.table, self.comparisons, rule=self.rule)

    @cached_property
    def curves(self) -> pd.DataFrame:
        return fewshot_curves(self.frame) if is_fewshot(self.frame) else pd.DataFrame()

    @cached_property
    def efficiency(self) -> pd.DataFrame:
        return label_efficiency_table(self.curves) if not self.curves.empty else pd.DataFrame()


# ------------------------------------------------------------------------------------------ tables
def failures_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Failed runs with their error message, so gaps in the table can be traced to a cause."""
    if frame.empty or "status" not in frame:
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    failed = frame[frame["status"] == "failed"]
    return failed.reindex(columns=FAILURE_COLUMNS).sort_values(["dataset", "arm", "seed"]).reset_index(drop=True)


def scarce_table(frame: pd.DataFrame) -> pd.DataFrame:
    """SCARCE Table 1 across datasets, sorted by gain (largest first, missing last), published columns
    appended when a dataset is in the published table."""
    if is_fewshot(frame):  # one row per k: averaging a seed's runs across k would mix designs
        parts = [study_table(g).assign(k=int(k)) for k, g in frame[frame["k"].notna()].groupby("k", sort=True)]
        table = pd.concat(parts, ignore_index=True)
        table.insert(table.columns.get_loc("model") + 1, "k", table.pop("k"))
    else:
        table = study_table(frame)
    table = table.sort_values("gain_pp", ascending=False, na_position="last", kind="stable")
    return with_published(table.reset_index(drop=True))


def selection_notes(frame: pd.DataFrame) -> str:
    """Say which pre-registered rule chose each hardest class (it is part of the result)."""
    if frame.empty or "hardest_rule" not in frame:
        return ""
    rules = frame.dropna(subset=["hardest_class"]).drop_duplicates(["dataset", "hardest_class"])
    lines = [f"- {r.dataset}: hardest class **{r.hardest_class}**, chosen by: {r.hardest_rule}"
             for r in rules.itertuples()]
    lines += [f"- {note}" for r in rules.itertuples() if (note := rule_note(r.dataset, r.hardest_class, r.hardest_rule))]
    return "\nHardest class (pre-registered in the split manifest, never chosen on test):\n\n" + "\n".join(lines) + "\n"


def drop_constant(table: pd.DataFrame, columns=("engine", "k", "design")) -> pd.DataFrame:
    """``table`` without the design columns that hold one value throughout (they say nothing there;
    where they vary, they are why two rows are two rows)."""
    if table.empty:
        return table
    by = [c for c in ("dataset", "hardest_class", "model") if c in table]
    same = [c for c in columns if c in table
            and table.assign(_v=table[c].astype(str)).groupby(by)["_v"].nunique().max() <= 1]
    return table.drop(columns=same)


def write_table(ctx: ReportContext, out_dir: Path) -> dict[str, Path]:
    return write_table_formats(drop_constant(ctx.table), out_dir, "table", TABLE_HEADERS | PUBLISHED_HEADERS,
                               md_suffix=selection_notes(ctx.frame),
                               caption="Hardest-class accuracy by arm, paired gain and z (sorted by gain)")


def write_comparisons(ctx: ReportContext, out_dir: Path) -> dict[str, Path]:
    from benchmark.report.endpoints import endpoint_note

    note = (f"\nVerdict rule: {ctx.rule.describe()}. Holm adjustment over all {len(ctx.comparisons)} "
            f"comparisons of the study. Differences in percentage points (pp). {endpoint_note(ctx.data.primary)}\n")
    return write_table_formats(ctx.comparisons, out_dir, "comparisons", COMPARISON_HEADERS, digits=3,
                               md_suffix=note, caption="Paired comparisons: every statistic and the verdict")


def write_failures(ctx: ReportContext, out_dir: Path) -> dict[str, Path]:
    return write_table_formats(failures_frame(ctx.frame), out_dir, "failures", caption="Failed runs")


# ----------------------------------------------------------------------------------------- figures
def _subplots(n: int, width: float, height: float, ncols: int = 3):
    import matplotlib.pyplot as plt

    n = max(n, 1)
    ncols = min(n, ncols)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def write_paired_seeds(ctx: ReportContext, out_dir: Path) -> dict[str, Path]:
    """One subplot per dataset with at least one ok run (one empty panel if there is none)."""
    from benchmark.report.figures import save_figure
    from benchmark.report.paired_seeds import plot_paired_seeds

    frame = ctx.frame
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    by_k = is_fewshot(frame)  # few-shot: one panel per (dataset, k), never a seed averaged across k
    panels = (sorted({(ds, int(k)) for ds, k in zip(ok["dataset"], ok["k"]) if pd.notna(k)}) if by_k else
              [(ds, None) for ds in sorted(ok["dataset"].dropna().unique())]) if not ok.empty else []
    fig, axes = _subplots(len(panels), 5.5, 4.5)
    for ax, (ds, k) in zip(axes, panels or [(None, None)]):
        plot_paired_seeds(frame if k is None else frame[frame["k"] == k], ax, dataset=ds)
        if k is not None:
            ax.set_title(f"{ax.get_title()} (k = {k})")
    fig.tight_layout()
    return save_figure(fig, out_dir, "paired_seeds")


def write_forest(ctx: ReportContext, out_dir: Path) -> dict[str, Path]:
    import matplotlib.pyplot as plt

    from benchmark.report.figures import plot_forest, save_figure

    comps = ctx.comparisons
    fig, ax = plt.subplots(figsize=(10, 1.5 + 0.55 * max(len(comps), 1)))
    plot_forest(comps, ax)
    fig.tight_layout()
    return save_figure(fig, out_dir, "forest")


def write_fewshot(ctx: ReportContext, out_dir: Path) -> dict[str, Path]:
    """Curves and label efficiency, only when the study varies k."""
    from benchmark.report.figures import plot_fewshot, save_figure

    curves = ctx.curves
    if curves.empty:
        return {}
    paths = write_table_formats(curves, out_dir, "fewshot_curves", caption="Hardest-class accuracy vs k")
    paths |= write_table_formats(ctx.efficiency, out_dir, "label_efficiency", EFFICIENCY_HEADERS,
                                 caption="Real labels saved by synthetic images")
    groups = list(curves.groupby(["dataset", "hardest_class", "model", "curve_design"], sort=True, dropna=False))
    fig, axes = _subplots(len(groups), 5.5, 4.2)
    for ax, ((ds, hc, model, cd), g) in zip(axes, groups):
        plot_fewshot(g, ax, published_fewshot(ds, hc))
        ax.set_title(f"{ds} — {hc} ({model}" + (f", design {cd}" if len(groups) > 1 else "") + ")", fontsize="medium")
    fig.tight_layout()
    return paths | save_figure(fig, out_dir, "fewshot")


def _slug(*parts) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "-", "_".join(str(p) for p in parts if p is not None)).strip("-")


def _mean_confusion(rows: pd.DataFrame, data: StudyData) -> tuple[list[str], object] | None:
    mats = [data.confusion[r] for r in rows.loc[rows["status"] == "ok", "run_id"] if r in data.confusion]
    if not mats or any(m[0] != mats[0][0] or m[1].shape != mats[0][1].shape for m in mats):
        return None
    return mats[0][0], sum(m[1] for m in mats) / len(mats)


def write_confusion(ctx: ReportContext, out_dir: Path) -> dict[str, Path]:
    """Per group, one row-normalised confusion matrix per arm (counts averaged over its ok seeds)."""
    from benchmark.report.figures import plot_confusion, save_figure

    paths: dict[str, Path] = {}
    for key, arms in iter_arm_groups(ctx.frame):
        mats = {lab: m for lab, rows in arms.items() if (m := _mean_confusion(rows, ctx.data)) is not None}
        if not mats:
            continue
        fig, axes = _subplots(len(mats), 4.2, 4.0, ncols=4)
        for ax, (lab, (classes, m)) in zip(axes, mats.items()):
            plot_confusion(m, classes, ax, title=lab, highlight=key["hardest_class"])
        k = f", k={key['k']}" if key["k"] is not None else ""
        fig.suptitle(f"{key['dataset']} / {key['model']}{k}: confusion, mean over seeds, row-normalised")
        fig.tight_layout()
        paths |= save_figure(fig, out_dir, "confusion_" + _slug(key["dataset"], key["model"], key["k"]))
    return paths


def write_aa_histogram(ctx: ReportContext | None, out_dir: Path, sims: pd.DataFrame | None = None,
                       target_z: float = 3.4, alpha: float = 0.05) -> dict[str, Path]:
    """A/A z and p histograms from ``calibration.csv`` (only once ``scarce calibrate`` has run)."""
    import matplotlib.pyplot as plt

    from benchmark.report.figures import plot_aa_p, plot_aa_z, save_figure

    if sims is None:
        path = out_dir / CALIBRATION_SIMS
        if not path.is_file():
            return {}
        sims = pd.read_csv(path)
        summary = out_dir / CALIBRATION_SUMMARY
        if summary.is_file():
            s = pd.read_csv(summary)
            target_z, alpha = float(s["target_z"].iloc[0]), float(s["alpha"].iloc[0])
    # the heterogeneous null where the study has one (the harder test for a rule), else the exchangeable one
    scenario = "heterogeneous" if (sims["scenario"] == "heterogeneous").any() else "exchangeable"
    aa = sims[sims["scenario"] == scenario]
    if aa.empty:
        return {}
    fig, (ax_z, ax_p) = plt.subplots(1, 2, figsize=(11, 4))
    plot_aa_z(aa["z"].to_numpy(dtype=float), ax_z, target_z)
    plot_aa_p(aa["rule_p" if "rule_p" in aa else "p"].to_numpy(dtype=float), ax_p, alpha)
    fig.tight_layout()
    return save_figure(fig, out_dir, "aa_hist")
