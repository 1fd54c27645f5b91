"""Augment: classical augmentation of real train images of the target class.

The "no new visual content" baseline: every output is a real train image of the class under a seeded
random composition of flips, a random resized crop that keeps most of the image, brightness / contrast /
gamma and an optional Gaussian blur. If this helps as much as a generator, the generator added volume and
invariances, not information. Masks (where the dataset has them) get exactly the same geometry (nearest
neighbour, so they stay binary); photometric changes do not touch them.

Sources are spread round-robin over a seeded shuffle of the class's train images (each used floor(N/n)
or ceil(N/n) times). Outputs are PNG, the source's size and channel count; `provenance.csv` records the
source and every drawn parameter of each output.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from benchmark.data.base import Item
from benchmark.generators._registry import register_generator
from benchmark.generators.base import GenRequest, Generator
from benchmark.progress.bars import tqdm
from benchmark.generators.sources import class_rng, load_source, round_robin, save_output, train_pool, \
    wanted_counts, write_rows


Sample = tuple[Image.Image, "np.ndarray | None", dict]  # (image, (H, W) bool mask or None, drawn parameters)


def _range(name: str, value, lo: float, hi: float) -> float:
    v = float(value)
    if not lo <= v <= hi:
        raise ValueError(f"augment: {name}={value!r}; expected a number in [{lo}, {hi}]")
    return v


def crop_box(rng: np.random.Generator, w: int, h: int, min_area: float, ratio: float) -> tuple[int, int, int, int]:
    """A (x0, y0, x1, y1) box covering a random fraction in [min_area, 1] of the image, with aspect
    ratio (relative to the image's) in [1/ratio, ratio] (log-uniform), clipped to the image."""
    area = rng.uniform(min_area, 1.0)
    r = float(np.exp(rng.uniform(-np.log(ratio), np.log(ratio))))
    cw = min(w, max(1, round(w * np.sqrt(area * r))))
    ch = min(h, max(1, round(h * np.sqrt(area / r))))
    x0, y0 = int(rng.integers(w - cw + 1)), int(rng.integers(h - ch + 1))
    return x0, y0, x0 + cw, y0 + ch


def photometric(img: Image.Image, b: float, c: float, g: float, sigma: float) -> Image.Image:
    """Brightness x b, contrast x c (around the image mean), gamma g (v -> 255 (v/255)^g), blur sigma px."""
    img = ImageEnhance.Contrast(ImageEnhance.Brightness(img).enhance(b)).enhance(c)
    lut = [int(round(255.0 * (v / 255.0) ** g)) for v in range(256)]
    img = img.point(lut * len(img.getbands()))
    return img.filter(ImageFilter.GaussianBlur(sigma)) if sigma > 0 else img


@register_generator("augment")
class Augment(Generator):
    name = "augment"
    version = "1"

    def __init__(self, hflip: bool = True, vflip: bool = True, crop_min_area: float = 0.7,
                 crop_ratio: float = 1.25, brightness: float = 0.15, contrast: float = 0.15,
                 gamma: float = 0.15, blur_p: float = 0.3, blur_sigma: float = 1.0, max_tries: int = 10):
        if int(max_tries) < 1:
            raise ValueError(f"augment: max_tries={max_tries!r}; expected >= 1")
        # normalised values go into the cache key, so equal configs hash equally however they were typed
        super().__init__(hflip=bool(hflip), vflip=bool(vflip),
                         crop_min_area=_range("crop_min_area", crop_min_area, 0.05, 1.0),
                         crop_ratio=_range("crop_ratio", crop_ratio, 1.0, 4.0),
                         brightness=_range("brightness", brightness, 0.0, 0.9),
                         contrast=_range("contrast", contrast, 0.0, 0.9),
                         gamma=_range("gamma", gamma, 0.0, 0.9), blur_p=_range("blur_p", blur_p, 0.0, 1.0),
                         blur_sigma=_range("blur_sigma", blur_sigma, 0.0, 10.0), max_tries=int(max_tries))

    def _draw(self, rng: np.random.Generator) -> dict:
        """Every parameter is drawn for every output (toggling one option does not shift the others)."""
        c = self.config
        return {"hflip": int(bool(rng.random() < 0.5) and c["hflip"]),
                "vflip": int(bool(rng.random() < 0.5) and c["vflip"]),
                "brightness": round(1 + rng.uniform(-1, 1) * c["brightness"], 6),
                "contrast": round(1 + rng.uniform(-1, 1) * c["contrast"], 6),
                "gamma": round(float(np.exp(rng.uniform(-1, 1) * np.log1p(c["gamma"]))), 6),
                "blur_sigma": round(rng.uniform(0.1, max(c["blur_sigma"], 0.1)) if rng.random() < c["blur_p"]
                                    else 0.0, 6)}

    def _crop(self, rng, w: int, h: int, mask: np.ndarray | None) -> tuple[int, int, int, int]:
        """A crop that keeps at least one defect pixel when the source mask has any (else the label lies)."""
        for _ in range(self.config["max_tries"]):
            box = crop_box(rng, w, h, self.config["crop_min_area"], self.config["crop_ratio"])
            x0, y0, x1, y1 = box
            if mask is None or not mask.any() or mask[y0:y1, x0:x1].any():
                return box
        return 0, 0, w, h  # the defect is tiny and near a border: keep the whole image

    def augment_one(self, img: Image.Image, mask: np.ndarray | None, rng) -> Sample:
        """(H, W) image (+ (H, W) bool mask) -> same size and mode, the drawn parameters."""
        p = self._draw(rng)
        w, h = img.size
        box = self._crop(rng, w, h, mask)
        m = Image.fromarray(mask.astype(np.uint8) * 255) if mask is not None else None
        img = img.crop(box).resize((w, h), Image.Resampling.BICUBIC)
        m = m.crop(box).resize((w, h), Image.Resampling.NEAREST) if m is not None else None
        for flag, op in (("hflip", Image.Transpose.FLIP_LEFT_RIGHT), ("vflip", Image.Transpose.FLIP_TOP_BOTTOM)):
            if p[flag]:
                img, m = img.transpose(op), (m.transpose(op) if m is not None else None)
        img = photometric(img, p["brightness"], p["contrast"], p["gamma"], p["blur_sigma"])
        p.update(zip(("x0", "y0", "x1", "y1"), box))
        return img, (np.asarray(m) > 127 if m is not None else None), p

    def generate(self, req: GenRequest, out_dir: Path) -> list[Item]:
        out_dir = Path(out_dir)
        wanted = wanted_counts(req, self.name)
        pools = {c: train_pool(req, c, self.name) for c in wanted}  # fail before writing anything
        items, rows, cache = [], [], {}
        with tqdm(total=sum(wanted.values()), desc="augment", unit="img") as bar:
            for c, n in wanted.items():
                rng = class_rng(req.seed, c, "augment")
                for i, src in enumerate(round_robin(pools[c], n, rng)):
                    if src.path not in cache:  # a scarce class has few sources, each used many times
                        cache[src.path] = load_source(req, src)
                    img, mask, params = self.augment_one(*cache[src.path], rng)
                    items.append(save_output(out_dir, c, i, img, mask))
                    rows.append({"path": items[-1].path, "label": c, "source": src.path, **params})
                    bar.update(1)
        write_rows(out_dir / "provenance.csv", rows)
        return items
