"""Which cheap audit figure predicts utility on this dataset? Per study group with >= 2 generators that have a
count-matched placebo: one point per generator, its audit figure (x; the discriminator AUC with its CI) against
its gain over placebo on the primary endpoint (y, the leaderboard's mean and the verdict rule's CI).

Audit figures come from the run records' `synthetic.audit.fidelity[<hardest class>]` (what the run-time audit
kept); a generator with several sets in one group (K folds, per-seed few-shot sets) gets the mean over its
distinct sets (by content hash). Gains are the leaderboard's own rows (:func:`.leaderboard.leaderboard_of`),
not a second computation. A handful of generators is a handful of points: read the panels as a picture of this
study, not as a fitted relationship (no correlation is computed).
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.report.design import GROUP_KEYS

__all__ = ["audit_gain_frame", "plot_audit_scatter", "write_audit_scatter", "SCATTER_FIGURES", "SCATTER_HEADERS"]

GROUP = list(GROUP_KEYS)
# audit figure -> (axis label, (CI low, CI high) columns or None); the order of the panels
SCATTER_FIGURES = {
    "discriminator_auc": ("real-vs-synthetic AUC (0–1; 0.5 = indistinguishable)", ("auc_ci_low", "auc_ci_high")),
    "label_fidelity": ("label fidelity (share; real-only probe)", None),
    "precision": ("PRDC precision (share)", None), "recall": ("PRDC recall (share)", None),
    "density": ("PRDC density (ratio)", None), "coverage": ("PRDC coverage (share)", None),
    "kid": ("KID to real train (MMD², features)", None), "mean_cosine_to_real": ("mean cosine to real train (cosine)", None),
}
VALUE_COLUMNS = [*SCATTER_FIGURES, "auc_ci_low", "auc_ci_high", "label_chance"]
SCATTER_HEADERS = {"dataset": "Dataset", "hardest_class": "Class", "generator": "Generator", "n_sets": "Audited sets",
                   "gain_pp": "Gain vs placebo (pp)", "gain_ci_low_pp": "CI low", "gain_ci_high_pp": "CI high",
                   "discriminator_auc": "Real-vs-synthetic AUC", "auc_ci_low": "AUC CI low",
                   "auc_ci_high": "AUC CI high", "label_fidelity": "Label fidelity", "label_chance": "Chance",
                   "precision": "Precision", "recall": "Recall", "density": "Density", "coverage": "Coverage",
                   "kid": "KID", "mean_cosine_to_real": "Cosine to real"}


def _num(v) -> float:
    try:
        return float(v) if v is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _audit_means(data, run_ids, cls: str) -> tuple[int, dict[str, float]]:
    """(distinct audited sets, mean of each figure over them) for class `cls` of these runs' synthetic sets."""
    seen, rows = set(), []
    for rid in run_ids:
        for syn in (data.runs.get(rid) or {}).get("synthetic_sets") or []:
            audit = (syn or {}).get("audit") or {}
            fid = (audit.get("fidelity") or {}).get(str(cls))
            key = (syn.get("key"), syn.get("content_sha256")) if syn else None
            if fid is None or key in seen:
                continue
            seen.add(key)
            rows.append([_num(fid.get(k)) for k in VALUE_COLUMNS])
    if not rows:
        return 0, {k: math.nan for k in VALUE_COLUMNS}
    with warnings.catch_warnings():  # a figure missing from every set (older records): NaN, no warning
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(np.array(rows, dtype=np.float64), axis=0)
    return len(rows), dict(zip(VALUE_COLUMNS, means.tolist()))


def audit_gain_frame(ctx) -> pd.DataFrame:
    """One row per (group, generator) with a gain over its count-matched placebo: the gain, its CI and the
    audit figures; only groups with >= 2 such generators that carry an audit."""
    from benchmark.report.design import key_text
    from benchmark.report.leaderboard import leaderboard_of

    cols = [*GROUP, "generator", "n_sets", "gain_pp", "gain_ci_low_pp", "gain_ci_high_pp", *VALUE_COLUMNS]
    long = leaderboard_of(ctx)
    frame = ctx.data.frame
    if long.empty or frame.empty or "run_id" not in frame:
        return pd.DataFrame(columns=cols)
    plc = long[(long["kind"] == "vs placebo") & np.isfinite(pd.to_numeric(long["mean_pp"], errors="coerce"))]
    syn = frame[frame["arm"] == "synthetic"]
    syn_keys = [tuple(map(key_text, r)) for r in syn[[*GROUP, "generator"]].itertuples(index=False)]
    rows = []
    for r in plc.to_dict("records"):
        key = tuple(map(key_text, [*(r[c] for c in GROUP), r["generator"]]))
        rids = syn["run_id"][[k == key for k in syn_keys]].tolist()
        n_sets, figs = _audit_means(ctx.data, rids, r["hardest_class"])
        if n_sets:
            rows.append({**{c: r[c] for c in GROUP}, "generator": r["generator"], "n_sets": n_sets,
                         "gain_pp": r["mean_pp"], "gain_ci_low_pp": r["ci_low_pp"], "gain_ci_high_pp": r["ci_high_pp"],
                         **figs})
    out = pd.DataFrame(rows, columns=cols)
    if out.empty:
        return out
    sizes = out.groupby([_norm_col(out[c]) for c in GROUP], dropna=False)["generator"].transform("size")
    return out[sizes.to_numpy() >= 2].reset_index(drop=True)


