"""Dataset adapters: imagefolder, magnetic_tile (fixtures + the real shared copy), and the committed demo."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark import PROJECT_ROOT
from benchmark.data import DatasetError, create_dataset, list_datasets, load_mask, load_rgb
from benchmark.data import demo as demo_mod
from benchmark.data import magnetic_tile as mt_mod

SHARED_MT = PROJECT_ROOT.parent / "shared" / "data" / "magnetic_tile"
DEMO_ROOT = PROJECT_ROOT / "datasets" / "demo"
MT_COUNTS = {"blowhole": 115, "break": 85, "crack": 57, "fray": 32, "free": 952, "uneven": 103}


def write_image(path: Path, value: int = 128, size: int = 8, mode: str = "L") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (size, size), value if mode == "L" else (value,) * 3).save(path)
    return path


def make_imagefolder(root: Path) -> Path:
    write_image(root / "good" / "a.png")
    write_image(root / "good" / "b.JPG", mode="RGB")
    write_image(root / "scratch" / "s1.Jpeg", mode="RGB")
    write_image(root / "scratch" / "s2.bmp")
    (root / "scratch" / ".DS_Store").write_bytes(b"hidden files are ignored")
    return root


def make_magnetic_tile(root: Path, counts: dict[str, int]) -> Path:
    for cls, n in counts.items():
        imgs = root / f"MT_{cls}" / "Imgs"
        imgs.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            write_image(imgs / f"exp1_num_{i}.jpg")
            write_image(imgs / f"exp1_num_{i}.png", value=200)
    root.mkdir(parents=True, exist_ok=True)
    (root / "SOURCE.md").write_text("not a class folder\n")
    return root


# ------------------------------------------------------------------------------------ imagefolder
def test_imagefolder_reads_classes_items_and_masks(tmp_path):
    root = make_imagefolder(tmp_path / "data")
    write_image(tmp_path / "masks" / "scratch" / "s1.png", value=255)  # s2 has no mask: allowed
    ds = create_dataset("imagefolder", root=root, masks=tmp_path / "masks")
    assert ds.classes == ["good", "scratch"] and ds.nominal == "good"
    assert ds.counts() == {"good": 2, "scratch": 2}
    by = ds.by_path()
    assert sorted(by) == ["good/a.png", "good/b.JPG", "scratch/s1.Jpeg", "scratch/s2.bmp"]
    assert by["scratch/s2.bmp"].mask is None and by["good/a.png"].mask is None
    assert load_mask(ds.abspath(by["scratch/s1.Jpeg"].mask)).all()
    assert load_rgb(ds.abspath("good/a.png")).size == (8, 8)


def test_imagefolder_relative_root_and_custom_nominal(tmp_path, monkeypatch):
    make_imagefolder(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    ds = create_dataset("imagefolder", root="data", nominal="scratch")
    assert ds.root == (tmp_path / "data").resolve() and ds.nominal == "scratch"


@pytest.mark.parametrize("case, expected", [
    ("missing", "does not exist"), ("file", "not a directory"), ("no_classes", "no class folders"),
    ("empty_class", "has no images"), ("bad_ext", "notes.txt"), ("no_nominal", "nominal class 'good'"),
])
def test_imagefolder_errors(tmp_path, case, expected):
    root = tmp_path / "data"
    if case == "file":
        root.write_text("x")
    elif case == "no_classes":
        root.mkdir()
        (root / "stray.png").write_bytes(b"")
    elif case == "empty_class":
        make_imagefolder(root)
        (root / "hole").mkdir()
    elif case == "bad_ext":
        make_imagefolder(root)
        (root / "good" / "notes.txt").write_text("x")
    elif case == "no_nominal":
        write_image(root / "ok" / "a.png")
    with pytest.raises(DatasetError, match=re.escape(expected)) as e:
        create_dataset("imagefolder", root=root)
    assert str(root.resolve()) in str(e.value)  # resolved: /tmp may be a symlink (macOS)
    if case == "bad_ext":
        assert ".png" in str(e.value) and ".bmp" in str(e.value)  # says what is accepted


def test_imagefolder_needs_root():
    with pytest.raises(DatasetError, match="dataset.root"):
        create_dataset("imagefolder")


# ------------------------------------------------------------------------------------ magnetic_tile
def test_magnetic_tile_fixture_layout(tmp_path):
    root = make_magnetic_tile(tmp_path / "mt", {"Blowhole": 2, "Free": 3, "Uneven": 1})
    (root / "MT_Free" / "Imgs" / "exp1_num_0.png").unlink()  # an image without mask -> None
    ds = create_dataset("magnetic_tile", root=root)
    assert ds.classes == ["blowhole", "free", "uneven"] and ds.nominal == "free"
    assert ds.counts() == {"blowhole": 2, "free": 3, "uneven": 1}
    by = ds.by_path()
    assert by["MT_Blowhole/Imgs/exp1_num_1.jpg"].mask == "MT_Blowhole/Imgs/exp1_num_1.png"
    assert by["MT_Free/Imgs/exp1_num_0.jpg"].mask is None
    assert load_mask(ds.abspath(by["MT_Blowhole/Imgs/exp1_num_1.jpg"].mask)).all()


@pytest.mark.parametrize("case, expected", [
    ("no_mt", "no MT_* folders"), ("no_imgs", "no Imgs/ folder"), ("empty", "no images"),
    ("bad_ext", "notes.txt"), ("orphan_mask", "mask without an image"), ("no_free", "MT_Free"),
])
def test_magnetic_tile_errors(tmp_path, case, expected):
    root = tmp_path / "mt"
    counts = {} if case == "no_mt" else {"Crack": 1} if case == "no_free" else {"Crack": 1, "Free": 1}
    make_magnetic_tile(root, counts)
    culprit = root
    if case == "no_imgs":
        culprit = root / "MT_Break"
        culprit.mkdir()
    elif case == "empty":
        culprit = root / "MT_Fray" / "Imgs"
        culprit.mkdir(parents=True)
    elif case == "bad_ext":
        culprit = root / "MT_Crack" / "Imgs" / "notes.txt"
        culprit.write_text("x")
    elif case == "orphan_mask":
        culprit = write_image(root / "MT_Crack" / "Imgs" / "lonely.png")
    with pytest.raises(DatasetError, match=re.escape(expected)) as e:
        create_dataset("magnetic_tile", root=root)
    assert str(culprit.resolve()) in str(e.value)


def test_magnetic_tile_default_root_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(mt_mod, "default_root", lambda: tmp_path / "nowhere")
    with pytest.raises(DatasetError, match=re.escape("dataset.root=<dir>")):
        create_dataset("magnetic_tile")


def test_unreadable_image_names_the_file(tmp_path):
    root = make_magnetic_tile(tmp_path / "mt", {"Crack": 1, "Free": 1})
    bad = root / "MT_Crack" / "Imgs" / "exp1_num_0.jpg"
    bad.write_bytes(b"this is not a jpeg")
    ds = create_dataset("magnetic_tile", root=root)  # listing does not decode; loading must fail clearly
    with pytest.raises(DatasetError, match="unreadable image") as e:
        load_rgb(ds.abspath("MT_Crack/Imgs/exp1_num_0.jpg"))
    assert str(bad.resolve()) in str(e.value)


def test_unknown_dataset_lists_known_names():
    with pytest.raises(KeyError) as e:
        create_dataset("no_such_dataset")
    for name in ("demo", "imagefolder", "magnetic_tile"):
        assert name in str(e.value) and name in list_datasets()


@pytest.mark.shared_data
def test_magnetic_tile_real_shared_copy():
    if not SHARED_MT.is_dir():
        pytest.skip(f"{SHARED_MT} is absent")
    ds = create_dataset("magnetic_tile")
    assert ds.counts() == MT_COUNTS and ds.nominal == "free"
    assert all(it.mask is not None for it in ds.items)
    first = ds.items[0]
    img, mask = load_rgb(ds.abspath(first.path)), load_mask(ds.abspath(first.mask))
    assert mask.shape == (img.size[1], img.size[0])


# ------------------------------------------------------------------------------------ demo
def readme_counts(readme: Path) -> dict[str, int]:
    """Rows like `| pit (rare) | 30 | ...` (bold allowed) of the README's class table."""
    out = {}
    for line in readme.read_text().splitlines():
        m = re.match(r"\|\s*\**(\w+)\**[^|]*\|\s*\**(\d+)\**\s*\|", line)
        if m and m.group(1) != "total":
            out[m.group(1)] = int(m.group(2))
    return out


