"""Grouped splits: several shots of one part never straddle train and test."""
import numpy as np
import pytest
from PIL import Image

from benchmark.data import create_dataset
from benchmark.split.groups import group_split, hamming, image_hashes, near_duplicate_groups
from benchmark.split.manifest import build_split

SHOTS = (0.8, 1.0, 1.2)  # exposures of one part: the same texture, brighter or darker


def write_parts(root, parts_per_class=10, classes=("crack", "good")):
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for p in range(parts_per_class):
            base = rng.random((8, 8))  # coarse texture: one "part"
            tex = np.kron(base, np.ones((8, 8))) * 180 + 30
            for k, gain in enumerate(SHOTS):
                Image.fromarray(np.clip(tex * gain, 0, 255).astype(np.uint8)).save(root / c / f"p{p:02d}_exp{k}.png")
    return create_dataset("imagefolder", root=str(root), nominal="good")


def part_of(path: str) -> str:
    return path.rsplit("_exp", 1)[0]


def test_shots_of_one_part_form_one_group(tmp_path):
    ds = write_parts(tmp_path / "d")
    paths = [str(ds.abspath(it.path)) for it in ds.items]
    bits = image_hashes(paths)
    groups = near_duplicate_groups(bits, 8)
    by_part = {}
    for it, g in zip(ds.items, groups):
        by_part.setdefault(part_of(it.path), set()).add(int(g))
    assert all(len(g) == 1 for g in by_part.values())  # every part's shots share a group
    assert len(set(groups)) == len(by_part)  # and distinct parts are never merged
    assert hamming(bits[:1], bits[:1])[0, 0] == 0


def test_grouped_split_keeps_parts_whole_and_per_image_split_leaks(tmp_path):
    ds = write_parts(tmp_path / "d")
    grouped = build_split(ds, seed=0, group={"method": "near_duplicate", "max_bits": 8})
    where = {}
    for s, entries in grouped["files"].items():
        for e in entries:
            where.setdefault(part_of(e["path"]), set()).add(s)
    assert all(len(v) == 1 for v in where.values())
    assert grouped["leak_check"]["test_with_train_near_duplicate"] == 0
    assert grouped["config"]["group"] == {"method": "near_duplicate", "max_bits": 8, "n_groups": 20}
    assert all(grouped["counts"][s][c] > 0 for s in ("train", "selection", "test") for c in ("crack", "good"))
    per_image = build_split(ds, seed=0)
    assert per_image["leak_check"]["test_with_train_near_duplicate"] > 0  # what the grouped split prevents
    assert per_image["config"]["group"] is None


