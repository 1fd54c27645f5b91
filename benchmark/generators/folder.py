"""A vendor's delivery of synthetic images: a folder plus a manifest, validated before anything is used.

Manifest: `manifest.csv` (header `path,label[,mask][,boxes]`) or `manifest.json` (a list of objects, or
`{"items": [...]}`, with keys `path`, `label`, optional `mask`, optional `boxes`). `boxes` are pixel boxes
`[[x0, y0, x1, y1], ...]` (a JSON list; in the CSV the cell holds that JSON text), inside the image.

Nothing is copied, unpickled or executed. Every listed file is checked before the set is used (and so
before any record or cache entry is written), each failure with its own message naming the manifest
line and the file:
- the path must be relative, without '..', and resolve inside the folder (a symlink out is refused);
  the manifest itself too;
- the label must be in the dataset's taxonomy;
- the bytes must start like a PNG / JPEG / BMP (a pickle, zip or executable renamed .png is named as such
  and never opened by anything but this check);
- the header's width x height must be within the pixel limit, checked BEFORE any pixel is decoded
  (decompression bombs);
- the image (and mask) must then decode, and the mask must have the image's size.
The key hashes the manifest and every listed file, so a silently re-delivered image changes the key.

A manifest is validated strictly, each error naming the row and the field: only the fields below, each a
string (JSON ``null`` is no string), no key twice in one JSON object, no NUL byte, no field over
:data:`MAX_FIELD` characters, no path component over :data:`MAX_NAME` bytes, JSON nested at most
:data:`MAX_JSON_DEPTH` deep. Each file counts once: two rows naming the same file (through a symlink inside the
delivery, `again -> .`) or byte-identical images under two names are refused, naming both rows. Without a
``manifest`` option, ``manifest.csv`` is read, else ``manifest.json``.
"""
from __future__ import annotations

import hashlib
import json
import struct
import warnings
from pathlib import Path, PurePosixPath, PureWindowsPath

from PIL import Image

from benchmark.data.base import DatasetError, Item, load_mask, load_rgb
from benchmark.generators._registry import register_generator
from benchmark.generators.base import GenRequest, Generator, SyntheticSet, content_hash, sha256_file
from benchmark.generators.delivery_manifest import (  # noqa: F401 (re-exported)
    EXPECTED, FIELDS, MAX_FIELD, MAX_JSON_DEPTH, REQUIRED_FIELDS, read_manifest)

MAX_NAME = 255         # bytes in one path component (the usual file-system limit)
MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"BM": "BMP"}
# what a non-image most often is, so the vendor learns what they actually sent
SUSPECT = {b"\x80": "a Python pickle", b"PK\x03\x04": "a zip archive (e.g. a torch checkpoint)",
           b"\x7fELF": "an ELF executable", b"MZ": "a Windows executable", b"#!": "a script",
           b"\x93NUMPY": "a numpy array", b"GIF8": "a GIF (not accepted)", b"II*\x00": "a TIFF (not accepted)",
           b"MM\x00*": "a TIFF (not accepted)"}


def check_rel_path(root: Path, rel: str, where: str, must_exist: bool = True) -> Path:
    """Resolve a manifest path inside `root` (already resolved); reject anything that could escape it."""
    if not rel:
        raise DatasetError(f"{where}: empty path; expected a path relative to {root}")
    if any(ord(ch) < 32 for ch in rel):
        raise DatasetError(f"{where}: {rel[:80]!r} contains a control character (NUL, newline, ...); expected a "
                           f"plain relative path")
    long = next((p for p in PurePosixPath(rel.replace("\\", "/")).parts if len(p.encode()) > MAX_NAME), None)
    if long is not None:
        raise DatasetError(f"{where}: {rel[:80]!r}...: a name of {len(long.encode())} bytes; expected at most "
                           f"{MAX_NAME} per path component")
    if rel.startswith(("/", "\\")) or PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).drive:
        raise DatasetError(f"{where}: {rel!r} is absolute; expected a path relative to {root}")
    if ".." in PurePosixPath(rel).parts or ".." in PureWindowsPath(rel).parts:
        raise DatasetError(f"{where}: {rel!r} contains '..'; expected a path inside {root}")
    full = root / rel
    try:
        resolved = full.resolve()
        if not resolved.is_relative_to(root):  # a symlink (file or folder) pointing outside the delivery
            raise DatasetError(f"{where}: {rel!r} is a symlink resolving to {resolved}, outside {root}; "
                               f"expected files inside the delivery")
        if must_exist and not full.is_file():
            raise DatasetError(f"{where}: {rel!r} not found in {root}")
    except OSError as e:  # a symlink loop, a path too long for the file system, ...
        raise DatasetError(f"{where}: {rel[:80]!r}: cannot be resolved ({e.strerror or e}); expected a file "
                           f"inside {root}") from None
    return full