def decoded_tree(root: Path) -> dict[str, np.ndarray]:
    return {p.relative_to(root).as_posix(): np.asarray(Image.open(p))
            for p in sorted(root.glob("*/*/*.png"))}


def test_demo_committed_counts_match_readme():
    ds = create_dataset("demo")
    assert ds.nominal == "good" and ds.classes == sorted(demo_mod.DEMO_COUNTS)
    assert ds.counts() == demo_mod.DEMO_COUNTS == readme_counts(DEMO_ROOT / "README.md")
    assert min(ds.counts().values()) == ds.counts()["pit"]  # pit is the scarce class


def test_demo_rerender_is_pixel_identical(tmp_path):
    counts = demo_mod.render_demo(tmp_path, seed=0)
    assert counts == demo_mod.DEMO_COUNTS
    fresh, committed = decoded_tree(tmp_path), decoded_tree(DEMO_ROOT)
    assert sorted(fresh) == sorted(committed)
    for name, arr in committed.items():
        assert arr.dtype == np.uint8 and np.array_equal(arr, fresh[name]), name


def test_demo_masks_nonempty_and_in_bounds():
    ds = create_dataset("demo")
    for it in ds.items:
        img = np.asarray(Image.open(ds.abspath(it.path)))
        assert img.shape == (demo_mod.SIZE, demo_mod.SIZE), it.path
        if it.label == "good":
            assert it.mask is None, it.path
            continue
        raw = np.asarray(Image.open(ds.abspath(it.mask)))
        assert raw.shape == img.shape and set(np.unique(raw)) <= {0, 255}, it.mask
        assert load_mask(ds.abspath(it.mask)).any(), it.mask


def test_demo_missing_images_says_how_to_render(tmp_path):
    with pytest.raises(DatasetError, match=re.escape("python -m benchmark.data.demo")):
        create_dataset("demo", root=tmp_path)


def test_demo_cli_renders(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "benchmark.data.demo", "--out", str(out), "--seed", "1"],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert create_dataset("demo", root=out).counts() == demo_mod.DEMO_COUNTS
