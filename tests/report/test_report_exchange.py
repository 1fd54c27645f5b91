"""The exchange rate in the leaderboard (benchmark/report/exchange.py): the oracle basis on a multi-generator
study with an oracle arm, the few-shot basis on a k curve, and the words where neither design exists."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmark.records import run_id, write_record
from benchmark.report import write_report
from benchmark.report.collect import load_study
from benchmark.report.exchange import NO_BASIS, exchange_frame
from benchmark.report.leaderboard import leaderboard_comparisons, leaderboard_table
from benchmark.stats.fewshot import label_efficiency

REAL = np.array([0.50, 0.55, 0.45, 0.50, 0.60, 0.40])
BUMP = np.array([0.00, 0.05, 0.00, 0.05, 0.00, 0.05])
ARMS = {  # label -> (arm, generator, added counts, accuracies over the 6 seeds)
    "real": ("real", None, {}, REAL),
    "placebo16": ("placebo", None, {"crack": 16}, REAL + 0.05 + BUMP),
    "placebo8": ("placebo", None, {"crack": 8}, REAL + 0.10 - BUMP),
    "cutpaste": ("synthetic", "cutpaste", {"crack": 16}, REAL + 0.30 + BUMP / 2),
    "augment": ("synthetic", "augment", {"crack": 16}, REAL + 0.05 + BUMP),
    "noise": ("synthetic", "noise", {"crack": 8}, REAL + 0.10 - BUMP / 2),
    "oracle": ("oracle", None, {"crack": 16}, REAL + 0.35 - BUMP / 2),
}


def _record(arm, gen, counts, acc, seed, k=None) -> dict:
    cell = {"dataset": "tiles", "manifest_sha256": "m", "arm": arm, "seed": seed, "k": k,
            "model": {"name": "resnet18"}, "trainer": {"engine": "featurebank"}}
    if arm == "synthetic":
        cell |= {"generator": gen, "synthetic_key": f"{gen}-key"}
    if arm == "placebo":
        cell |= {"placebo_counts": counts, "placebo_seed": 0}
    if arm == "oracle":
        cell |= {"oracle_counts": counts}
    right = round(40 * float(acc))  # 40 crack test images in 20 two-shot units, the first `right` correct
    return {"schema": 1, "run_id": run_id(cell), "status": "ok", "study": "ex", "cell": cell,
            "hardest_class": "crack", "added_counts": {"crack": 0, **counts},
            "metrics": {"hardest_class_accuracy": right / 40, "accuracy": 0.9, "classes": ["crack", "good"]},
            "predictions": {"paths": [f"t/{i:02d}.png" for i in range(40)], "labels": [0] * 40,
                            "probs": [[0.9, 0.1] if i < right else [0.1, 0.9] for i in range(40)],
                            "groups": [i // 2 for i in range(40)]}}


def _study(root, labels):
    for label in labels:
        arm, gen, counts, accs = ARMS[label]
        for s, a in enumerate(accs):
            write_record(root, _record(arm, gen, counts, a, s))
    return root


def _acc(label):  # what the stored predictions give (40 images)
    return np.round(40 * ARMS[label][3]) / 40


def test_leaderboard_exchange_from_the_oracle_arm(tmp_path):
    data = load_study(_study(tmp_path / "s", ARMS))
    table = leaderboard_table(leaderboard_comparisons(data, n_boot=200), exchange_frame(data, n_boot=300))
    row = table.set_index("generator")
    for gen in ("cutpaste", "augment"):
        want = 16 * np.mean(_acc(gen) - _acc("placebo16")) / np.mean(_acc("oracle") - _acc("placebo16"))
        r = row.loc[gen]
        assert r["worth"] == pytest.approx(want, abs=1e-9) and r["worth_per_image"] == pytest.approx(want / 16)
        assert r["worth_ci_low"] <= want <= r["worth_ci_high"] and r["exchange_status"].startswith("resolved (")
        assert r["exchange_basis"].startswith("oracle (R = 16 withheld real, 6 seeds × 20 units)")
    assert row.loc["augment", "worth"] == pytest.approx(0.0, abs=1e-9)  # = its placebo, seed by seed
    # noise delivered 8 images, the oracle 16: no placebo matches both, so no exchange rate
    assert math.isnan(row.loc["noise", "worth"]) and "no common count-matched placebo" in row.loc["noise",
                                                                                                 "exchange_status"]


def test_report_leaderboard_shows_the_exchange_rate(tmp_path):
    paths = write_report(_study(tmp_path / "s", ARMS), n_boot=200)
    lb = pd.read_csv(paths["leaderboard_csv"]).set_index("generator")
    assert np.isfinite(lb.loc["cutpaste", ["worth", "worth_ci_low", "worth_ci_high"]].astype(float)).all()
    md = paths["leaderboard_md"].read_text()
    assert "Worth (real images)" in md and "R · (synthetic − placebo) / (oracle − placebo)" in md
    assert "Worth (real images)" in paths["index_html"].read_text()


def test_one_generator_with_an_oracle_gets_a_leaderboard_for_its_price(tmp_path):
    """One generator: no pairwise rows, but the oracle prices its set, and only the leaderboard says so."""
    paths = write_report(_study(tmp_path / "s", ["real", "placebo16", "cutpaste", "oracle"]), n_boot=200)
    lb = pd.read_csv(paths["leaderboard_csv"])
    assert list(lb["generator"]) == ["cutpaste"] and lb["exchange_basis"].iloc[0].startswith("oracle")
    assert "leaderboard_pairwise_csv" not in paths
    bare = write_report(_study(tmp_path / "t", ["real", "placebo16", "cutpaste"]), n_boot=200)
    assert "leaderboard_csv" not in bare          # nothing to price it by and nothing to rank it against


def test_without_oracle_or_curve_the_columns_say_so(tmp_path):
    data = load_study(_study(tmp_path / "s", [lab for lab in ARMS if lab != "oracle"]))
    table = leaderboard_table(leaderboard_comparisons(data, n_boot=100), exchange_frame(data, n_boot=100))
    assert (table["exchange_status"] == NO_BASIS).all() and table["worth"].isna().all()
    assert (leaderboard_table(leaderboard_comparisons(data, n_boot=100))["exchange_status"] == "not computed").all()


def _per_seed_set(r: dict, seed: int) -> dict:
    """The record as a few-shot run writes it: the generator saw this seed's own k-shot draw, so its set is new."""
    r["cell"]["synthetic_key"] = f"cutpaste-key-{seed}"
    r["run_id"] = run_id(r["cell"])
    return r


