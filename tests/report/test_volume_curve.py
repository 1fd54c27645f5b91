"""The volume curve of a classification study (constructed records, no training): one curve per generator over
its delivered volumes, the placebo count-matched at every volume, the declared fit, the artefacts; and
detection's curve through the same code."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.records import run_id, write_record
from benchmark.report import build_report
from benchmark.report.collect import load_study
from benchmark.report.design import MixedDesignError
from benchmark.report.volume import curve_matrix, detection_volume_curves, volume_curves, volume_tables
from benchmark.stats.volume import curve

SEEDS = range(6)
VOLUMES = [8, 16, 31, 62, 124]
WOBBLE = np.array([0.0, 0.05, -0.05, 0.025, -0.025, 0.0])


def _acc(arm: str, v: int, seed: int) -> float:
    base = 0.30 + WOBBLE[seed]
    if arm == "synthetic":
        return base + float(curve(v, 0.0, 0.40, 30.0))
    return base + (0.05 if arm == "placebo" else 0.0)


def _record(arm: str, v: int, seed: int, fit: str = "saturating") -> dict:
    cell = {"dataset": "tiles", "manifest_sha256": "m", "arm": arm, "seed": seed, "k": None,
            "model": {"name": "resnet18"}, "trainer": {"engine": "featurebank"}}
    counts = {"crack": v} if arm != "real" else {}
    if arm == "synthetic":
        cell |= {"generator": "cutpaste", "synthetic_key": f"cp-{v}"}
    if arm == "placebo":
        cell |= {"placebo_counts": counts, "placebo_seed": 0}
    right = round(40 * _acc(arm, v, seed))
    probs = [[0.9, 0.1] if i < right else [0.1, 0.9] for i in range(40)]
    return {"schema": 1, "run_id": run_id(cell), "status": "ok", "study": "vol", "cell": cell,
            "hardest_class": "crack", "added_counts": counts,
            "config": {"volume_curve": {"fit": fit, "threshold_pp": 0.1}},
            "metrics": {"hardest_class_accuracy": right / 40, "accuracy": 0.9, "classes": ["crack", "good"]},
            "predictions": {"paths": [f"t/{i:02d}.png" for i in range(40)], "labels": [0] * 40, "probs": probs}}


def _write(root, fit: str = "saturating", extra=(), volumes=VOLUMES) -> None:
    for s in SEEDS:
        write_record(root, _record("real", 0, s, fit))
        for v in volumes:
            write_record(root, _record("synthetic", v, s, fit))
            write_record(root, _record("placebo", v, s, fit))
        for arm, v in extra:
            write_record(root, _record(arm, v, s, fit))


def test_one_curve_per_generator_with_a_count_matched_placebo_per_volume(tmp_path):
    _write(tmp_path / "s", extra=[("placebo", 10)])  # a placebo no synthetic set matches: not in the curve
    curves = volume_curves(load_study(tmp_path / "s"))
    assert len(curves) == 1 and curves[0]["generator"] == "cutpaste"
    pts = curves[0]["points"]
    assert sorted(pts) == VOLUMES
    assert all(p["reference_added"] == v for v, p in pts.items())  # the placebo added as many as delivered
    table, fit, _ = volume_tables(curves, "saturating", 0.1, n_boot=50)
    for v in VOLUMES:
        row = table[table["volume"] == v].iloc[0]
        want = 100 * np.mean([round(40 * _acc("synthetic", v, s)) / 40 - round(40 * _acc("placebo", v, s)) / 40
                              for s in SEEDS])
        assert row["gain_pp"] == pytest.approx(want) and row["n_seeds"] == len(SEEDS)
    syn = fit[fit["curve"] == "synthetic"].iloc[0]
    assert syn["volumes"] == "0, 8, 16, 31, 62, 124" and syn["n_seeds"] == len(SEEDS)
    assert syn["b"] == pytest.approx(40, abs=2) and syn["b_lo"] <= syn["b"] <= syn["b_hi"]  # true rise: 40 pp
    assert "diminishing returns after" in syn["diminishing"] or "not reached" in syn["diminishing"]


def test_declared_fit_is_read_from_the_records_and_mixing_is_refused(tmp_path):
    _write(tmp_path / "log", fit="log")
    from benchmark.report.volume import declared_fit
    assert declared_fit(load_study(tmp_path / "log")) == ("log", 0.1)
    _write(tmp_path / "mixed")
    write_record(tmp_path / "mixed", _record("synthetic", 250, 0, fit="log"))
    with pytest.raises(ValueError, match="volume_curve"):
        load_study(tmp_path / "mixed")
    _write(tmp_path / "twice", volumes=[8, 31, 124])  # a second set (another generator seed) at 31 images
    for s in SEEDS:
        r = _record("synthetic", 31, s)
        r["cell"]["synthetic_key"] = "cp-31-seed1"
        r["run_id"] = run_id(r["cell"])
        write_record(tmp_path / "twice", r)
    with pytest.raises(MixedDesignError, match="one set per volume"):
        volume_curves(load_study(tmp_path / "twice"))


def test_report_writes_volume_tables_figure_and_html(tmp_path):
    _write(tmp_path / "s", volumes=[8, 31, 124])  # three volumes: the fewest a 3-parameter fit takes (with real)
    paths = build_report(load_study(tmp_path / "s"), tmp_path / "out", n_boot=50)
    for name in ("volume_curve_csv", "volume_curve_md", "volume_curve_tex", "volume_fit_csv", "volume_curve_png"):
        assert paths[name].is_file()
    assert "Volume curve" in paths["index_html"].read_text()
    assert "threshold_pp" in pd.read_csv(paths["volume_fit_csv"]).columns
    from benchmark.report.volume_artefacts import volume_lines
    lines = volume_lines(paths)  # what `scarce report` prints
    assert any("cutpaste v=  31" in ln and "gain" in ln for ln in lines)
    assert any(ln.startswith("  fit cutpaste/synthetic (saturating") for ln in lines)
    assert lines[-1].startswith("  each volume is one generated set")  # the CIs are conditional on the sets


def test_detection_uses_the_same_fit():
    rows = []
    for s in SEEDS:
        for arm, v in [("real", 0)] + [(a, v) for v in VOLUMES for a in ("synthetic", "placebo")]:
            rows.append({"task": "detection", "status": "ok", "dataset": "d", "model": "yolo", "hardest_class": "c",
                         "n_real": 100, "engine": "yolo", "design": "x", "arm": arm, "n_added": v, "seed": s,
                         "generator": "det_cutpaste" if arm == "synthetic" else None, "run_id": f"{arm}{v}-{s}",
                         "hardest_ap50_95": _acc(arm, v, s)})
    curves = detection_volume_curves(pd.DataFrame(rows))
    assert len(curves) == 1 and curves[0]["reference"] == "placebo"
    vols, vals = curve_matrix(curves[0], "synthetic")
    assert vals.shape == (len(SEEDS), 1 + len(VOLUMES)) and vols[0] == 0
    _, fit, _ = volume_tables(curves, "saturating", 0.1, n_boot=50)
    syn = fit[fit["curve"] == "synthetic"].iloc[0]
    assert syn["b"] == pytest.approx(40.0, rel=1e-3) and syn["c"] == pytest.approx(30.0, rel=1e-3)


def test_fit_table_keeps_the_backbone_and_names_the_fit(tmp_path):
    _write(tmp_path / "s", volumes=[8, 31, 124])
    _, fit, _ = volume_tables(volume_curves(load_study(tmp_path / "s")), "log", 0.1, n_boot=20)
    assert set(fit["model"]) == {"resnet18"} and set(fit["fit"]) == {"log"}


def test_detection_report_writes_the_fit_beside_its_own_curve(tmp_path):
    from benchmark.report import write_report
    from tests.detect.test_detect_report import _record as det_record

    for s in range(3):
        write_record(tmp_path, det_record("real", 0, s, 0.20 + 0.01 * s))
        for v in (10, 20, 40):
            write_record(tmp_path, det_record("synthetic", v, s, 0.20 + 0.01 * s + float(curve(v, 0, 0.1, 15.0))))
            write_record(tmp_path, det_record("placebo", v, s, 0.21 + 0.01 * s))
    paths = write_report(tmp_path)
    fit = pd.read_csv(paths["det_volume_fit_csv"])
    assert list(fit["curve"]) == ["synthetic", "placebo"] and fit["volumes"].iloc[0] == "0, 10, 20, 40"
    assert paths["det_volume_fit_png"].is_file() and paths["det_volume_curve_png"].is_file()  # both figures
    assert "Volume curve fit" in paths["index_html"].read_text()


def _write_shared(root, shares: dict[int, float]) -> None:
    """The study of ``_write`` with each volume's synthetic and placebo runs under synthetic.share = shares[v]."""
    for s in SEEDS:
        write_record(root, _record("real", 0, s))
        for v in VOLUMES:
            for arm in ("synthetic", "placebo"):
                r = _record(arm, v, s)
                r["cell"]["synthetic"] = {"volume": v, "classes": None, "share": shares[v]}
                r["run_id"] = run_id(r["cell"])
                write_record(root, r)


def test_a_curve_names_its_share_and_a_curve_mixing_shares_is_refused(tmp_path):
    from benchmark.report.volume_artefacts import volume_lines

    _write_shared(tmp_path / "one", {v: 0.5 for v in VOLUMES})
    curves = volume_curves(load_study(tmp_path / "one"))
    assert curves[0]["share"] == 0.5
    table, fit, _ = volume_tables(curves, "saturating_linear", 0.1, n_boot=20)
    assert set(table["share"]) == {0.5}
    syn = fit[fit["curve"] == "synthetic"].iloc[0]
    assert syn["formula"] == "a + b (1 − exp(−v / c)) − d v" and syn["d_lo"] <= syn["d"] <= syn["d_hi"]
    paths = build_report(load_study(tmp_path / "one"), tmp_path / "out", n_boot=50)
    assert "added images at a fixed 0.5 of their class's draws" in volume_lines(paths)[0]
    _write_shared(tmp_path / "mixed", {v: (0.5 if v < 62 else 0.25) for v in VOLUMES})
    with pytest.raises(MixedDesignError, match="synthetic.share"):
        volume_curves(load_study(tmp_path / "mixed"))