def sniff_image(path: Path, rel: str, where: str, max_pixels: int) -> tuple[int, int]:
    """(W, H) from the header of a PNG / JPEG / BMP, without decoding pixels; refuses anything else."""
    try:
        with open(path, "rb") as f:
            head = f.read(32)
    except OSError as e:
        raise DatasetError(f"{where}: {rel!r}: cannot read ({e.strerror or e}); expected a readable image") from None
    fmt = next((name for magic, name in MAGIC.items() if head.startswith(magic)), None)
    if fmt is None:
        what = next((name for magic, name in SUSPECT.items() if head.startswith(magic)), None)
        what = what or f"unknown content (first bytes {head[:8].hex(' ')})"
        raise DatasetError(f"{where}: {rel!r}: unreadable image: the bytes are {what}, not PNG/JPEG/BMP; "
                           f"refused without opening it (expected an image)")
    if fmt == "PNG" and head[12:16] == b"IHDR":  # the size is at a fixed offset: no decoder involved at all
        _check_pixels(*struct.unpack(">II", head[16:24]), where, rel, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we apply our own limit below
            with Image.open(path, formats=[fmt]) as im:  # lazy: reads the header, not the pixel data
                w, h = im.size
    except Image.DecompressionBombError as e:
        raise DatasetError(f"{where}: {rel!r}: decompression bomb ({e}); refused before decoding pixels, "
                           f"expected at most {max_pixels} pixels") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise DatasetError(f"{where}: {rel!r}: unreadable image header ({e}); expected a valid {fmt}") from None
    _check_pixels(w, h, where, rel, max_pixels)
    return w, h


def _check_pixels(w: int, h: int, where: str, rel: str, max_pixels: int) -> None:
    if w * h > max_pixels:
        raise DatasetError(f"{where}: {rel!r}: decompression bomb: {w}x{h} = {w * h} pixels; refused before "
                           f"decoding pixels, expected at most {max_pixels} pixels")


def parse_boxes(raw, size: tuple[int, int], where: str, rel: str) -> list[list[float]] | None:
    """None (no boxes) or [[x0, y0, x1, y1], ...] in pixels with 0 <= x0 < x1 <= W, 0 <= y0 < y1 <= H."""
    if raw is None or raw == "" or raw == []:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{where}: {rel!r}: boxes {raw!r} is not JSON ({e}); expected "
                               f"[[x0, y0, x1, y1], ...]") from None
    w, h = size
    ok = isinstance(raw, list) and all(isinstance(b, list) and len(b) == 4 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in b) for b in raw)
    if not ok:
        raise DatasetError(f"{where}: {rel!r}: boxes {raw!r}; expected [[x0, y0, x1, y1], ...] (numbers)")
    for b in raw:
        x0, y0, x1, y1 = b
        if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
            raise DatasetError(f"{where}: {rel!r}: box {b} is empty or outside the {w}x{h} image; expected "
                               f"0 <= x0 < x1 <= {w} and 0 <= y0 < y1 <= {h}")
    return [[float(v) for v in b] for b in raw]