@pytest.mark.parametrize("per_seed_sets", [False, True])
def test_fewshot_basis_on_a_k_curve(tmp_path, per_seed_sets):
    root = tmp_path / "fs"
    curve = {1: 0.2, 2: 0.35, 4: 0.55}
    for s in range(6):
        for k, a in curve.items():
            write_record(root, _record("real", None, {}, a + BUMP[s], s, k))
        for k, a in ((1, 0.45), (2, 0.6)):
            r = _record("synthetic", "cutpaste", {"crack": 10}, a + BUMP[s] / 2, s, k)
            write_record(root, _per_seed_set(r, s) if per_seed_sets else r)
    out = exchange_frame(load_study(root), n_boot=300).set_index("k")
    assert out["generator"].tolist() == ["cutpaste", "cutpaste"]  # one arm, not one per seed's set
    acc = {k: np.mean(np.round(40 * (a + BUMP)) / 40) for k, a in curve.items()}
    syn1 = np.mean(np.round(40 * (0.45 + BUMP / 2)) / 40)
    ref = label_efficiency(list(acc), list(acc.values()), [1, 2], [syn1, 0.6])
    first = out.loc[1]
    assert first["worth"] == pytest.approx(ref["k_real_interp"] - 1) and first["exchange_basis"].startswith("few-shot")
    assert first["worth_per_image"] == pytest.approx(first["worth"] / 10)
    assert first["worth_ci_low"] <= first["worth"] <= first["worth_ci_high"]
    assert "interpolated: real-only k" in first["exchange_status"]
    assert math.isnan(out.loc[2, "worth"]) and out.loc[2, "exchange_status"] == "one number per curve: on the k = 1 row"
