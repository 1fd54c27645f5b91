"""The per-seed figure of a study: hardest-class accuracy per seed across real / placebo / synthetic. A mean
gain built on one lucky seed is visible here where a table hides it. Other figures: :mod:`.figures`."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # reports are written headless (CI, GPU boxes); never open a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from benchmark.report.table1 import ARMS, iter_groups  # noqa: E402

ARM_X = {arm: i for i, arm in enumerate(ARMS)}  # real=0, placebo=1, synthetic=2


def _group_label(key: dict) -> str:
    gen = key["generator"] if key["generator"] is not None else "no synthetic"
    return f"{key['model']} / {gen}"


def _draw_group(ax: Axes, arms: dict[str, dict[int, float]], color, label: str, dx: float) -> None:
    """Thin line per seed across the arms it has; a large marker at each arm's mean."""
    seeds = sorted(set().union(*arms.values()))
    for s in seeds:
        pts = [(ARM_X[a] + dx, 100.0 * arms[a][s]) for a in ARMS if s in arms[a]]
        xs, ys = zip(*pts)
        ax.plot(xs, ys, "-o", color=color, lw=0.7, ms=3, alpha=0.45)
    means = [(ARM_X[a] + dx, 100.0 * float(np.mean(list(arms[a].values())))) for a in ARMS if arms[a]]
    if means:
        mx, my = zip(*means)
        ax.plot(mx, my, "_", color=color, ms=22, mew=2.5, label=f"{label} (mean)")


def plot_paired_seeds(frame: pd.DataFrame, ax: Axes, dataset: str | None = None) -> Figure:
    """Hardest-class accuracy (%) per seed on x = real / placebo / synthetic, lines joining a seed.

    One colour per (model, generator) group of :func:`benchmark.report.table1.iter_groups`, slightly
    offset in x so overlapping groups stay readable. Draws on ``ax`` and returns ``ax.figure``.
    """
    sub = frame if dataset is None or frame.empty else frame[frame["dataset"] == dataset]
    groups = list(iter_groups(sub))
    colors = plt.get_cmap("tab10")
    width = 0.25
    for i, (key, arms) in enumerate(groups):
        dx = 0.0 if len(groups) == 1 else width * (i / (len(groups) - 1) - 0.5)
        _draw_group(ax, arms, colors(i % 10), _group_label(key), dx)
    if not groups:
        ax.text(0.5, 0.5, "no ok runs", ha="center", va="center", transform=ax.transAxes)
    hardest = sorted({str(k["hardest_class"]) for k, _ in groups})
    ax.set_xticks(list(ARM_X.values()), list(ARM_X))
    ax.set_xlim(-0.5, len(ARMS) - 0.5)
    ax.set_ylabel("hardest-class accuracy (%)")
    ax.set_title(f"{dataset or 'all datasets'}" + (f" — {', '.join(hardest)}" if hardest else ""))
    ax.grid(axis="y", alpha=0.3)
    if groups:
        ax.legend(fontsize="small", loc="best")
    return ax.figure
