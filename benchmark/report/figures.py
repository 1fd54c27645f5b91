"""Study figures beyond the per-seed plot (:mod:`.paired_seeds`): forest plot, few-shot curves, confusion
matrices, A/A histograms. Each function draws on the ``ax`` it is given and returns ``ax.figure``."""
from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless, as in paired_seeds.py

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from benchmark.endpoints import ENDPOINTS  # noqa: E402

__all__ = ["plot_forest", "plot_fewshot", "plot_confusion", "plot_aa_z", "plot_aa_p", "save_figure",
           "check_axis_labels", "VERDICT_COLORS"]

VERDICT_COLORS = {"gain": "#1a7f37", "no evidence": "#6e7781", "harm": "#cf222e", "not tested": "#afb8c1"}


# a numeric axis's label names its unit: "(…)" (e.g. "(%)", "(images)", "(count)") or a bare "%" / "pp"
UNIT = re.compile(r"\([^)]+\)|%|\bpp\b")


def check_axis_labels(fig: Figure, stem: str) -> None:
    """Every visible axes with its axis drawn has an x and a y label, and a numeric one names its unit (a
    categorical axis, whose ticks are text set with ``set_*ticks(..., labels)``, needs only the label; an axis
    without ticks, an image panel's, needs none).
    Raises ``ValueError`` naming the figure, the panel and the axis."""
    for i, ax in enumerate(fig.get_axes()):
        if not ax.get_visible() or not ax.axison:
            continue
        for name, axis, label in (("x", ax.xaxis, ax.get_xlabel()), ("y", ax.yaxis, ax.get_ylabel())):
            if not len(axis.get_ticklocs()):   # an image panel (audit gallery): no scale, nothing to label
                continue
            # text ticks: set_*ticks(ticks, labels) installs a Fixed- (or, matplotlib >= 3.10, a Func-) Formatter
            categorical = isinstance(axis.get_major_formatter(), (mticker.FixedFormatter, mticker.FuncFormatter))
            if not label.strip():
                raise ValueError(f"figure {stem!r}, panel {i} ({ax.get_title()!r}): the {name} axis has no label")
            if not categorical and not UNIT.search(label):
                raise ValueError(f"figure {stem!r}, panel {i}: {name} label {label!r} names no unit; expected "
                                 "'(unit)', '%' or 'pp'")


def save_figure(fig: Figure, out_dir: Path, stem: str, dpi: int = 120) -> dict[str, Path]:
    """``<stem>.png`` and ``<stem>.svg`` once :func:`check_axis_labels` passes; closes the figure."""
    try:
        check_axis_labels(fig, stem)
    except ValueError:
        plt.close(fig)
        raise
    paths = {f"{stem}_png": out_dir / f"{stem}.png", f"{stem}_svg": out_dir / f"{stem}.svg"}
    fig.savefig(paths[f"{stem}_png"], dpi=dpi)
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    paths[f"{stem}_svg"].write_text(buf.getvalue())
    plt.close(fig)
    return paths


def _forest_label(r) -> str:
    k = "" if r.k is None or pd.isna(r.k) else f" k={int(r.k)}"
    return f"{r.dataset} / {r.hardest_class}{k}\n{r.model}: {r.comparison}"


def plot_forest(comparisons: pd.DataFrame, ax: Axes) -> Figure:
    """Mean paired difference (pp) per comparison with the verdict rule's interval (thick) and the seeds ×
    units bootstrap CI (thin, capped), coloured by verdict, in table order from the top; a line at 0."""
    rows = comparisons.reset_index(drop=True)
    y = np.arange(len(rows))[::-1]
    for yi, r in zip(y, rows.itertuples()):
        color = VERDICT_COLORS.get(r.verdict, "black")
        if np.isfinite([r.hier_ci_low_pp, r.hier_ci_high_pp]).all():
            ax.errorbar(r.mean_pp, yi - 0.18, xerr=[[r.mean_pp - r.hier_ci_low_pp], [r.hier_ci_high_pp - r.mean_pp]],
                        fmt="none", ecolor=color, elinewidth=1, capsize=3, alpha=0.7)
        lo, hi = (r.rule_ci_low_pp, r.rule_ci_high_pp) if hasattr(r, "rule_ci_low_pp") else (r.ci_low_pp, r.ci_high_pp)
        if np.isfinite([lo, hi]).all():
            ax.plot([lo, hi], [yi, yi], color=color, lw=3.5, solid_capstyle="butt")
        if np.isfinite(r.mean_pp):
            ax.plot(r.mean_pp, yi, "o", color="white", mec=color, mew=2, ms=7)
        else:
            ax.text(0.0, yi, "  fewer than 2 paired seeds", va="center", fontsize="small", color=color)
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_ylim(-0.7, max(len(rows), 1) - 0.3)
    ax.set_yticks(y, [_forest_label(r) for r in rows.itertuples()] if len(rows) else [], fontsize="small")
    ax.set_ylabel("comparison (A − B)")
    ep = rows["endpoint"].iloc[0] if "endpoint" in rows and len(rows) else "hardest_accuracy"
    ax.set_xlabel(f"difference in {ENDPOINTS[ep].title}, A − B (pp)")
    ax.set_title("Paired differences (thick: the verdict rule's interval; thin: seeds × units bootstrap)",
                 fontsize="medium")
    handles = [plt.Line2D([], [], color=c, lw=3.5, label=v) for v, c in VERDICT_COLORS.items()]
    ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), title="verdict")
    if not len(rows):
        ax.text(0.5, 0.5, "no comparisons", ha="center", va="center", transform=ax.transAxes)
    ax.grid(axis="x", alpha=0.3)
    return ax.figure


