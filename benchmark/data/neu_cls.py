"""`neu_cls`: NEU surface-defect classification, built from a NEU-DET copy (images only, boxes ignored).

    <root>/IMAGES/<class>_<n>.jpg              <root>/Validation_Images/<class>_<n>.jpg   (optional)

The class is the file-name prefix: crazing, inclusion, patches, pitted_surface, rolled-in_scale,
scratches. NEU has **no defect-free class**, but every scarce-bench dataset names a nominal class, so
by convention `nominal` is one of the six defect classes (option `nominal`, default `crazing`). That
class is then never a hardest-class candidate, and generators that paste defects onto nominal images
(`cutpaste`) are not meaningful here (NEU-DET has boxes, not masks, anyway): use a delivered set
(`generator=folder`) for the synthetic arm. Byte-identical images are dropped (`dedupe`; the shared copy
has one such pair, patches_101/patches_105).
"""
from __future__ import annotations

from pathlib import Path

from benchmark.data._registry import register_dataset
from benchmark.data.base import Dataset, DatasetError, Item
from benchmark.data.fetch import describe_dir, locate_root
from benchmark.data.riawelc import drop_duplicates

CLASSES = ("crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches")
FOLDERS = ("IMAGES", "Validation_Images")
EXT = ".jpg"
DEFAULT_NOMINAL = "crazing"
EXPECTED = "<root>/IMAGES/<class>_<n>.jpg (+ optional Validation_Images/), the NEU-DET layout"


def label_of(path: Path) -> str:
    """`rolled-in_scale_12.jpg` -> `rolled-in_scale`; anything else is a layout error."""
    prefix, _, number = path.stem.rpartition("_")
    if path.suffix.lower() != EXT or prefix not in CLASSES or not number.isdigit():
        raise DatasetError(f"{path}: unexpected file; expected <class>_<n>.jpg with class in {', '.join(CLASSES)}")
    return prefix


def scan_folder(folder: Path, root: Path) -> list[Item]:
    items = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if not p.is_file():
            raise DatasetError(f"{p}: unexpected directory; expected only <class>_<n>.jpg files in {folder.name}/")
        items.append(Item(p.relative_to(root).as_posix(), label_of(p)))
    return items


@register_dataset("neu_cls")
def neu_cls(root: str | Path | None = None, nominal: str = DEFAULT_NOMINAL, dedupe: bool = True, **_) -> Dataset:
    root = locate_root("neu_cls", root, EXPECTED)
    if not (root / FOLDERS[0]).is_dir():
        raise DatasetError(f"{root}: no IMAGES/ folder; expected {EXPECTED}; {describe_dir(root)}")
    if nominal not in CLASSES:
        raise DatasetError(f"neu_cls: dataset.nominal={nominal!r}; NEU has no defect-free class, so the nominal "
                           f"class must be one of {', '.join(CLASSES)} (default {DEFAULT_NOMINAL})")
    items = [it for f in FOLDERS if (root / f).is_dir() for it in scan_folder(root / f, root)]
    missing = sorted(set(CLASSES) - {it.label for it in items})
    if missing:
        raise DatasetError(f"{root}: no images of class(es) {missing}; expected {EXPECTED}")
    meta = {"nominal_is_a_defect_class": True, "nominal_convention": f"{nominal} stands in as nominal"}
    if dedupe:
        items, dropped = drop_duplicates(items, root)
        meta.update(dropped)
    return Dataset(name="neu_cls", root=root, classes=list(CLASSES), nominal=nominal, items=items, meta=meta)
