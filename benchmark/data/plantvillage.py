"""`plantvillage`: the PlantVillage leaf images of one crop, read in the upstream folder layout.

    <root>/<Crop>___<Disease>/<image>.JPG      e.g. Tomato___Late_blight/, Tomato___healthy/

`<root>` is the folder holding the `<Crop>___<Disease>` folders: `raw/color` in the upstream GitHub
repository. Only the folders of `crop` are read. The class is the disease, lowercased, spaces turned to
`_` and outer `_` stripped (`Late_blight` -> `late_blight`, `Spider_mites Two-spotted_spider_mite` ->
`spider_mites_two-spotted_spider_mite`); `healthy` is nominal. The dataset is named
`plantvillage_<crop>`, so each crop gets its own split manifest.
"""
from __future__ import annotations

import re
from pathlib import Path

from benchmark.data._registry import register_dataset
from benchmark.data.base import Dataset, DatasetError, Item
from benchmark.data.fetch import describe_dir, locate_root
from benchmark.data.imagefolder import class_images

SEP = "___"
NOMINAL = "healthy"
EXPECTED = "<root>/<Crop>___<Disease>/*.jpg, e.g. Tomato___Late_blight/ (upstream raw/color/)"


def crop_key(crop: str) -> str:
    """`Pepper,_bell` / `pepper_bell` -> `pepper_bell`; `Corn_(maize)` -> `corn_maize`."""
    return re.sub(r"[^a-z0-9]+", "_", str(crop).lower()).strip("_")


def disease_class(disease: str) -> str:
    return re.sub(r"\s+", "_", disease.strip().lower()).strip("_")


def crop_folders(root: Path) -> dict[str, list[Path]]:
    """{crop key: its <Crop>___<Disease> folders}; any other folder is a layout error."""
    out: dict[str, list[Path]] = {}
    for p in sorted(root.iterdir()):
        if not p.is_dir() or p.name.startswith("."):
            continue
        if SEP not in p.name:
            raise DatasetError(f"{p}: unexpected folder; expected only <Crop>___<Disease> folders ({EXPECTED}); "
                               f"{describe_dir(root)}")
        out.setdefault(crop_key(p.name.split(SEP, 1)[0]), []).append(p)
    if not out:
        raise DatasetError(f"{root}: no <Crop>___<Disease> folders; expected {EXPECTED}; {describe_dir(root)}")
    return out


@register_dataset("plantvillage")
def plantvillage(root: str | Path | None = None, crop: str = "tomato", **_) -> Dataset:
    root = locate_root("plantvillage", root, EXPECTED)
    crops, key = crop_folders(root), crop_key(crop)
    if key not in crops:
        raise DatasetError(f"{root}: no folders for crop {crop!r}; expected <Crop>___<Disease> folders of it; "
                           f"crops found: {', '.join(sorted(crops))}")
    items, seen = [], {}
    for folder in crops[key]:
        label = disease_class(folder.name.split(SEP, 1)[1])
        if not label or label in seen:
            raise DatasetError(f"{folder}: disease name {label!r} is empty or repeats {seen.get(label)}; "
                               f"expected one folder per disease")
        seen[label] = folder.name
        items += [Item(p.relative_to(root).as_posix(), label) for p in class_images(folder)]
    if NOMINAL not in seen:
        raise DatasetError(f"{root}: no {crops[key][0].name.split(SEP)[0]}{SEP}healthy folder; expected the "
                           f"defect-free class; found {sorted(seen.values())}")
    if len(seen) < 2:
        raise DatasetError(f"{root}: crop {crop!r} has only {sorted(seen.values())}; expected healthy and at least "
                           f"one disease folder")
    return Dataset(name=f"plantvillage_{key}", root=root, classes=sorted(seen), nominal=NOMINAL, items=items,
                   meta={"crop": key, "folders": seen})
