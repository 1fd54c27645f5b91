"""Multi-generator leaderboard: placebo matched per generator by counts (shared when volumes match, own when
they differ), Holm over the leaderboard, pairwise generator comparisons; and the report's audit section."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from benchmark.records import run_id, write_record
from benchmark.report import write_report
from benchmark.report.collect import load_study
from benchmark.report.leaderboard import leaderboard_comparisons, leaderboard_table, pairwise_table

SEEDS = range(6)
REAL = np.array([0.50, 0.55, 0.45, 0.50, 0.60, 0.40])
BUMP = np.array([0.00, 0.05, 0.00, 0.05, 0.00, 0.05])  # seed-to-seed wobble so differences have a spread
ARMS = {  # label -> (arm, generator, added counts, accuracies)
    "real": ("real", None, {}, REAL),
    "placebo16": ("placebo", None, {"crack": 16}, REAL + 0.05 + BUMP),
    "placebo8": ("placebo", None, {"crack": 8}, REAL + 0.10 - BUMP),
    "cutpaste": ("synthetic", "cutpaste", {"crack": 16}, REAL + 0.30 + BUMP / 2),
    "augment": ("synthetic", "augment", {"crack": 16}, REAL + 0.05 + BUMP),  # = its placebo, seed by seed
    "noise": ("synthetic", "noise", {"crack": 8}, REAL + 0.10 - BUMP / 2),
}


def _record(label: str, seed: int, audit_json: str | None = None) -> dict:
    arm, gen, counts, accs = ARMS[label]
    cell = {"dataset": "tiles", "manifest_sha256": "m", "arm": arm, "seed": seed, "k": None,
            "model": {"name": "resnet18"}, "trainer": {"engine": "featurebank"}}
    if arm == "synthetic":
        cell |= {"generator": gen, "synthetic_key": f"{gen}-key"}
    if arm == "placebo":
        cell |= {"placebo_counts": counts, "placebo_seed": 0}
    syn = None
    if arm == "synthetic":
        audit = {"n_images": counts["crack"], "n_test_copies": 1 if gen == "noise" else 0, "n_test_copies_new": 0,
                 "contaminated": False, "n_train_copies": 2, "train_copy_fraction": 2 / counts["crack"],
                 "flagged": ["/x/noise_00001.png"] if gen == "noise" else [], "audit_json": audit_json,
                 "fidelity": {"crack": {"mean_cosine_to_real": 0.95, "real_within_cosine": 0.96, "fid": 12.0,
                                        "kid": 0.01}}}
        syn = {"generator": gen, "key": f"{gen}-key", "content_sha256": gen, "counts": counts, "audit": audit}
    # 40 crack test images in 20 two-shot units; seed s of this arm gets the first round(40·acc) right,
    # so the stored predictions reproduce the accuracy and the seeds × units test has data
    right = round(40 * float(accs[seed]))
    probs = [[0.9, 0.1] if i < right else [0.1, 0.9] for i in range(40)]
    return {"schema": 1, "run_id": run_id(cell), "status": "ok", "study": "gens", "cell": cell,
            "hardest_class": "crack", "added_counts": {"crack": 0, **counts}, "synthetic": syn,
            "metrics": {"hardest_class_accuracy": right / 40, "accuracy": 0.9, "classes": ["crack", "good"]},
            "predictions": {"paths": [f"t/{i:02d}.png" for i in range(40)], "labels": [0] * 40, "probs": probs,
                            "groups": [i // 2 for i in range(40)]}}


@pytest.fixture
def study(tmp_path):
    gallery = tmp_path / "set" / "audit_gallery.png"
    gallery.parent.mkdir()
    Image.new("RGB", (8, 8)).save(gallery)
    audit_json = tmp_path / "set" / "audit.json"
    audit_json.write_text(json.dumps({"files": {"audit_gallery_png": str(gallery)}}))
    for label in ARMS:
        for s in SEEDS:
            write_record(tmp_path / "study", _record(label, s, str(audit_json)))
    return tmp_path / "study"


def test_placebo_matched_by_counts_per_generator(study):
    long = leaderboard_comparisons(load_study(study), n_boot=200)
    assert len(long) == 3 + 3 + 3  # vs real, vs placebo, pairwise for 3 generators
    row = long.set_index(["generator", "kind"])
    # augment and cutpaste (16 images) share the 16-image placebo cells; noise (8) gets the 8-image ones
    assert row.loc[("augment", "vs placebo"), "mean_pp"] == pytest.approx(0.0, abs=1e-9)
    assert row.loc[("augment", "vs placebo"), "placebo_runs"] == len(SEEDS)
    expected = 100 * np.mean(ARMS["noise"][3] - ARMS["placebo8"][3])
    assert row.loc[("noise", "vs placebo"), "mean_pp"] == pytest.approx(expected)
    assert row.loc[("cutpaste", "vs real"), "mean_pp"] == pytest.approx(100 * np.mean(0.30 + BUMP / 2))
    assert set(long.loc[long["kind"] == "vs placebo", "family"]) == {"primary"}
    assert set(long.loc[long["kind"] != "vs placebo", "family"]) == {"secondary"}
    assert row.loc[("cutpaste", "vs placebo"), "verdict"] == "gain"
    assert row.loc[("augment", "vs placebo"), "verdict"] == "no evidence"


def test_one_placebo_rule_and_one_holm_everywhere(study):
    # issue 15 items 3 and 8: Table 1, the comparisons table and the leaderboard use each generator's own
    # count-matched placebo (noise delivered 8 images: placebo8, never an average with the 16-image cells),
    # and a comparison has one Holm p and one verdict in the whole report
    from benchmark.report.artefacts import scarce_table
    from benchmark.report.comparisons import comparisons_frame

    data = load_study(study)
    comp = comparisons_frame(data, n_boot=200)
    long = leaderboard_comparisons(data, comparisons=comp)
    table = scarce_table(data.frame).set_index("generator")
    want = 100 * np.mean(ARMS["noise"][3] - ARMS["placebo8"][3])
    noise = comp[comp["comparison"] == "synthetic[noise] − placebo[noise]"].iloc[0]
    assert noise["family"] == "primary" and noise["mean_pp"] == pytest.approx(want)
    assert table.loc["noise", "gain_vs_placebo_pp"] == pytest.approx(want)
    assert table.loc["noise", "placebo_acc_pct"] == pytest.approx(100 * ARMS["placebo8"][3].mean())
    lb = long[(long["generator"] == "noise") & (long["kind"] == "vs placebo")].iloc[0]
    assert lb["p_holm"] == noise["cross_p_holm"] and lb["verdict"] == noise["verdict"]
    assert (comp["family_size"][comp["family"] == "primary"] == 3).all()
    assert (comp["cross_p_holm"] >= comp["cross_p"] - 1e-12).all()


def test_leaderboard_and_pairwise_tables(study):
    long = leaderboard_comparisons(load_study(study), n_boot=200)
    table = leaderboard_table(long)
    assert table["generator"].tolist() == ["cutpaste", "noise", "augment"]  # ranked by gain over placebo
    assert table["rank"].tolist() == [1, 2, 3] and table["n_added"].tolist() == [16, 8, 16]
    pair = pairwise_table(long).set_index(["generator_a", "generator_b"])
    assert set(pair.index) == {("augment", "cutpaste"), ("augment", "noise"), ("cutpaste", "noise")}
    d = 100 * np.mean(ARMS["augment"][3] - ARMS["cutpaste"][3])
    assert pair.loc[("augment", "cutpaste"), "mean_pp"] == pytest.approx(d)


def test_report_has_leaderboard_and_audit_section(study):
    paths = write_report(study, n_boot=200)
    for name in ("leaderboard_csv", "leaderboard_md", "leaderboard_tex", "leaderboard_pairwise_csv",
                 "leaderboard_png", "audit_csv", "audit_gallery_noise-noise-key_png"):
        assert paths[name].is_file(), name
    audit = pd.read_csv(paths["audit_csv"])
    assert sorted(audit["generator"]) == ["augment", "cutpaste", "noise"]
    assert audit.set_index("generator").loc["noise", "flagged"] == "noise_00001.png"
    html = paths["index_html"].read_text()
    assert "Generator leaderboard" in html and "Synthetic-set audit" in html and "Audit gallery noise" in html
