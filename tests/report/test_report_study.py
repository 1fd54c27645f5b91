"""The report suite on a hand-built study whose records carry per-image predictions.

Study "tiles": classes crack / good / hole, hardest class crack with 10 test images (plus 5 good and
5 hole, always right). A run with accuracy a on crack gets the *first* 10·a crack images right.

    seed          0    1    2    3    4    5
    real         .3   .4   .2   .3   .3   .3
    placebo      .3   .4   .3   .3   .4
    cutpaste     .5   .6   .4   .6   .5   (failed: CUDA out of memory)
    folder       = real on seeds 0..4
"""
import json
import math

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.records import load_records, run_id, write_record
from benchmark.report import write_report
from benchmark.report.collect import load_study, study_from_records
from benchmark.report.comparisons import comparison_pairs, comparisons_frame
from benchmark.report.fewshot import fewshot_curves, label_efficiency_table
from benchmark.report.published import (load_fewshot, load_oem, load_table1, match_table1, with_published)
from benchmark.report.table_formats import latex_table

CLASSES = ["crack", "good", "hole"]
N_CRACK = 10
PATHS = [f"images/crack/c{i:02d}.png" for i in range(N_CRACK)] + \
        [f"images/good/g{i:02d}.png" for i in range(5)] + [f"images/hole/h{i:02d}.png" for i in range(5)]
LABELS = [0] * N_CRACK + [1] * 5 + [2] * 5
REAL = {0: .3, 1: .4, 2: .2, 3: .3, 4: .3, 5: .3}
SPEC = [("real", None, REAL),
        ("placebo", None, {0: .3, 1: .4, 2: .3, 3: .3, 4: .4}),
        ("synthetic", "cutpaste", {0: .5, 1: .6, 2: .4, 3: .6, 4: .5}),
        ("synthetic", "folder", {s: REAL[s] for s in range(5)})]


def cell(dataset, arm, generator, seed, k=None):
    return {"dataset": dataset, "manifest_sha256": f"sha-{dataset}", "arm": arm, "generator": generator,
            "synthetic_key": f"{generator}-v1" if generator else None, "seed": seed, "k": k,
            "model": {"name": "resnet18"}, "trainer": {"engine": "torch"}}


def record(arm, generator, seed, acc, dataset="tiles", hardest="crack", k=None, error=None):
    """An ok record with predictions (crack images 0..10·acc−1 right, the others predicted 'good')."""
    c = cell(dataset, arm, generator, seed, k)
    rec = {"schema": 1, "run_id": run_id(c), "status": "failed" if error else "ok", "study": "unit", "cell": c,
           "hardest_class": hardest, "hardest_rule": "selection",
           "hardest_evidence": {"description": "lowest mean real-only accuracy on the selection split"},
           "added_counts": {hardest: 20} if arm != "real" else {}}
    if error:
        rec["error"] = {"message": error}
        return rec
    n_right = round(N_CRACK * acc)
    pred = [0 if i < n_right else 1 for i in range(N_CRACK)] + LABELS[N_CRACK:]
    probs = [[0.8 if j == p else 0.1 for j in range(3)] for p in pred]
    cm = np.zeros((3, 3), int)
    for t, p in zip(LABELS, pred):
        cm[t, p] += 1
    rec["metrics"] = {"hardest_class_accuracy": n_right / N_CRACK, "accuracy": 0.8, "balanced_accuracy": 0.7,
                      "macro_map": 0.8, "classes": CLASSES, "confusion_matrix": cm.tolist(),
                      "per_class_accuracy": {hardest: n_right / N_CRACK}}
    rec["predictions"] = {"paths": PATHS, "labels": LABELS, "probs": probs}
    return rec


def write_study(root):
    for arm, gen, accs in SPEC:
        for seed, acc in accs.items():
            write_record(root, record(arm, gen, seed, acc))
    write_record(root, record("synthetic", "cutpaste", 5, None, error="CUDA out of memory"))
    return root


@pytest.fixture
def study(tmp_path):
    return write_study(tmp_path / "tiles_study")


@pytest.fixture
def comps(study):
    return comparisons_frame(load_study(study), n_boot=2000)


def _comp(comps, name):
    sel = comps[comps["comparison"] == name]
    assert len(sel) == 1, name
    return sel.iloc[0]


