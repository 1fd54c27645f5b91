"""A vendor's delivery of synthetic images: a folder plus a `manifest.csv` (`path,label[,mask]`).

Nothing is copied: the set points at the delivered files, after checking that every listed path stays
inside the folder, exists, decodes, and carries a label from the dataset's taxonomy. The key hashes the
manifest and every listed file, so a silently re-delivered image changes the key.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path, PurePosixPath, PureWindowsPath

from benchmark.data.base import DatasetError, Item, load_mask, load_rgb
from benchmark.generators import register_generator
from benchmark.generators.base import GenRequest, Generator, SyntheticSet, content_hash, sha256_file

REQUIRED_FIELDS = ("path", "label")


def read_manifest(manifest: Path) -> list[dict]:
    """Rows of the manifest as dicts (header `path,label[,mask]`); errors name the manifest."""
    if not manifest.is_file():
        raise DatasetError(f"{manifest}: manifest not found; expected a CSV with header path,label[,mask]")
    try:
        text = manifest.read_bytes().decode("utf-8-sig")  # tolerate a BOM from spreadsheet exports
    except UnicodeDecodeError as e:
        raise DatasetError(f"{manifest}: not UTF-8 text ({e}); expected a CSV with header path,label[,mask]")
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or []]
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        raise DatasetError(f"{manifest}: header {fields} lacks {missing}; expected path,label[,mask]")
    reader.fieldnames = fields
    return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]


def check_rel_path(root: Path, rel: str, where: str) -> Path:
    """Resolve a manifest path inside `root` (already resolved); reject anything that could escape it."""
    if not rel:
        raise DatasetError(f"{where}: empty path; expected a path relative to {root}")
    if rel.startswith(("/", "\\")) or PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).drive:
        raise DatasetError(f"{where}: {rel!r} is absolute; expected a path relative to {root}")
    if ".." in PurePosixPath(rel).parts or ".." in PureWindowsPath(rel).parts:
        raise DatasetError(f"{where}: {rel!r} contains '..'; expected a path inside {root}")
    full = root / rel
    if not full.resolve().is_relative_to(root):  # a symlink pointing outside the delivery
        raise DatasetError(f"{where}: {rel!r} resolves to {full.resolve()}, outside {root}; "
                           f"expected files inside the delivery")
    if not full.is_file():
        raise DatasetError(f"{where}: {rel!r} not found in {root}")
    return full


def check_row(root: Path, row: dict, where: str, classes: list[str]) -> Item:
    """Validate one manifest row; returns the item with paths relative to root."""
    img_path = check_rel_path(root, row["path"], where)
    if row["label"] not in classes:
        raise DatasetError(f"{where}: {row['path']!r} has label {row['label']!r}; expected one of {classes}")
    mask = row.get("mask") or None
    mask_path = check_rel_path(root, mask, where) if mask else None
    try:  # the loaders name the file; prefix the manifest line so the vendor can find the row
        size = load_rgb(img_path).size
        m = load_mask(mask_path) if mask_path else None
    except DatasetError as e:
        raise DatasetError(f"{where}: {e}") from None
    if m is not None:
        if m.shape[::-1] != size:
            raise DatasetError(f"{where}: mask {mask!r} is {m.shape[::-1]} but image {row['path']!r} is {size}; "
                               f"expected the same size")
    return Item(PurePosixPath(row["path"]).as_posix(), row["label"], mask)


def select(items: list[Item], counts: dict[str, int] | None, where: Path) -> list[Item]:
    """The first n delivered items of each requested class, in manifest order; everything if no counts."""
    if not counts:
        return list(items)
    available = {c: [it for it in items if it.label == c] for c in counts}
    for c, n in counts.items():
        if int(n) > len(available[c]):
            raise DatasetError(f"{where}: class {c!r}: requested {int(n)} images but the delivery has "
                               f"{len(available[c])}")
    keep = {it.path for c, n in counts.items() for it in available[c][:int(n)]}  # paths are unique
    return [it for it in items if it.path in keep]


@register_generator("folder")
class FolderGenerator(Generator):
    name = "folder"
    cached = False  # points at the delivery; never copies it into the cache

    def __init__(self, root: str | Path | None = None, manifest: str = "manifest.csv"):
        if not root:
            raise ValueError("folder generator needs root=<delivery directory>")
        super().__init__(root=str(root), manifest=str(manifest))

    @property
    def root(self) -> Path:
        return Path(self.config["root"]).resolve()

    def _validate(self, req: GenRequest) -> tuple[list[Item], str]:
        """(selected items relative to root, key); the key covers manifest, every listed file, selection."""
        root, manifest = self.root, self.root / self.config["manifest"]
        if not root.is_dir():
            raise DatasetError(f"{root}: delivery folder not found")
        rows = read_manifest(manifest)
        items, seen = [], {}
        h = hashlib.sha256(manifest.read_bytes())
        for i, row in enumerate(rows, start=2):  # line 1 is the header
            where = f"{manifest}:{i}"
            it = check_row(root, row, where, req.dataset.classes)
            if it.path in seen:
                raise DatasetError(f"{where}: {it.path!r} already listed on line {seen[it.path]}; expected each once")
            seen[it.path] = i
            h.update(sha256_file(root / it.path).encode())
            h.update((sha256_file(root / it.mask) if it.mask else "-").encode())
            items.append(it)
        counts = {c: int(n) for c, n in req.counts.items()} if req.counts else None  # None: take all
        # the selection is part of the key: two different subsets of one delivery are two different sets
        h.update(json.dumps(counts, sort_keys=True).encode())
        return select(items, counts, manifest), h.hexdigest()[:20]

    def generate(self, req: GenRequest, out_dir: Path) -> list[Item]:
        """Only to satisfy the ABC: writes nothing; item paths are relative to the delivery root."""
        return self._validate(req)[0]

    def materialize(self, req: GenRequest, cache_root: Path) -> SyntheticSet:
        rel, key = self._validate(req)
        root = self.root
        items = [Item(str(root / it.path), it.label, str(root / it.mask) if it.mask else None) for it in rel]
        meta = {"manifest": str(root / self.config["manifest"])}
        return SyntheticSet(self.name, key, content_hash(items), items, root, meta)
