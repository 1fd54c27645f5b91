"""VOC / YOLO label parsing and the detection dataset adapters, on fixture trees (incl. malformed ones)."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.data.base import DatasetError
from benchmark.detect.data import create_det_dataset
from benchmark.detect.labels import parse_voc, parse_yolo, yolo_lines
from tests.detect_fixtures import voc_xml, write_neu_tree, write_yolo_tree

CLASSES = ["a", "b"]


def test_voc_parses_boxes_in_pixels(tmp_path):
    p = tmp_path / "x.xml"
    p.write_text(voc_xml(50, 40, [("b", 1, 2, 30, 20), ("a", 5, 6, 7, 8)]))
    wh, boxes = parse_voc(p, CLASSES)
    assert wh == (50, 40)
    np.testing.assert_array_equal(boxes, [[1, 1, 2, 30, 20], [0, 5, 6, 7, 8]])


@pytest.mark.parametrize("text, needle", [
    ("<annotation><size><width>9</width>", "not valid XML"),
    (voc_xml(50, 40, [("zebra", 1, 2, 3, 4)]), "'zebra'"),
    (voc_xml(50, 40, [("a", 10, 2, 3, 4)]), "empty or inverted"),
    (voc_xml(50, 40, [("a", 1, 2, 80, 4)]), "outside the 50x40 image"),
    ("<annotation><object><name>a</name></object></annotation>", "no <size>"),
    (voc_xml(50, 40, [("a", "one", 2, 3, 4)]), "<xmin> is 'one'"),
])
def test_malformed_voc_is_refused_naming_file_and_field(tmp_path, text, needle):
    p = tmp_path / "bad.xml"
    p.write_text(text)
    with pytest.raises(DatasetError) as e:
        parse_voc(p, CLASSES)
    assert str(p) in str(e.value) and needle in str(e.value)


def test_yolo_roundtrip_and_errors(tmp_path):
    boxes = np.array([[1, 4, 8, 20, 16], [0, 0, 0, 32, 32]], dtype=float)
    p = tmp_path / "x.txt"
    p.write_text(yolo_lines(boxes, (32, 32)))
    np.testing.assert_allclose(parse_yolo(p, CLASSES, (32, 32)), boxes, atol=1e-4)
    for line, needle in [("0 0.5 0.5 0.2", "expected `cls cx cy w h`"), ("7 0.5 0.5 0.2 0.2", "class 7"),
                         ("0 0.5 0.5 1.5 0.2", "normalised to 0..1"), ("a b c d e", "expected `cls cx cy w h`")]:
        p.write_text(f"0 0.5 0.5 0.1 0.1\n{line}\n")
        with pytest.raises(DatasetError) as e:
            parse_yolo(p, CLASSES, (32, 32))
        assert f"{p}:2" in str(e.value) and needle in str(e.value)


def test_neu_det_adapter_reads_voc_tree(tmp_path):
    root = write_neu_tree(tmp_path / "neu")
    ds = create_det_dataset({"name": "neu_det", "root": str(root), "task": "detection"})
    assert len(ds.items) == 18 and set(ds.counts().values()) == {3}
    it = ds.items[0]
    wh, boxes = ds.boxes_of(it)
    assert wh == (40, 40) and boxes.shape == (1, 5) and ds.classes[int(boxes[0, 0])] == it.label


def test_neu_det_refuses_image_without_its_class(tmp_path):
    root = write_neu_tree(tmp_path / "neu")
    (root / "ANNOTATIONS" / "crazing_1.xml").write_text(voc_xml(40, 40, [("patches", 1, 1, 9, 9)]))
    with pytest.raises(DatasetError, match="crazing_1.xml: no object of class 'crazing'"):
        create_det_dataset({"name": "neu_det", "root": str(root)})


def test_yolo_adapter_stratifies_by_rarest_class_and_drops_unlabelled(tmp_path):
    root = write_yolo_tree(tmp_path / "y", ["a", "b"], {"i0": ["0 0.5 0.5 0.2 0.2", "1 0.2 0.2 0.1 0.1"],
                                                        "i1": ["0 0.5 0.5 0.2 0.2"], "i2": ["0 0.3 0.3 0.2 0.2"]})
    (root / "labels" / "i2.txt").write_text("")
    ds = create_det_dataset({"name": "yolo", "id": "yolo", "root": str(root), "data": "data.yaml"})
    assert [(it.path, it.label) for it in ds.items] == [("images/i0.png", "b"), ("images/i1.png", "a")]
    assert ds.meta["dropped_unlabelled"] == 1 and ds.object_counts() == {"a": 2, "b": 1}


def test_yolo_adapter_malformed_tree_errors(tmp_path):
    root = write_yolo_tree(tmp_path / "y", ["a"], {"i0": ["0 0.5 0.5 0.2"]})
    with pytest.raises(DatasetError, match=r"i0.txt:1: .*expected `cls cx cy w h`"):
        create_det_dataset({"name": "yolo", "id": "yolo", "root": str(root)})
    (root / "data.yaml").write_text("names: 3\n")
    with pytest.raises(DatasetError, match="field 'names' is 3"):
        create_det_dataset({"name": "yolo", "id": "yolo", "root": str(root)})
    with pytest.raises(KeyError, match="known detection datasets: demo_det, neu_det, yolo"):
        create_det_dataset({"name": "nope"})


def test_yolo_conversions_match_ultralytics_box_ops(tmp_path):
    """labels.py writes out ultralytics' xywhn2xyxy / xyxy2xywhn (it runs before ultralytics may be imported):
    the same numbers, bit for bit, and the same YOLO text."""
    from benchmark.detect.offline import ultralytics

    ultralytics(tmp_path / "cache")  # the one offline import path
    from ultralytics.utils.ops import xywhn2xyxy, xyxy2xywhn

    rng = np.random.default_rng(0)
    W, H = 97, 61
    xyxy = np.sort(rng.uniform(-3, [W + 3, H + 3, W + 3, H + 3], (200, 4)).reshape(200, 2, 2), axis=1)
    xyxy = xyxy.transpose(0, 2, 1).reshape(200, 4)[:, [0, 2, 1, 3]]  # x0 < x1, y0 < y1; some outside the image
    boxes = np.column_stack([rng.integers(0, 2, 200), xyxy])
    clipped = np.column_stack([np.clip(xyxy[:, [0, 2]], 0, W), np.clip(xyxy[:, [1, 3]], 0, H)])[:, [0, 2, 1, 3]]
    want = "".join(f"{int(c)} " + " ".join(f"{v:.6f}" for v in row) + "\n"
                   for c, row in zip(boxes[:, 0], xyxy2xywhn(clipped, W, H)))
    assert yolo_lines(boxes, (W, H)) == want
    xywhn = np.column_stack([rng.uniform(0.2, 0.8, (50, 2)), rng.uniform(0.01, 0.4, (50, 2))])
    p = tmp_path / "l.txt"
    p.write_text("".join(f"{i % 2} " + " ".join(repr(float(v)) for v in row) + "\n" for i, row in enumerate(xywhn)))
    np.testing.assert_array_equal(parse_yolo(p, CLASSES, (W, H))[:, 1:], xywhn2xyxy(xywhn, W, H))
