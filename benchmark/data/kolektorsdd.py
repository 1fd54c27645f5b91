"""`kolektorsdd`: the Kolektor Surface-Defect Dataset (Tabernik et al. 2020), upstream layout.

    <root>/kos<NN>/Part<N>.jpg      with its label image      <root>/kos<NN>/Part<N>_label.bmp

The class is `defect` when the label image has any pixel > 0, else `good` (nominal). Defect items keep
their label image as mask. Listing decodes every label image once (a few hundred small files).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from benchmark.data._registry import register_dataset
from benchmark.data.base import Dataset, DatasetError, Item
from benchmark.data.fetch import describe_dir, locate_root

FOLDER = re.compile(r"^kos\d+$")
IMAGE = re.compile(r"^Part\d+\.jpg$", re.IGNORECASE)
LABEL = re.compile(r"^(Part\d+)_label\.bmp$", re.IGNORECASE)
NOMINAL, DEFECT = "good", "defect"
EXPECTED = "<root>/kos<NN>/Part<N>.jpg with <root>/kos<NN>/Part<N>_label.bmp"


def has_defect(label: Path) -> bool:
    try:
        with Image.open(label) as im:
            return bool(np.asarray(im.convert("L")).max() > 0)
    except (UnidentifiedImageError, OSError) as e:
        raise DatasetError(f"{label}: unreadable label image ({e}); expected a BMP") from None


def pairs(folder: Path) -> list[tuple[Path, Path]]:
    """(image, label) pairs of one kos folder; stray files, missing or orphan labels are errors."""
    images, labels = {}, {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        m = LABEL.match(p.name)
        if m and p.is_file():
            labels[m.group(1).lower()] = p
        elif IMAGE.match(p.name) and p.is_file():
            images[p.stem.lower()] = p
        else:
            raise DatasetError(f"{p}: unexpected entry; expected only Part<N>.jpg and Part<N>_label.bmp")
    for stem in sorted(set(images) ^ set(labels)):
        have, lacks = (images[stem], "_label.bmp") if stem in images else (labels[stem], ".jpg")
        raise DatasetError(f"{have}: its {lacks} partner is missing; expected {EXPECTED}")
    if not images:
        raise DatasetError(f"{folder}: no images; expected {EXPECTED}")
    return [(images[s], labels[s]) for s in sorted(images)]


@register_dataset("kolektorsdd")
def kolektorsdd(root: str | Path | None = None, **_) -> Dataset:
    root = locate_root("kolektorsdd", root, EXPECTED)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and FOLDER.match(p.name))
    if not folders:
        raise DatasetError(f"{root}: no kos<NN> folders; expected {EXPECTED}; {describe_dir(root)}")
    items = []
    for folder in folders:
        for img, label in pairs(folder):
            rel = lambda p: p.relative_to(root).as_posix()  # noqa: E731
            items.append(Item(rel(img), DEFECT, rel(label)) if has_defect(label) else Item(rel(img), NOMINAL))
    if not any(it.label == DEFECT for it in items):
        raise DatasetError(f"{root}: no label image has a pixel > 0; expected some defective parts")
    return Dataset(name="kolektorsdd", root=root, classes=[DEFECT, NOMINAL], nominal=NOMINAL, items=items)
