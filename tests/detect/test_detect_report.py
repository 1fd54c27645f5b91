"""The detection report from hand-made records: volume curve, parity table (TOST), paired statistics,
published OEM points, and a detection-only index.html."""
from __future__ import annotations

import pandas as pd
import pytest

from benchmark.records import SCHEMA_VERSION, run_id, write_record
from benchmark.report import write_report
from benchmark.stats.equivalence import tost_paired

# mAP@.5:.95 by (arm, added images) and seed
MAP = {("real", 0): [0.20, 0.22, 0.21], ("synthetic", 10): [0.25, 0.26, 0.24], ("real_plus", 10): [0.245, 0.262, 0.247],
       ("placebo", 10): [0.21, 0.21, 0.22]}


def _record(arm: str, n_added: int, seed: int, value: float) -> dict:
    cell = {"task": "detection", "dataset": "neu_det", "manifest_sha256": "m", "arm": arm, "n_real": 40,
            "parity": {"base": 40, "seed": 0}, "seed": seed, "model": {"name": "yolov8n.yaml"},
            "trainer": {"engine": "yolo"}, "volume": n_added or None}
    metrics = {"map50_95": value, "map50": value + 0.2, "hardest_class_ap50_95": value / 2,
               "hardest_class_ap50": value, "per_class_ap50_95": {"scratches": value / 2}}
    return {"schema": SCHEMA_VERSION, "task": "detection", "run_id": run_id(cell), "study": "s", "cell": cell,
            "status": "ok", "error": None, "metrics": metrics, "hardest_class": "scratches", "n_real": 40,
            "added_counts": {"scratches": n_added}, "config": {"parity": {"margin": 0.02}, "published": "oem_detection"}}


@pytest.fixture
def study(tmp_path):
    for (arm, n), values in MAP.items():
        for seed, v in enumerate(values):
            write_record(tmp_path, _record(arm, n, seed, v))
    return tmp_path


def test_detection_report_tables_and_page(study):
    paths = write_report(study)
    curve = pd.read_csv(paths["det_curve_csv"])
    syn = curve[curve["arm"] == "synthetic"].iloc[0]
    assert syn["n_added"] == 10 and syn["n_seeds"] == 3 and syn["map50_95_mean"] == pytest.approx(0.25)
    assert syn["ratio"] == pytest.approx(0.25)
    parity = pd.read_csv(paths["det_parity_csv"]).iloc[0]
    d = [a - b for a, b in zip(MAP[("synthetic", 10)], MAP[("real_plus", 10)])]
    ref = tost_paired(d, 0.02)
    assert parity["margin"] == 0.02 and parity["p_tost"] == pytest.approx(ref["p_tost"])
    assert parity["mean_diff"] == pytest.approx(sum(d) / 3)
    assert parity["verdict"] == ("equivalent (±0.02)" if ref["equivalent"] else "inconclusive")
    paired = pd.read_csv(paths["det_paired_csv"])
    row = paired[(paired["comparison"] == "synthetic − real") & (paired["metric"] == "hardest AP@.5:.95")].iloc[0]
    assert row["mean"] == pytest.approx((0.25 + 0.26 + 0.24 - 0.20 - 0.22 - 0.21) / 2 / 3)
    assert set(paired["comparison"]) == {"synthetic − real", "placebo − real", "synthetic − placebo",
                                         "synthetic − real_plus"}
    oem = pd.read_csv(paths["det_published_oem_csv"])
    assert oem.loc[oem["synthetic_images"] == 36000, "value"].item() == pytest.approx(0.378)
    html = paths["index_html"].read_text()
    assert "Parity" in html and "OEM" in html and "scratches" in html
    assert paths["det_volume_curve_svg"].stat().st_size > 1000


def test_parity_never_calls_models_that_found_nothing_equivalent(study):
    from benchmark.report.collect import load_study
    from benchmark.report.detection import parity_table

    frame = load_study(study).frame
    assert parity_table(frame, margin=0.5)["verdict"].tolist() == ["uninformative: both mAP < δ = 0.5"]


def _six_seed_study(root, syn_shift=0.05, plus=None):
    rng = __import__("numpy").random.default_rng(0)
    base = 0.20 + 0.02 * rng.standard_normal(6)
    arms = {("real", 0): base, ("placebo", 10): base + 0.003 * rng.standard_normal(6),
            ("synthetic", 10): base + syn_shift + 0.004 * rng.standard_normal(6)}
    if plus is not None:
        arms[("real_plus", 10)] = arms[("synthetic", 10)] - plus
    for (arm, n), values in arms.items():
        for seed, v in enumerate(values):
            write_record(root, _record(arm, n, seed, float(v)))
    return root


