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
# one marker per seed (cycled) and a small horizontal dodge: seeds with equal accuracies (common with 10 test
# images: steps of 10 pp) would otherwise draw one line over another and a 5-seed study would show 3 lines
SEED_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def _group_label(key: dict) -> str:
    gen = key["generator"] if key["generator"] is not None else "no synthetic"
    return f"{key['model']} / {gen}"


def _draw_group(ax: Axes, arms: dict[str, dict[int, float]], color, label: str, dx: float, spread: float) -> None:
    """Thin line per seed across the arms it has, the i-th seed dodged by ``spread · (i/(n−1) − ½)`` in x and
    drawn with its own marker; a large marker at each arm's mean."""
    seeds = sorted(set().union(*arms.values()))
    for i, s in enumerate(seeds):
        dodge = spread * (i / (len(seeds) - 1) - 0.5) if len(seeds) > 1 else 0.0
        pts = [(ARM_X[a] + dx + dodge, 100.0 * arms[a][s]) for a in ARMS if s in arms[a]]
        xs, ys = zip(*pts)
        ax.plot(xs, ys, "-", marker=SEED_MARKERS[i % len(SEED_MARKERS)], color=color, lw=0.7, ms=4, alpha=0.55,
                gid=f"seed {s}")
    means = [(ARM_X[a] + dx, 100.0 * float(np.mean(list(arms[a].values())))) for a in ARMS if arms[a]]
    if means:
        mx, my = zip(*means)
        ax.plot(mx, my, "_", color=color, ms=22, mew=2.5, label=f"{label} (mean)")


def plot_paired_seeds(frame: pd.DataFrame, ax: Axes, dataset: str | None = None) -> Figure:
    """Hardest-class accuracy (%) per seed on x = real / placebo / synthetic, lines joining a seed.

    One colour per (model, generator) group of :func:`benchmark.report.table1.iter_groups`, offset in x so
    overlapping groups stay readable, and within a group one marker and a small x dodge per seed so seeds with
    equal accuracies stay visible. Draws on ``ax`` and returns ``ax.figure``.
    """
    sub = frame if dataset is None or frame.empty else frame[frame["dataset"] == dataset]
    groups = list(iter_groups(sub))
    colors = plt.get_cmap("tab10")
    width = 0.4   # groups share ±0.2 around each arm; seeds dodge inside a group's slot
    slot = width / (len(groups) - 1) if len(groups) > 1 else width
    for i, (key, arms) in enumerate(groups):
        dx = 0.0 if len(groups) == 1 else width * (i / (len(groups) - 1) - 0.5)
        _draw_group(ax, arms, colors(i % 10), _group_label(key), dx, 0.8 * slot)
    if not groups:
        ax.text(0.5, 0.5, "no ok runs", ha="center", va="center", transform=ax.transAxes)
    hardest = sorted({str(k["hardest_class"]) for k, _ in groups})
    ax.set_xticks(list(ARM_X.values()), list(ARM_X))
    ax.set_xlim(-0.5, len(ARMS) - 0.5)
    ax.set_xlabel("arm (training data)")
    ax.set_ylabel("hardest-class accuracy (%)")
    ax.set_title(f"{dataset or 'all datasets'}" + (f" — {', '.join(hardest)}" if hardest else ""))
    ax.grid(axis="y", alpha=0.3)
    if groups:
        ax.legend(fontsize="small", loc="best")
    return ax.figure
