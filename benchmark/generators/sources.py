"""Helpers shared by generators that derive outputs from real train images (augment, noise, diffusion).

They keep three conventions in one place: which real images a class may draw from (train only, path
order), how sources are spread over N outputs (round-robin over a seeded shuffle, like the placebo arm),
and how outputs are written (PNG, grey when the source is grey, the source's size).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from benchmark.data.base import DatasetError, Item, load_mask, load_rgb
from benchmark.generators.base import GenRequest
from benchmark.csvsafe import SafeDictWriter

GREY_MODES = ("1", "L", "LA", "P;L", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def class_rng(seed: int, label: str, stream: str = "") -> np.random.Generator:
    """One stream per (seed, class, purpose), independent of class order and of PYTHONHASHSEED."""
    digest = hashlib.sha256(f"{seed}:{label}:{stream}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def wanted_counts(req: GenRequest, name: str, allow_nominal: bool = False) -> dict[str, int]:
    """{class: n > 0} in sorted order; refuses classes outside the taxonomy (and the nominal one)."""
    ds = req.dataset
    wanted = {c: int(n) for c, n in sorted(req.counts.items()) if int(n) > 0}
    ok = ds.classes if allow_nominal else ds.defect_classes
    for c in wanted:
        if c not in ok:
            raise DatasetError(f"{name}: cannot generate class {c!r}; expected one of {ok}")
    return wanted


def train_pool(req: GenRequest, label: str, name: str) -> list[Item]:
    """Real train items of `label`, in path order (never selection or test: those are not in `req`)."""
    pool = sorted((it for it in req.train if it.label == label), key=lambda it: it.path)
    if not pool:
        raise DatasetError(f"{name}: class {label!r} has no real train images to derive from "
                           f"(dataset {req.dataset.name} at {req.dataset.root})")
    return pool


def round_robin(pool: list, n: int, rng: np.random.Generator) -> list:
    """n picks spread evenly over `pool`: every source used floor(n/len) or ceil(n/len) times."""
    order = rng.permutation(len(pool))
    return [pool[order[i % len(pool)]] for i in range(n)]


def is_grey(path: Path) -> bool:
    """True when the file stores one channel (read from the header only, no pixels decoded)."""
    with Image.open(path) as im:
        return im.mode in GREY_MODES


def load_source(req: GenRequest, it: Item) -> tuple[Image.Image, np.ndarray | None]:
    """(image in 'L' if the file is grey else 'RGB', mask (H, W) bool or None); sizes checked."""
    ds = req.dataset
    path = ds.abspath(it.path)
    img = load_rgb(path)  # handles 16-bit grey and odd modes, names the file on error
    if is_grey(path):
        img = img.convert("L")
    mask = load_mask(ds.abspath(it.mask)) if it.mask else None
    if mask is not None and mask.shape != (img.height, img.width):
        raise DatasetError(f"{ds.abspath(it.mask)}: mask is {mask.shape[::-1]} but image {it.path} is "
                           f"{img.size}; expected the same size")
    return img, mask


def save_output(out_dir: Path, label: str, i: int, img: Image.Image, mask: np.ndarray | None) -> Item:
    """Write `<label>/<label>_<i>.png` (+ `_mask.png`, L 0/255); returns the item relative to out_dir."""
    (out_dir / label).mkdir(parents=True, exist_ok=True)
    rel = f"{label}/{label}_{i:05d}.png"
    img.save(out_dir / rel)
    rel_mask = None
    if mask is not None:
        rel_mask = f"{label}/{label}_{i:05d}_mask.png"
        Image.fromarray(mask.astype(np.uint8) * 255).save(out_dir / rel_mask)
    return Item(rel, label, rel_mask)


def write_rows(path: Path, rows: list[dict]) -> None:
    """Provenance CSV: one row per output, the union of keys as columns (first row's order first)."""
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    with open(path, "w", newline="") as f:
        w = SafeDictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
