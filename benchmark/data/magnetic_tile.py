"""`magnetic_tile`: the Magnetic Tile Defect dataset (Huang et al. 2020), read in its upstream layout.

`<root>/MT_<Class>/Imgs/<id>.jpg` with the pixel mask `<id>.png` beside it (soft-edged 8-bit grey;
`load_mask` thresholds it). The images are never copied into the repository; the adapter reads a path.
"""
from __future__ import annotations

import re
from pathlib import Path

from benchmark import PROJECT_ROOT
from benchmark.data._registry import register_dataset
from benchmark.data.base import IMAGE_EXTENSIONS, Dataset, DatasetError, Item
from benchmark.data.imagefolder import resolve_root

PREFIX = "MT_"
NOMINAL = "free"
MASK_EXT = ".png"
# Upstream images are .jpg; the .png files in Imgs/ are masks, so pngs can't double as images here.
IMAGE_EXTS = tuple(e for e in IMAGE_EXTENSIONS if e != MASK_EXT)


# A tile is photographed under several exposures, saved as `exp<k>_num_<n>.jpg` with k rising (1..6) and n a
# frame counter that rises by 10-1257 between exposures of one tile. A new tile starts where k stops rising.
SHOT = re.compile(r"exp(\d+)_num_(\d+)$")
MAX_SHOT_GAP = 2000  # frame counter gap beyond which two shots are not one tile even if k rises


def tile_parts(items: list[Item]) -> dict[str, str]:
    """{image path: tile id} from the file names: the runs of rising exposure index along the frame counter,
    per class folder. Hashes alone miss many of these pairs (exposures of one tile differ by up to 69 bits;
    22 % of images have no other exposure of their tile within 8), so the split groups by them too
    (benchmark/split/groups.py). A name outside the pattern is its own tile."""
    out, by_folder = {}, {}
    for it in items:
        m = SHOT.search(Path(it.path).stem)
        if m is None:
            out[it.path] = it.path
        else:
            by_folder.setdefault(Path(it.path).parts[0], []).append((int(m[2]), int(m[1]), it.path))
    for folder, shots in by_folder.items():
        tile, prev = 0, None
        for num, k, path in sorted(shots):
            if prev is not None and (k <= prev[1] or num - prev[0] > MAX_SHOT_GAP):
                tile += 1
            out[path], prev = f"{folder}/tile{tile:03d}", (num, k)
    return out


def default_root() -> Path:
    return PROJECT_ROOT.parent / "shared" / "data" / "magnetic_tile"


def class_name(folder: Path) -> str:
    """`MT_Blowhole` -> `blowhole`: the taxonomy uses short lowercase names."""
    return folder.name[len(PREFIX):].lower()


def scan_imgs(imgs: Path, root: Path, label: str) -> list[Item]:
    """Items of one `MT_<Class>/Imgs` folder: each image with its same-stem png mask (None if absent)."""
    images, masks = {}, {}
    for p in sorted(imgs.iterdir()):
        if p.name.startswith("."):
            continue
        ext = p.suffix.lower()
        if not p.is_file() or (ext not in IMAGE_EXTS and ext != MASK_EXT):
            what = "directory" if p.is_dir() else f"file with extension {p.suffix!r}"
            raise DatasetError(f"{p}: unexpected {what}; expected only <id>.jpg images and their <id>.png masks")
        (masks if ext == MASK_EXT else images)[p.stem] = p
    orphans = sorted(set(masks) - set(images))
    if orphans:
        raise DatasetError(f"{masks[orphans[0]]}: mask without an image ({len(orphans)} such); "
                           f"expected an <id>.jpg beside each <id>.png")
    if not images:
        raise DatasetError(f"{imgs}: no images; expected at least one <id>.jpg in each class")
    rel = lambda p: p.relative_to(root).as_posix()  # noqa: E731
    return [Item(path=rel(images[s]), label=label, mask=rel(masks[s]) if s in masks else None)
            for s in sorted(images)]


@register_dataset("magnetic_tile")
def magnetic_tile(root: str | Path | None = None, **_) -> Dataset:
    if root is None:
        root = default_root()
        if not root.is_dir():
            raise DatasetError(f"{root}: Magnetic Tile dataset not found at the default location; "
                               f"pass dataset.root=<dir> (the folder holding MT_Blowhole/, MT_Free/, ...)")
    root = resolve_root(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a directory; expected the folder holding MT_<Class>/Imgs/ folders")
    folders = sorted((p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX)),
                     key=class_name)
    if not folders:
        raise DatasetError(f"{root}: no {PREFIX}* folders; expected the upstream layout MT_<Class>/Imgs/<id>.jpg")
    items: list[Item] = []
    for folder in folders:
        imgs = folder / "Imgs"
        if not imgs.is_dir():
            raise DatasetError(f"{folder}: no Imgs/ folder; expected {folder.name}/Imgs/<id>.jpg")
        items += scan_imgs(imgs, root, class_name(folder))
    classes = [class_name(f) for f in folders]
    if NOMINAL not in classes:
        raise DatasetError(f"{root}: no MT_Free folder; expected the defect-free class MT_Free/Imgs/")
    return Dataset(name="magnetic_tile", root=root, classes=classes, nominal=NOMINAL, items=items,
                   meta={"parts": tile_parts(items), "parts_rule": "exposure runs of one tile (exp<k>_num_<n>)"})
