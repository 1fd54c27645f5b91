"""`riawelc`: RIAWELC radiographs of welds (Totino et al. 2022), four classes, upstream folder layout.

    <root>/{training,validation,testing}/<class folder>/<image>.png    (the subsets are pooled)
    <root>/<class folder>/<image>.png                                   (or no subset level at all)

Class folders named with the documented RIAWELC codes map to readable classes: CR -> crack,
LP -> lack_of_penetration, ND -> no_defect (nominal), PO -> porosity. The upstream release names its
folders Difetto1, Difetto2, Difetto4 and NoDifetto; third-party code disagrees on which Difetto folder
is which defect, so those folders are only read with an explicit `folder_classes` mapping (checked by
the user against the upstream README), never guessed.

Byte-identical images are dropped (`dedupe`, on by default): third-party audits report that the upstream
testing/ images repeat training/ images, and a duplicate on both sides of our split would leak test
images into training. The first copy in path order is kept; copies that disagree on the label are all
dropped. `meta` records both counts.
"""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from pathlib import Path

from benchmark.data._registry import register_dataset
from benchmark.data.base import Dataset, DatasetError, Item
from benchmark.data.fetch import describe_dir, locate_root
from benchmark.data.imagefolder import class_images

log = logging.getLogger("scarce.data")

CODES = {"CR": "crack", "LP": "lack_of_penetration", "ND": "no_defect", "PO": "porosity"}
CLASSES = sorted(CODES.values())
UPSTREAM_ITALIAN = ("Difetto1", "Difetto2", "Difetto4", "NoDifetto")
SUBSETS = ("training", "validation", "testing")
NOMINAL = "no_defect"
EXPECTED = ("<root>/{training,validation,testing}/{CR,LP,ND,PO}/*.png (or the class folders directly "
            "under <root>)")


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def drop_duplicates(items: list[Item], root: Path) -> tuple[list[Item], dict[str, int]]:
    """Items without byte-identical repeats (first in path order kept; label conflicts all dropped).
    Only files that share their size with another file are hashed."""
    by_size: dict[int, list[Item]] = defaultdict(list)
    for it in items:
        by_size[(root / it.path).stat().st_size].append(it)
    key = {it.path: ("path", it.path) for it in items}
    for same in by_size.values():
        if len(same) > 1:
            key.update({it.path: ("sha256", file_digest(root / it.path)) for it in same})
    groups: dict[tuple, list[Item]] = defaultdict(list)
    for it in items:
        groups[key[it.path]].append(it)
    keep, dropped, conflicting = set(), 0, 0
    for group in groups.values():
        group = sorted(group, key=lambda it: it.path)
        if len({it.label for it in group}) > 1:
            conflicting += len(group)
            log.warning("%s: %d byte-identical images with different labels %s; all dropped", root,
                        len(group), sorted({it.label for it in group}))
            continue
        keep.add(group[0].path)
        dropped += len(group) - 1
    return [it for it in items if it.path in keep], {"dropped_duplicates": dropped,
                                                     "dropped_label_conflicts": conflicting}


def class_map(folder_classes: dict | None) -> dict[str, str]:
    """Folder name -> class: the RIAWELC codes, or the user's explicit mapping (validated)."""
    if not folder_classes:
        return dict(CODES)
    mapping = {str(k): str(v) for k, v in dict(folder_classes).items()}
    bad = sorted(set(mapping.values()) - set(CLASSES))
    if bad or len(set(mapping.values())) != len(mapping):
        raise DatasetError(f"riawelc: dataset.folder_classes={mapping} must map each folder to a distinct class "
                           f"of {CLASSES}")
    return mapping


def class_parents(root: Path) -> list[Path]:
    """The subset folders that exist (training/ ...), else the root itself."""
    subsets = [root / s for s in SUBSETS if (root / s).is_dir()]
    return subsets or [root]


def scan_parent(parent: Path, root: Path, mapping: dict[str, str]) -> list[Item]:
    items = []
    for folder in sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name not in mapping:
            if folder.name in UPSTREAM_ITALIAN:
                raise DatasetError(f"{folder}: upstream folder {folder.name}/ found, but which defect each Difetto "
                                   f"folder holds is not settled (third-party code disagrees); check the upstream "
                                   f"README and pass dataset.folder_classes={{Difetto1: <class>, Difetto2: <class>, "
                                   f"Difetto4: <class>, NoDifetto: no_defect}} with classes from {CLASSES}")
            raise DatasetError(f"{folder}: unexpected folder; expected class folders {sorted(mapping)} "
                               f"({EXPECTED}); {describe_dir(parent)}")
        items += [Item(p.relative_to(root).as_posix(), mapping[folder.name]) for p in class_images(folder)]
    return items


@register_dataset("riawelc")
def riawelc(root: str | Path | None = None, folder_classes: dict | None = None, dedupe: bool = True,
            **_) -> Dataset:
    root = locate_root("riawelc", root, EXPECTED)
    mapping = class_map(folder_classes)
    parents = class_parents(root)
    items = [it for parent in parents for it in scan_parent(parent, root, mapping)]
    missing = sorted(set(CLASSES) - {it.label for it in items})
    if missing:
        want = sorted(f for f, c in mapping.items() if c in missing)
        raise DatasetError(f"{root}: no images for class(es) {missing} (folders {want}); expected {EXPECTED}; "
                           f"{describe_dir(parents[0])}")
    meta = {"subsets": [p.name for p in parents if p != root], "folder_classes": mapping}
    if dedupe:
        items, dropped = drop_duplicates(items, root)
        meta.update(dropped)
    return Dataset(name="riawelc", root=root, classes=CLASSES, nominal=NOMINAL, items=items, meta=meta)
