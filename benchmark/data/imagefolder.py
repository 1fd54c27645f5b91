"""`imagefolder`: any `root/<class>/*.{png,jpg,jpeg,bmp}` tree, with optional `masks/<class>/<stem>.png`.

The scanning helpers here are shared with the `demo` adapter, which has the same per-class layout.
"""
from __future__ import annotations

from pathlib import Path

from benchmark.data._registry import register_dataset
from benchmark.data.base import IMAGE_EXTENSIONS, Dataset, DatasetError, Item


def resolve_root(root: str | Path) -> Path:
    """Relative roots are taken from the current working directory (what a user typing a path expects)."""
    return Path(root).expanduser().resolve()


def rel_posix(path: Path, root: Path) -> str:
    """Posix path relative to `root` when under it, else absolute (Item's convention for outside files)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def class_images(folder: Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[Path]:
    """Sorted images of one class folder; anything else that is not hidden is an error, not silently skipped
    (a stray file usually means the tree is not laid out the way the user thinks)."""
    images = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if not p.is_file() or p.suffix.lower() not in extensions:
            what = "directory" if p.is_dir() else f"file with extension {p.suffix!r}"
            raise DatasetError(f"{p}: unexpected {what} in class folder; expected only images with "
                               f"extensions {extensions} (any case)")
        images.append(p)
    if not images:
        raise DatasetError(f"{folder}: class folder has no images; expected at least one {extensions} file")
    return images


def class_folders(image_dir: Path, exclude: Path | None = None) -> list[Path]:
    """Non-hidden sub-directories of `image_dir`, sorted by name (the sorted order defines label indices)."""
    if not image_dir.exists():
        raise DatasetError(f"{image_dir}: dataset root does not exist; expected a directory of class folders")
    if not image_dir.is_dir():
        raise DatasetError(f"{image_dir}: dataset root is not a directory; expected a directory of class folders")
    folders = sorted((p for p in image_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
                      and (exclude is None or p.resolve() != exclude)), key=lambda p: p.name)
    if not folders:
        raise DatasetError(f"{image_dir}: no class folders found; expected <root>/<class>/<image files>")
    return folders


def scan_class_tree(root: Path, image_dir: Path, mask_dir: Path | None,
                    extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> tuple[list[str], list[Item]]:
    """(classes, items) for `image_dir/<class>/<image>` with masks at `mask_dir/<class>/<stem>.png`.

    Item paths are relative to `root` (which may differ from `image_dir`, as in the demo layout).
    """
    if mask_dir is not None and not mask_dir.is_dir():
        raise DatasetError(f"{mask_dir}: mask directory does not exist; expected <masks>/<class>/<stem>.png")
    folders = class_folders(image_dir, exclude=mask_dir)
    items: list[Item] = []
    for folder in folders:
        for img in class_images(folder, extensions):
            mask = None
            if mask_dir is not None:
                candidate = mask_dir / folder.name / f"{img.stem}.png"
                # A missing mask is allowed: good images have none, and some datasets mask only a subset.
                mask = rel_posix(candidate, root) if candidate.is_file() else None
            items.append(Item(path=rel_posix(img, root), label=folder.name, mask=mask))
    return [f.name for f in folders], items


@register_dataset("imagefolder")
def imagefolder(root: str | Path | None = None, nominal: str = "good", masks: str | Path | None = None,
                **_) -> Dataset:
    if root is None:
        raise DatasetError("imagefolder needs a root: pass dataset.root=<dir> (a directory of class folders)")
    root = resolve_root(root)
    mask_dir = resolve_root(masks) if masks is not None else None
    classes, items = scan_class_tree(root, root, mask_dir)
    if nominal not in classes:
        raise DatasetError(f"{root}: nominal class {nominal!r} has no folder; found classes {classes} "
                           f"(pass dataset.nominal=<class>)")
    return Dataset(name="imagefolder", root=root, classes=classes, nominal=nominal, items=items,
                   meta={"masks": str(mask_dir) if mask_dir else None})
