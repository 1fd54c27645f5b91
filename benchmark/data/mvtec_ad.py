"""`mvtec_ad`: one MVTec AD category as supervised defect classification, read in the upstream layout.

    <root>/<category>/train/good/<id>.png
    <root>/<category>/test/<defect_type>/<id>.png          (test/good included)
    <root>/<category>/ground_truth/<defect_type>/<id>_mask.png

Images of train/good and of every test folder are pooled; scarce-bench's frozen split splits them.
Classes are the upstream folder names (`good` is nominal). The dataset is named `mvtec_ad_<category>`,
so each category gets its own split manifest. `mvtec_ad_<category>` is also registered for each of the
15 categories (the same adapter with the category fixed), so `dataset=mvtec_ad_pill` works in sweeps.
"""
from __future__ import annotations

from pathlib import Path

from benchmark.data._registry import register_dataset
from benchmark.data.base import Dataset, DatasetError, Item
from benchmark.data.fetch import describe_dir, locate_root
from benchmark.data.imagefolder import class_images

CATEGORIES = ("bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather", "metal_nut", "pill",
              "screw", "tile", "toothbrush", "transistor", "wood", "zipper")
NOMINAL = "good"
EXPECTED = ("<root>/<category>/train/good/*.png, <root>/<category>/test/<defect>/*.png and "
            "<root>/<category>/ground_truth/<defect>/<id>_mask.png")


def category_dir(root: Path, category: str) -> Path:
    """`<root>/<category>`; a root that is itself a category folder gets a hint to pass its parent."""
    cat = root / category
    if cat.is_dir():
        return cat
    hint = ""
    if (root / "train").is_dir() and (root / "test").is_dir():
        hint = f" ({root.name}/ looks like a category folder: pass its parent {root.parent} as dataset.root)"
    raise DatasetError(f"{root}: no {category}/ folder{hint}; expected {EXPECTED}; {describe_dir(root)}")


def subfolders(folder: Path, what: str) -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"{folder}: missing; expected {what}; {describe_dir(folder.parent)}")
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subs:
        raise DatasetError(f"{folder}: no sub-folders; expected {what}; {describe_dir(folder)}")
    return subs


def scan_train(cat: Path) -> list[Item]:
    """train/good only: MVTec AD's training set is defect-free by design."""
    subs = subfolders(cat / "train", "train/good/<id>.png")
    if [p.name for p in subs] != [NOMINAL]:
        raise DatasetError(f"{cat / 'train'}: expected exactly one folder good/; {describe_dir(cat / 'train')}")
    return [Item(p.relative_to(cat).as_posix(), NOMINAL) for p in class_images(subs[0])]


def scan_test(cat: Path) -> list[Item]:
    """test/<defect>/<id>.png, each defect image with its ground_truth/<defect>/<id>_mask.png."""
    items = []
    for folder in subfolders(cat / "test", "test/<defect_type>/<id>.png"):
        label = folder.name
        for img in class_images(folder):
            mask = None
            if label != NOMINAL:
                m = cat / "ground_truth" / label / f"{img.stem}_mask.png"
                if not m.is_file():
                    raise DatasetError(f"{m}: mask of {img.relative_to(cat).as_posix()} not found; expected "
                                       f"ground_truth/<defect>/<id>_mask.png for every defect image; "
                                       f"{describe_dir(m.parent)}")
                mask = m.relative_to(cat).as_posix()
            items.append(Item(img.relative_to(cat).as_posix(), label, mask))
    return items


@register_dataset("mvtec_ad")
def mvtec_ad(root: str | Path | None = None, category: str | None = None, **_) -> Dataset:
    if category not in CATEGORIES:
        raise DatasetError(f"mvtec_ad: dataset.category={category!r}; expected one of {', '.join(CATEGORIES)}")
    root = locate_root("mvtec_ad", root, f"the folder holding {', '.join(CATEGORIES[:3])}, ... ({EXPECTED})")
    cat = category_dir(root, category)
    items = scan_train(cat) + scan_test(cat)
    classes = sorted({it.label for it in items})
    if classes == [NOMINAL]:
        raise DatasetError(f"{cat / 'test'}: no defect folders; expected test/<defect_type>/ besides test/good/")
    return Dataset(name=f"mvtec_ad_{category}", root=cat, classes=classes, nominal=NOMINAL, items=items,
                   meta={"source": "mvtec_ad", "category": category})


def _fixed_category(category: str):
    def factory(root: str | Path | None = None, **opts) -> Dataset:
        given = opts.get("category")
        if given not in (None, category):
            raise DatasetError(f"mvtec_ad_{category}: dataset.category={given!r} contradicts the dataset name; "
                               f"use dataset=mvtec_ad_{given} (or dataset=mvtec_ad dataset.category={given})")
        return mvtec_ad(root=root, category=category)

    factory.__name__ = f"mvtec_ad_{category}"
    return factory


for _category in CATEGORIES:
    register_dataset(f"mvtec_ad_{_category}")(_fixed_category(_category))
