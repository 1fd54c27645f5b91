"""Every report figure labels both axes, a numeric axis with its unit (enforced at save time by
benchmark.report.figures.check_axis_labels), and the per-seed figure keeps seeds with equal accuracies visible."""
from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from benchmark.records import load_records, write_record
from benchmark.report.columns import records_frame
from benchmark.report.figures import (check_axis_labels, plot_aa_p, plot_aa_z, plot_confusion, plot_fewshot,
                                      plot_forest, save_figure)
from benchmark.report.paired_seeds import plot_paired_seeds
from tests.report.test_report_study import record


def test_check_axis_labels_refuses_a_numeric_axis_without_unit(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [2, 3])
    ax.set_xlabel("added images (images)")
    ax.set_ylabel("accuracy")
    with pytest.raises(ValueError, match=r"figure 'demo', panel 0: y label 'accuracy' names no unit"):
        save_figure(fig, tmp_path, "demo")
    assert not (tmp_path / "demo.png").exists()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [2, 3])
    ax.set_ylabel("gain (pp)")
    with pytest.raises(ValueError, match="the x axis has no label"):
        check_axis_labels(fig, "demo")
    ax.set_xticks([0, 1], ["real", "synthetic"])       # text ticks: a label, no unit, is enough
    ax.set_xlabel("arm")
    check_axis_labels(fig, "demo")
    img = fig.add_subplot(2, 2, 4)
    img.imshow(np.zeros((4, 4)))
    img.set_xticks([])
    img.set_yticks([])                                 # an image panel (the audit gallery): nothing to label
    check_axis_labels(fig, "demo")
    plt.close(fig)


def _comparisons() -> pd.DataFrame:
    return pd.DataFrame([{"dataset": "tiles", "hardest_class": "crack", "k": None, "model": "resnet18",
                          "comparison": "synthetic[cutpaste] − real", "verdict": "gain", "mean_pp": 20.0,
                          "rule_ci_low_pp": 10.0, "rule_ci_high_pp": 30.0, "hier_ci_low_pp": 8.0,
                          "hier_ci_high_pp": 32.0, "ci_low_pp": 12.0, "ci_high_pp": 28.0}])


FIGURES = {
    "forest": lambda ax: plot_forest(_comparisons(), ax),
    "fewshot": lambda ax: plot_fewshot(pd.DataFrame({"arm": ["real"] * 2, "k": [1, 5], "mean_pct": [30.0, 50.0],
                                                     "ci_low_pct": [20.0, 40.0], "ci_high_pct": [40.0, 60.0]}), ax),
    "confusion": lambda ax: plot_confusion([[3, 1], [0, 4]], ["crack", "good"], ax, highlight="crack"),
    "aa_z": lambda ax: plot_aa_z(np.array([0.5, -1.0, np.inf, 2.0]), ax),
    "aa_p": lambda ax: plot_aa_p(np.array([0.2, 0.5, 0.01]), ax),
}


@pytest.mark.parametrize("name", FIGURES)
def test_each_figure_function_labels_its_axes_with_units(name):
    fig, ax = plt.subplots()
    FIGURES[name](ax)
    check_axis_labels(fig, name)
    plt.close(fig)


def test_paired_seeds_keeps_coinciding_seeds_visible(tmp_path):
    """5 seeds, 3 of them (0, 1, 2) with equal accuracies in every arm: 5 distinguishable lines (own marker, and
    at least one marker's width apart on screen), not 3."""
    accs = {"real": [.3, .3, .3, .5, .2], "placebo": [.4, .4, .4, .3, .5]}
    for arm, gen, key in (("real", None, "real"), ("placebo", None, "placebo"), ("synthetic", "cutpaste", "real")):
        for seed, acc in enumerate(accs[key]):
            write_record(tmp_path, record(arm, gen, seed, acc + (0.3 if arm == "synthetic" else 0.0)))
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=120)
    plot_paired_seeds(records_frame(load_records(tmp_path)), ax, dataset="tiles")
    lines = [ln for ln in ax.lines if str(ln.get_gid()).startswith("seed ")]
    assert sorted(ln.get_gid() for ln in lines) == [f"seed {s}" for s in range(5)]
    assert len({ln.get_marker() for ln in lines}) == 5
    fig.canvas.draw()
    px = {ln.get_gid(): ax.transData.transform(np.column_stack(ln.get_data())) for ln in lines}
    marker_px = 4 * fig.dpi / 72                        # ms = 4 pt
    for a, b in itertools.combinations(px.values(), 2):
        assert np.linalg.norm(a - b, axis=1).min() >= marker_px, "two seeds drawn on one another"
    plt.close(fig)
