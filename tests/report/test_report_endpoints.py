"""Endpoints in the report (issue 18 part 2): computed from stored probabilities at report time, the declared
primary endpoint carries the comparisons, Holm and verdicts, the others are reported as secondary."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st
from sklearn.metrics import average_precision_score, balanced_accuracy_score

from benchmark.metrics import classification_metrics
from benchmark.records import run_id, write_record
from benchmark.report import write_report
from benchmark.report.collect import record_endpoints, study_from_records
from benchmark.report.comparisons import comparisons_frame
from benchmark.report.endpoints import ENDPOINT_COLUMNS, endpoint_note, secondary_frame

CLASSES = ["good", "crack"]
Y = np.array([0, 0, 0, 0, 1, 1, 1, 1])  # 4 good, 4 crack (the hardest class) test images
PATHS = [f"good/{i}.png" for i in range(4)] + [f"crack/{i}.png" for i in range(4)]
SEEDS = range(5)


def crack_probs(arm: str, seed: int) -> np.ndarray:
    """P(crack) per test image: the synthetic arm raises it on crack images, mostly without flipping argmax."""
    rng = np.random.default_rng([seed, len(arm)])
    good = rng.uniform(0.05, 0.45, 4)
    crack = rng.uniform(0.2, 0.7, 4) + (0.08 if arm == "synthetic" else 0.0)
    return np.round(np.concatenate([good, crack]), 6)


def _record(arm: str, seed: int, primary: str | None = None) -> dict:
    cell = {"dataset": "tiles", "manifest_sha256": "sha-tiles", "arm": arm,
            "generator": "cutpaste" if arm == "synthetic" else None,
            "synthetic_key": "cutpaste-v1" if arm == "synthetic" else None, "seed": seed, "k": None,
            "model": {"name": "resnet18"}, "trainer": {"engine": "torch"}}
    x = crack_probs(arm, seed)
    probs = np.stack([1 - x, x], axis=1)
    rec = {"schema": 1, "run_id": run_id(cell), "status": "ok", "study": "unit", "cell": cell,
           "hardest_class": "crack", "added_counts": {"crack": 16} if arm != "real" else {},
           "metrics": classification_metrics(Y, probs, CLASSES, "crack"),
           "predictions": {"paths": PATHS, "labels": Y.tolist(), "probs": probs.tolist()}}
    if primary is not None:
        rec["config"] = {"endpoints": {"primary": primary}}
    return rec


def records(primary: str | None = None) -> list[dict]:
    return [_record(arm, s, primary) for arm in ("real", "placebo", "synthetic") for s in SEEDS]


def by_hand(arm: str, seed: int) -> dict[str, float]:
    """Each endpoint of one run, computed here independently of benchmark.endpoints."""
    x = crack_probs(arm, seed)
    pos = Y == 1
    return {"hardest_accuracy": float(np.mean(x[pos] > 0.5)),
            "hardest_ap": float(average_precision_score(pos, x)),
            "hardest_prob": float(np.mean(x[pos])),
            "hardest_log_loss": float(-np.mean(np.log(x[pos]))),
            "balanced_accuracy": float(balanced_accuracy_score(Y, (x > 0.5).astype(int)))}


def differences(name: str, a: str = "synthetic", b: str = "placebo") -> np.ndarray:
    return np.array([by_hand(a, s)[name] - by_hand(b, s)[name] for s in SEEDS])


def test_record_endpoints_by_hand():
    rec = _record("real", 0)
    rec["predictions"]["probs"] = [[0.9, 0.1], [0.4, 0.6], [0.8, 0.2], [0.7, 0.3],
                                   [0.3, 0.7], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5]]
    scores, per_image = record_endpoints(rec)
    assert scores["hardest_accuracy"] == pytest.approx(2 / 4)  # 0.7 and 0.8; 0.5 ties to class 0 (argmax)
    assert scores["hardest_prob"] == pytest.approx((0.7 + 0.4 + 0.8 + 0.5) / 4)
    # crack scores ranked: 0.8+ 0.7+ 0.6- 0.5+ 0.4+ 0.3- 0.2- 0.1- -> precision 1, 1, 3/4, 4/5 at the positives
    assert scores["hardest_ap"] == pytest.approx((1 + 1 + 3 / 4 + 4 / 5) / 4)
    assert scores["balanced_accuracy"] == pytest.approx((3 / 4 + 2 / 4) / 2)  # good: 3 of 4 (0.6 is called crack)
    np.testing.assert_allclose(per_image["hardest_prob"], [0.7, 0.4, 0.8, 0.5])
    assert record_endpoints({**rec, "predictions": {}}) is None


def test_frame_columns_and_default_primary():
    data = study_from_records(records())
    assert data.primary == "hardest_accuracy"
    row = data.frame[(data.frame["arm"] == "synthetic") & (data.frame["seed"] == 3)].iloc[0]
    for name, want in by_hand("synthetic", 3).items():
        col = "hardest_acc" if name == "hardest_accuracy" else f"ep_{name}"
        assert row[col] == pytest.approx(want, abs=1e-12), name


def test_default_primary_is_hardest_accuracy_with_every_other_endpoint_secondary():
    data = study_from_records(records())
    comps = comparisons_frame(data, n_boot=200)
    primary = comps[comps["comparison"] == "synthetic[cutpaste] − placebo[cutpaste]"].iloc[0]
    assert primary["endpoint"] == "hardest_accuracy" and primary["family"] == "primary"
    assert primary["mean_pp"] == pytest.approx(100 * differences("hardest_accuracy").mean())
    sec = secondary_frame(data)
    assert list(sec.columns) == ENDPOINT_COLUMNS
    assert set(sec["role"]) == {"secondary"} and "hardest_accuracy" not in set(sec["endpoint"])
    assert len(sec) == 4 * len(comps)  # every comparison, on each of the 4 other endpoints
    rows = sec[sec["comparison"] == "synthetic[cutpaste] − placebo[cutpaste]"].set_index("endpoint")
    for name in ("hardest_ap", "hardest_prob", "balanced_accuracy"):
        assert rows.loc[name, "mean"] == pytest.approx(100 * differences(name).mean()), name
    assert rows.loc["hardest_log_loss", "mean"] == pytest.approx(differences("hardest_log_loss").mean())
    assert rows.loc["hardest_log_loss", "unit"] == "nats" and rows.loc["hardest_log_loss", "better"] == "lower"
    # AP has no per-image decomposition: the seed-level t-test, unadjusted, as scipy computes it
    a = [by_hand("synthetic", s)["hardest_ap"] for s in SEEDS]
    b = [by_hand("placebo", s)["hardest_ap"] for s in SEEDS]
    assert rows.loc["hardest_ap", "statistic"] == "seed-level t"
    assert rows.loc["hardest_ap", "p"] == pytest.approx(st.ttest_rel(a, b).pvalue)
    assert rows.loc["hardest_prob", "statistic"] == "seeds × test-units t"


@pytest.mark.parametrize("primary", ["hardest_prob", "hardest_ap", "balanced_accuracy"])
def test_declared_primary_carries_holm_and_verdicts(primary):
    data = study_from_records(records(primary))
    assert data.primary == primary
    comps = comparisons_frame(data, n_boot=200)
    assert set(comps["endpoint"]) == {primary}
    row = comps[comps["comparison"] == "synthetic[cutpaste] − placebo[cutpaste]"].iloc[0]
    assert row["mean_pp"] == pytest.approx(100 * differences(primary).mean())
    assert row["verdict"] in ("gain", "no evidence", "harm")
    if primary == "hardest_prob":  # per-image values: the default seeds × test-units rule
        assert row["rule_p"] == row["cross_p_holm"] and not math.isnan(row["cross_p"])
    else:  # AP / balanced accuracy: the rule's seed-level form
        assert row["rule_p"] == row["p_holm"] and math.isnan(row["cross_p"])
        assert "these frozen test images only" in row["population"]
    sec = secondary_frame(data)
    assert primary not in set(sec["endpoint"]) and "hardest_accuracy" in set(sec["endpoint"])


def test_records_must_agree_on_the_primary_endpoint():
    mixed = records("hardest_prob")[:-1] + [_record("synthetic", 4, "hardest_ap")]
    with pytest.raises(ValueError, match=r"different primary endpoints \['hardest_ap', 'hardest_prob'\]"):
        study_from_records(mixed)
    with pytest.raises(ValueError, match="endpoints.primary='auc'; expected one of hardest_accuracy"):
        study_from_records([_record("real", 0, "auc")])


def test_report_says_which_endpoint_was_primary(tmp_path):
    for rec in records("hardest_prob"):
        write_record(tmp_path, rec)
    paths = write_report(tmp_path, n_boot=200)
    assert "endpoints_csv" in paths and "endpoints_md" in paths
    sec = pd.read_csv(paths["endpoints_csv"])
    assert set(sec["role"]) == {"secondary"}
    note = endpoint_note("hardest_prob")
    assert note.startswith("Primary endpoint: mean true-class probability on hardest-class test images")
    assert note in paths["endpoints_md"].read_text()
    assert note in paths["comparisons_md"].read_text()
    html = paths["index_html"].read_text()
    assert "Primary endpoint: mean true-class probability" in html and "Secondary endpoints" in html
    assert "primary comparison on hardest_prob; mean difference" in html
    assert set(pd.read_csv(paths["comparisons_csv"])["endpoint"]) == {"hardest_prob"}
