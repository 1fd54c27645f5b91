"""A corpus of bad inputs. Each one gives one clear message naming the culprit and what was expected
(a non-zero exit through the CLI), leaves no partial record and loses nothing else in the study; the
few inputs that are merely unusual (16-bit, CMYK, tiny images, odd colour modes) load correctly."""
from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from benchmark.cli import compose_config
from benchmark.config import ConfigError
from benchmark.data import DatasetError, create_dataset, load_rgb
from benchmark.data.base import load_mask
from benchmark.generators import list_generators
from benchmark.records import load_records, read_record, record_path, records_dir, stale_temp_files
from benchmark.run import run
from benchmark.split.manifest import ManifestError, build_split, load_manifest, verify, write_manifest
from benchmark.split.pilot import make_split
from benchmark.status import cell_states
from benchmark.train.bank import decode_resized
from tests.conftest import write_tiny_dataset
from tests.protocol.test_resume import TINY

BIN = Path(sys.executable).parent


# ---- helpers ---------------------------------------------------------------------------------------------

def split_study(tmp: Path, mutate=None, counts=None, hardest: str = "scratch") -> list[str]:
    """Tiny imagefolder dataset (optionally altered before the split), frozen split, run overrides."""
    ds = write_tiny_dataset(tmp / "data", counts)
    if mutate:
        mutate(ds.root, tmp / "data" / "masks")
    over = ["dataset=imagefolder", "dataset.id=imagefolder", f"dataset.root={ds.root}", f"dataset.masks={tmp / 'data' / 'masks'}",
            f"results_root={tmp / 'results'}", "study=t", f"split.manifest={tmp / 'split.json'}",
            f"cache_root={tmp / 'cache'}", *TINY]
    cfg = OmegaConf.to_container(compose_config(over), resolve=True)
    make_split(cfg, seed=0, pilot_seeds=[1000], hardest=hardest, reason="test", out=tmp / "split.json")
    return over


@pytest.fixture
def over(tmp_path):
    return split_study(tmp_path)


def run_with(over, *extra):
    return run(compose_config([*over, *extra]))


def no_records(tmp: Path) -> bool:
    d = tmp / "results" / "t" / "records"
    return not d.exists() or (not list(d.glob("*.json")) and not stale_temp_files(d.parent))


def save(path: Path, img: Image.Image, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)
    return path


def grey(size=(32, 32), value=100) -> Image.Image:
    return Image.fromarray(np.full(size[::-1], value, np.uint8))


# ---- image files -----------------------------------------------------------------------------------------

def test_truncated_jpeg(tmp_path):
    p = save(tmp_path / "a.jpg", Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)))
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(DatasetError, match=rf"{p}: unreadable image .*expected a valid"):
        load_rgb(p)


def test_corrupt_jpeg_header(tmp_path):
    p = save(tmp_path / "a.jpg", grey())
    data = bytearray(p.read_bytes())
    data[:16] = b"\x00" * 16
    p.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=rf"{p}: unreadable image"):
        load_rgb(p)


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    with pytest.raises(DatasetError, match=rf"{p}: unreadable image .*expected a valid PNG/JPEG/BMP"):
        load_rgb(p)


