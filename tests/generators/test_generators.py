"""Generators: cut-paste (masks -> pasted defects) and folder (a vendor delivery, validated, never copied)."""
from __future__ import annotations

import csv
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.data.base import Dataset, DatasetError, Item
from benchmark.generators import GenRequest, create_generator, list_generators
from benchmark.generators.base import content_hash, sha256_file
from benchmark.generators.cutpaste import CutPaste, feathered_alpha
from benchmark.generators.folder import FolderGenerator

CLASSES = ["good", "hole", "scratch"]


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _noise(rng, h: int, w: int) -> np.ndarray:
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)  # (H, W, 3): any paste changes some pixels


def _defect(root: Path, rng, rel: str, hw: tuple[int, int], mask: np.ndarray | None, colour) -> Item:
    """A noisy image with a solid-coloured defect under `mask` (H, W) bool; writes `<stem>_mask.png`."""
    img = _noise(rng, *hw)
    rel_mask = None
    if mask is not None:
        img[mask] = colour
        rel_mask = rel.replace(".png", "_mask.png")
        _save(root / rel_mask, mask.astype(np.uint8) * 255)
    _save(root / rel, img)
    return Item(rel, rel.split("/")[0], rel_mask)


def _disc(h: int, w: int, cy: int, cx: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def _line(h: int, w: int, width: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[h // 2:h // 2 + width, 5:w - 5] = True  # a thin scratch that erosion by `feather` would erase
    return m


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    root, rng = tmp_path / "ds", np.random.default_rng(0)
    items = []
    for i, (h, w) in enumerate([(48, 48), (48, 48), (40, 64)]):  # differently sized targets
        _save(root / f"good/g{i}.png", _noise(rng, h, w))
        items.append(Item(f"good/g{i}.png", "good"))
    items.append(_defect(root, rng, "hole/h0.png", (48, 48), _disc(48, 48, 20, 24, 8), (255, 0, 0)))
    items.append(_defect(root, rng, "hole/h1.png", (96, 96), _disc(96, 96, 50, 40, 14), (0, 255, 0)))
    items.append(_defect(root, rng, "hole/h2.png", (48, 48), None, 0))  # no mask: never a source
    items.append(_defect(root, rng, "scratch/s0.png", (40, 56), _line(40, 56, 2), (0, 0, 255)))
    items.append(_defect(root, rng, "scratch/s1.png", (48, 48), np.zeros((48, 48), bool), 0))  # empty mask
    return Dataset("tiny", root, CLASSES, "good", items)


def _request(ds: Dataset, counts: dict[str, int], seed: int = 0) -> GenRequest:
    sha = {it.path: sha256_file(ds.abspath(it.path)) for it in ds.items}
    return GenRequest(ds, list(ds.items), sha, counts, seed)


def _rgb(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


# ---------------------------------------------------------------- cutpaste


def test_registered():
    assert {"cutpaste", "folder"} <= set(list_generators())
    assert isinstance(create_generator("cutpaste", feather=1), CutPaste)


def test_cutpaste_counts(dataset, tmp_path):
    s = CutPaste().materialize(_request(dataset, {"hole": 4, "scratch": 3, "good": 0}), tmp_path / "cache")
    assert s.counts() == {"hole": 4, "scratch": 3}
    for it in s.items:
        assert Path(it.path).is_absolute() and Path(it.path).is_file() and Path(it.mask).is_file()
        assert re.fullmatch(rf"{it.label}_\d{{5}}\.png", Path(it.path).name)
    assert s.content_sha256 == content_hash(s.items)


@pytest.mark.parametrize("config", [{}, {"scale": (3.0, 3.0)}, {"feather": 0, "rotate": False, "flip": False}])
def test_cutpaste_changes_only_masked_pixels(dataset, tmp_path, config):
    """Every pixel that differs from the target nominal image lies inside the output mask."""
    s = CutPaste(**config).materialize(_request(dataset, {"hole": 6, "scratch": 4}), tmp_path / "cache")
    with open(s.root / "provenance.csv", newline="") as f:
        rows = {r["path"]: r for r in csv.DictReader(f)}
    assert len(rows) == len(s.items)
    for it in s.items:
        row = rows[str(Path(it.path).relative_to(s.root).as_posix())]
        assert row["target"].startswith("good/") and row["source"].startswith(f"{it.label}/")
        target, out = _rgb(dataset.abspath(row["target"])), _rgb(it.path)
        m_img = Image.open(it.mask)
        assert m_img.mode == "L" and set(np.unique(np.asarray(m_img))) <= {0, 255}
        mask = np.asarray(m_img) > 0
        assert out.shape == target.shape and mask.shape == target.shape[:2]
        diff = (out != target).any(axis=2)
        assert mask.any() and diff.any()
        assert not (diff & ~mask).any(), f"{it.path}: pixels changed outside the mask"
        x0, y0, x1, y1 = (int(row[k]) for k in ("x0", "y0", "x1", "y1"))
        assert 0 <= x0 < x1 <= target.shape[1] and 0 <= y0 < y1 <= target.shape[0]
        box = np.zeros_like(mask)
        box[y0:y1, x0:x1] = True
        assert not (mask & ~box).any()


def test_cutpaste_deterministic(dataset, tmp_path):
    req = _request(dataset, {"hole": 3, "scratch": 2})
    a = CutPaste().materialize(req, tmp_path / "c1")
    b = CutPaste().materialize(req, tmp_path / "c2")
    assert a.key == b.key and a.content_sha256 == b.content_sha256
    assert (a.root / "provenance.csv").read_bytes() == (b.root / "provenance.csv").read_bytes()
    other = CutPaste().materialize(_request(dataset, {"hole": 3, "scratch": 2}, seed=1), tmp_path / "c1")
    assert other.key != a.key and other.content_sha256 != a.content_sha256


def test_cutpaste_cache_reused(dataset, tmp_path, monkeypatch):
    gen, calls = CutPaste(), []
    real = gen.generate
    monkeypatch.setattr(gen, "generate", lambda req, out: calls.append(1) or real(req, out))
    req = _request(dataset, {"hole": 2})
    first = gen.materialize(req, tmp_path / "cache")
    second = gen.materialize(req, tmp_path / "cache")
    assert len(calls) == 1 and first.content_sha256 == second.content_sha256
    assert [d.name for d in (tmp_path / "cache").iterdir()] == [first.root.name]  # no temp dirs left


def test_cutpaste_needs_masks(dataset, tmp_path):
    no_masks = [Item(it.path, it.label) if it.label == "hole" else it for it in dataset.items]
    ds = Dataset("nomask", dataset.root, CLASSES, "good", no_masks)
    with pytest.raises(DatasetError, match=r"'hole'.*cutpaste needs masks"):
        CutPaste().generate(_request(ds, {"hole": 1}), tmp_path / "out")
    only_empty = [it for it in dataset.items if it.path != "scratch/s0.png"]  # s1's mask is all zero
    ds = Dataset("empty", dataset.root, CLASSES, "good", only_empty)
    with pytest.raises(DatasetError, match=r"'scratch'.*cutpaste needs masks"):
        CutPaste().generate(_request(ds, {"scratch": 1}), tmp_path / "out")


def test_cutpaste_rejects_nominal_and_bad_config(dataset, tmp_path):
    with pytest.raises(DatasetError, match="'good'"):
        CutPaste().generate(_request(dataset, {"good": 1}), tmp_path / "out")
    with pytest.raises(ValueError, match="scale"):
        CutPaste(scale=(1.5, 0.5))


def test_feathered_alpha_inside_mask():
    mask = _disc(30, 30, 15, 15, 9) | _line(30, 30, 1)  # (30, 30): a blob plus a 1-px scratch
    alpha = feathered_alpha(mask, 2)
    assert alpha.dtype == np.uint8 and alpha.max() == 255
    assert not alpha[~mask].any()
    # a rotated 2-px scratch: erosion would leave a few dots; the alpha must still cover the line
    diag = np.asarray(Image.fromarray(_line(30, 30, 2).astype(np.uint8) * 255).rotate(30)) > 127
    assert (feathered_alpha(diag, 2) > 0).sum() >= 0.9 * diag.sum()
    assert feathered_alpha(_line(30, 30, 1), 3).any()


# ---------------------------------------------------------------- folder


def _write_manifest(root: Path, rows: list[tuple], header=("path", "label", "mask")) -> None:
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture
def delivery(tmp_path: Path) -> Path:
    root, rng = tmp_path / "delivery", np.random.default_rng(1)
    for name in ["hole_0", "hole_1", "hole_2", "scratch_0", "scratch_1"]:
        _save(root / "imgs" / f"{name}.png", _noise(rng, 32, 32))
    _save(root / "imgs" / "hole_0_mask.png", _disc(32, 32, 16, 16, 5).astype(np.uint8) * 255)
    _save(tmp_path / "x.png", _noise(rng, 32, 32))  # a valid image outside the delivery
    rows = [("imgs/hole_0.png", "hole", "imgs/hole_0_mask.png"), ("imgs/scratch_0.png", "scratch", ""),
            ("imgs/hole_1.png", "hole", ""), ("imgs/scratch_1.png", "scratch", ""), ("imgs/hole_2.png", "hole", "")]
    _write_manifest(root, rows)
    return root


def test_folder_accepts_good_delivery(dataset, delivery, tmp_path):
    gen = create_generator("folder", root=str(delivery))
    assert isinstance(gen, FolderGenerator)
    s = gen.materialize(_request(dataset, {}), tmp_path / "cache")
    assert not (tmp_path / "cache").exists()  # nothing copied
    assert len(s.items) == 5 and s.counts() == {"hole": 3, "scratch": 2}
    for it in s.items:
        assert Path(it.path).is_absolute() and Path(it.path).is_file()
        assert Path(it.path).is_relative_to(delivery.resolve())
    assert s.items[0].mask and Path(s.items[0].mask).is_absolute()
    assert s.content_sha256 == content_hash(s.items) and len(s.key) == 20
    assert gen.generate(_request(dataset, {}), tmp_path / "unused")[0] == Item(
        "imgs/hole_0.png", "hole", "imgs/hole_0_mask.png")  # relative to the delivery root
    # the key covers file bytes: a re-delivered image with the same name changes it
    _save(delivery / "imgs" / "hole_2.png", np.zeros((32, 32, 3), np.uint8))
    assert gen.materialize(_request(dataset, {}), tmp_path / "cache").key != s.key


def _bad_symlink(d: Path) -> str:
    os.symlink(d.parent / "x.png", d / "imgs" / "link.png")
    return "imgs/link.png"


def _bad_pickle(d: Path) -> str:
    (d / "imgs" / "fake.png").write_bytes(pickle.dumps({"not": "an image"}))
    return "imgs/fake.png"


BAD = {
    "dotdot": (lambda d: "../x.png", "hole", "'..'"),
    "absolute": (lambda d: str(d.parent / "x.png"), "hole", "absolute"),
    "symlink": (_bad_symlink, "hole", "outside"),
    "label": (lambda d: "imgs/hole_1.png", "dent", "label 'dent'"),
    "pickle": (_bad_pickle, "hole", "unreadable image"),
    "missing": (lambda d: "imgs/gone.png", "hole", "not found"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_folder_rejects_bad_rows(dataset, delivery, tmp_path, case):
    make, label, why = BAD[case]
    bad = make(delivery)
    _write_manifest(delivery, [("imgs/hole_0.png", "hole", ""), (bad, label, "")])
    with pytest.raises(DatasetError, match=why) as err:
        FolderGenerator(root=delivery).materialize(_request(dataset, {}), tmp_path / "cache")
    msg = str(err.value)
    assert Path(bad).name in msg and "manifest.csv:3" in msg  # names the file and the manifest line


def test_folder_rejects_bad_manifest(dataset, delivery, tmp_path):
    gen = FolderGenerator(root=delivery, manifest="other.csv")
    with pytest.raises(DatasetError, match="other.csv.*manifest not found"):
        gen.materialize(_request(dataset, {}), tmp_path)
    _write_manifest(delivery, [("imgs/hole_0.png",)], header=("file",))
    with pytest.raises(DatasetError, match=r"manifest.csv.*lacks \['path', 'label'\]"):
        FolderGenerator(root=delivery).materialize(_request(dataset, {}), tmp_path)
    with pytest.raises(ValueError, match="root"):
        FolderGenerator()


def test_folder_count_selection(dataset, delivery, tmp_path):
    gen = FolderGenerator(root=delivery)
    s = gen.materialize(_request(dataset, {"hole": 2, "scratch": 1}), tmp_path)
    assert [Path(it.path).name for it in s.items] == ["hole_0.png", "scratch_0.png", "hole_1.png"]
    s = gen.materialize(_request(dataset, {"hole": 1, "scratch": 0}), tmp_path)
    assert [Path(it.path).name for it in s.items] == ["hole_0.png"]
    with pytest.raises(DatasetError, match="'scratch': requested 5 images but the delivery has 2"):
        gen.materialize(_request(dataset, {"scratch": 5}), tmp_path)
