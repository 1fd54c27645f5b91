"""The report's curation family: each curation variant of a generator vs its `random` pick at equal N, paired by
seed, Holm within the family, in comparisons, the curation table, the leaderboard and the HTML page."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from benchmark.records import run_id, write_record
from benchmark.report import write_report
from benchmark.report.collect import load_study
from benchmark.report.comparisons import comparison_pairs
from benchmark.report.curation import curation_pairs, curation_table
from benchmark.report.leaderboard import leaderboard_comparisons, leaderboard_table

SEEDS = range(8)
REAL = np.array([0.50, 0.55, 0.45, 0.50, 0.60, 0.40, 0.50, 0.45])
BUMP = np.array([0.00, 0.05, 0.00, 0.05, 0.00, 0.05, 0.025, 0.0])
ARMS = {  # label -> (arm, curation, accuracies); every synthetic arm adds 16 cracks, the placebo 16 duplicates
    "real": ("real", None, REAL),
    "placebo": ("placebo", None, REAL + 0.05),
    "none": ("synthetic", "none", REAL + 0.20 + BUMP),
    "random": ("synthetic", "random", REAL + 0.20),
    "similarity": ("synthetic", "similarity", REAL + 0.30 + BUMP / 2),
    "diversity": ("synthetic", "diversity", REAL + 0.20 - BUMP),
}


def _record(label: str, seed: int) -> dict:
    arm, cur, accs = ARMS[label]
    cell = {"dataset": "tiles", "manifest_sha256": "m", "arm": arm, "seed": seed, "k": None,
            "model": {"name": "resnet18"}, "trainer": {"engine": "featurebank"}}
    if arm == "synthetic":
        cell |= {"generator": "cutpaste", "synthetic_key": f"key-{cur}"}
        if cur != "none":
            cell["curation"] = {"name": cur, "pool_factor": 4, "seed": 0}
    if arm == "placebo":
        cell |= {"placebo_counts": {"crack": 16}, "placebo_seed": 0}
    right = round(40 * float(accs[seed]))
    probs = [[0.9, 0.1] if i < right else [0.1, 0.9] for i in range(40)]
    return {"schema": 1, "run_id": run_id(cell), "status": "ok", "study": "cur", "cell": cell,
            "hardest_class": "crack", "added_counts": {"crack": 0 if arm == "real" else 16},
            "metrics": {"hardest_class_accuracy": right / 40, "accuracy": 0.9, "classes": ["crack", "good"]},
            "predictions": {"paths": [f"t/{i:02d}.png" for i in range(40)], "labels": [0] * 40, "probs": probs}}


@pytest.fixture
def study(tmp_path):
    for label in ARMS:
        for s in SEEDS:
            write_record(tmp_path / "study", _record(label, s))
    return tmp_path / "study"


def test_each_variant_is_paired_with_its_generators_random_pick_only():
    labels = ["real", "placebo[x]", "synthetic[cutpaste]", "synthetic[cutpaste@random]",
              "synthetic[cutpaste@similarity]", "synthetic[noise@similarity]", "synthetic[augment#abc123]"]
    syn = [lab for lab in labels if lab.startswith("synthetic")]
    assert curation_pairs(syn) == [("synthetic[cutpaste@similarity]", "synthetic[cutpaste@random]", "curation"),
                                   ("synthetic[cutpaste]", "synthetic[cutpaste@random]", "curation")]
    pairs = comparison_pairs(labels)
    curated = {frozenset(p[:2]) for p in pairs if p[2] == "curation"}
    assert len(curated) == 2 and not any(frozenset(p[:2]) in curated for p in pairs if p[2] != "curation")


def test_curation_table_is_each_variant_minus_random_paired_by_seed(study):
    data = load_study(study)
    long = leaderboard_comparisons(data, n_boot=200)
    cur = long[long["kind"] == "vs random"].set_index("generator")
    assert set(cur.index) == {"cutpaste", "cutpaste@similarity", "cutpaste@diversity"}
    assert set(cur["family"]) == {"curation"} and set(cur["against"]) == {"cutpaste@random"}
    from benchmark.report.comparisons import comparisons_frame

    comp = comparisons_frame(data, n_boot=200)
    table = curation_table(comp, data.frame).set_index("selector")
    for sel, name in (("similarity", "similarity"), ("diversity", "diversity"), ("none", "none")):
        a = np.round(40 * ARMS[name][2]) / 40
        b = np.round(40 * ARMS["random"][2]) / 40
        assert table.loc[sel, "mean_pp"] == pytest.approx(100 * np.mean(a - b))
        assert table.loc[sel, "n"] == len(SEEDS) and table.loc[sel, "n_added"] == 16
    p_sim = stats.ttest_rel(np.round(40 * ARMS["similarity"][2]), np.round(40 * ARMS["random"][2])).pvalue
    row = comp[(comp["family"] == "curation") & (comp["arm_a"] == "synthetic[cutpaste@similarity]")].iloc[0]
    assert row["p"] == pytest.approx(p_sim) and row["family_size"] == 3  # Holm over the 3 curation rows
    assert table.loc["similarity", "verdict"] == row["verdict"]
    wide = leaderboard_table(long).set_index("generator")
    assert wide.loc["cutpaste@similarity", "vs_random_mean_pp"] == pytest.approx(table.loc["similarity", "mean_pp"])
    assert wide.loc["cutpaste@random", "vs_random_verdict"] == "—"


def test_report_writes_the_curation_table_and_its_html_section(study, tmp_path):
    paths = write_report(study, tmp_path / "report", n_boot=200)
    assert {"curation_csv", "curation_md", "curation_tex"} <= set(paths)
    md = paths["curation_md"].read_text()
    assert "similarity" in md and "vs random (pp)" in md
    assert "Does curation help, beyond volume?" in paths["index_html"].read_text()