def test_text_file_with_image_extension(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("not an image")
    with pytest.raises(DatasetError, match=rf"{p}: unreadable image"):
        load_rgb(p)


def test_unknown_extension(tmp_path):
    p = save(tmp_path / "a.tif", grey())
    with pytest.raises(DatasetError, match=r"unknown image extension '.tif'; expected one of"):
        load_rgb(p)


def test_decompression_bomb(tmp_path):
    p = save(tmp_path / "bomb.png", Image.new("1", (12000, 12000)))
    with pytest.raises(DatasetError, match=rf"{p}: unreadable image .*decompression bomb"):
        load_rgb(p)


def test_16bit_png_is_scaled_to_8bit(tmp_path):
    a = np.array([[0, 257 * 128, 65535, 257 * 7]], np.uint16)
    p = save(tmp_path / "g16.png", Image.fromarray(a))
    assert Image.open(p).mode.startswith("I;16")
    got = np.asarray(load_rgb(p))
    assert got.shape == (1, 4, 3) and got[0, :, 0].tolist() == [0, 128, 255, 7]  # not clipped to white


def test_cmyk_jpeg_converts(tmp_path):
    p = save(tmp_path / "cmyk.jpg", Image.new("CMYK", (16, 16), (0, 255, 255, 0)))
    got = np.asarray(load_rgb(p))
    assert got.shape == (16, 16, 3) and got[..., 0].mean() > 200 and got[..., 1].mean() < 60  # red


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "1", "L"])
def test_other_colour_modes_convert(tmp_path, mode):
    p = save(tmp_path / f"{mode}.png", Image.new("RGB", (8, 8), (200, 10, 10)).convert(mode))
    assert np.asarray(load_rgb(p)).shape == (8, 8, 3)


def test_image_smaller_than_model_input_is_upsampled(tmp_path):
    p = save(tmp_path / "tiny.png", grey((5, 7), 90))
    assert decode_resized(p, 32).shape == (32, 32, 3)


def test_tiny_image_in_dataset_trains(tmp_path):
    def shrink(root, masks):
        save(root / "good" / "good_000.png", grey((6, 6), 30))

    over = split_study(tmp_path, shrink)
    assert run_with(over, "arm=real", "seed=1")["status"] == "ok"


def test_corrupt_image_refused_at_split_naming_it(tmp_path):
    ds = write_tiny_dataset(tmp_path / "d")
    victim = ds.root / "hole" / "hole_003.png"
    victim.write_bytes(victim.read_bytes()[:40])
    with pytest.raises(DatasetError, match=rf"{victim}: unreadable image"):
        build_split(create_dataset("imagefolder", root=ds.root), seed=0)


def test_unreadable_mask(tmp_path):
    p = tmp_path / "m.png"
    p.write_bytes(b"GIF89a nonsense")
    with pytest.raises(DatasetError, match=rf"{p}: unreadable mask .*expected an 8-bit grey image"):
        load_mask(p)


# ---- dataset layout --------------------------------------------------------------------------------------

def test_empty_class_folder(tmp_path):
    ds = write_tiny_dataset(tmp_path / "d")
    (ds.root / "crack").mkdir()
    with pytest.raises(DatasetError, match=r"crack: class folder has no images; expected at least one"):
        create_dataset("imagefolder", root=ds.root)


def test_missing_nominal_class(tmp_path):
    ds = write_tiny_dataset(tmp_path / "d")
    with pytest.raises(DatasetError, match=r"nominal class 'ok' has no folder; found classes .*dataset.nominal"):
        create_dataset("imagefolder", root=ds.root, nominal="ok")


