"""`split.dedupe` (benchmark/split/dedupe.py, issue 21 item 2): byte-identical images keep one copy (the first
path in sorted order), the others listed in the manifest with their sha256; runs still verify the manifest; without
dedupe the refusal names both ways out."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from omegaconf import OmegaConf

from benchmark.cli import compose_config
from benchmark.protocol.guards import frozen_manifest
from benchmark.split.manifest import ManifestError, build_split, write_manifest
from benchmark.split.pilot import make_split
from benchmark.split.validate import check_structure
from benchmark.tasks import create_task
from tests.conftest import write_tiny_dataset

COPIES = {"good/a_copy.png": "good/good_003.png", "good/zz_copy.png": "good/good_003.png",
          "hole/hole_copy.png": "hole/hole_005.png"}  # new file -> the image it copies


@pytest.fixture
def dup_root(tmp_path):
    root = write_tiny_dataset(tmp_path / "d", n={"good": 14, "hole": 10, "scratch": 8}).root
    for new, src in COPIES.items():
        shutil.copyfile(root / src, root / new)
    return root


def cfg_for(root, *extra) -> dict:
    return OmegaConf.to_container(compose_config(["dataset=imagefolder", "dataset.id=dups", f"dataset.root={root}",
                                                  "threads=1", *extra]), resolve=True)


def sha(p) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_without_dedupe_the_error_names_both_options(dup_root):
    ds = create_task("classification").load_dataset(cfg_for(dup_root)["dataset"])
    with pytest.raises(ValueError, match=r"are byte-identical \(sha256 [0-9a-f]{12}\.\.\.\); expected no image in two "
                                         r"splits: split again with split\.dedupe=true .* or split\.group=near_dupl"):
        build_split(ds, seed=0)


def test_dedupe_keeps_the_first_sorted_path_and_lists_the_others(dup_root, tmp_path):
    cfg = cfg_for(dup_root, "split.dedupe=true")
    path, m = make_split(cfg, seed=0, pilot_seeds=[], hardest="hole", out=tmp_path / "s.json")
    dropped = m["dedupe"]["dropped"]
    # good_003 and its two copies: a_copy.png sorts first, so it is kept; hole_005.png sorts before hole_copy.png
    assert dropped == [
        {"path": "good/good_003.png", "label": "good", "sha256": sha(dup_root / "good/good_003.png"),
         "kept": "good/a_copy.png"},
        {"path": "good/zz_copy.png", "label": "good", "sha256": sha(dup_root / "good/good_003.png"),
         "kept": "good/a_copy.png"},
        {"path": "hole/hole_copy.png", "label": "hole", "sha256": sha(dup_root / "hole/hole_005.png"),
         "kept": "hole/hole_005.png"}]
    assert m["dedupe"]["n_dropped"] == 3
    listed = [e for s in ("train", "selection", "test") for e in m["files"][s]]
    assert len(listed) == 14 + 10 + 8 + 3 - 3 and len({e["sha256"] for e in listed}) == len(listed)
    # deterministic: the same manifest again (the clock aside), whatever order the items come in
    ds = create_task("classification").load_dataset(cfg["dataset"])
    ds.items = ds.items[::-1]
    again = build_split(ds, seed=0, dedupe=True)
    assert again["dedupe"] == m["dedupe"] and again["files"] == m["files"]
    # a run's checks pass on it: seal, structure (incl. the dedupe list), labels, file hashes
    run_cfg = cfg_for(dup_root, f"split.manifest={path}")
    assert frozen_manifest(run_cfg, ds, [0], ("train", "test"))["dedupe"] == m["dedupe"]


def test_a_tampered_dedupe_list_is_refused(dup_root, tmp_path):
    _, m = make_split(cfg_for(dup_root, "split.dedupe=true"), seed=0, pilot_seeds=[], hardest="hole",
                      out=tmp_path / "s.json")
    bad = json.loads(json.dumps(m))
    bad["dedupe"]["dropped"][0]["kept"] = "good/good_000.png"  # another image: not the same bytes
    with pytest.raises(ManifestError, match=r"field dedupe\.dropped\[0\]\.kept: good/good_000\.png \(kept for "
                                            r"good/good_003\.png\) is not listed with sha256"):
        check_structure(bad, "m.json")
    bad = json.loads(json.dumps(m))
    bad["dedupe"]["dropped"][0]["path"] = m["files"]["train"][0]["path"]
    with pytest.raises(ManifestError, match=r"field dedupe\.dropped\[0\]: .* is dropped as a duplicate but listed"):
        check_structure(bad, "m.json")
    path = write_manifest(bad, tmp_path / "resealed.json")  # even resealed, a run refuses it
    ds = create_task("classification").load_dataset(cfg_for(dup_root)["dataset"])
    with pytest.raises(ManifestError, match=r"dedupe\.dropped\[0\]"):
        frozen_manifest(cfg_for(dup_root, f"split.manifest={path}"), ds, [0], ("train", "test"))


def test_copies_with_different_labels_are_refused_not_kept(dup_root):
    shutil.copyfile(dup_root / "hole/hole_001.png", dup_root / "scratch/moved.png")
    ds = create_task("classification").load_dataset(cfg_for(dup_root)["dataset"])
    with pytest.raises(ValueError, match=r"hole/hole_001\.png \(hole\), scratch/moved\.png \(scratch\) are "
                                         r"byte-identical images with labels \['hole', 'scratch'\]; expected one"):
        build_split(ds, seed=0, dedupe=True)


def test_dedupe_is_a_checked_schema_field(dup_root, tmp_path):
    from benchmark.config import ConfigError

    with pytest.raises(ConfigError, match=r"^split\.dedupe='yes': expected true or false$"):  # `scarce split` too
        make_split(cfg_for(dup_root, "split.dedupe=yes"), seed=0, pilot_seeds=[], hardest="hole", out=tmp_path / "s")
    assert not (tmp_path / "s").exists()