# --------------------------------------------------------------------------------- comparisons
def test_comparison_pairs_order():
    labels = ["placebo[a]", "real", "synthetic[a]", "synthetic[b]", "placebo[b+c]", "synthetic[c]"]
    assert comparison_pairs(labels) == [
        ("synthetic[a]", "placebo[a]", "primary"), ("synthetic[b]", "placebo[b+c]", "primary"),
        ("synthetic[c]", "placebo[b+c]", "primary"),                  # each vs its count-matched placebo
        ("synthetic[a]", "real", "secondary"), ("synthetic[b]", "real", "secondary"),
        ("synthetic[c]", "real", "secondary"),
        ("placebo[a]", "real", "secondary"), ("placebo[b+c]", "real", "secondary"),
        ("synthetic[a]", "synthetic[b]", "secondary"), ("synthetic[a]", "synthetic[c]", "secondary"),
        ("synthetic[b]", "synthetic[c]", "secondary")]


PLACEBO = "placebo[cutpaste+folder]"  # both generators delivered 20 crack images: one placebo cell serves both


def test_every_comparison_present(comps):
    assert list(comps["comparison"]) == [
        f"synthetic[cutpaste] − {PLACEBO}", f"synthetic[folder] − {PLACEBO}", "synthetic[cutpaste] − real",
        "synthetic[folder] − real", f"{PLACEBO} − real", "synthetic[cutpaste] − synthetic[folder]"]
    assert list(comps["family"]) == ["primary"] * 2 + ["secondary"] * 4


def test_cutpaste_vs_real_hand_computed(comps):
    r = _comp(comps, "synthetic[cutpaste] − real")
    # d = [.2, .2, .2, .3, .2] (seed 5 failed → dropped): mean 22 pp, sd sqrt(.008/4) = 4.47214 pp,
    # z = .22/.02 = 11, t-test p (df 4) = 0.000388 (see test_stats_suite)
    assert r["n"] == 5 and r["dropped_seeds"] == [5]
    assert r["mean_pp"] == pytest.approx(22.0) and r["sd_pp"] == pytest.approx(4.472136, abs=1e-5)
    assert r["z"] == pytest.approx(11.0) and r["p"] == pytest.approx(0.000388, abs=1e-6)
    # 10 crack test images → 1 image = 10 pp. The whole gain rests on the same 3–4 images in every seed
    # (images 2..5): a variance between images that more seeds cannot remove → 80 % power at 10 pp is
    # "not reachable" by seeds alone
    assert r["n_test_images"] == 10 and r["n_units"] == 10 and r["resolution_pp"] == 10.0
    assert r["seeds_needed"] == "not reachable"
    # seeds only: all d in {.2, .3} → CI within [20, 30] pp; images resampled: wider
    assert 20 - 1e-9 <= r["boot_ci_low_pp"] <= r["boot_ci_high_pp"] <= 30 + 1e-9
    assert r["wider_ci"] == "seeds × images"
    assert r["hier_ci_high_pp"] - r["hier_ci_low_pp"] > r["boot_ci_high_pp"] - r["boot_ci_low_pp"]
    # issue 15 item 4: the seed-level t (p 0.0004) speaks for these 10 images only; over seeds and test
    # units (9 df, Satterthwaite) the p is 0.066 and its interval holds 0: no evidence for images like them
    assert r["cross_p"] == pytest.approx(0.066045, abs=1e-5) and r["rule_ci_low_pp"] < 0 < r["rule_ci_high_pp"]
    assert r["verdict"] == "no evidence" and "new test images" in r["population"]
    # missing-seed sensitivity: seed 5 (cutpaste failed) imputed as 0 vs real's .3 → (5·22 − 30)/6 pp
    assert r["worst_mean_pp"] == pytest.approx((5 * 22 - 30) / 6)


def test_placebo_vs_real_and_null_comparisons(comps):
    p = _comp(comps, f"{PLACEBO} − real")
    # d = [0, 0, .1, 0, .1]: mean 4 pp; SS = 3·.04² + 2·.06² = .012 → sd sqrt(.003) = 5.47723 pp,
    # se = 2.44949 pp → z = 1.632993; 80 % power at 10 pp (d = 1.826): 5 seeds
    assert p["mean_pp"] == pytest.approx(4.0) and p["z"] == pytest.approx(1.632993, abs=1e-6)
    assert p["seeds_needed"] == "5" and p["verdict"] == "no evidence"
    f = _comp(comps, "synthetic[folder] − real")
    # folder = real on 0..4 → d = 0: z = 0, p = 1, Wilcoxon 1, no evidence
    assert f["mean_pp"] == 0.0 and f["z"] == 0.0 and f["p"] == 1.0 and f["wilcoxon_p"] == 1.0
    assert f["verdict"] == "no evidence"


def test_holm_once_per_family(comps):
    from statsmodels.stats.multitest import multipletests

    for fam, rows in comps.groupby("family"):  # issue 15 item 8: one adjustment per pre-registered family
        for key in ("cross_p", "p"):
            np.testing.assert_allclose(rows[f"{key}_holm"], multipletests(rows[key].to_numpy(float), method="holm")[1])
        assert (rows["family_size"] == len(rows)).all()


