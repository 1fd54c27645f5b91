"""Issue 17 item 5: hostile vendor deliveries. Each case is refused with an error naming the manifest row (or
file), the field and what was expected; no raw traceback, no image counted twice, no formula in a CSV."""
from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest

from benchmark.data.base import DatasetError
from benchmark.generators import GenRequest
from benchmark.generators.folder import FolderGenerator
from tests.generators.test_folder_hardening import dataset, delivery, request, save, write_csv  # noqa: F401 (fixtures)

FORMULA = "=2+5+cmd|' /C calc'!A0.png"


def _run(ds, d, tmp_path, manifest=None):
    return FolderGenerator(root=d, manifest=manifest).materialize(request(ds), tmp_path / "cache")


# ------------------------------------------------------------------------------------ counted once
def test_one_file_listed_three_times_through_a_symlink_is_refused(dataset, delivery, tmp_path):
    os.symlink(".", delivery / "again")
    write_csv(delivery, [{"path": p, "label": "hole"} for p in
                         ("imgs/hole_0.png", "again/imgs/hole_0.png", "again/again/imgs/hole_0.png")])
    with pytest.raises(DatasetError, match=r"manifest.csv:3: 'again/imgs/hole_0.png' \(the same file as "
                                           r"'imgs/hole_0.png', through a symlink\) already listed at .*manifest.csv:2"):
        _run(dataset, delivery, tmp_path)


def test_byte_identical_copies_are_refused(dataset, delivery, tmp_path):
    shutil.copy(delivery / "imgs/hole_1.png", delivery / "imgs/renamed.png")
    write_csv(delivery, [{"path": "imgs/hole_1.png", "label": "hole"}, {"path": "imgs/renamed.png", "label": "hole"}])
    with pytest.raises(DatasetError, match=r"manifest.csv:3: 'imgs/renamed.png' is byte-identical to 'imgs/hole_1.png' "
                                           r"\(listed at .*manifest.csv:2\); expected distinct images"):
        _run(dataset, delivery, tmp_path)


# ------------------------------------------------------------------------------------ strict manifests
JSON_CASES = {
    "null label": ([{"path": "imgs/hole_0.png", "label": None}], r"items\[0\]: .*non-string \['label'\].*'label' is null"),
    "null path": ([{"path": None, "label": "hole"}], r"items\[0\]: .*non-string \['path'\].*'path' is null"),
    "masks typo": ([{"path": "imgs/hole_0.png", "label": "hole", "masks": "imgs/hole_0_mask.png"}],
                   r"items\[0\]: unknown field\(s\) \['masks'\]; expected only path, label, mask, boxes"),
    "extra field": ([{"path": "imgs/hole_0.png", "label": "hole", "score": 0.9}],
                    r"items\[0\]: unknown field\(s\) \['score'\]"),
}


@pytest.mark.parametrize("case", list(JSON_CASES))
def test_json_manifest_is_validated_strictly(dataset, delivery, tmp_path, case):
    rows, why = JSON_CASES[case]
    (delivery / "manifest.json").write_text(json.dumps(rows))
    with pytest.raises(DatasetError, match=r"manifest.json: " + why):
        _run(dataset, delivery, tmp_path, "manifest.json")


def test_json_duplicate_keys_are_refused(dataset, delivery, tmp_path):
    (delivery / "manifest.json").write_text('[{"path": "imgs/hole_0.png", "label": "hole", "label": "good"}]')
    with pytest.raises(DatasetError, match=r"manifest.json: key\(s\) \['label'\] appear twice in one object"):
        _run(dataset, delivery, tmp_path, "manifest.json")