def plot_fewshot(curves: pd.DataFrame, ax: Axes, published: pd.DataFrame | None = None) -> Figure:
    """Hardest-class accuracy (%) vs k real labels per class, one line per arm with its t CI band;
    published points (``arm``, ``k``, ``hardest_acc_pct``) dashed when given."""
    colors = {"real": "#0969da", "placebo": "#8250df"}
    cmap = plt.get_cmap("tab10")
    for i, (arm, g) in enumerate(curves.sort_values("k").groupby("arm", sort=True)):
        c = colors.get(arm.split("[")[0], cmap((i + 2) % 10))
        ax.plot(g["k"], g["mean_pct"], "-o", color=c, label=f"{arm} (this study)")
        ax.fill_between(g["k"], g["ci_low_pct"], g["ci_high_pct"], color=c, alpha=0.15, lw=0)
    if published is not None and not published.empty:
        for arm, g in published.sort_values("k").groupby("arm"):
            ax.plot(g["k"], g["hardest_acc_pct"], "--s", color=colors.get(arm, "#bf8700"), alpha=0.7,
                    label=f"{arm} (published)")
    ax.set_xlabel("k real labels per class (images)")
    ax.set_ylabel("hardest-class accuracy (%)")
    ax.grid(alpha=0.3)
    if len(curves):
        ax.set_xticks(sorted(curves["k"].unique()))
        ax.legend(fontsize="small")
    return ax.figure


def plot_confusion(matrix, classes: list[str], ax: Axes, title: str = "", highlight: str | None = None) -> Figure:
    """Row-normalised confusion matrix (rows = true class) as a heat map with the share in each cell;
    the ``highlight`` class (the hardest) in bold."""
    m = np.asarray(matrix, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.nan_to_num(m / m.sum(axis=1, keepdims=True))
    ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    for (i, j), v in np.ndenumerate(norm):
        ax.text(j, i, f"{v:.2f}".lstrip("0") if v < 1 else "1", ha="center", va="center", fontsize="x-small",
                color="white" if v > 0.6 else "black")
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=45, ha="right", fontsize="small")
    ax.set_yticks(ticks, classes, fontsize="small")
    for lab in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        if lab.get_text() == highlight:
            lab.set_fontweight("bold")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize="medium")
    return ax.figure


def plot_aa_z(z, ax: Axes, target_z: float = 3.4) -> Figure:
    """Histogram of SCARCE z over A/A studies; ±inf (constant d) collected in the outermost bins and
    counted in the legend; the ±target lines mark SCARCE's bar."""
    z = np.asarray(z, dtype=float)
    lim = max(6.0, target_z * 2)
    shown = np.clip(z[~np.isnan(z)], -lim, lim)  # ±inf land in the outermost bins
    ax.hist(shown, bins=np.linspace(-lim, lim, 49), color="#6e7781")
    n_inf = int(np.isinf(z).sum())
    for s in (-1, 1):
        ax.axvline(s * target_z, color="#cf222e", ls="--", lw=1)
    share = np.mean(np.abs(z) >= target_z) if z.size else np.nan
    ax.set_title(f"A/A z: {100 * share:.1f} % of studies have |z| ≥ {target_z:g} ({n_inf} infinite)")
    ax.set_xlabel(f"SCARCE z (standard errors; clipped to ±{lim:g}, ±inf = constant non-zero d)")
    ax.set_ylabel("simulated studies (count)")
    return ax.figure


def plot_aa_p(p, ax: Axes, alpha: float = 0.05) -> Figure:
    """Histogram of t-test p over A/A studies (flat if calibrated); the α line."""
    p = np.asarray(p, dtype=float)
    ax.hist(p[np.isfinite(p)], bins=np.linspace(0, 1, 21), color="#6e7781")
    ax.axvline(alpha, color="#cf222e", ls="--", lw=1)
    ax.set_title(f"A/A t-test p: {100 * np.mean(p < alpha):.1f} % below {alpha:g}")
    ax.set_xlabel("t-test p (probability)")
    ax.set_ylabel("simulated studies (count)")
    return ax.figure
