"""Detection cut-paste: every recorded box covers its pasted object exactly; the arms built from it."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from benchmark.detect.arms import build_det_arm, parity_split
from benchmark.detect.data import create_det_dataset
from benchmark.detect.generators import DET_GENERATORS, covered_fraction
from benchmark.detect.labels import parse_yolo
from benchmark.generators.base import GenRequest
from tests.detect_fixtures import write_yolo_tree

NAMES = ["a", "b"]


@pytest.fixture
def ds(tmp_path):
    lines = {f"i{k}": ["0 0.25 0.25 0.2 0.2"] + (["1 0.7 0.7 0.25 0.2"] if k % 2 else []) for k in range(8)}
    root = write_yolo_tree(tmp_path / "y", NAMES, lines, size=64)
    return create_det_dataset({"name": "yolo", "id": "yolo", "root": str(root)})


def test_every_box_covers_its_pasted_object(ds, tmp_path):
    gen = DET_GENERATORS.create("cutpaste", scale=[0.8, 1.6], per_image=2, seed=0)
    syn = gen.materialize(GenRequest(ds, ds.items, {}, {"b": 6}, 3), tmp_path / "cache")
    assert len(syn.items) == 6 and syn.counts() == {"b": 6}
    prov = list(csv.DictReader(open(syn.root / "provenance.csv")))
    assert len(prov) == 12  # per_image = 2
    by_target = {it.path: it for it in ds.items}
    for it in syn.items:
        out = np.asarray(Image.open(it.path).convert("RGB")).astype(int)
        rows = [r for r in prov if r["path"] == str(it.path).split(syn.root.name + "/")[1]]
        target = np.asarray(Image.open(ds.abspath(by_target[rows[0]["target"]].path)).convert("RGB")).astype(int)
        changed = np.any(out != target, axis=2)  # (H, W): pixels the pastes wrote
        inside = np.zeros_like(changed)
        labels = parse_yolo(it.boxes, NAMES, (64, 64))
        for r in rows:
            x0, y0, x1, y1 = (int(float(r[k])) for k in ("x0", "y0", "x1", "y1"))
            inside[y0:y1, x0:x1] = True
            # the recorded box is one of the image's label boxes, with the pasted class
            assert any(np.allclose(b[1:], [x0, y0, x1, y1], atol=0.01) and b[0] == 1 for b in labels)
        assert not (changed & ~inside).any(), "a pasted pixel lies outside every recorded box"
        assert changed.any()


def test_cutpaste_is_deterministic_and_refuses_unknown_options(ds, tmp_path):
    req = GenRequest(ds, ds.items, {}, {"b": 3}, 1)
    a = DET_GENERATORS.create("cutpaste").materialize(req, tmp_path / "c1")
    b = DET_GENERATORS.create("cutpaste").materialize(req, tmp_path / "c2")
    assert a.key == b.key and a.content_sha256 == b.content_sha256
    with pytest.raises(ValueError, match="unknown option.*max_angle.*det_cutpaste"):
        DET_GENERATORS.create("cutpaste", max_angle=15)


def test_covered_fraction():
    boxes = np.array([[0, 0, 0, 10, 10], [0, 20, 20, 30, 30]], dtype=float)
    np.testing.assert_allclose(covered_fraction(boxes, (5, 0, 15, 10)), [0.5, 0.0])


def test_arms_count_matched_and_parity(ds, tmp_path):
    gen = {"name": "cutpaste", "seed": 0}
    syn = build_det_arm("synthetic", ds, ds.items, {}, "b", gen, {"volume": 0.5}, None, tmp_path / "c")
    plc = build_det_arm("placebo", ds, ds.items, {}, "b", gen, {"volume": 0.5}, None, tmp_path / "c")
    # volume means what it means for classification: per target class, 0.5 x the 4 real `b` images
    assert len(syn.added) == len(plc.added) == 2 and syn.cell["volume"] == 2
    every = build_det_arm("synthetic", ds, ds.items, {}, "b", gen, {"volume": 0.5, "classes": "all"}, None,
                          tmp_path / "c")
    assert every.synthetic.counts() == {"a": 2, "b": 2} and every.cell["volume"] == 4  # 0.5 x all 8 images
    assert all(1 in ds.boxes_of(it)[1][:, 0] for it in plc.added)  # duplicates hold the target class
    base, pool = parity_split(ds.items, {"base": 0.5, "seed": 0})
    assert len(base) == 4 and len(pool) == 4 and not {i.path for i in base} & {i.path for i in pool}
    assert sorted(it.label for it in base) == sorted(it.label for it in pool)  # stratified
    plus = build_det_arm("real_plus", ds, ds.items, {}, "b", gen, {"volume": 2}, {"base": 4, "seed": 0}, tmp_path)
    assert len(plus.train) == 6 and {it.path for it in plus.added} <= {it.path for it in pool}
    with pytest.raises(ValueError, match="only 4 train images are outside the parity base"):
        build_det_arm("real_plus", ds, ds.items, {}, "b", gen, {"volume": 5}, {"base": 4}, tmp_path)
    with pytest.raises(ValueError, match="unknown detection arm"):
        build_det_arm("nope", ds, ds.items, {}, "b", gen, {"volume": 1}, None, tmp_path)


def test_folder_delivery_yolo_and_voc(ds, tmp_path):
    from tests.detect_fixtures import voc_xml

    yolo = write_yolo_tree(tmp_path / "dy", NAMES, {"d0": ["1 0.5 0.5 0.2 0.2"], "d1": ["0 0.5 0.5 0.2 0.2"],
                                                    "d2": ["1 0.3 0.3 0.2 0.2"]})
    got = DET_GENERATORS.create("folder", root=str(yolo), format="yolo").materialize(
        GenRequest(ds, ds.items, {}, {"b": 2}, 0), tmp_path)
    assert [p.split("/")[-1] for p in (it.path for it in got.items)] == ["d0.png", "d2.png"]
    with pytest.raises(Exception, match="requested 3 images with class 'b'; the delivery has 2"):
        DET_GENERATORS.create("folder", root=str(yolo)).materialize(GenRequest(ds, ds.items, {}, {"b": 3}, 0), tmp_path)
    (yolo / "data.yaml").write_text("names: [x, y]\n")
    with pytest.raises(Exception, match=r"data.yaml: field 'names' is \['x', 'y'\]"):
        DET_GENERATORS.create("folder", root=str(yolo)).materialize(GenRequest(ds, ds.items, {}, {"b": 1}, 0), tmp_path)
    voc = tmp_path / "dv"
    (voc / "images").mkdir(parents=True)
    (voc / "annotations").mkdir()
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(voc / "images" / "v0.png")
    (voc / "annotations" / "v0.xml").write_text(voc_xml(32, 32, [("b", 2, 2, 9, 9)]))
    got = DET_GENERATORS.create("folder", root=str(voc), format="voc").materialize(
        GenRequest(ds, ds.items, {}, {"b": 1}, 0), tmp_path)
    it = got.items[0]
    assert it.boxes.endswith("v0.xml") and ds.boxes_of(it)[1].tolist() == [[1, 2, 2, 9, 9]]
    (voc / "annotations" / "v0.xml").unlink()
    with pytest.raises(Exception, match="v0.png: no label file"):
        DET_GENERATORS.create("folder", root=str(voc), format="voc").materialize(
            GenRequest(ds, ds.items, {}, {"b": 1}, 0), tmp_path)
