"""Issue 17 item 2: a hand-edited manifest is not trusted. Each probe of the issue is made twice: as a plain
hand edit (the seal names the field that changed) and resealed (the whole-manifest checks name the field and
what was expected). Every refusal comes from `frozen_manifest`, before any file is hashed or a record made."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from benchmark import PROJECT_ROOT
from benchmark.cli import compose_config
from benchmark.protocol import frozen_manifest
from benchmark.split.hardest import choose_hardest
from benchmark.split.manifest import ManifestError, load_manifest, manifest_sha256, write_manifest
from benchmark.split.pilot import make_split
from benchmark.tasks import create_task
from tests.conftest import write_tiny_dataset
from tests.protocol.test_resume import TINY

COMMITTED = sorted(p for p in (PROJECT_ROOT / "datasets" / "splits").rglob("*.json")
                   if not p.name.endswith(".pilots.json"))  # pilots sidecars (benchmark/split/pilots.py) are no manifests


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A tiny dataset and its frozen split (hardest 'scratch', fixed), the run config and the dataset."""
    tmp = tmp_path_factory.mktemp("guards")
    ds = write_tiny_dataset(tmp / "data")
    over = ["dataset=imagefolder", "dataset.id=imagefolder", f"dataset.root={ds.root}", f"dataset.masks={tmp / 'data' / 'masks'}",
            f"results_root={tmp / 'results'}", "study=t", f"split.manifest={tmp / 'split.json'}",
            f"cache_root={tmp / 'cache'}", "arm=real", "seed=1", *TINY]
    cfg = OmegaConf.to_container(compose_config(over), resolve=True)
    make_split(cfg, seed=0, pilot_seeds=[1000], hardest="scratch", reason="test", out=tmp / "split.json")
    task = create_task("classification")
    return tmp, cfg, task.load_dataset(cfg["dataset"]), task


def guard(study, path: Path) -> dict:
    tmp, cfg, ds, task = study
    return frozen_manifest({**cfg, "split": {**cfg["split"], "manifest": str(path)}}, ds, [1], task.verify_splits)


def hand_edit(path: Path, m: dict, out: Path) -> Path:
    """What a text editor does: the content changes, the seal stays as it was."""
    out.write_text(json.dumps({**m, "seal": load_manifest(path).get("seal")}, indent=1))
    return out


def recount(m: dict) -> dict:
    """An editor who also fixed the counts (so only the deeper check can catch the edit)."""
    m["counts"] = {s: {c: sum(e["label"] == c for e in m["files"][s]) for c in m["classes"]} for s in m["files"]}
    return m


def _selection(m: dict) -> dict:
    """The manifest as if the hardest class had been chosen by pilots (rule 'selection')."""
    per = {1000: {c: (0.1 if c == "scratch" else 0.9) for c in m["classes"]}}
    cls, ev = choose_hardest(per, m["counts"]["train"], ["hole", "scratch"])
    m["hardest"] = {"class": cls, "rule": ev["rule"], "evidence": ev}
    return m


def dup_test_5x(m):
    m["files"]["test"] += [dict(m["files"]["test"][0]) for _ in range(4)]


def copied_into_train(m):
    m["files"]["train"].append(dict(m["files"]["test"][0]))


def bytes_copied_into_train(m):  # the same image under another name
    m["files"]["train"].append({**m["files"]["test"][0], "path": "good/copy_of_a_test_image.png"})


def flip(split):
    def edit(m):
        e = m["files"][split][0]
        e["label"] = "hole" if e["label"] != "hole" else "good"
        recount(m)
    return edit


def label_outside(m):
    m["files"]["test"][0]["label"] = "rust"


def hardest_without_test_images(m):
    m["files"]["test"] = [e for e in m["files"]["test"] if e["label"] != "scratch"]
    recount(m)


def hardest_outside(m):
    m["hardest"]["class"] = "rust"


def pilot_seeds_deleted(m):
    del m["hardest"]["evidence"]["pilot_seeds"]


