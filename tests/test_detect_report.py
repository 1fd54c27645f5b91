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
