"""`marble`: Marble Surface Anomaly Detection 2 (Kaggle), read in its upstream layout.

    <root>/train/<class>/<image>      <root>/test/<class>/<image>      class in good, crack, joint, dot

Both subsets are pooled (scarce-bench's frozen split splits them); item paths keep the subset, e.g.
`train/crack/<image>`. `good` is nominal. The dataset ships no defect masks.
"""
from __future__ import annotations

from pathlib import Path

from benchmark.data._registry import register_dataset
from benchmark.data.base import Dataset, DatasetError, Item
from benchmark.data.fetch import describe_dir, locate_root
from benchmark.data.imagefolder import class_images

CLASSES = ("crack", "dot", "good", "joint")
SUBSETS = ("train", "test")
NOMINAL = "good"
EXPECTED = "<root>/train/<class>/<image> and <root>/test/<class>/<image>, class in good, crack, joint, dot"


def scan_subset(root: Path, subset: str) -> list[Item]:
    folder = root / subset
    if not folder.is_dir():
        raise DatasetError(f"{folder}: missing; expected {EXPECTED}; {describe_dir(root)}")
    items = []
    for cls in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if cls.name not in CLASSES:
            raise DatasetError(f"{cls}: unexpected class folder; expected only {', '.join(CLASSES)}; "
                               f"{describe_dir(folder)}")
        items += [Item(p.relative_to(root).as_posix(), cls.name) for p in class_images(cls)]
    return items


@register_dataset("marble")
def marble(root: str | Path | None = None, **_) -> Dataset:
    root = locate_root("marble", root, EXPECTED)
    items = [it for subset in SUBSETS for it in scan_subset(root, subset)]
    missing = sorted(set(CLASSES) - {it.label for it in items})
    if missing:
        raise DatasetError(f"{root}: no images of class(es) {missing} in train/ or test/; expected {EXPECTED}; "
                           f"{describe_dir(root / 'train')}")
    return Dataset(name="marble", root=root, classes=list(CLASSES), nominal=NOMINAL, items=items)