# (edit, selection rule?, field the seal names, resealed: regex of the whole-manifest refusal)
PROBES = {
    "test entry duplicated 5x": (dup_test_5x, False, "files", r"field files\.test\[\d+\]: \S+ is listed again \(first at files\.test\[0\]\); expected every "
                                 r"file once, in one split"),
    "test image copied into train": (copied_into_train, False, "files",
                                     r"field files\.test\[0\]: \S+ is listed again \(first at files\.train\[\d+\]\); "
                                     r"expected every file once"),
    "test bytes copied into train": (bytes_copied_into_train, False, "files",
                                     r"field files\.test\[0\]: \S+ is byte-identical to files\.train\[\d+\] "
                                     r"good/copy_of_a_test_image\.png .*expected disjoint splits"),
    "test label flipped": (flip("test"), False, "files",
                           r"field files\.test\[0\]\.label: '\w+' for \S+; expected the dataset's own label '\w+'"),
    "train label flipped": (flip("train"), False, "files",
                            r"field files\.train\[0\]\.label: '\w+' for \S+; expected the dataset's own label"),
    "test label outside the taxonomy": (label_outside, False, "files",
                                        r"field files\.test\[0\]\.label: 'rust' \(\S+\) is not in the taxonomy "
                                        r"\['good', 'hole', 'scratch'\]; expected one of them"),
    "hardest class without test images": (hardest_without_test_images, False, "files",
                                          r"field counts\.test\.scratch: 0: the hardest class 'scratch' has no test "
                                          r"image; expected at least one in every split"),
    "hardest class outside the taxonomy": (hardest_outside, False, "hardest",
                                           r"field hardest\.class: 'rust' is not in the taxonomy \['good', 'hole', "
                                           r"'scratch'\]; expected one of them"),
    "pilot_seeds deleted": (pilot_seeds_deleted, True, "hardest",
                            r"field hardest\.evidence\.pilot_seeds: missing; expected it for rule 'selection'"),
}


def _base(study, selection: bool) -> Path:
    tmp = study[0]
    path = tmp / "split.json"
    if selection:
        path = write_manifest(_selection(load_manifest(path)), tmp / "selection.json")
    guard(study, path)  # the unedited manifest passes
    return path


@pytest.mark.parametrize("probe", PROBES)
def test_hand_edit_is_refused_naming_the_field(study, probe):
    edit, selection, field, _ = PROBES[probe]
    path = _base(study, selection)
    m = load_manifest(path)
    edit(m)
    bad = hand_edit(path, m, study[0] / "edited.json")
    with pytest.raises(ManifestError, match=rf"{bad}: fields? ('\w+', )?'{field}' changed since the manifest was "
                                            rf"sealed.*expected the sealed content \((seal\.fields\.\w+, )?"
                                            rf"seal\.fields\.{field}\); rebuild it with "
                                            rf"`scarce split`, or review the change and reseal it with "
                                            rf"`python -m benchmark\.split\.seal {bad}`"):
        guard(study, bad)


@pytest.mark.parametrize("probe", PROBES)
def test_resealed_edit_is_refused_by_the_whole_manifest_checks(study, probe):
    edit, selection, _, expected = PROBES[probe]
    path = _base(study, selection)
    m = load_manifest(path)
    edit(m)
    bad = write_manifest(m, study[0] / "resealed.json")
    with pytest.raises(ManifestError, match=rf"{bad}: {expected}"):
        guard(study, bad)


def test_the_seal_names_the_entry_that_changed(study):
    path = study[0] / "split.json"
    m = load_manifest(path)
    victim = m["files"]["test"][2]["path"]
    m["files"]["test"][2]["label"] = "hole" if m["files"]["test"][2]["label"] != "hole" else "good"
    bad = hand_edit(path, m, study[0] / "one_label.json")
    with pytest.raises(ManifestError, match=rf"field 'files' changed since the manifest was sealed \(files\.test: "
                                            rf"entry #2 {victim} changed\)"):
        guard(study, bad)
    m = load_manifest(path)
    m["files"]["test"] += [dict(m["files"]["test"][0]) for _ in range(4)]
    bad = hand_edit(path, m, study[0] / "dup.json")
    n = len(m["files"]["test"]) - 4
    with pytest.raises(ManifestError, match=rf"\(files\.test: entries #{n} .* added\)"):
        guard(study, bad)
    m = load_manifest(path)
    m["surprise"] = 1
    with pytest.raises(ManifestError, match=r"field 'surprise' was added since the manifest was sealed"):
        guard(study, hand_edit(path, m, study[0] / "added.json"))


