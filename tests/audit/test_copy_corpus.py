"""Issue 17 item 1: copies of test images under ordinary augmentations (rotation 3/5/45 degrees, shift,
zoom, crop 80 %, reflect pad, colour jitter, blur + noise, defect transplant, and the old ones) are all
flagged by the audit (hash / cosine OR the keypoint / defect-patch detector), matched to the test image
they copy; honest cut-paste and augment sets stay <= 1 % flagged. Demo always, Magnetic Tile when shared."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmark.audit import audit_set
from benchmark.audit.corpus import COPY_TRANSFORMS, plant
from benchmark.audit.hook import _describe
from benchmark.bench.audit import audit_config, caught_as_copy_of, honest_sets, planted_corpus
from benchmark.data import create_dataset
from benchmark.data.base import Item
from benchmark.split.manifest import load_manifest

SPLITS = Path(__file__).resolve().parents[2] / "datasets" / "splits"


def _audit_cfg(image_size: int | None = None) -> dict:
    cfg = audit_config()  # the thresholds of conf/config.yaml, keypoint ones included
    if image_size:
        cfg["model"] = {**cfg["model"], "image_size": image_size}
    return cfg


def test_config_has_keypoint_thresholds():
    t = audit_config()["thresholds"]
    assert {"hash", "cosine", "keypoint_inliers", "patch_inliers", "transplant_ncc"} <= set(t)


def test_plant_every_transform_changes_or_keeps_the_image_as_documented():
    rng = np.random.default_rng(0)
    from PIL import Image

    img = Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
    mask = np.zeros((40, 48), bool)
    mask[10:16, 20:30] = True
    host = Image.fromarray(np.zeros((40, 48, 3), np.uint8))
    for how in COPY_TRANSFORMS:
        out = plant(img, how, rng, mask=mask, host=host)
        assert out.mode == "RGB" and min(out.size) > 0, how
    assert plant(img, "crop80", rng).size == (38, 32)
    assert plant(img, "reflect_pad", rng).size == (48 + 10, 40 + 10)
    t = np.asarray(plant(img, "transplant", rng, mask=mask, host=host))
    assert 0 < (t.sum(axis=2) > 0).sum() <= (6 + 6) * (10 + 6)  # only the defect's box lands on the host
    with pytest.raises(ValueError, match="unknown transform"):
        plant(img, "swirl", rng)


def _check(ds, manifest, tmp_path: Path, cache: Path, n_victims: int, per_class: int, image_size=None):
    rows = planted_corpus(ds, manifest, n_victims, tmp_path / "planted")
    honest = honest_sets(ds, manifest, ["cutpaste", "augment"], per_class, tmp_path / "gen")
    items = [Item(p, lab) for p, lab, _, _ in rows] + [it for v in honest.values() for it in v]
    out = audit_set(items, ds, manifest, _audit_cfg(image_size), cache)
    by = {r["path"]: r for r in out["images"]}
    missed = [(how, Path(p).name) for p, _, how, victim in rows if not caught_as_copy_of(by[p], victim, manifest)]
    assert not missed, f"planted test copies not caught (or matched to another part's test image): {missed}"
    assert {how for _, _, how, _ in rows} == set(COPY_TRANSFORMS)
    for g, its in honest.items():
        flagged = [Path(it.path).name for it in its if by[it.path]["test_copy"]]
        assert len(flagged) <= 0.01 * len(its), (g, flagged)
    s = out["summary"]
    assert s["n_test_copies"] >= len(rows) and s["contaminated"]
    for f in s["flagged"]:  # what the run-time hook reads (and prints) for every flagged image
        assert {"path", "inherited", "test_hash_match", "test_hash_dist", "test_cos", "test_copy_by"} <= set(f)
        assert " ~ test " in _describe(f)
    return out


def test_demo_planted_corpus_all_caught_honest_sets_not(tmp_path):
    ds = create_dataset("demo")
    manifest = load_manifest(SPLITS / "demo.json")
    out = _check(ds, manifest, tmp_path, tmp_path / "cache", n_victims=4, per_class=50, image_size=64)
    by_kp = [f for f in out["summary"]["flagged"] if f["test_copy_by"] == "keypoints"]
    assert by_kp, "the keypoint detector adds the copies the global hashes miss"


@pytest.mark.shared_data
def test_magnetic_tile_planted_corpus_all_caught_honest_sets_not(tmp_path):
    from tests.conftest import needs_shared

    root = needs_shared("magnetic_tile")
    ds = create_dataset("magnetic_tile", root=str(root))
    manifest = load_manifest(SPLITS / "magnetic_tile.json")
    _check(ds, manifest, tmp_path, tmp_path / "cache", n_victims=4, per_class=50)