def test_prediction_derived_accuracy_matches_records(study):
    data = load_study(study)
    ok = data.frame[data.frame["status"] == "ok"]
    for rid, acc in zip(ok["run_id"], ok["hardest_acc"]):
        assert data.correct[rid][1].mean() == pytest.approx(acc)
    assert all(paths is next(iter(data.correct.values()))[0] for paths, _, _ in data.correct.values())  # interned


def test_bootstrap_is_reproducible(study):
    data = load_study(study)
    a = comparisons_frame(data, n_boot=500, seed=3)
    b = comparisons_frame(data, n_boot=500, seed=3)
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------------------------ published
def test_published_files_are_data_not_guesses():
    t1 = load_table1()
    assert len(t1) == 9
    assert list(zip(t1["dataset"], t1["hardest_class"])) == [
        ("MVTec Pill", "faulty_imprint"), ("Magnetic Tile", "blowhole"), ("Marble", "crack"),
        ("MVTec Capsule", "crack"), ("MVTec Zipper", "broken_teeth"), ("RIAWELC", "porosity"),
        ("MVTec Metal Nut", "scratch"), ("PlantVillage (tomato)", "late_blight"), ("MVTec Wood", "hole")]
    # the values themselves: tests/report/test_published_data.py; a figure not given stays empty, and says so
    assert t1["test_images"].isna().all() and t1["note"].str.contains("not given").all()
    assert t1["source"].notna().all()
    fs = load_fewshot()
    got = {(r.arm, r.k): r.hardest_acc_pct for r in fs.itertuples()}
    assert got == {("real", 2): 26.3, ("real", 3): 33.5, ("real", 5): 45.4,
                   ("synthetic", 2): 44.6, ("synthetic", 3): 49.0, ("synthetic", 5): 56.1}
    assert fs["source"].notna().all()
    oem = load_oem().set_index("setting")
    assert oem.loc["real 24k", "value"] == 0.279 and oem.loc["real 24k + synthetic 36k", "value"] == 0.378
    assert math.isnan(oem.loc["real 24k + synthetic 6k", "value"]) and math.isnan(oem.loc["real 30k", "value"])
    assert oem["source"].notna().all()


def test_gitignore_keeps_published_tracked():
    from benchmark import PROJECT_ROOT

    lines = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert "/results/*" in lines and "!/results/published/" in lines


def test_matching_published_rows():
    assert match_table1("magnetic_tile", "blowhole")["comparable"] is True
    assert match_table1("Magnetic-Tile", "uneven")["comparable"] is False   # our split chose another class
    assert match_table1("pill", "faulty imprint")["comparable"] is True
    assert match_table1("tiles", "crack") is None
    table = pd.DataFrame({"dataset": ["magnetic_tile", "tiles"], "hardest_class": ["uneven", "crack"]})
    out = with_published(table)
    assert "not comparable" in out.loc[0, "published_note"] and out.loc[1, "published_note"] == ""
    assert list(with_published(table.iloc[1:]).columns) == ["dataset", "hardest_class"]  # nothing to add


# ------------------------------------------------------------------------------------- few-shot
def _fewshot_records():
    """'mvtec_pill' / faulty_imprint: 3 seeds per (arm, k), seed accuracies mean ± 1 pp around SCARCE's points."""
    recs = []
    for arm, gen, pts in (("real", None, {2: 26.3, 3: 33.5, 5: 45.4}),
                          ("synthetic", "sd", {2: 44.6, 3: 49.0, 5: 56.1})):
        for k, pct in pts.items():
            for seed, off in zip(range(3), (-1.0, 0.0, 1.0)):
                r = record(arm, gen, seed, 0.0, dataset="mvtec_pill", hardest="faulty_imprint", k=k)
                r["metrics"] = {"hardest_class_accuracy": (pct + off) / 100}
                r.pop("predictions")
                recs.append(r)
    return recs


def test_fewshot_curves_and_label_efficiency():
    data = study_from_records(_fewshot_records())
    curves = fewshot_curves(data.frame)
    real2 = curves[(curves["arm"] == "real") & (curves["k"] == 2)].iloc[0]
    # seeds 25.3, 26.3, 27.3: mean 26.3, sd 1 → ± t(0.975, 2)·1/√3 = ± 4.302653·0.577350 = ± 2.484138
    assert real2["n_seeds"] == 3 and real2["mean_pct"] == pytest.approx(26.3)
    assert real2["ci_high_pct"] - real2["mean_pct"] == pytest.approx(2.484138, abs=1e-5)
    eff = label_efficiency_table(curves)
    ours = eff[eff["source"] == "this study"].iloc[0]
    pub = eff[eff["source"] == "published (SCARCE)"].iloc[0]   # dataset + hardest class match: side by side
    for row in (ours, pub):
        assert row["fewer_labels_pct_grid"] == pytest.approx(60.0)
        assert row["fewer_labels_pct_interp"] == pytest.approx(58.8946, abs=1e-3)