def test_detection_paired_holm_per_family_and_verdicts(study, tmp_path):
    # issue 15 item 8: detection gets the classification rule's families, one Holm per family, verdicts
    from statsmodels.stats.multitest import multipletests

    from benchmark.report.collect import load_study
    from benchmark.report.detection import DETECTION_RULE, paired_table

    few = paired_table(load_study(study).frame)
    assert set(few["verdict"]) == {"not tested"}          # 3 seeds < the rule's minimum of 5
    t = paired_table(load_study(_six_seed_study(tmp_path / "six")).frame)
    prim = t[t["family"] == "primary"]
    assert list(prim["comparison"]) == ["synthetic − placebo"] and list(prim["metric"]) == ["hardest AP@.5:.95"]
    for _, g in t.groupby("family"):
        assert g["p_holm"].tolist() == pytest.approx(list(multipletests(g["p"], method="holm")[1]))
    assert prim["verdict"].iloc[0] == "gain" and "these frozen test images only" in prim["population"].iloc[0]
    assert not DETECTION_RULE.generalises


def test_detection_parity_superiority_is_two_sided(tmp_path):
    # d = synthetic − real_plus with a one-sided p between α/2 and α: two one-sided tests at α each used to
    # call "synthetic better" (a two-sided test at 2α); now it is not
    from scipy import stats

    from benchmark.report.collect import load_study
    from benchmark.report.detection import parity_table

    d = __import__("numpy").array([0.010, 0.002, 0.012, -0.001, 0.009, 0.001])
    one_sided = stats.ttest_1samp(d, 0, alternative="greater").pvalue
    assert 0.025 < one_sided < 0.05
    root = tmp_path / "par"
    for seed, dv in enumerate(d):
        write_record(root, _record("synthetic", 10, seed, 0.3 + dv))
        write_record(root, _record("real_plus", 10, seed, 0.3))
    row = parity_table(load_study(root).frame, margin=0.001).iloc[0]
    assert row["p_differ"] == pytest.approx(2 * one_sided) and row["verdict"] != "synthetic better"


def test_detection_duplicate_seed_is_refused(study):
    # issue 15 item 9: detection kept the first of two runs at one seed silently
    from benchmark.report.collect import load_study
    from benchmark.report.design import MixedDesignError
    from benchmark.report.detection import paired_table

    dup = _record("placebo", 10, 0, 0.5)
    dup["cell"]["placebo_seed"] = 3          # another cell, but the same arm, volume, seed and design
    dup["run_id"] = run_id(dup["cell"])
    write_record(study, dup)
    with pytest.raises(MixedDesignError, match="share arm, volume and seed"):
        paired_table(load_study(study).frame)


def test_scarce_report_prints_holm_p_and_verdicts_by_the_classification_rule(tmp_path, capsys):
    # issue 16: the detection report goes through the same rule (its seed-level form: AP is not per image),
    # the same Holm family and the same verdict words, and `scarce report` prints them
    from benchmark.cli import main
    from benchmark.stats import DecisionRule

    assert main(["report", str(_six_seed_study(tmp_path / "six"))]) == 0
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if "synthetic − placebo" in ln]
    assert "hardest AP@.5:.95" in line and "p_holm" in line and "-> gain (the 95 % interval lies above 0 and p_holm < 0.05)" in line, line
    rule = DecisionRule().seed_level()
    assert f"verdict rule: {rule.describe()}" in out and "these frozen test images only" in out
    assert (rule.alpha, rule.min_seeds, rule.target_effect_pp) == (DecisionRule().alpha, DecisionRule().min_seeds,
                                                                   DecisionRule().target_effect_pp)


def test_parity_table_exchange_rate(study, tmp_path):
    # real 40 (mAP .21) and 40 + 10 real (.2513) bracket 40 real + 10 synthetic (.25): interpolated, the synthetic
    # set is worth 10 · (.25 − .21) / (.2513 − .21) real images; seeds only (AP is not per image)
    from benchmark.report.collect import load_study
    from benchmark.report.detection import parity_table

    mean = {k: sum(v) / 3 for k, v in MAP.items()}
    want = 10 * (mean[("synthetic", 10)] - mean[("real", 0)]) / (mean[("real_plus", 10)] - mean[("real", 0)])
    row = parity_table(load_study(study).frame, n_boot=500).iloc[0]
    assert row["worth"] == pytest.approx(want) and row["worth_per_image"] == pytest.approx(want / 10)
    assert row["worth_low"] <= want and "no per-image AP" in row["worth_status"]
    root = tmp_path / "beyond"  # synthetic above the whole real curve: a lower bound, no number
    for seed in range(3):
        for arm, n, v in (("real", 0, MAP[("real", 0)][seed]), ("real_plus", 10, MAP[("real_plus", 10)][seed]),
                          ("synthetic", 10, 0.4 + 0.01 * seed)):
            write_record(root, _record(arm, n, seed, v))
    far = parity_table(load_study(root).frame, n_boot=200).iloc[0]
    assert pd.isna(far["worth"]) and far["worth_at_least"] == 10 and pd.isna(far["worth_high"])
    assert far["worth_status"].startswith("beyond the largest real volume (50)")
