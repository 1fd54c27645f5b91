"""Frozen split: stratification, manifest hashing, tamper refusal, hardest-class rule."""
import pytest

from benchmark.split.hardest import choose_hardest, fixed_hardest
from benchmark.split.manifest import ManifestError, build_split, check_no_synthetic_in_test, manifest_sha256, \
    split_items, verify
from benchmark.data.base import Item


def test_split_is_stratified_complete_and_disjoint(tiny_dataset):
    m = build_split(tiny_dataset, seed=0)
    # per class: selection = test = max(1, round(0.2 n)), train = the rest
    assert m["counts"]["test"] == {"good": 2, "hole": 2, "scratch": 1}
    assert m["counts"]["selection"] == {"good": 2, "hole": 2, "scratch": 1}
    assert m["counts"]["train"] == {"good": 8, "hole": 4, "scratch": 4}
    paths = [e["path"] for s in ("train", "selection", "test") for e in m["files"][s]]
    assert sorted(paths) == sorted(it.path for it in tiny_dataset.items)  # every file exactly once
    assert build_split(tiny_dataset, seed=0)["files"] == m["files"]  # same seed, same split
    assert build_split(tiny_dataset, seed=1)["files"] != m["files"]


def test_tampered_test_image_is_refused_by_name(tiny_dataset):
    m = build_split(tiny_dataset, seed=0)
    n_masks = sum(it.mask is not None for it in tiny_dataset.items)
    assert verify(m, tiny_dataset) == len(tiny_dataset.items) + n_masks
    victim = m["files"]["test"][0]["path"]
    p = tiny_dataset.abspath(victim)
    data = bytearray(p.read_bytes())
    data[-1] ^= 0xFF  # one byte
    p.write_bytes(bytes(data))
    with pytest.raises(ManifestError, match=victim.replace("/", ".")) as e:
        verify(m, tiny_dataset)
    assert "test file changed" in str(e.value)
    p.unlink()
    with pytest.raises(ManifestError, match="missing"):
        verify(m, tiny_dataset)


def test_manifest_hash_changes_with_content(tiny_dataset):
    m = build_split(tiny_dataset, seed=0)
    h = manifest_sha256(m)
    m["hardest"] = {"class": "hole"}
    assert manifest_sha256(m) != h


def test_synthetic_copy_of_a_test_image_is_refused(tiny_dataset, tmp_path):
    m = build_split(tiny_dataset, seed=0)
    src = tiny_dataset.abspath(m["files"]["test"][0]["path"])
    copy = tmp_path / "copy.png"
    copy.write_bytes(src.read_bytes())
    with pytest.raises(ManifestError, match="byte-identical to a test image"):
        check_no_synthetic_in_test(m, [Item(str(copy), "hole")])
    check_no_synthetic_in_test(m, [Item(str(tiny_dataset.abspath(m["files"]["train"][0]["path"])), "hole")])


def test_hardest_rule_lowest_mean_then_fewest_labels():
    # hole: mean(0.5, 0.7) = 0.6; scratch: mean(0.6, 0.6) = 0.6 -> tie, scratch has fewer labels (3 < 5)
    per_seed = {1000: {"hole": 0.5, "scratch": 0.6, "crack": 0.9}, 1001: {"hole": 0.7, "scratch": 0.6, "crack": 0.3}}
    cls, ev = choose_hardest(per_seed, {"hole": 5, "scratch": 3, "crack": 9}, ["hole", "scratch", "crack"])
    assert cls == "scratch"
    assert ev["mean_selection_accuracy"]["crack"] == pytest.approx(0.6)
    # crack also ties at 0.6 but has 9 labels
    assert ev["ranking"] == ["scratch", "hole", "crack"]
    cls, ev = choose_hardest({0: {"a": 0.2, "b": 0.1}}, {"a": 1, "b": 50}, ["a", "b"])
    assert cls == "b"  # accuracy first, labels only break ties


def test_fixed_hardest_validates_class():
    assert fixed_hardest("hole", ["good", "hole"], "published")[0] == "hole"
    with pytest.raises(ValueError, match="not in the taxonomy"):
        fixed_hardest("blowhole", ["good", "hole"], "published")


def test_split_items_roundtrip(tiny_dataset):
    m = build_split(tiny_dataset, seed=0)
    assert all(isinstance(it, Item) for it in split_items(m, "train"))