def test_group_split_refuses_what_it_cannot_do():
    labels = ["a"] * 10 + ["b"] * 2
    groups = np.array([i // 2 for i in range(12)])  # class b is a single group: it can't be in 3 splits
    with pytest.raises(ValueError, match=r"got no image of class\(es\) \['b'\]"):
        group_split(labels, groups, {"train": 0.6, "selection": 0.2, "test": 0.2}, 0)
    with pytest.raises(ValueError, match="selection == test"):
        group_split(labels, groups, {"train": 0.5, "selection": 0.3, "test": 0.2}, 0)


def test_unknown_group_method_is_refused(tmp_path):
    ds = write_parts(tmp_path / "d", parts_per_class=5)
    with pytest.raises(ValueError, match="split.group='tile_id'"):
        build_split(ds, group={"method": "tile_id"})


def test_grouped_manifest_records_each_files_unit(tmp_path):
    # issue 15 item 5: the statistics resample the independent unit, so the manifest names it per file
    import copy

    from benchmark.split.manifest import ManifestError, record_groups, split_units

    ds = write_parts(tmp_path / "d")
    grouped = build_split(ds, seed=0, group={"method": "near_duplicate", "max_bits": 8})
    units = split_units(grouped, "test")
    parts = [part_of(e["path"]) for e in grouped["files"]["test"]]
    assert len(units) == len(parts) and len(set(units)) == len(set(parts))           # one unit per part
    assert all(len({u for u, p in zip(units, parts) if p == q}) == 1 for q in parts)
    assert split_units(build_split(ds, seed=0), "test") is None                      # per image: no groups
    # a grouped manifest frozen before groups were recorded gets exactly these groups back, split unchanged
    old = copy.deepcopy(grouped)
    for s in old["files"].values():
        for e in s:
            del e["group"]
    assert record_groups(old, ds)["files"] == grouped["files"]
    moved = copy.deepcopy(old)
    moved["files"]["train"].append(moved["files"]["test"].pop())     # a part now straddles train and test
    with pytest.raises(ManifestError, match="straddle"):
        record_groups(moved, ds)


def test_parts_the_hash_cannot_see_are_kept_together(tmp_path):
    # issue 17: Magnetic Tile exposures of one tile can differ by 40 hash bits; the dataset's own part ids
    # (its file names) link them. Here every shot is a different random texture, so hashes link nothing.
    rng = np.random.default_rng(1)
    for c in ("crack", "good"):
        (tmp_path / "d" / c).mkdir(parents=True)
        for p in range(10):
            for k in range(3):
                Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)).save(tmp_path / "d" / c / f"p{p:02d}_exp{k}.png")
    ds = create_dataset("imagefolder", root=str(tmp_path / "d"), nominal="good")
    blind = build_split(ds, seed=0, group={"method": "near_duplicate", "max_bits": 8})
    assert blind["config"]["group"]["n_groups"] == 60  # hashes alone: every shot its own group
    ds.meta["parts"], ds.meta["parts_rule"] = {it.path: part_of(it.path) for it in ds.items}, "p<id>_exp<k>"
    grouped = build_split(ds, seed=0, group={"method": "near_duplicate", "max_bits": 8})
    assert grouped["config"]["group"] == {"method": "near_duplicate", "max_bits": 8, "n_groups": 20, "parts": "p<id>_exp<k>"}
    where = {}
    for s, entries in grouped["files"].items():
        for e in entries:
            where.setdefault(part_of(e["path"]), set()).add(s)
    assert all(len(v) == 1 for v in where.values())
    assert grouped["leak_check"]["test_sharing_a_part_with_train"] == 0
    ds.meta["parts"] = {it.path: it.path.split("/")[0] for it in ds.items}  # a blunt rule: one part per class
    with pytest.raises(ValueError, match="2 groups .parts. in the whole dataset; .* needs at least 5"):
        build_split(ds, seed=0, group={"method": "near_duplicate", "max_bits": 8})


def test_magnetic_tile_tiles_are_the_exposure_runs_of_its_file_names():
    from benchmark.data.base import Item
    from benchmark.data.magnetic_tile import tile_parts

    names = ["exp0_num_797", "exp6_num_972", "exp1_num_20362", "exp2_num_20390", "exp6_num_20496",  # 2 tiles
             "exp1_num_77531", "exp4_num_85602", "exp5_num_88642", "exp2_num_999", "odd_name"]
    items = [Item(f"MT_Fray/Imgs/{n}.jpg", "fray") for n in names] + [Item("MT_Free/Imgs/exp2_num_20391.jpg", "free")]
    t = tile_parts(items)
    tile = [t[it.path] for it in items]
    assert tile[0] == tile[1] and len({tile[0], tile[2]}) == 2  # exp0 -> exp6 rising: one tile; exp1 restarts
    assert tile[2] == tile[3] == tile[4] and tile[5] != tile[4]
    assert tile[6] != tile[5]  # exp4 after exp1 rises, but the frame counter jumped 8071 (> MAX_SHOT_GAP)
    assert tile[7] != tile[6]  # 3040 apart: a new tile although k rises
    assert len({tile[0], tile[8], tile[2]}) == 3  # 999 after 972: k falls 6 -> 2, a new tile; 20362 another
    assert tile[9] == "MT_Fray/Imgs/odd_name.jpg"  # outside the pattern: its own tile
    assert tile[10] != tile[3]  # another class folder is another tile, whatever its number
