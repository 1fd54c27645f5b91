"""What a dataset is: (relative path, class) items, a taxonomy, a nominal class, optional masks.

Every adapter returns a `Dataset`; everything downstream (split, arms, training) only sees this.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")

# Refuse absurdly large images before decoding them (decompression bombs): 8k x 8k is plenty.
Image.MAX_IMAGE_PIXELS = 64_000_000


class DatasetError(ValueError):
    """A dataset on disk does not look like what its adapter expects. The message names the path."""


@dataclass(frozen=True)
class Item:
    path: str  # posix path relative to the dataset root (or absolute, for synthetic items)
    label: str  # class name from the taxonomy
    mask: str | None = None  # same convention as `path`; binary mask of the defect region


@dataclass
class Dataset:
    name: str
    root: Path
    classes: list[str]  # the taxonomy; its order defines label indices
    nominal: str  # the "good" / defect-free class
    items: list[Item]
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if self.nominal not in self.classes:
            raise DatasetError(f"{self.root}: nominal class {self.nominal!r} not in classes {self.classes}")
        counts = self.counts()
        empty = [c for c in self.classes if counts.get(c, 0) == 0]
        if empty:
            raise DatasetError(f"{self.root}: class(es) {empty} have no images; expected at least one each")
        unknown = sorted({it.label for it in self.items} - set(self.classes))
        if unknown:
            raise DatasetError(f"{self.root}: labels {unknown} are not in the taxonomy {self.classes}")

    @property
    def defect_classes(self) -> list[str]:
        return [c for c in self.classes if c != self.nominal]

    def counts(self, items: list[Item] | None = None) -> dict[str, int]:
        out = {c: 0 for c in self.classes}
        for it in self.items if items is None else items:
            out[it.label] = out.get(it.label, 0) + 1
        return out

    def abspath(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else self.root / p

    def by_path(self) -> dict[str, Item]:
        return {it.path: it for it in self.items}


def load_rgb(path: str | Path) -> Image.Image:
    """Decode one image as RGB; a clear error names the file when it cannot be read."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise DatasetError(f"{path}: unknown image extension {path.suffix!r}; expected one of {IMAGE_EXTENSIONS}")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode.startswith("I"):  # 16-bit grey (I;16*, or I): PIL's convert would clip it to white
                im = Image.fromarray(_to_uint8(np.asarray(im)))
            return im.convert("RGB")
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise DatasetError(f"{path}: unreadable image ({e}); expected a valid PNG/JPEG/BMP file") from None


def _to_uint8(a: np.ndarray) -> np.ndarray:
    """16-bit values (0..65535) scaled to 8 bits, rounding (v * 257 maps back to v exactly)."""
    return np.rint(np.clip(a.astype(np.float64), 0, 65535) / 257.0).astype(np.uint8)


def load_mask(path: str | Path, threshold: int = 127) -> np.ndarray:
    """Binary mask (H, W) bool; pixels > threshold are the defect (soft-edged masks are thresholded)."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L")) > threshold
    except (FileNotFoundError, UnidentifiedImageError, OSError) as e:
        raise DatasetError(f"{path}: unreadable mask ({e}); expected an 8-bit grey image") from None