def _norm_col(s: pd.Series) -> pd.Series:
    from benchmark.report.design import key_text

    return s.map(key_text)


def plot_audit_scatter(t: pd.DataFrame, endpoint: str = "hardest_accuracy"):
    """One panel per audit figure present: x = the figure (AUC with its CI), y = gain over placebo with CI."""
    import matplotlib.pyplot as plt

    from benchmark.endpoints import ENDPOINTS

    figs = [f for f in SCATTER_FIGURES if np.isfinite(pd.to_numeric(t[f], errors="coerce")).any()]
    ncol = min(4, len(figs))
    nrow = math.ceil(len(figs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.2 * nrow), squeeze=False)
    groups = list(t.groupby([_norm_col(t[c]) for c in GROUP], sort=True))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, f in zip(axes.flat, figs):
        label, ci = SCATTER_FIGURES[f]
        for gi, (_, g) in enumerate(groups):
            c = colors[gi % len(colors)]
            for r in g.itertuples():
                x, y = getattr(r, f), r.gain_pp
                if not np.isfinite([x, y]).all():
                    continue
                ax.plot([x, x], [r.gain_ci_low_pp, r.gain_ci_high_pp], color=c, lw=1.5)
                if ci is not None and np.isfinite([getattr(r, ci[0]), getattr(r, ci[1])]).all():
                    ax.plot([getattr(r, ci[0]), getattr(r, ci[1])], [y, y], color=c, lw=1.5)
                ax.plot(x, y, "o", color=c, ms=6, label=f"{r.dataset} / {r.hardest_class}")
                ax.annotate(str(r.generator), (x, y), textcoords="offset points", xytext=(4, 4), fontsize="x-small")
        if f == "label_fidelity" and np.isfinite(pd.to_numeric(t["label_chance"], errors="coerce")).any():
            ax.axvline(float(pd.to_numeric(t["label_chance"]).mean()), color="grey", ls=":", lw=1)  # chance
        if f == "discriminator_auc":
            ax.axvline(0.5, color="grey", ls=":", lw=1)
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_xlabel(label, fontsize="small")
        ax.set_ylabel("gain vs placebo (pp)", fontsize="small")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(figs):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    if len(uniq) > 1:
        fig.legend(uniq.values(), uniq.keys(), loc="lower right", fontsize="small")
    fig.suptitle(f"Audit figures vs gain over count-matched placebo in {ENDPOINTS[endpoint].title} "
                 "(one point per generator; bars: 95 % CIs)", fontsize="medium")
    fig.tight_layout()
    return fig


def write_audit_scatter(ctx, out_dir) -> dict:
    """audit_scatter.{csv,md,tex,png,svg} where some group has >= 2 audited generators with a placebo."""
    from benchmark.report.figures import save_figure
    from benchmark.report.table_formats import write_table_formats

    t = audit_gain_frame(ctx)
    if t.empty:
        return {}
    note = ("\nOne row per generator with a count-matched placebo: its gain over placebo (the leaderboard's row: mean "
            "and the verdict rule's CI) beside the audit figures of its synthetic set(s) for the hardest class (mean "
            "over its distinct sets). A few generators are a few points: which figure tracks the gain on this "
            "dataset is a description of this study, not a fitted law.\n")
    paths = write_table_formats(t[list(SCATTER_HEADERS)], out_dir, "audit_scatter", SCATTER_HEADERS, digits=3, md_suffix=note,
                                caption="Audit figures vs gain over placebo")
    return paths | save_figure(plot_audit_scatter(t, ctx.data.primary), Path(out_dir), "audit_scatter")