def check_row(root: Path, row: dict, where: str, classes: list[str],
              max_pixels: int | None = None) -> tuple[Item, list[list[float]] | None]:
    """Validate one manifest row: (item with paths relative to root, boxes or None)."""
    limit = int(max_pixels or Image.MAX_IMAGE_PIXELS)
    img_path = check_rel_path(root, row["path"], where)
    if row["label"] not in classes:
        raise DatasetError(f"{where}: {row['path']!r} has label {row['label']!r}; expected one of {classes}")
    mask = row.get("mask") or None
    mask_path = check_rel_path(root, mask, where) if mask else None
    size = sniff_image(img_path, row["path"], where, limit)  # before any pixel is decoded
    if mask_path:
        msize = sniff_image(mask_path, mask, where, limit)
        if msize != size:
            raise DatasetError(f"{where}: mask {mask!r} is {msize} but image {row['path']!r} is {size}; "
                               f"expected the same size")
    boxes = parse_boxes(row.get("boxes"), size, where, row["path"])
    try:  # now decode: truncated or corrupt data fails here; the loaders name the file
        load_rgb(img_path)
        if mask_path:
            load_mask(mask_path)
    except DatasetError as e:
        raise DatasetError(f"{where}: {e}") from None
    return Item(PurePosixPath(row["path"]).as_posix(), row["label"], mask), boxes


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
    # materialize points at the delivery in place: nothing is copied into the cache

    def __init__(self, root: str | Path | None = None, manifest: str | None = None, max_pixels: int | None = None):
        if not root:
            raise ValueError("folder generator needs root=<delivery directory>")
        if max_pixels is not None and int(max_pixels) < 1:
            raise ValueError(f"folder: max_pixels={max_pixels!r}; expected a positive pixel count or null")
        super().__init__(root=str(root), manifest=None if manifest is None else str(manifest), max_pixels=max_pixels)

    @property
    def root(self) -> Path:
        return Path(self.config["root"]).resolve()

    @staticmethod
    def _manifest_name(root: Path) -> str:
        return "manifest.json" if (root / "manifest.json").is_file() and not (root / "manifest.csv").is_file() \
            else "manifest.csv"

    def _validate(self, req: GenRequest) -> tuple[list[Item], dict[str, list], str]:
        """(selected items relative to root, boxes by relative path, key); the key covers the manifest,
        every listed file and the selection. Reads and writes nothing but the delivery."""
        root = self.root
        if not root.is_dir():
            raise DatasetError(f"{root}: delivery folder not found; expected a directory with a manifest")
        name = self.config["manifest"] or self._manifest_name(root)
        manifest = check_rel_path(root, name, f"{root}: manifest", must_exist=False)
        rows = read_manifest(manifest)
        items, boxes, seen, contents = [], {}, {}, {}
        h = hashlib.sha256(manifest.read_bytes())
        for where, row in rows:
            it, bx = check_row(root, row, where, req.dataset.classes, self.config["max_pixels"])
            real = (root / it.path).resolve()  # the file itself: `again/x.png` through `again -> .` is `x.png`
            if real in seen:
                first, at = seen[real]
                same = "" if first == it.path else f" (the same file as {first!r}, through a symlink)"
                raise DatasetError(f"{where}: {it.path!r}{same} already listed at {at}; expected each file once")
            seen[real] = (it.path, where)
            digest = sha256_file(root / it.path)
            if digest in contents:
                first, at = contents[digest]
                raise DatasetError(f"{where}: {it.path!r} is byte-identical to {first!r} (listed at {at}); expected "
                                   f"distinct images (a copy would count one image twice)")
            contents[digest] = (it.path, where)
            h.update(digest.encode())
            h.update((sha256_file(root / it.mask) if it.mask else "-").encode())
            items.append(it)
            if bx is not None:
                boxes[it.path] = bx
        counts = {c: int(n) for c, n in req.counts.items()} if req.counts else None  # None: take all
        # the selection is part of the key: two different subsets of one delivery are two different sets
        h.update(json.dumps(counts, sort_keys=True).encode())
        return select(items, counts, manifest), boxes, h.hexdigest()[:20]

    def generate(self, req: GenRequest, out_dir: Path) -> list[Item]:
        """Only to satisfy the ABC: writes nothing; item paths are relative to the delivery root."""
        return self._validate(req)[0]

    def materialize(self, req: GenRequest, cache_root: Path) -> SyntheticSet:
        rel, boxes, key = self._validate(req)
        root = self.root
        items = [Item(str(root / it.path), it.label, str(root / it.mask) if it.mask else None) for it in rel]
        meta = {"manifest": str(root / (self.config["manifest"] or self._manifest_name(root))),
                "boxes": {str(root / it.path): boxes[it.path] for it in rel if it.path in boxes}}
        return SyntheticSet(self.name, key, content_hash(items), items, root, meta)