def test_stray_file_in_class_folder(tmp_path):
    ds = write_tiny_dataset(tmp_path / "d")
    (ds.root / "hole" / "README.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"README.txt: unexpected file with extension '.txt'.*expected only"):
        create_dataset("imagefolder", root=ds.root)


def test_dataset_root_missing(tmp_path):
    with pytest.raises(DatasetError, match=rf"{tmp_path / 'nope'}: dataset root does not exist; expected"):
        create_dataset("imagefolder", root=tmp_path / "nope")


def test_class_too_small_to_be_in_train_and_test(tmp_path):
    ds = write_tiny_dataset(tmp_path / "d", {"good": 10, "hole": 6, "rare": 2})
    with pytest.raises(ValueError, match=r"class 'rare' has 2 images; expected at least 3"):
        build_split(ds, seed=0)


def test_duplicate_image_across_splits_refused(tmp_path):
    ds = write_tiny_dataset(tmp_path / "d")
    same = (ds.root / "scratch" / "scratch_000.png").read_bytes()
    for p in (ds.root / "scratch").glob("*.png"):  # 6 identical files: train, selection and test get one
        p.write_bytes(same)
    with pytest.raises(ValueError, match=r"scratch/scratch_\d+\.png \(train\) and scratch/scratch_\d+\.png "
                                         r"\((selection|test)\) are byte-identical.*expected no image in two"):
        build_split(create_dataset("imagefolder", root=ds.root), seed=0)


def test_mask_of_wrong_size(tmp_path):
    def shrink_masks(root, masks):
        for p in (masks / "scratch").glob("*.png"):
            m = np.zeros((16, 16), np.uint8)
            m[2:6, 2:6] = 255
            Image.fromarray(m).save(p)

    over = split_study(tmp_path, shrink_masks)
    with pytest.raises(DatasetError, match=r"scratch_\d+\.png: mask is \(16, 16\) but image .* is \(32, 32\); "
                                           r"expected the same size"):
        run_with(over, "arm=synthetic", "seed=1")
    assert no_records(tmp_path)
    assert not [p for p in (tmp_path / "cache").rglob(".cutpaste-*")]  # no half-generated set left


def test_defect_class_without_masks_for_cutpaste(tmp_path):
    def drop_masks(root, masks):
        for p in (masks / "scratch").glob("*.png"):
            p.unlink()

    over = split_study(tmp_path, drop_masks)
    with pytest.raises(DatasetError, match=r"class 'scratch' has no train image with a non-empty mask"):
        run_with(over, "arm=synthetic", "seed=1")
    assert no_records(tmp_path)


# ---- the frozen split ------------------------------------------------------------------------------------

def test_test_file_changed_after_split(over, tmp_path):
    victim = tmp_path / "data" / "images" / load_manifest(tmp_path / "split.json")["files"]["test"][0]["path"]
    victim.write_bytes(victim.read_bytes() + b"\0")
    with pytest.raises(ManifestError, match=rf"{victim}: test file changed since the split was frozen"):
        run_with(over, "arm=real", "seed=1")
    assert no_records(tmp_path)


def test_test_file_deleted_after_split(over, tmp_path):
    victim = tmp_path / "data" / "images" / load_manifest(tmp_path / "split.json")["files"]["test"][0]["path"]
    victim.unlink()
    with pytest.raises(ManifestError, match=rf"{victim}: test file listed in the frozen manifest is missing"):
        run_with(over, "arm=real", "seed=1")


@pytest.mark.parametrize("bad", ["/etc/hostname", "../outside.png", "good/../../outside.png"])
def test_manifest_path_outside_dataset(over, tmp_path, bad):
    m = load_manifest(tmp_path / "split.json")
    m["files"]["test"][0]["path"] = bad
    ds = create_dataset("imagefolder", root=tmp_path / "data" / "images")
    with pytest.raises(ManifestError, match=rf"path={bad!r} points outside the dataset; expected a path relative"):
        verify(m, ds, ("train", "test"))
    write_manifest(m, tmp_path / "evil.json")
    with pytest.raises(ManifestError, match="points outside the dataset"):
        run_with(over, "arm=real", "seed=1", f"split.manifest={tmp_path / 'evil.json'}")
    assert no_records(tmp_path)


def test_manifest_missing(over, tmp_path):
    with pytest.raises(ManifestError, match=r"nope.json: no split manifest; expected one made by `scarce split"):
        run_with(over, "arm=real", "seed=1", f"split.manifest={tmp_path / 'nope.json'}")


def test_manifest_not_json(over, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"dataset": "imagefolder", ')
    with pytest.raises(ManifestError, match=rf"{bad}: not valid JSON .*expected a split manifest"):
        run_with(over, "arm=real", "seed=1", f"split.manifest={bad}")


def test_manifest_of_another_dataset(over, tmp_path):
    m = load_manifest(tmp_path / "split.json")
    m["classes"] = ["good", "hole"]
    write_manifest(m, tmp_path / "other.json")
    with pytest.raises(ManifestError, match=r"manifest is for imagefolder \['good', 'hole'\]; dataset is"):
        run_with(over, "arm=real", "seed=1", f"split.manifest={tmp_path / 'other.json'}")


def test_manifest_without_hardest_class(over, tmp_path):
    m = load_manifest(tmp_path / "split.json")
    m["hardest"] = None
    write_manifest(m, tmp_path / "nohard.json")
    with pytest.raises(ValueError, match=r"field 'hardest' is empty; run `scarce split imagefolder dataset.id=imagefolder"):
        run_with(over, "arm=real", "seed=1", f"split.manifest={tmp_path / 'nohard.json'}")


# ---- config ----------------------------------------------------------------------------------------------

CONFIG_ERRORS = {
    "unknown dataset": (["dataset.name=nope"], KeyError, r"unknown dataset 'nope'; known datasets: demo, "),
    "unknown generator": (["arm=synthetic", "generator.name=nope"], KeyError,
                          r"unknown generator 'nope'; known generators: " + ", ".join(list_generators())),
    "unknown model": (["model.name=resnet10tt"], ValueError,
                      r"model.name='resnet10tt' is not a timm model \(close: \[.*'resnet10t'.*expected a name"),
    "model without offline weights": (["model.pretrained=true"], KeyError,
                                      r"unknown pretrained weight source 'resnet10t'; known .*tf_efficientnet_lite0"),
    "missing checkpoint": (["model.checkpoint=/nope/w.pth"], FileNotFoundError,
                           r"model.checkpoint: /nope/w.pth does not exist; expected a .pth/.pt"),
    "unknown engine": (["trainer.engine=nope"], KeyError,
                       r"unknown engine 'nope'; known engines: featurebank, finetune"),
    "unknown arm": (["arm.name=nope"], ValueError, r"unknown arm 'nope'; known arms: real, synthetic, placebo"),
    "negative seed": (["seed=-1"], ValueError, r"seed\(s\) \[-1\] are negative; expected integers >= 0"),
    "non-integer seed": (["seed=abc"], ValueError, r"seed\(s\) \['abc'\] are not integers; expected integers"),
    "duplicated seeds": (["seeds=[1,1]"], ValueError, r"seeds=\[1, 1\]: duplicated seed; expected distinct"),
    "k larger than class": (["k=99"], ValueError, r"k=99 is larger than class 'good', which has \d+ train images"),
    "k zero": (["k=0"], ValueError, r"k=0: expected at least 1 real label per class"),
    "synthetic volume 0": (["arm=synthetic", "synthetic.volume=0"], ValueError,
                           r"synthetic.volume=0 gives 0 images for 'scratch'; expected at least 1"),
    "synthetic class unknown": (["arm=placebo", "synthetic.classes=[dent]"], ValueError,
                                r"synthetic.classes: 'dent' is not a class of this dataset"),
    "max_steps and epochs": (["trainer.epochs=2"], ValueError,
                             r"trainer: set either max_steps \(a step budget\) or epochs, not both"),
    "no step budget": (["trainer.max_steps=null"], ValueError, r"trainer: expected max_steps \(> 0\) or epochs"),
    # issue 17 item 3: each of these used to be recorded as a failed run (skipped by later sweeps), to write
    # outside results_root, to start writing 10^13 images, or to end in a raw traceback
    "max_steps negative (finetune)": (["trainer.max_steps=-5"], ConfigError,
                                      r"^trainer.max_steps=-5: expected an integer >= 1, or null with trainer.epochs"),
    "max_steps negative (featurebank)": (["trainer=featurebank", "trainer.views=1", "trainer.max_steps=-5"],
                                         ConfigError, r"^trainer.max_steps=-5: expected an integer >= 1"),
    "epochs negative": (["trainer.max_steps=null", "trainer.epochs=-1"], ConfigError,
                        r"^trainer.epochs=-1: expected an integer >= 1, or null with trainer.max_steps set"),
    "lr negative": (["trainer.lr=-1"], ConfigError, r"^trainer.lr=-1: expected a finite number > 0"),
    "batch_size zero": (["trainer.batch_size=0"], ConfigError, r"^trainer.batch_size=0: expected an integer >= 1"),
    "image_size zero": (["model.image_size=0"], ConfigError, r"^model.image_size=0: expected an integer in \[8, 4096\]"),
    "seed 2**64": ([f"seed={2 ** 64}"], ConfigError, rf"^seed={2 ** 64}: expected an integer in \[0, {2 ** 63 - 1}\]"),
    "volume 1e12 (a fraction)": (["arm=synthetic", "synthetic.volume=1e12"], ConfigError,
                                 r"^synthetic.volume=1000000000000.0: expected a fraction of the class's real train "
                                 r"count <= 100 \(a float; limits.max_volume_fraction\), or an image count"),
    "volume count over the cap": (["arm=synthetic", "synthetic.volume=100001"], ConfigError,
                                  r"^synthetic.volume=100001: expected an image count per target class <= 100000"),
    "volume nan": (["arm=synthetic", "synthetic.volume=nan"], ConfigError,
                   r"^synthetic.volume=nan: expected an image count per target class \(int\) or a fraction"),
    "volume inf": (["arm=placebo", "synthetic.volume=inf"], ConfigError, r"^synthetic.volume=inf: expected"),
    "study escapes results_root": (["study=../../../escape"], ConfigError,
                                   r"^study='../../../escape': expected a plain relative name under results_root"),
    "study absolute": (["study=/tmp/scarce-escape"], ConfigError,
                       r"^study='/tmp/scarce-escape': expected a plain relative name .*not absolute"),
    "max_steps not a number": (["trainer.max_steps=abc"], ConfigError,
                               r"^trainer.max_steps='abc': expected an integer >= 1"),
    "threads negative": (["threads=-1"], ConfigError, r"^threads=-1: expected an integer >= 1, or \"auto\""),
    "synthetic.classes a string": (["arm=synthetic", "synthetic.classes=scratch"], ConfigError,
                                   r"^synthetic.classes='scratch': expected null \(the hardest class\), all, or a "
                                   r"list of class names such as \[scratch\]"),
}


@pytest.mark.parametrize("case", list(CONFIG_ERRORS))
def test_config_error_refused_before_any_record(over, tmp_path, case):
    extra, exc, message = CONFIG_ERRORS[case]
    with pytest.raises(exc, match=message):
        run_with(over, "arm=real", "seed=1", *extra)
    assert no_records(tmp_path)  # config mistakes are refused, never recorded as failed runs
    assert not (tmp_path / "results" / "t" / "records" / ".expected").exists()  # not even declared
    assert not (tmp_path / "cache" / "synthetic").exists()  # nothing generated


# ---- results directory and records -----------------------------------------------------------------------

def test_results_directory_not_writable(over, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the results directory should be")
    with pytest.raises(OSError, match=rf"{blocker}/t/records: results directory is not writable .*expected a "
                                      r"writable directory \(set results_root"):
        run_with(over, "arm=real", "seed=1", f"results_root={blocker}")
    assert blocker.read_text().startswith("a file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_results_directory_read_only(over, tmp_path):
    (tmp_path / "ro").mkdir(mode=0o500)
    with pytest.raises(PermissionError, match="results directory is not writable"):
        run_with(over, "arm=real", "seed=1", f"results_root={tmp_path / 'ro'}")


def test_disk_full_on_record_write(over, tmp_path, monkeypatch):
    kept = run_with(over, "arm=real", "seed=1")
    kept_path = record_path(tmp_path / "results" / "t", kept["run_id"])
    kept_bytes = kept_path.read_bytes()
    real_fsync = os.fsync

    def full_disk(fd):  # the record's temp file hits ENOSPC; other files (cell declarations) still fit
        if re.search(r"/records/\.[0-9a-f]{16}\.[^/]*\.tmp$", os.readlink(f"/proc/self/fd/{fd}")):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match=r"\[Errno 28\] .*records/[0-9a-f]{16}\.json: could not write the record "
                                      r"\(No space left on device\); no partial record was left") as e:
        run_with(over, "arm=real", "seed=2")
    assert e.value.errno == errno.ENOSPC
    sdir = tmp_path / "results" / "t"
    assert [r["run_id"] for r in load_records(sdir)] == [kept["run_id"]]  # no partial record
    assert not stale_temp_files(sdir)  # the temp file was removed
    assert kept_path.read_bytes() == kept_bytes  # the other record is intact
    assert sorted(cell_states(sdir)["state"]) == ["done", "missing"]


def test_disk_full_when_declaring_the_cell(over, tmp_path, monkeypatch):
    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match=r"\.expected/[0-9a-f]{16}\.json: could not declare the cell "
                                      r"\(No space left on device\)"):
        run_with(over, "arm=real", "seed=2")
    assert no_records(tmp_path)


def test_corrupt_record_is_named_then_redone(over, tmp_path):
    rec = run_with(over, "arm=real", "seed=3")
    sdir = tmp_path / "results" / "t"
    path = record_path(sdir, rec["run_id"])
    path.write_text(path.read_text()[:100])  # e.g. copied from a full disk by hand
    with pytest.raises(ValueError, match=rf"{path}: not a complete record .*expected JSON written by scarce-run"):
        load_records(sdir)
    assert cell_states(sdir)["state"].tolist() == ["missing"]
    again = run_with(over, "arm=real", "seed=3")  # the rerun redoes the cell and rewrites the record
    assert read_record(path)["predictions"] == rec["predictions"] == again["predictions"]


def test_record_of_another_schema(over, tmp_path):
    rec = run_with(over, "arm=real", "seed=3")
    path = record_path(tmp_path / "results" / "t", rec["run_id"])
    path.write_text(json.dumps({**rec, "schema": 99}))
    with pytest.raises(ValueError, match=rf"{path}: field 'schema' is 99; expected 1"):
        read_record(path)


def test_status_of_a_directory_that_is_no_study(tmp_path, capsys):
    from benchmark.cli import main

    assert main(["status", str(tmp_path)]) == 2
    assert f"{tmp_path}: no 'records/' directory; expected a study" in capsys.readouterr().err


# ---- through the CLI: non-zero exit and the message ------------------------------------------------------

def test_cli_bad_inputs_exit_nonzero_with_message(over, tmp_path):
    cases = {
        "conflict": (["arm=real", "seed=1", "trainer.epochs=2"], "set either max_steps (a step budget) or epochs"),
        "negative seed": (["arm=real", "seed=-3"], "seed(s) [-3] are negative; expected integers >= 0"),
        "unknown generator": (["arm=synthetic", "generator=nope"], "Could not find 'generator/nope'"),
    }
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    procs = {name: subprocess.Popen([str(BIN / "scarce-run"), *over, *extra], cwd=tmp_path, env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for name, (extra, _) in cases.items()}
    for name, p in procs.items():
        out = p.communicate(timeout=300)[0]
        assert p.returncode != 0, (name, out[-2000:])
        assert cases[name][1] in out, (name, out[-2000:])
    assert no_records(tmp_path)
    assert not records_dir(tmp_path / "results" / "t").exists() or not list(
        records_dir(tmp_path / "results" / "t").glob("*.json"))


CLI_CONFIG_ERRORS = {  # issue 17 item 3: exit 2, one line naming key, value and what is allowed, nothing written
    # (every probe is also in CONFIG_ERRORS above, in-process; here those that ended in a traceback or wrote)
    "max_steps": (["trainer.max_steps=-5"], "trainer.max_steps=-5: expected an integer >= 1"),
    "seed": ([f"seed={2 ** 64}"], f"seed={2 ** 64}: expected an integer in [0, {2 ** 63 - 1}]"),
    "volume": (["arm=synthetic", "synthetic.volume=1e12"], "synthetic.volume=1000000000000.0: expected a fraction"),
    "volume nan": (["arm=synthetic", "synthetic.volume=nan"], "synthetic.volume=nan: expected an image count"),
    "study ..": (["study=../../../escape"], "study='../../../escape': expected a plain relative name"),
    "study absolute": (["study=/tmp/scarce-escape-abs"], "study='/tmp/scarce-escape-abs': expected a plain relative"),
    "max_steps abc": (["trainer.max_steps=abc"], "trainer.max_steps='abc': expected an integer >= 1"),
    "threads": (["threads=-1"], 'threads=-1: expected an integer >= 1, or "auto"'),
    "classes": (["arm=synthetic", "synthetic.classes=scratch"], "synthetic.classes='scratch': expected null"),
}


def test_cli_config_errors_exit_2_with_one_line_and_write_nothing(over, tmp_path):
    work = tmp_path / "cwd"
    work.mkdir()
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    names = list(CLI_CONFIG_ERRORS)
    for batch in (names[i:i + 3] for i in range(0, len(names), 3)):  # three at a time: 2 shared cores
        procs = {name: subprocess.Popen([str(BIN / "scarce-run"), *over, "arm=real", *CLI_CONFIG_ERRORS[name][0]],
                                        cwd=work, env=env, text=True, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT) for name in batch}
        for name, p in procs.items():
            out = p.communicate(timeout=300)[0]
            assert p.returncode == 2, (name, out[-2000:])
            assert len(out.strip().splitlines()) == 1, (name, out[-2000:])  # one line, no traceback
            assert out.startswith("scarce-run: config error: ") and CLI_CONFIG_ERRORS[name][1] in out, (name, out)
    assert not (tmp_path / "results").exists()  # not even Hydra's .hydra run folder
    assert not list(work.iterdir()) and not (tmp_path / "cache" / "synthetic").exists()
    assert not Path("/tmp/scarce-escape-abs").exists()


def test_records_and_manifests_honour_the_umask(over, tmp_path):
    # issue 17 item 7: mkstemp makes 0600 files; a shared study on a cluster must be readable by colleagues
    old = os.umask(0o022)
    try:
        rec = run_with(over, "arm=real", "seed=2")
        mode = record_path(tmp_path / "results" / "t", rec["run_id"]).stat().st_mode & 0o777
        assert mode == 0o644, oct(mode)
        write_manifest(load_manifest(tmp_path / "split.json"), tmp_path / "copy.json")
        assert (tmp_path / "copy.json").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)


def test_a_record_path_that_is_a_directory_is_refused_before_training(over, tmp_path, monkeypatch):
    # issue 17 item 7: the rerun used to train first and fail at the write
    import benchmark.protocol.core as core
    from benchmark.protocol import frozen_manifest
    from benchmark.protocol.cells import make_cell
    from benchmark.records import run_id
    from benchmark.split.manifest import manifest_sha256
    from benchmark.tasks import create_task

    cfg = OmegaConf.to_container(compose_config([*over, "arm=real", "seed=3"]), resolve=True)
    task = create_task("classification")
    dataset = task.load_dataset(cfg["dataset"])
    manifest = frozen_manifest(cfg, dataset, [3], task.verify_splits)
    arm = task.build_arm(cfg, dataset, manifest, None, tmp_path / "c")
    cell = make_cell(cfg, task, manifest_sha256(manifest), arm, 3, 1)
    record_path(tmp_path / "results" / "t", run_id(cell)).mkdir(parents=True)
    monkeypatch.setattr(core, "_fit", lambda *a, **k: pytest.fail("trained before refusing"))
    with pytest.raises(FileExistsError, match="is a directory; expected a record file"):
        run_with(over, "arm=real", "seed=3")
