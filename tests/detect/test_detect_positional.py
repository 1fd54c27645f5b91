"""Positional fidelity (benchmark/detect/positional.py, report/det_fidelity.py), constructed and fast: the folder
and YAML handed to ultralytics' validator carry the set's own boxes, the shifted control moves every box off its
object (IoU by torchvision, an independent implementation), kept weights are hash-checked, and the report's
`det_fidelity` table aggregates seeds with scipy's t interval. The real validator call is in test_detect_e2e."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from benchmark.detect.data import DetDataset, DetItem
from benchmark.detect.labels import yolo_lines
from benchmark.detect.positional import keep_weights, positional_fidelity, read_set, shifted_set
from benchmark.records import write_record
from benchmark.report import write_report
from tests.detect.test_detect_report import _record


def _set(tmp_path, n=4, size=40):
    """A materialised set: index.csv + images + YOLO labels, two boxes per image: (dataset, items)."""
    from PIL import Image

    root = tmp_path / "det-cutpaste-k"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rng = np.random.default_rng(0)
    rows = ["path,label,boxes"]
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(root / "images" / f"{i}.png")
        b = np.array([[0, 2 + i, 3, 10 + i, 9], [1, 20, 22 - i, 27, 30]], float)
        (root / "labels" / f"{i}.txt").write_text(yolo_lines(b, (size, size)))
        rows.append(f"images/{i}.png,{'a' if i % 2 else 'b'},labels/{i}.txt")
    (root / "index.csv").write_text("\n".join(rows) + "\n")
    return read_set(root, ["a", "b"])


def test_shifted_control_moves_every_box_off_its_object(tmp_path):
    from torchvision.ops import box_iou
    import torch

    ds, items = _set(tmp_path)
    moved = shifted_set(ds, items, tmp_path / "shift")
    for it, mv in zip(items, moved):
        (w, h), b = ds.boxes_of(it)
        (w2, h2), m = ds.boxes_of(mv)
        assert (w, h) == (w2, h2) and np.array_equal(b[:, 0], m[:, 0])
        np.testing.assert_allclose(b[:, 3:] - b[:, 1:3], m[:, 3:] - m[:, 1:3], atol=1e-3)  # same sizes
        assert (m[:, 1:3] >= -1e-6).all() and (m[:, 3] <= w + 1e-6).all() and (m[:, 4] <= h + 1e-6).all()
        iou = box_iou(torch.tensor(b[:, 1:]), torch.tensor(m[:, 1:])).diagonal().numpy()
        assert (iou < 0.5).all(), iou  # a perfect detector of the true objects matches none at IoU .5


def test_validator_gets_the_sets_own_boxes_and_weights_are_checked(tmp_path, monkeypatch):
    import ultralytics

    ds, items = _set(tmp_path)
    seen = {}

    class FakeYOLO:  # stands in for the detector: records what positional_fidelity hands the validator
        names = {0: "a", 1: "b"}

        def __init__(self, path):
            seen["weights"] = path

        def add_callback(self, *_):
            pass

        def val(self, data, **kw):
            seen["data"], seen["kw"] = yaml.safe_load(open(data)), kw
            raise RuntimeError("stop")

    monkeypatch.setattr(ultralytics, "YOLO", FakeYOLO)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.pt").write_bytes(b"not a real checkpoint")
    kept = keep_weights(tmp_path / "run" / "last.pt", tmp_path / "cache", "rid", 64)
    assert kept["path"].endswith(f"detect/weights/rid-{kept['sha256'][:12]}.pt") and len(kept["sha256"]) == 64
    with pytest.raises(ValueError, match="expected the real arm's kept detector"):
        positional_fidelity(kept["path"], ds, items, "a", tmp_path / "w", 64, sha256="0" * 64)
    with pytest.raises(RuntimeError, match="stop"):
        positional_fidelity(kept["path"], ds, items, "a", tmp_path / "w", 64, sha256=kept["sha256"])
    val = seen["data"]["val"]
    labels = sorted((tmp_path / "w" / "sets").glob("*/labels/*.txt"))
    assert val.endswith("/images") and len(labels) == len(items) and seen["kw"]["imgsz"] == 64
    for lab, it in zip(labels, items):  # the labels the validator reads are the set's boxes
        assert lab.read_text() == yolo_lines(*ds.boxes_of(it)[::-1])
    FakeYOLO.names = {0: "b", 1: "a"}
    with pytest.raises(ValueError, match="expected the set's"):
        positional_fidelity(kept["path"], ds, items, "a", tmp_path / "w", 64)


def test_read_set_refuses_items_without_boxes(tmp_path):
    (tmp_path / "index.csv").write_text("path,label,boxes\nimages/0.png,a,\n")
    with pytest.raises(ValueError, match="field 'boxes'"):
        read_set(tmp_path, ["a"])
    with pytest.raises(FileNotFoundError, match="index.csv"):
        read_set(tmp_path / "none", ["a"])


def test_report_table_over_seeds(tmp_path, monkeypatch):
    import benchmark.detect.positional as pos

    study, syn_root = tmp_path / "study", tmp_path / "set"
    syn_root.mkdir()
    figures = {0: 0.30, 1: 0.50, 2: 0.10}  # seed -> the fidelity its detector scores (seed 2: weights gone)
    for seed in range(3):
        real, syn = _record("real", 0, seed, 0.2), _record("synthetic", 10, seed, 0.25)
        w = tmp_path / f"w{seed}.pt"
        if seed < 2:
            w.write_bytes(b"x")
        real["fit"] = {"kept_weights": {"path": str(w), "sha256": str(seed), "image_size": 64}}
        real["metrics"]["classes"] = ["scratches"]
        syn["cell"] |= {"generator": "det_cutpaste", "synthetic_key": "k"}
        syn["synthetic"] = {"generator": "det_cutpaste", "key": "k", "root": str(syn_root)}
        for r in (real, syn):
            r["run_id"] = f"{r['cell']['arm']}{seed}"
            write_record(study, r)
    monkeypatch.setattr(pos, "cached_fidelity", lambda w, root, classes, hardest, threads=1: {
        "map50": figures[int(w["sha256"])], "map50_95": figures[int(w["sha256"])] / 2,
        "hardest_class_ap50_95": 0.0, "n_images": 7})
    paths = write_report(study)
    table = pd.read_csv(paths["det_fidelity_csv"])
    row = table.iloc[0]
    ci = stats.t.interval(0.95, 1, loc=0.4, scale=stats.sem([0.3, 0.5]))
    assert len(table) == 1 and row["n_detectors"] == 2 and row["missing"] == 1 and row["n_images"] == 7
    assert row["map50_mean"] == pytest.approx(0.4) and (row["map50_lo"], row["map50_hi"]) == pytest.approx(ci)
    assert row["detector_test_map50_95"] == pytest.approx(0.2)
    assert "Positional fidelity" in paths["det_fidelity_md"].read_text()
    assert "Positional fidelity" in paths["index_html"].read_text()


def test_audit_detector_refuses_a_classification_dataset(tmp_path):
    from benchmark.audit.command import run_audit

    with pytest.raises(ValueError, match="expected a detection one"):
        run_audit("cutpaste", "demo", [f"cache_root={tmp_path}"], None, detector=str(tmp_path / "last.pt"))