def test_unsealed_manifest_is_refused_with_the_command_that_seals_it(study, capsys):
    from benchmark.split.seal import main

    path = study[0] / "split.json"
    old = study[0] / "old.json"
    old.write_text(json.dumps({k: v for k, v in load_manifest(path).items() if k != "seal"}, indent=1))
    with pytest.raises(ManifestError, match=rf"{old}: field 'seal' missing: the manifest is not sealed.*expected a "
                                            rf"sealed manifest: review it, then seal it with "
                                            rf"`python -m benchmark\.split\.seal {old}`"):
        guard(study, old)
    assert main([str(old)]) == 0
    assert manifest_sha256(load_manifest(old)) == manifest_sha256(load_manifest(path))  # run IDs unchanged
    guard(study, old)
    # the seal command refuses an incoherent manifest instead of blessing it
    m = load_manifest(path)
    dup_test_5x(m)
    bad = study[0] / "dup_unsealed.json"
    bad.write_text(json.dumps({k: v for k, v in m.items() if k != "seal"}))
    assert main([str(bad)]) == 1
    assert "listed again" in capsys.readouterr().err
    assert "seal" not in json.loads(bad.read_text())


def test_seal_leaves_manifest_sha256_and_the_content_unchanged(study):
    m = load_manifest(study[0] / "split.json")
    assert m["seal"]["sha256"] == manifest_sha256(m)
    bare = {k: v for k, v in m.items() if k != "seal"}
    assert manifest_sha256(bare) == manifest_sha256(m)
    write_manifest(bare, study[0] / "again.json")
    assert load_manifest(study[0] / "again.json") == m


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_committed_manifests_are_sealed_and_coherent(path):
    from benchmark.split.seal import check_seal
    from benchmark.split.validate import check_structure

    m = load_manifest(path)
    check_seal(m, str(path), ManifestError)
    check_structure(m, str(path))
    assert m["seal"]["sha256"] == manifest_sha256(m)


def test_detection_label_is_checked_against_the_dataset(tmp_path):
    from benchmark.detect.data import create_det_dataset
    from tests.detect_fixtures import tiny_demo_det

    root, path = tiny_demo_det(tmp_path, n=24)
    ds = create_det_dataset({"name": "demo_det", "root": str(root)})
    cfg = {"split": {"manifest": str(path)}}
    frozen_manifest(cfg, ds, [0], ("train", "selection", "test"))
    m = load_manifest(path)
    e = m["files"]["test"][0]
    e["label"] = next(c for c in m["classes"] if c != e["label"])
    bad = write_manifest(recount(m), tmp_path / "flipped.json")
    with pytest.raises(ManifestError, match=rf"{bad}: field files\.test\[0\]\.label: .* expected the dataset's own "
                                            rf"label"):
        frozen_manifest({"split": {"manifest": str(bad)}}, ds, [0], ("train", "selection", "test"))
    m = load_manifest(path)  # the hardest class must have objects in every split
    m["files"]["test"] = [e for e in m["files"]["test"] if ds.object_counts([ds_item(e)]).get("speck", 0) == 0]
    bad = write_manifest(recount(m), tmp_path / "nospeck.json")
    with pytest.raises(ManifestError, match=rf"{bad}: field files\.test: no object of the hardest class 'speck'"):
        frozen_manifest({"split": {"manifest": str(bad)}}, ds, [0], ("train", "selection", "test"))


def ds_item(e: dict):
    from benchmark.detect.data import DetItem

    return DetItem(e["path"], e["label"], e.get("mask"), e.get("boxes"))


def test_scarce_audit_refuses_a_hand_edited_manifest_too(study):
    # the audit reads the test split as its reference: it runs the same whole-manifest checks as a run
    from benchmark.audit.command import run_audit

    tmp, cfg, ds, _ = study
    path = tmp / "split.json"
    m = load_manifest(path)
    m["files"]["test"] += [dict(m["files"]["test"][0]) for _ in range(4)]
    bad = hand_edit(path, m, tmp / "dup_audit.json")
    over = ["dataset.id=imagefolder", f"dataset.root={ds.root}", f"dataset.masks={tmp / 'data' / 'masks'}", f"split.manifest={bad}",
            f"cache_root={tmp / 'cache'}"]
    with pytest.raises(ManifestError, match=rf"{bad}: field 'files' changed since the manifest was sealed"):
        run_audit(None, "imagefolder", over, None, calibrate=True)