def test_fewshot_report_files(tmp_path):
    for r in _fewshot_records():
        write_record(tmp_path, r)
    paths = write_report(tmp_path)
    assert {"fewshot_png", "fewshot_svg", "fewshot_curves_csv", "label_efficiency_csv",
            "label_efficiency_tex"} <= set(paths)
    # k varies → one comparison group per k: 3 groups × (synthetic − real)
    comps = pd.read_csv(paths["comparisons_csv"])
    assert sorted(comps["k"]) == [2, 3, 5] and set(comps["comparison"]) == {"synthetic[sd] − real"}


# ---------------------------------------------------------------------------- files and formats
def test_report_files_and_formats(study):
    paths = write_report(study, n_boot=500)
    for stem in ("table", "comparisons", "failures"):
        assert {f"{stem}_csv", f"{stem}_md", f"{stem}_tex"} <= set(paths)
    for stem in ("paired_seeds", "forest", "confusion_tiles-resnet18"):
        assert paths[f"{stem}_png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in paths[f"{stem}_svg"].read_text()[:2000]
    assert "fewshot_png" not in paths and "aa_hist_png" not in paths  # no k variation, no calibration yet
    tex = paths["comparisons_tex"].read_text()
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"synthetic[cutpaste] $-$ real" in tex
    table = pd.read_csv(paths["table_csv"])
    assert list(table["gain_pp"].iloc[:2]) == pytest.approx([22.0, 0.0])  # sorted by gain
    fails = pd.read_csv(paths["failures_csv"])
    assert fails["error"].tolist() == ["CUDA out of memory"]


def test_latex_escaping():
    t = pd.DataFrame({"name": ["a_b & 50%"], "v": [1.5]})
    tex = latex_table(t, {"v": "z ≥ 3.4"})
    assert r"a\_b \& 50\%" in tex and r"z $\geq$ 3.4" in tex and r"\begin{tabular}{lr}" in tex


def test_calibrate_cli_and_report_pickup(study, capsys):
    assert main(["calibrate", str(study), "--sims", "300"]) == 0
    out = capsys.readouterr().out
    assert "A/A, exchangeable null (arms swap within a seed): false-positive rate" in out
    assert "A/A, heterogeneous null (per-image effects vary around 0): false-positive rate" in out
    assert "planted +10 pp" in out and "Holm over a family of 1 = the unadjusted p" in out
    # issue 15 item 6: real and placebo at the same seeds, as the design pairs them (placebo has seeds 0..4)
    assert f"tiles/crack/resnet18/torch: pool = real vs {PLACEBO} (same seed (as the design)), 5 seed pairs × 10" in out
    report = study / "report"
    summary = pd.read_csv(report / "calibration_summary.csv")
    assert list(summary["scenario"]) == ["exchangeable", "heterogeneous", "planted"] and (summary["n_seeds"] == 5).all()
    assert ((summary["rate_rule"] >= 0) & (summary["rate_rule"] <= 1)).all()
    assert len(pd.read_csv(report / "calibration.csv")) == 900
    paths = write_report(study, n_boot=300)
    assert "aa_hist_png" in paths and "A/A calibration" not in "" and \
        "false-positive rate" in paths["index_html"].read_text()


def test_calibrate_without_pool(tmp_path, capsys):
    write_record(tmp_path, record("real", None, 0, 0.3))
    assert main(["calibrate", str(tmp_path)]) == 1
    assert "nothing to calibrate" in capsys.readouterr().out


def test_calibrate_refuses_a_two_run_pool(tmp_path, capsys):
    # issue 15 item 6: a 2-run pool used to report 45 %; now it is refused with the reason
    for s in (0, 1):
        write_record(tmp_path, record("real", None, s, 0.3 + 0.1 * s))
        write_record(tmp_path, record("placebo", None, s, 0.4))
    assert main(["calibrate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "not calibrated: 2 seed pairs and 10 independent test unit(s); expected at least 5" in out


def test_report_cli(study, capsys):
    assert main(["report", str(study), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "index_html:" in out and "comparisons_tex:" in out


def test_records_untouched_by_report(study):
    before = {p.name: p.read_bytes() for p in (study / "records").glob("*.json")}
    write_report(study, n_boot=200)
    assert before == {p.name: p.read_bytes() for p in (study / "records").glob("*.json")}
    assert all(json.loads(b)["schema"] == 1 for b in before.values()) and len(load_records(study)) == 22
