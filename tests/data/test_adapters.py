"""Upstream-layout adapters (MVTec AD, RIAWELC, PlantVillage, Marble, NEU-CLS, KolektorSDD) on tiny fixture
trees that mirror the upstream names, extensions and nesting; plus dataset availability for experiments."""
from __future__ import annotations

import csv
import itertools
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark import PROJECT_ROOT
from benchmark.data import DatasetError, create_dataset, list_datasets, load_mask
from benchmark.data import fetch as fetch_mod
from benchmark.data.fetch import DatasetMissing
from benchmark.experiments import TABLE1, dataset_available, split_command, table1_manifest, \
    write_skip_note
from benchmark.report.notrun import load_skipped

_values = itertools.count(1)


def img(path: Path, value: int | None = None, size: int = 8) -> Path:
    """A small image with distinct content (adapters drop byte-identical duplicates)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if value is None:  # distinct content: (v % 251, v // 251) in the first two pixels
        v = next(_values)
        arr = np.full((size, size), v % 251, np.uint8)
        arr[0, 0] = (v // 251) % 251
    else:
        arr = np.full((size, size), value, np.uint8)
    Image.fromarray(arr).convert("RGB" if path.suffix.lower() in (".jpg", ".jpeg") else "L").save(path)
    return path


def raises(expected: str, name: str, **kwargs) -> str:
    """The DatasetError message, checked to contain `expected` (literal)."""
    with pytest.raises(DatasetError, match=re.escape(expected)) as e:
        create_dataset(name, **kwargs)
    return str(e.value)


# ------------------------------------------------------------------------------------ MVTec AD
def make_mvtec(root: Path, category: str = "pill", defects: dict[str, int] | None = None) -> Path:
    defects = defects or {"crack": 2, "faulty_imprint": 1}
    cat = root / category
    for i in range(3):
        img(cat / "train" / "good" / f"{i:03d}.png")
    img(cat / "test" / "good" / "000.png")
    for d, n in defects.items():
        for i in range(n):
            img(cat / "test" / d / f"{i:03d}.png")
            img(cat / "ground_truth" / d / f"{i:03d}_mask.png", value=255)
    (root / "license.txt").write_text("upstream licence\n")  # upstream files at the root are ignored
    (root / "readme.txt").write_text("upstream readme\n")
    return root


@pytest.mark.parametrize("name, kwargs", [("mvtec_ad", {"category": "pill"}), ("mvtec_ad_pill", {})])
def test_mvtec_ad_pools_train_and_test(tmp_path, name, kwargs):
    root = make_mvtec(tmp_path / "mvtec")
    make_mvtec(root, "capsule", {"crack": 1})
    ds = create_dataset(name, root=root, **kwargs)
    assert ds.name == "mvtec_ad_pill" and ds.root == (root / "pill").resolve() and ds.nominal == "good"
    assert ds.classes == ["crack", "faulty_imprint", "good"]
    assert ds.counts() == {"crack": 2, "faulty_imprint": 1, "good": 4}  # 3 train/good + 1 test/good
    by = ds.by_path()
    assert by["test/crack/001.png"].mask == "ground_truth/crack/001_mask.png"
    assert by["train/good/000.png"].mask is None and by["test/good/000.png"].mask is None
    assert load_mask(ds.abspath(by["test/crack/001.png"].mask)).all()


def test_mvtec_ad_registers_every_category():
    for cat in ("pill", "capsule", "zipper", "metal_nut", "wood", "bottle"):
        assert f"mvtec_ad_{cat}" in list_datasets()


@pytest.mark.parametrize("case, expected", [
    ("no_category", "no pill/ folder"), ("category_as_root", "pass its parent"),
    ("extra_train", "expected exactly one folder good/"), ("no_mask", "_mask.png"),
    ("no_test", "expected test/<defect_type>/<id>.png"), ("bad_ext", "notes.txt"),
])
def test_mvtec_ad_layout_errors(tmp_path, case, expected):
    root = make_mvtec(tmp_path / "mvtec", "capsule" if case == "no_category" else "pill")
    pill = root / "pill"
    if case == "extra_train":
        img(pill / "train" / "crack" / "000.png")
    elif case == "no_mask":
        (pill / "ground_truth" / "crack" / "001_mask.png").unlink()
    elif case == "no_test":
        shutil.rmtree(pill / "test")
    elif case == "bad_ext":
        (pill / "test" / "crack" / "notes.txt").write_text("x")
    kwargs = {"root": pill if case == "category_as_root" else root, "category": "pill"}
    msg = raises(expected, "mvtec_ad", **kwargs)
    if case != "bad_ext":
        assert "expected" in msg and "found" in msg, msg
    if case == "no_category":
        assert "capsule/" in msg  # says what was found


def test_mvtec_ad_category_is_checked(tmp_path):
    make_mvtec(tmp_path / "mvtec")
    raises("expected one of bottle", "mvtec_ad", root=tmp_path / "mvtec")
    raises("contradicts the dataset name", "mvtec_ad_pill", root=tmp_path / "mvtec", category="wood")


# ------------------------------------------------------------------------------------ RIAWELC
def make_riawelc(root: Path, folders=("CR", "LP", "ND", "PO"), subsets=("training", "validation", "testing")):
    for s in subsets:
        for f in folders:
            for i in range(2):
                img(root / s / f / f"bam5_Img{i}_A80_S1_[{i}][4].png")
    return root


def test_riawelc_pools_subsets_and_maps_codes(tmp_path):
    root = make_riawelc(tmp_path / "riawelc")
    ds = create_dataset("riawelc", root=root)
    assert ds.classes == ["crack", "lack_of_penetration", "no_defect", "porosity"] and ds.nominal == "no_defect"
    assert ds.counts() == {c: 6 for c in ds.classes}
    assert "testing/PO/bam5_Img0_A80_S1_[0][4].png" in ds.by_path()
    assert ds.meta["subsets"] == ["training", "validation", "testing"] and ds.meta["dropped_duplicates"] == 0


def test_riawelc_class_folders_at_root_and_duplicates_dropped(tmp_path):
    root = make_riawelc(tmp_path / "riawelc", subsets=("",))
    shutil.copy(root / "PO" / "bam5_Img0_A80_S1_[0][4].png", root / "PO" / "copy.png")  # same label: keep 1
    shutil.copy(root / "CR" / "bam5_Img0_A80_S1_[0][4].png", root / "LP" / "clash.png")  # label clash: drop both
    ds = create_dataset("riawelc", root=root)
    assert ds.counts() == {"crack": 1, "lack_of_penetration": 2, "no_defect": 2, "porosity": 2}
    assert ds.meta["dropped_duplicates"] == 1 and ds.meta["dropped_label_conflicts"] == 2
    assert create_dataset("riawelc", root=root, dedupe=False).counts()["porosity"] == 3


def test_riawelc_upstream_italian_folders_need_an_explicit_mapping(tmp_path):
    root = make_riawelc(tmp_path / "riawelc", folders=("Difetto1", "Difetto2", "Difetto4", "NoDifetto"))
    raises("dataset.folder_classes", "riawelc", root=root)
    mapping = {"Difetto1": "crack", "Difetto2": "porosity", "Difetto4": "lack_of_penetration",
               "NoDifetto": "no_defect"}
    ds = create_dataset("riawelc", root=root, folder_classes=mapping)
    assert ds.counts() == {c: 6 for c in ds.classes}
    assert ds.by_path()["training/Difetto4/bam5_Img0_A80_S1_[0][4].png"].label == "lack_of_penetration"
    raises("distinct class", "riawelc", root=root, folder_classes={**mapping, "Difetto4": "crack"})


@pytest.mark.parametrize("case, expected", [
    ("unknown_folder", "unexpected folder"), ("missing_class", "no images for class(es) ['porosity']"),
    ("wrapped", "unexpected folder"),
])
def test_riawelc_layout_errors(tmp_path, case, expected):
    root = tmp_path / "riawelc"
    if case == "unknown_folder":
        make_riawelc(root)
        img(root / "training" / "SL" / "x.png")
    elif case == "missing_class":
        make_riawelc(root, folders=("CR", "LP", "ND"))
    else:  # the archive's own wrapper folder left in place
        make_riawelc(root / "Dataset_partitioned")
    msg = raises(expected, "riawelc", root=root)
    assert "expected" in msg and "found" in msg, msg


# ------------------------------------------------------------------------------------ PlantVillage
def make_plantvillage(root: Path) -> Path:
    for folder, n in {"Tomato___Late_blight": 2, "Tomato___healthy": 3, "Tomato___Bacterial_spot": 1,
                      "Tomato___Spider_mites Two-spotted_spider_mite": 1, "Potato___Early_blight": 1,
                      "Potato___healthy": 1, "Corn_(maize)___Common_rust_": 1}.items():
        for i in range(n):
            img(root / folder / f"0a{i}f-4c1e___RS_Late.B {5000 + i}.{'JPG' if i % 2 == 0 else 'jpg'}")
    return root


def test_plantvillage_filters_crop_and_names_diseases(tmp_path):
    root = make_plantvillage(tmp_path / "color")
    ds = create_dataset("plantvillage", root=root, crop="tomato")
    assert ds.name == "plantvillage_tomato" and ds.nominal == "healthy"
    assert ds.classes == ["bacterial_spot", "healthy", "late_blight", "spider_mites_two-spotted_spider_mite"]
    assert ds.counts()["late_blight"] == 2 and ds.counts()["healthy"] == 3
    assert all(it.path.startswith("Tomato___") for it in ds.items)
    assert create_dataset("plantvillage", root=root, crop="Potato").classes == ["early_blight", "healthy"]


@pytest.mark.parametrize("case, expected", [
    ("no_crop", "crops found: corn_maize, potato, tomato"), ("raw_root", "expected only <Crop>___<Disease>"),
    ("no_healthy", "no Tomato___healthy folder"), ("only_healthy", "at least one disease"),
])
def test_plantvillage_layout_errors(tmp_path, case, expected):
    root = make_plantvillage(tmp_path / "PlantVillage-Dataset" / "raw" / "color")
    crop = "grape" if case == "no_crop" else "tomato"
    if case == "raw_root":
        root = root.parent  # raw/ holds color/, not the class folders
    elif case == "no_healthy":
        shutil.rmtree(root / "Tomato___healthy")
    elif case == "only_healthy":
        for p in root.glob("Tomato___[!h]*"):
            shutil.rmtree(p)
    msg = raises(expected, "plantvillage", root=root, crop=crop)
    assert "expected" in msg, msg
    if case == "raw_root":
        assert "found: color/" in msg


# ------------------------------------------------------------------------------------ Marble
def make_marble(root: Path) -> Path:
    for subset, n in (("train", 2), ("test", 1)):
        for cls in ("good", "crack", "joint", "dot"):
            for i in range(n):
                img(root / subset / cls / f"_0_{1000 + i}_{cls}.jpg")
    return root


def test_marble_pools_train_and_test(tmp_path):
    ds = create_dataset("marble", root=make_marble(tmp_path / "dataset"))
    assert ds.classes == ["crack", "dot", "good", "joint"] and ds.nominal == "good"
    assert ds.counts() == {"crack": 3, "dot": 3, "good": 3, "joint": 3}
    assert {it.path.split("/")[0] for it in ds.items} == {"train", "test"}


@pytest.mark.parametrize("case, expected", [
    ("no_test", "test: missing"), ("extra_class", "unexpected class folder"), ("missing_class", "['joint']"),
])
def test_marble_layout_errors(tmp_path, case, expected):
    root = make_marble(tmp_path / "dataset")
    if case == "no_test":
        shutil.rmtree(root / "test")
    elif case == "extra_class":
        img(root / "train" / "scratch" / "x.jpg")
    else:
        for subset in ("train", "test"):
            shutil.rmtree(root / subset / "joint")
    msg = raises(expected, "marble", root=root)
    assert "expected" in msg and "found" in msg, msg


# ------------------------------------------------------------------------------------ NEU-CLS
NEU = ("crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches")


def make_neu(root: Path) -> Path:
    for cls in NEU:
        for i in range(1, 4):
            img(root / "IMAGES" / f"{cls}_{i}.jpg")
            (root / "ANNOTATIONS").mkdir(parents=True, exist_ok=True)
            (root / "ANNOTATIONS" / f"{cls}_{i}.xml").write_text("<annotation/>")
        img(root / "Validation_Images" / f"{cls}_{100}.jpg")
    (root / "SOURCE.md").write_text("copy\n")
    return root


def test_neu_cls_classes_from_prefix_and_nominal_convention(tmp_path):
    root = make_neu(tmp_path / "neu_det")
    ds = create_dataset("neu_cls", root=root)
    assert ds.classes == list(NEU) and ds.counts() == {c: 4 for c in NEU}
    assert ds.nominal == "crazing" and "crazing" not in ds.defect_classes  # convention: no defect-free class
    assert ds.meta["nominal_is_a_defect_class"] is True
    assert ds.by_path()["Validation_Images/rolled-in_scale_100.jpg"].label == "rolled-in_scale"
    assert create_dataset("neu_cls", root=root, nominal="scratches").nominal == "scratches"
    shutil.copy(root / "IMAGES" / "patches_1.jpg", root / "IMAGES" / "patches_9.jpg")
    assert create_dataset("neu_cls", root=root).counts()["patches"] == 4  # byte-identical copy dropped


@pytest.mark.parametrize("case, expected", [
    ("no_images", "no IMAGES/ folder"), ("bad_name", "expected <class>_<n>.jpg"),
    ("bad_nominal", "no defect-free class"), ("missing_class", "no images of class(es) ['scratches']"),
])
def test_neu_cls_layout_errors(tmp_path, case, expected):
    root = make_neu(tmp_path / "neu_det")
    nominal = "good" if case == "bad_nominal" else "crazing"
    if case == "no_images":
        shutil.rmtree(root / "IMAGES")
    elif case == "bad_name":
        img(root / "IMAGES" / "Cr_1.bmp")  # NEU-CLS's own naming is not this layout
    elif case == "missing_class":
        for p in list(root.glob("*/scratches_*.jpg")):
            p.unlink()
    msg = raises(expected, "neu_cls", root=root, nominal=nominal)
    if case == "no_images":
        assert "found: ANNOTATIONS/" in msg


@pytest.mark.shared_data
def test_neu_cls_real_shared_copy():
    if not fetch_mod.default_root("neu_cls").is_dir():
        pytest.skip("../shared/data/neu_det is absent")
    ds = create_dataset("neu_cls")
    counts = {c: 300 for c in NEU} | {"patches": 299}  # 1800 images; patches_101 == patches_105 byte for byte
    assert ds.counts() == counts and ds.meta["dropped_duplicates"] == 1


# ------------------------------------------------------------------------------------ KolektorSDD
def make_ksdd(root: Path, defective=(("kos01", 1), ("kos02", 0))) -> Path:
    for folder, bad in defective:
        for n in range(3):
            img(root / folder / f"Part{n}.jpg", size=16)
            label = np.zeros((16, 16), np.uint8)
            if n == bad:
                label[4:8, 4:8] = 255
            Image.fromarray(label).save(root / folder / f"Part{n}_label.bmp")
    return root


def test_kolektorsdd_class_from_label_pixels(tmp_path):
    ds = create_dataset("kolektorsdd", root=make_ksdd(tmp_path / "KolektorSDD"))
    assert ds.classes == ["defect", "good"] and ds.nominal == "good"
    assert ds.counts() == {"defect": 2, "good": 4}
    by = ds.by_path()
    assert by["kos01/Part1.jpg"].label == "defect" and by["kos01/Part1.jpg"].mask == "kos01/Part1_label.bmp"
    assert by["kos01/Part0.jpg"].label == "good" and by["kos01/Part0.jpg"].mask is None
    assert load_mask(ds.abspath(by["kos02/Part0.jpg"].mask)).sum() == 16


@pytest.mark.parametrize("case, expected", [
    ("no_kos", "no kos<NN> folders"), ("orphan_label", "partner is missing"), ("stray", "unexpected entry"),
    ("no_defect", "no label image has a pixel > 0"),
])
def test_kolektorsdd_layout_errors(tmp_path, case, expected):
    root = tmp_path / "KolektorSDD"
    if case == "no_kos":
        make_ksdd(root / "KolektorSDD")  # a wrapper folder left from unpacking
    else:
        make_ksdd(root, (("kos01", -1),) if case == "no_defect" else (("kos01", 1),))
    if case == "orphan_label":
        (root / "kos01" / "Part2.jpg").unlink()
    elif case == "stray":
        (root / "kos01" / "notes.txt").write_text("x")
    msg = raises(expected, "kolektorsdd", root=root)
    if case == "no_kos":
        assert "found: KolektorSDD/" in msg and "expected" in msg


# ------------------------------------------------------------------------------------ default roots
@pytest.mark.parametrize("name, kwargs", [("mvtec_ad_pill", {}), ("riawelc", {}), ("plantvillage", {}),
                                          ("marble", {}), ("neu_cls", {}), ("kolektorsdd", {})])
def test_missing_default_root_says_how_to_get_it(tmp_path, monkeypatch, name, kwargs):
    monkeypatch.setattr(fetch_mod, "default_root", lambda src: tmp_path / "nowhere" / src)
    with pytest.raises(DatasetMissing, match=re.escape("dataset.root=<dir>")) as e:
        create_dataset(name, **kwargs)
    assert "scarce fetch" in str(e.value)


# ------------------------------------------------------------------------------------ experiments
def test_table1_matches_the_published_csv_and_has_configs():
    with open(PROJECT_ROOT / "results" / "published" / "scarce_table1.csv") as f:
        published = [row["hardest_class"] for row in csv.DictReader(f)]
    assert list(TABLE1.values()) == published  # same datasets, same order, same hardest classes
    for name in TABLE1:
        assert (PROJECT_ROOT / "conf" / "dataset" / f"{name}.yaml").is_file(), name
    assert split_command("marble", "/d") == ('scarce split marble --hardest crack --reason "SCARCE Table 1" '
                                             "--out datasets/splits/scarce_table1/marble.json dataset.root=/d")


@pytest.mark.parametrize("exp", ["scarce_table1", "scarce_fewshot_pill", "magnetic_tile_full",
                                 "scarce_table1_magnetic_tile"])
def test_experiment_files_compose_and_name_their_command(exp):
    from omegaconf import OmegaConf

    from benchmark.cli import compose_config

    path = PROJECT_ROOT / "conf" / "experiment" / f"{exp}.yaml"
    lines = path.read_text().splitlines()
    assert lines[0] == "# @package _global_"
    assert lines[1].startswith((f"# scarce-run -m experiment={exp}", f"# scarce-run -m +experiment={exp}"))
    cfg = compose_config([f"experiment={exp}"])
    assert cfg.study == exp
    sweep = OmegaConf.load(path).hydra.sweeper.params
    assert sweep.arm == "real,placebo,synthetic"
    assert sweep.get("seed") == "range(15)" or (list(cfg.seeds) == list(range(15)) and "seed" not in sweep)
    if exp == "scarce_table1":
        assert cfg.trainer.engine == "featurebank"
        assert sweep.dataset.split(",") == list(TABLE1)
        assert compose_config([f"experiment={exp}"]).skip_unavailable is True
    if exp == "scarce_table1_magnetic_tile":   # Table 1's design, one dataset, its published hardest class
        table1 = compose_config(["experiment=scarce_table1", "dataset=magnetic_tile"])
        assert cfg.split.manifest == table1_manifest("magnetic_tile") == table1.split.manifest
        assert (cfg.trainer, cfg.model, cfg.synthetic, cfg.generator) == \
            (table1.trainer, table1.model, table1.synthetic, table1.generator)
        assert "dataset" not in sweep and cfg.dataset.name == "magnetic_tile"
    if exp == "scarce_fewshot_pill":
        assert str(sweep.k) == "2,3,5"
        assert compose_config([f"experiment={exp}"]).split.manifest == table1_manifest("mvtec_ad_pill")


def test_folds_generators_experiment_is_the_folds_design_with_three_generators():
    """The priced-in-real-images study: magnetic_tile_folds' split, model, seeds and volume, one sweep over
    generators, every arm (oracle too) adding the same 24 images so one placebo cell serves them all."""
    from omegaconf import OmegaConf

    from benchmark.cli import compose_config

    exp = "magnetic_tile_folds_generators"
    path = PROJECT_ROOT / "conf" / "experiment" / f"{exp}.yaml"
    assert path.read_text().splitlines()[1].startswith(f"# scarce-run -m experiment={exp} && scarce report")
    cfg, folds = compose_config([f"experiment={exp}"]), compose_config(["experiment=magnetic_tile_folds"])
    assert cfg.study == exp
    assert (cfg.split, cfg.model, cfg.trainer, cfg.synthetic, list(cfg.seeds)) == \
        (folds.split, folds.model, folds.trainer, folds.synthetic, list(folds.seeds))
    sweep = OmegaConf.load(path).hydra.sweeper.params
    assert set(sweep.arm.split(",")) == {"real", "placebo", "oracle", "synthetic"}
    assert sweep.generator.split(",") == ["cutpaste", "augment", "noise"]


def test_dataset_available_skips_absent_and_unsplit_data(tmp_path):
    ok, why = dataset_available({"name": "marble", "root": str(tmp_path / "nowhere")})
    assert not ok and "data not found" in why and "scarce fetch marble" in why
    root = make_marble(tmp_path / "marble")
    manifest = tmp_path / "datasets" / "splits" / "scarce_table1" / "marble.json"
    ok, why = dataset_available({"name": "marble", "root": str(root)}, manifest)
    assert not ok and "no frozen split" in why and "--hardest crack" in why
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{}")
    ok, why = dataset_available({"name": "marble", "root": str(root)}, manifest)
    assert ok and "12 images" in why
    img(root / "train" / "scratch" / "x.jpg")  # present but malformed: an error, not a skip
    with pytest.raises(DatasetError, match="unexpected class folder"):
        dataset_available({"name": "marble", "root": str(root)}, manifest)


def test_skip_note_is_written_and_read_back(tmp_path):
    cfg = {"results_root": str(tmp_path), "study": "scarce_table1", "dataset": {"name": "riawelc"}}
    path = write_skip_note(cfg, "riawelc: data not found")
    assert path == tmp_path / "scarce_table1" / "skipped" / "riawelc.json"
    write_skip_note(cfg, "riawelc: data not found")  # idempotent per dataset
    notes = load_skipped(tmp_path / "scarce_table1")
    assert [n["dataset"] for n in notes] == ["riawelc"] and notes[0]["status"] == "skipped"
    assert json.loads(path.read_text())["reason"] == "riawelc: data not found"
