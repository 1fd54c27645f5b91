"""Issue 17 item 4: runs that are not comparable (another trainer budget, another split manifest) are never
paired or averaged by any report: they land in separate rows, each naming its design."""
from __future__ import annotations

import copy

import pandas as pd
import pytest

from benchmark.records import run_id
from benchmark.report.collect import study_from_records
from benchmark.report.detection import curve_table, paired_table, parity_table
from benchmark.report.fewshot import fewshot_curves, label_efficiency_table
from tests.detect.test_detect_report import MAP, _record as det_record
from tests.report.test_report_study import _fewshot_records


def _variant(rec: dict, shift: float, **cell) -> dict:
    r = copy.deepcopy(rec)
    r["cell"].update(cell)
    r["run_id"] = run_id(r["cell"])
    for m in ("map50_95", "map50", "hardest_class_ap50_95", "hardest_class_accuracy"):
        if m in r["metrics"]:
            r["metrics"][m] += shift
    return r


def _det_study(**other_cell) -> pd.DataFrame:
    base = [det_record(arm, n, seed, v) for (arm, n), vals in MAP.items() for seed, v in enumerate(vals)]
    return study_from_records(base + [_variant(r, 0.3, **other_cell) for r in base]).frame


@pytest.mark.parametrize("other", [{"trainer": {"engine": "yolo", "epochs": 5}}, {"manifest_sha256": "other-test-set"}],
                         ids=["two-budgets", "two-manifests"])
def test_detection_curve_keeps_designs_apart(other):
    curve = curve_table(_det_study(**other))
    syn = curve[curve["arm"] == "synthetic"]
    assert len(syn) == 2, f"det_curve: expected one synthetic row per design, got {len(syn)} (designs averaged)"
    assert sorted(syn["n_seeds"]) == [3, 3]
    assert sorted(round(v, 4) for v in syn["map50_95_mean"]) == [0.25, 0.55]
    assert syn["design"].nunique() == 2


@pytest.mark.parametrize("other", [{"trainer": {"engine": "yolo", "epochs": 5}}, {"manifest_sha256": "other-test-set"}],
                         ids=["two-budgets", "two-manifests"])
def test_detection_parity_and_paired_keep_designs_apart(other):
    frame = _det_study(**other)
    parity = parity_table(frame)
    assert len(parity) == 2 and parity["design"].nunique() == 2
    paired = paired_table(frame)
    syn_real = paired[(paired["comparison"] == "synthetic − real") & (paired["metric"] == "mAP@.5:.95")]
    assert len(syn_real) == 2 and sorted(round(v, 4) for v in syn_real["mean"]) == [0.04, 0.04]


@pytest.mark.parametrize("other", [{"trainer": {"engine": "torch", "max_steps": 5}}, {"manifest_sha256": "sha-other"}],
                         ids=["two-budgets", "two-manifests"])
def test_fewshot_curves_keep_designs_apart(other):
    base = _fewshot_records()
    frame = study_from_records(base + [_variant(r, 0.2, **other) for r in base]).frame
    curves = fewshot_curves(frame)
    real2 = curves[(curves["arm"] == "real") & (curves["k"] == 2)]
    assert len(real2) == 2 and real2["curve_design"].nunique() == 2, \
        "fewshot_curves: expected one real k=2 point per design, each naming its design"
    eff = label_efficiency_table(curves, with_published=False)
    assert len(eff) == 2 and eff["curve_design"].nunique() == 2, "label_efficiency: one row per design"
    assert list(eff["fewer_labels_pct_grid"]) == pytest.approx([60.0, 60.0])


@pytest.mark.parametrize("other", [{"trainer": {"engine": "torch", "max_steps": 5}}, {"manifest_sha256": "sha-other"}],
                         ids=["two-budgets", "two-manifests"])
def test_classification_table_keeps_designs_apart(other):
    # guard (already true before issue 17: the design key covers trainer and manifest): separate rows
    from tests.report.test_report_study import SPEC, record
    from benchmark.report.table1 import study_table

    base = [record(arm, gen, s, acc) for arm, gen, accs in SPEC for s, acc in accs.items()]
    frame = study_from_records(base + [_variant(r, 0.0, **other) for r in base]).frame
    table = study_table(frame)
    assert len(table[table["generator"] == "cutpaste"]) == 2
