"""The detection path end to end with a tiny budget: Hydra compose -> scarce-run's run_seeds (dispatch on
`task: detection`) -> YOLO training -> records -> `scarce report`. About half a minute on 2 cores."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmark.cli import compose_config
from benchmark.generators.base import sha256_file
from benchmark.records import load_records
from benchmark.report import write_report
from benchmark.run import run_seeds
from benchmark.split.manifest import ManifestError
from tests.detect_fixtures import tiny_demo_det, tiny_overrides


def test_tiny_detection_study_to_report(tmp_path):
    root, manifest = tiny_demo_det(tmp_path)
    base = tiny_overrides(tmp_path, root, manifest) + ["study=tiny", "seeds=[0,1]"]
    for arm in ("real", "synthetic", "placebo"):
        recs = run_seeds(compose_config(base + [f"arm={arm}"]))
        assert [r["status"] for r in recs] == ["ok", "ok"], recs[0].get("error")
    records = load_records(tmp_path / "results" / "tiny")
    assert len(records) == 6
    r = next(r for r in records if r["cell"]["arm"] == "synthetic" and r["cell"]["seed"] == 0)
    m = r["metrics"]
    assert r["task"] == "detection" and r["hardest_class"] == "speck" and r["n_added"] == 4
    assert {"map50_95", "map50", "per_class_ap50_95", "per_class_ap50", "hardest_class_ap50_95"} <= set(m)
    assert 0.0 <= m["map50_95"] <= m["map50"] <= 1.0
    p = r["predictions"]
    assert len(p["paths"]) == m["n_test_images"] == len(p["boxes"]) == len(p["scores"]) == len(p["classes"])
    assert r["timings"]["train_s"] > 0 and r["fit"]["epochs"] == 1
    # the seed reaches the shuffle, and ultralytics trained with the cell's thread count (not its own)
    r1 = next(x for x in records if x["cell"]["arm"] == "synthetic" and x["cell"]["seed"] == 1)
    assert r["fit"]["shuffle_seed"] != r1["fit"]["shuffle_seed"]
    assert r["fit"]["threads"] == r["cell"]["threads"] == r["threads"] == 2
    # the real arm keeps its detector (positional fidelity), hash in the record; other arms keep none
    kept = next(x for x in records if x["cell"]["arm"] == "real" and x["cell"]["seed"] == 0)["fit"]["kept_weights"]
    assert sha256_file(kept["path"]) == kept["sha256"] and kept["image_size"] == 64
    assert "kept_weights" not in r["fit"]
    plc = next(r for r in records if r["cell"]["arm"] == "placebo" and r["cell"]["seed"] == 0)
    assert plc["n_added"] == r["n_added"] and plc["cell"]["placebo_counts"] == {"speck": 4}

    # same config + same seed -> the same numbers (a fresh study, so the cell trains again)
    again = run_seeds(compose_config(tiny_overrides(tmp_path, root, manifest) + ["study=again", "arm=real", "seed=0"]))[0]
    first = next(r for r in records if r["cell"]["arm"] == "real" and r["cell"]["seed"] == 0)
    assert again["run_id"] == first["run_id"]
    assert again["metrics"] == first["metrics"] and again["predictions"] == first["predictions"]
    # a rerun finds the ok record and trains nothing
    assert run_seeds(compose_config(base + ["arm=real"]))[0]["timings"] == first["timings"]

    # the parity arm through its Hydra group: N = half the train split, + 2 more real images
    plus = run_seeds(compose_config(tiny_overrides(tmp_path, root, manifest) + [
        "study=parity", "arm=real_plus", "+parity.base=0.5", "synthetic.volume=2", "seed=0"]))[0]
    assert plus["status"] == "ok" and plus["n_added"] == 2 and plus["cell"]["parity"]["base"] == plus["n_real"]

    paths = write_report(tmp_path / "results" / "tiny")
    for name in ("det_curve_csv", "det_paired_md", "det_parity_csv", "det_volume_curve_png", "index_html",
                 "det_fidelity_csv"):
        assert paths[name].is_file(), name
    html = paths["index_html"].read_text()
    assert "speck" in html and "data:image/png;base64," in html and "http" not in html.replace("http-equiv", "")
    curve = paths["det_curve_csv"].read_text().splitlines()
    assert len(curve) == 1 + 3  # header + real, placebo, synthetic
    # positional fidelity: the 2 real detectors scored the synthetic set with ultralytics' validator
    fid = pd.read_csv(paths["det_fidelity_csv"]).iloc[0]
    assert fid["n_detectors"] == 2 and fid["missing"] == 0 and fid["n_images"] == 4
    assert 0.0 <= fid["map50_95_mean"] <= 1.0 and 0.0 <= fid["map50_mean"] <= 1.0


def test_manifest_hashes_label_files(tmp_path):
    root, manifest = tiny_demo_det(tmp_path)
    m = json.loads(manifest.read_text())
    e = m["files"]["train"][0]
    assert e["boxes"].startswith("labels/") and len(e["boxes_sha256"]) == 64
    (root / e["boxes"]).write_text("0 0.5 0.5 0.1 0.1\n")  # a changed label file is refused at the next run
    with pytest.raises(ManifestError, match="train file changed"):
        run_seeds(compose_config(tiny_overrides(tmp_path, root, manifest) + ["arm=real"]))
