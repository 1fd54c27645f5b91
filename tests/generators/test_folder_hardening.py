"""The vendor path (`generator=folder`), hardened: CSV and JSON manifests, an optional boxes column, and a
malicious delivery refused case by case with its own message, before anything is decoded, unpickled,
recorded or cached (acceptance 3 of issue #5: path traversal, symlink out, a pickle renamed .png, a
20000x20000 image, a label outside the taxonomy)."""
from __future__ import annotations

import csv
import json
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from benchmark.cli import compose_config
from benchmark.data.base import Dataset, DatasetError, Item
from benchmark.generators import GenRequest
from benchmark.generators.folder import FolderGenerator

CLASSES = ["good", "hole", "scratch"]


def png_header_only(path: Path, w: int, h: int) -> None:
    """A PNG whose header claims w x h (1-bit grey) with a token IDAT: only a decoder would notice."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def jpeg_claiming(path: Path, w: int, h: int) -> None:
    """A real 16x16 JPEG whose SOF0 header is patched to claim w x h."""
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(path, format="JPEG")
    b = bytearray(path.read_bytes())
    i = b.index(b"\xff\xc0")
    b[i + 5:i + 9] = struct.pack(">HH", h, w)
    path.write_bytes(bytes(b))


def save(path: Path, size=(32, 32), value: int = 0) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size[::-1], value, np.uint8)).save(path)
    return path.name


@pytest.fixture
def dataset(tmp_path) -> Dataset:
    root = tmp_path / "ds"
    items = [Item(f"{c}/{c}0.png", c) for c in CLASSES]
    for it in items:
        save(root / it.path)
    return Dataset("tiny", root, CLASSES, "good", items)


def request(ds: Dataset, counts=None) -> GenRequest:
    return GenRequest(ds, list(ds.items), {}, counts or {}, 0)


@pytest.fixture
def delivery(tmp_path) -> Path:
    d = tmp_path / "delivery"
    for i in range(3):
        save(d / "imgs" / f"hole_{i}.png", value=10 * i)
    save(d / "imgs" / "hole_0_mask.png", value=255)
    save(tmp_path / "outside.png")
    return d


def write_csv(d: Path, rows: list[dict], name: str = "manifest.csv") -> None:
    fields = list(dict.fromkeys(k for r in rows for k in r)) or ["path", "label"]
    with open(d / name, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


# ---------------------------------------------------------------- good deliveries

def test_csv_with_boxes_column(dataset, delivery, tmp_path):
    write_csv(delivery, [{"path": "imgs/hole_0.png", "label": "hole", "mask": "imgs/hole_0_mask.png",
                          "boxes": "[[1, 2, 10, 12], [0, 0, 32, 32]]"},
                         {"path": "imgs/hole_1.png", "label": "hole", "mask": "", "boxes": ""}])
    s = FolderGenerator(root=delivery).materialize(request(dataset), tmp_path / "cache")
    assert s.counts() == {"hole": 2} and s.items[0].mask.endswith("hole_0_mask.png") and s.items[1].mask is None
    assert s.meta["boxes"] == {str(delivery / "imgs/hole_0.png"): [[1, 2, 10, 12], [0, 0, 32, 32]]}
    assert not (tmp_path / "cache").exists()  # nothing copied, nothing cached


@pytest.mark.parametrize("wrap", [False, True])
def test_json_manifest(dataset, delivery, tmp_path, wrap):
    rows = [{"path": "imgs/hole_0.png", "label": "hole", "mask": "imgs/hole_0_mask.png", "boxes": [[4, 4, 8, 9]]},
            {"path": "imgs/hole_2.png", "label": "hole"}]
    (delivery / "manifest.json").write_text(json.dumps({"items": rows} if wrap else rows))
    s = FolderGenerator(root=delivery, manifest="manifest.json").materialize(request(dataset, {"hole": 2}), tmp_path)
    assert [Path(it.path).name for it in s.items] == ["hole_0.png", "hole_2.png"]
    assert s.meta["boxes"] == {str(delivery / "imgs/hole_0.png"): [[4, 4, 8, 9]]}
    write_csv(delivery, [{"path": r["path"], "label": r["label"], "mask": r.get("mask", "")} for r in rows])
    c = FolderGenerator(root=delivery).materialize(request(dataset, {"hole": 2}), tmp_path)
    assert c.content_sha256 == s.content_sha256  # the same files, whichever manifest lists them


# ---------------------------------------------------------------- malicious or broken rows, one message each

def _symlink_file(d: Path) -> str:
    os.symlink(d.parent / "outside.png", d / "imgs" / "link.png")
    return "imgs/link.png"


def _symlink_dir(d: Path) -> str:
    os.symlink(d.parent, d / "up")
    return "up/outside.png"


def _write(name: str, data: bytes):
    def make(d: Path) -> str:
        (d / "imgs" / name).write_bytes(data)
        return f"imgs/{name}"
    return make


def _bomb_png(d: Path) -> str:
    png_header_only(d / "imgs" / "bomb.png", 20000, 20000)
    return "imgs/bomb.png"


def _bomb_jpeg(d: Path) -> str:
    jpeg_claiming(d / "imgs" / "bomb.jpg", 20000, 20000)
    return "imgs/bomb.jpg"


def _big_jpeg(d: Path) -> str:  # 81M pixels: above our 64M limit, below PIL's own error threshold (128M)
    jpeg_claiming(d / "imgs" / "big.jpg", 9000, 9000)
    return "imgs/big.jpg"


def _truncated(d: Path) -> str:  # a valid header, then the pixel data stops: fails when decoded
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)).save(d / "imgs" / "cut.png")
    data = (d / "imgs" / "cut.png").read_bytes()
    (d / "imgs" / "cut.png").write_bytes(data[:int(len(data) * 0.7)])
    return "imgs/cut.png"


BAD = {  # case: (make the file -> manifest path, label, expected message)
    "traversal": (lambda d: "../outside.png", "hole", r"'\.\./outside\.png' contains '\.\.'; expected a path inside"),
    "absolute": (lambda d: str(d.parent / "outside.png"), "hole", r"outside\.png' is absolute; expected a path rel"),
    "symlink file out": (_symlink_file, "hole", r"'imgs/link\.png' is a symlink resolving to .*outside\.png, outside"),
    "symlink dir out": (_symlink_dir, "hole", r"'up/outside\.png' is a symlink resolving to .*, outside"),
    "pickle as png": (_write("fake.png", pickle.dumps({"x": 1}, protocol=4)), "hole",
                      r"'imgs/fake\.png': unreadable image: the bytes are a Python pickle, not PNG/JPEG/BMP; refused"),
    "zip as png": (_write("ckpt.png", b"PK\x03\x04" + b"\0" * 40), "hole", r"ckpt\.png'.*a zip archive"),
    "elf as png": (_write("run.png", b"\x7fELF" + b"\0" * 40), "hole", r"run\.png'.*an ELF executable"),
    "text as png": (_write("note.png", b"hello, not an image"), "hole", r"note\.png'.*unknown content \(first"),
    "20000x20000 png": (_bomb_png, "hole", r"bomb\.png': decompression bomb: 20000x20000 = 400000000 pixels; "
                                           r"refused before decoding"),
    "20000x20000 jpeg": (_bomb_jpeg, "hole", r"bomb\.jpg': decompression bomb .*400000000 pixels.*refused before"),
    "9000x9000 jpeg": (_big_jpeg, "hole", r"big\.jpg': decompression bomb: 9000x9000 = 81000000 pixels; refused"),
    "label not in taxonomy": (lambda d: "imgs/hole_1.png", "dent", r"has label 'dent'; expected one of \[.*'good'"),
    "missing file": (lambda d: "imgs/gone.png", "hole", r"'imgs/gone\.png' not found in"),
    "truncated png": (_truncated, "hole", r"cut\.png: unreadable image \(.*\); expected a valid PNG/JPEG/BMP"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_row_refused_with_its_own_message(dataset, delivery, tmp_path, case, monkeypatch):
    make, label, why = BAD[case]
    bad = make(delivery)
    write_csv(delivery, [{"path": "imgs/hole_0.png", "label": "hole"}, {"path": bad, "label": label}])
    if "0x" in case:  # size refusals must come before any of the big image's pixels is decoded
        load = ImageFile.ImageFile.load
        monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("pixels decoded")
                            if self.size[0] * self.size[1] > 10 ** 6 else load(self))
    with pytest.raises(DatasetError, match=why) as err:
        FolderGenerator(root=delivery).materialize(request(dataset), tmp_path / "cache")
    assert "manifest.csv:3" in str(err.value)  # names the manifest line (and, by the pattern, the file)
    assert not (tmp_path / "cache").exists()


def test_mask_problems(dataset, delivery, tmp_path):
    save(delivery / "imgs" / "small_mask.png", size=(16, 16))
    write_csv(delivery, [{"path": "imgs/hole_0.png", "label": "hole", "mask": "imgs/small_mask.png"}])
    with pytest.raises(DatasetError, match=r"mask 'imgs/small_mask.png' is \(16, 16\) but image 'imgs/hole_0.png' "
                                           r"is \(32, 32\); expected the same size"):
        FolderGenerator(root=delivery).materialize(request(dataset), tmp_path)
    (delivery / "imgs" / "m.png").write_bytes(pickle.dumps([1]))
    write_csv(delivery, [{"path": "imgs/hole_0.png", "label": "hole", "mask": "imgs/m.png"}])
    with pytest.raises(DatasetError, match=r"'imgs/m.png': unreadable image: the bytes are a Python pickle"):
        FolderGenerator(root=delivery).materialize(request(dataset), tmp_path)


@pytest.mark.parametrize("boxes,why", [("[[1, 2, 3]]", r"boxes \[\[1, 2, 3\]\]; expected \[\[x0, y0, x1, y1\]"),
                                       ("[[0, 0, 40, 10]]", r"box \[0, 0, 40, 10\] is empty or outside the 32x32"),
                                       ("[[5, 5, 5, 9]]", r"box \[5, 5, 5, 9\] is empty or outside"),
                                       ("1,2,3,4", r"boxes '1,2,3,4' is not JSON")])
def test_bad_boxes(dataset, delivery, tmp_path, boxes, why):
    write_csv(delivery, [{"path": "imgs/hole_0.png", "label": "hole", "boxes": boxes}])
    with pytest.raises(DatasetError, match=why):
        FolderGenerator(root=delivery).materialize(request(dataset), tmp_path)


JSON_BAD = {
    "not json": ('[{"path": ', r"manifest.json: invalid JSON"),
    "not a list": ('{"path": "imgs/hole_0.png"}', r"top level is not a list \(nor an object with 'items'\)"),
    "entry not object": ('["imgs/hole_0.png"]', r"items\[0\]: is str; expected an object with path, label"),
    "no label": ('[{"path": "imgs/hole_0.png"}]', r"items\[0\]: missing \['label'\]"),
    "path not string": ('[{"path": 3, "label": "hole"}]', r"items\[0\]: missing \[\] / non-string \['path'\]"),
    "boxes wrong": ('[{"path": "imgs/hole_0.png", "label": "hole", "boxes": [[true, 0, 1, 1]]}]',
                    r"items\[0\]: 'imgs/hole_0.png': boxes \[\[True"),
}


@pytest.mark.parametrize("case", list(JSON_BAD))
def test_bad_json_manifest(dataset, delivery, tmp_path, case):
    text, why = JSON_BAD[case]
    (delivery / "manifest.json").write_text(text)
    with pytest.raises(DatasetError, match=why):
        FolderGenerator(root=delivery, manifest="manifest.json").materialize(request(dataset), tmp_path)


def test_manifest_itself_checked(dataset, delivery, tmp_path):
    write_csv(tmp_path, [{"path": "imgs/hole_0.png", "label": "hole"}], name="elsewhere.csv")
    os.symlink(tmp_path / "elsewhere.csv", delivery / "manifest.csv")
    with pytest.raises(DatasetError, match=r"manifest: 'manifest.csv' is a symlink resolving to .*elsewhere.csv"):
        FolderGenerator(root=delivery).materialize(request(dataset), tmp_path)
    with pytest.raises(DatasetError, match=r"manifest: '\.\./elsewhere.csv' contains '\.\.'"):
        FolderGenerator(root=delivery, manifest="../elsewhere.csv").materialize(request(dataset), tmp_path)
    (delivery / "manifest.yaml").write_text("- a")
    with pytest.raises(DatasetError, match=r"unknown manifest type '.yaml'; expected .csv or .json"):
        FolderGenerator(root=delivery, manifest="manifest.yaml").materialize(request(dataset), tmp_path)


def test_pixel_limit_is_configurable(dataset, delivery, tmp_path):
    write_csv(delivery, [{"path": "imgs/hole_0.png", "label": "hole"}])
    with pytest.raises(DatasetError, match=r"decompression bomb: 32x32 = 1024 pixels; .*at most 1000 pixels"):
        FolderGenerator(root=delivery, max_pixels=1000).materialize(request(dataset), tmp_path)
    assert len(FolderGenerator(root=delivery, max_pixels=1024).materialize(request(dataset), tmp_path).items) == 1


# ---------------------------------------------------------------- acceptance 3: through scarce-run, nothing written

ACCEPTANCE = ["traversal", "symlink file out", "pickle as png", "20000x20000 png", "label not in taxonomy"]
FAST = ["dataset=demo", "trainer=featurebank", "model=timm", "model.name=resnet10t", "model.image_size=32",
        "trainer.views=1", "trainer.max_steps=5", "synthetic.volume=2", "threads=1", "seed=0", "arm=synthetic",
        "generator=folder", "study=vendor"]


@pytest.mark.parametrize("case", ACCEPTANCE)
def test_malicious_delivery_refused_by_run_nothing_written(tmp_path, case):
    from benchmark.run import run

    d = tmp_path / "delivery"
    for i in range(2):
        save(d / "imgs" / f"pit_{i}.png", size=(64, 64), value=100 + i)
    save(tmp_path / "outside.png", size=(64, 64))
    make, label, why = BAD[case]
    bad = make(d) if label != "dent" else "imgs/pit_1.png"
    write_csv(d, [{"path": "imgs/pit_0.png", "label": "pit"},
                  {"path": bad, "label": label if label != "hole" else "pit"},
                  {"path": "imgs/pit_1.png", "label": "pit"}])
    cfg = compose_config([*FAST, f"generator.root={d}", f"results_root={tmp_path / 'results'}",
                          f"cache_root={tmp_path / 'cache'}"])
    with pytest.raises(DatasetError, match=why):
        run(cfg)
    written = [p for p in (tmp_path / "results").rglob("*") if p.is_file()]
    assert written == []  # no record, no declared cell, no temp file (run.py only made the empty records/ dir)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*"))
    # control: the same delivery without the bad row runs and writes its record
    write_csv(d, [{"path": "imgs/pit_0.png", "label": "pit"}, {"path": "imgs/pit_1.png", "label": "pit"}])
    if case == ACCEPTANCE[0]:  # once is enough to show the path works (a featurebank run costs seconds)
        rec = run(cfg)
        assert rec["status"] == "ok" and rec["added_counts"]["pit"] == 2
        records = (tmp_path / "results" / "vendor" / "records").glob("*.json")
        assert [p.name for p in records] == [f"{rec['run_id']}.json"]