def test_deep_json_is_refused_without_a_traceback(dataset, delivery, tmp_path):
    (delivery / "manifest.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(DatasetError, match=r"manifest.json: JSON nested 200000 levels deep; expected at most 64"):
        _run(dataset, delivery, tmp_path, "manifest.json")


def test_nul_byte_in_csv_is_refused(dataset, delivery, tmp_path):
    (delivery / "manifest.csv").write_bytes(b"path,label\nimgs/hole_0.png,hole\nimgs/hole_1\x00.png,hole\n")
    with pytest.raises(DatasetError, match=r"manifest.csv:3: contains a NUL byte"):
        _run(dataset, delivery, tmp_path)


def test_nul_byte_in_json_path_is_refused(dataset, delivery, tmp_path):
    (delivery / "manifest.json").write_text(json.dumps([{"path": "imgs/hole_0.png\u0000", "label": "hole"}]))
    with pytest.raises(DatasetError, match=r"items\[0\]: 'imgs/hole_0.png\\x00' contains a control character"):
        _run(dataset, delivery, tmp_path, "manifest.json")


def test_huge_csv_field_is_refused(dataset, delivery, tmp_path):
    (delivery / "manifest.csv").write_text("path,label\nimgs/hole_0.png,hole\nimgs/" + "a" * (128 << 10) + ".png,hole\n")
    with pytest.raises(DatasetError, match=r"manifest.csv:3: (unreadable CSV \(field larger than field limit|"
                                           r"field 'path' is \d+ characters; expected at most 4096)"):
        _run(dataset, delivery, tmp_path)


def test_300_character_name_is_refused(dataset, delivery, tmp_path):
    write_csv(delivery, [{"path": "imgs/" + "n" * 300 + ".png", "label": "hole"}])
    with pytest.raises(DatasetError, match=r"manifest.csv:2: .*a name of 304 bytes; expected at most 255"):
        _run(dataset, delivery, tmp_path)


def test_csv_unknown_column_is_refused(dataset, delivery, tmp_path):
    write_csv(delivery, [{"path": "imgs/hole_0.png", "label": "hole", "masks": "imgs/hole_0_mask.png"}])
    with pytest.raises(DatasetError, match=r"manifest.csv:1: header \['path', 'label', 'masks'\] has unknown "
                                           r"column\(s\) \['masks'\]"):
        _run(dataset, delivery, tmp_path)


def test_a_json_only_delivery_is_read_without_naming_the_manifest(dataset, delivery, tmp_path):
    # what `scarce audit <delivery>` does: create_generator("folder", root=...) with no manifest option
    (delivery / "manifest.json").write_text(json.dumps([{"path": "imgs/hole_0.png", "label": "hole"}]))
    s = FolderGenerator(root=delivery).materialize(request(dataset), tmp_path / "cache")
    assert s.counts() == {"hole": 1} and s.meta["manifest"].endswith("manifest.json")


# ------------------------------------------------------------------------------------ detection deliveries
def _det(tmp_path):
    from benchmark.detect.data import create_det_dataset
    from tests.detect_fixtures import write_yolo_tree

    ds = create_det_dataset({"name": "yolo", "id": "yolo", "root": str(write_yolo_tree(tmp_path / "y", ["a", "b"], {
        f"i{k}": ["0 0.25 0.25 0.2 0.2", "1 0.7 0.7 0.25 0.2"] for k in range(4)}))})
    d = write_yolo_tree(tmp_path / "d", ["a", "b"], {"d0": ["1 0.5 0.5 0.2 0.2"], "d1": ["1 0.3 0.3 0.2 0.2"]})
    return ds, d


@pytest.mark.parametrize("how", ["symlink", "copy"])
def test_detection_delivery_counts_each_image_once(tmp_path, how):
    from benchmark.detect.generators import DET_GENERATORS

    ds, d = _det(tmp_path)
    if how == "symlink":
        os.symlink("d0.png", d / "images" / "d2.png")
        why = r"images/d2.png: the same file as .*images/d0.png \(through a symlink\); expected each image once"
    else:
        shutil.copy(d / "images" / "d0.png", d / "images" / "d2.png")
        why = r"images/d2.png: byte-identical to .*images/d0.png; expected distinct images"
    shutil.copy(d / "labels" / "d0.txt", d / "labels" / "d2.txt")
    with pytest.raises(DatasetError, match=why):
        DET_GENERATORS.create("folder", root=str(d)).materialize(GenRequest(ds, ds.items, {}, {"b": 3}, 0), tmp_path)


def test_detection_delivery_symlink_out_is_refused(tmp_path):
    from benchmark.detect.generators import DET_GENERATORS

    ds, d = _det(tmp_path)
    save(tmp_path / "elsewhere.png", value=99)
    os.symlink(tmp_path / "elsewhere.png", d / "images" / "d2.png")
    shutil.copy(d / "labels" / "d0.txt", d / "labels" / "d2.txt")
    with pytest.raises(DatasetError, match=r"images/d2.png: a symlink resolving to .*elsewhere.png, outside the delivery"):
        DET_GENERATORS.create("folder", root=str(d)).materialize(GenRequest(ds, ds.items, {}, {"b": 1}, 0), tmp_path)


# ------------------------------------------------------------------------------------ CSV formula injection
def test_report_csvs_escape_spreadsheet_formulas(tmp_path):
    from benchmark.report.table_formats import write_table_formats

    table = pd.DataFrame({"flagged": [FORMULA, "+1+1", "@SUM(A1)", "-cmd", "\tx", "plain.png"],
                          "delta": [-0.25, 1.0, 2.0, 3.0, 4.0, 5.0], "text_number": ["-0.25", "+3", "1", "-", "x", "y"]})
    paths = write_table_formats(table, tmp_path, "audit")
    back = pd.read_csv(paths["audit_csv"], keep_default_na=False)
    bad = [v for v in back["flagged"] if str(v)[:1] in "=+-@\t\r"]
    assert not bad, f"{paths['audit_csv']}: column 'flagged' cells {bad} start a spreadsheet formula; expected them " \
                    "prefixed with '"
    assert back["flagged"][0] == "'" + FORMULA and back["flagged"][5] == "plain.png"
    assert list(back["delta"]) == [-0.25, 1.0, 2.0, 3.0, 4.0, 5.0]       # numbers untouched
    assert list(back["text_number"][:2]) == ["-0.25", "+3"] and back["text_number"][3] == "'-"


def test_csvsafe_round_trip_and_writers(tmp_path):
    import csv

    from benchmark.csvsafe import SafeDictWriter, SafeWriter, escape_cell, unescape_cell

    for v in (FORMULA, "+x", "@x", "-x", "\tx", "\rx", "plain", "-1.5"):
        assert unescape_cell(escape_cell(v)) == v
    with open(tmp_path / "a.csv", "w", newline="") as f:
        SafeWriter(f).writerow([FORMULA, 3, "-2"])
        w = SafeDictWriter(f, fieldnames=["=h", "b"])
        w.writeheader()
        w.writerow({"=h": "@x", "b": 1})
    rows = list(csv.reader(open(tmp_path / "a.csv", newline="")))
    assert rows == [["'" + FORMULA, "3", "-2"], ["'=h", "b"], ["'@x", "1"]]
