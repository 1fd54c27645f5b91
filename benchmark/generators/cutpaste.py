"""Cut-paste: cut a real defect (under its mask) out of a train image and paste it onto a nominal one.

The cheapest honest baseline for "synthetic" defects: every pasted pixel is a real defect pixel, only
its placement, size and orientation are new. Requires masks for the classes it generates.

Outputs per class c (relative to out_dir): `c/c_00000.png` (RGB) and `c/c_00000_mask.png` (L, 0/255,
exactly the pixels where the blend alpha is > 0), plus one `provenance.csv` saying which source and
target each output came from and where the patch was placed.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from benchmark.data.base import DatasetError, Item, load_mask, load_rgb
from benchmark.generators._registry import register_generator
from benchmark.generators.base import GenRequest, Generator
from benchmark.csvsafe import SafeDictWriter
from benchmark.progress.bars import tqdm

PROVENANCE_FIELDS = ["path", "label", "source", "target", "x0", "y0", "x1", "y1", "scale", "flip", "rot90", "angle"]


def class_rng(seed: int, label: str) -> np.random.Generator:
    """One stream per class, independent of the order classes are generated in (and of PYTHONHASHSEED)."""
    digest = hashlib.sha256(f"{seed}:{label}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def cut_defect(img: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crop (H, W, 3) uint8 + (H, W) bool to the mask's bounding box -> (h, w, 3), (h, w).

    Pixels outside the mask are replaced by the mean defect colour, so later bilinear resampling
    cannot bleed background colour into the patch edge (they get alpha 0 anyway).
    """
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    patch, m = img[y0:y1, x0:x1].copy(), mask[y0:y1, x0:x1]
    patch[~m] = np.rint(patch[m].mean(axis=0)).astype(np.uint8)
    return patch, m


def crop_to_mask(patch: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Drop empty borders (rotation with expand adds them); None when the mask vanished."""
    if not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    return patch[box], mask[box]


def resize_pair(patch: np.ndarray, mask: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Scale patch (bilinear) and mask (nearest, so it stays binary) by the same factor."""
    h, w = mask.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))  # PIL wants (W, H)
    p = Image.fromarray(patch).resize(size, Image.Resampling.BILINEAR)
    m = Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.Resampling.NEAREST)
    return np.asarray(p), np.asarray(m) > 127


def rotate_pair(patch: np.ndarray, mask: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Small-angle rotation with expand=True so no defect pixel is clipped; mask stays binary."""
    fill = tuple(int(v) for v in patch[mask].mean(axis=0))
    p = Image.fromarray(patch).rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=fill)
    m = Image.fromarray(mask.astype(np.uint8) * 255)
    m = m.rotate(angle, Image.Resampling.NEAREST, expand=True, fillcolor=0)
    return np.asarray(p), np.asarray(m) > 127


def feathered_alpha(mask: np.ndarray, feather: int) -> np.ndarray:
    """(h, w) bool -> (h, w) uint8 alpha in 0..255 with alpha == 0 wherever mask is False.

    Erode first so the blur's soft edge ends near the mask border instead of outside it. Thin
    defects (scratches) are eroded less: an erosion that leaves under a quarter of the defect would
    turn a line into a few dots. Normalised so the core is opaque.
    """
    if feather <= 0:
        return mask.astype(np.uint8) * 255
    core, area = mask, int(mask.sum())
    for it in range(feather, 0, -1):
        eroded = ndimage.binary_erosion(mask, iterations=it, border_value=0)
        if 4 * int(eroded.sum()) >= area:
            core = eroded
            break
    soft = ndimage.gaussian_filter(core.astype(np.float32), sigma=feather / 2.0)
    soft = np.clip(soft / max(float(soft.max()), 1e-6), 0.0, 1.0) * mask
    return np.rint(soft * 255).astype(np.uint8)


def blend(target: np.ndarray, patch: np.ndarray, alpha: np.ndarray, y: int, x: int) -> np.ndarray:
    """Paste (h, w, 3) patch at (y, x) into (H, W, 3) target; pixels with alpha 0 stay byte-identical."""
    out = target.copy()
    h, w = alpha.shape
    a = alpha[..., None].astype(np.float32) / 255.0
    region = target[y:y + h, x:x + w].astype(np.float32)
    out[y:y + h, x:x + w] = np.rint(a * patch + (1.0 - a) * region).astype(np.uint8)
    return out


@register_generator("cutpaste")
class CutPaste(Generator):
    name = "cutpaste"
    version = "1"

    def __init__(self, scale=(0.75, 1.33), rotate: bool = True, max_angle: float = 15, flip: bool = True,
                 feather: int = 2, max_tries: int = 20):
        lo, hi = (float(s) for s in scale)
        if not 0 < lo <= hi:
            raise ValueError(f"cutpaste: scale must be (lo, hi) with 0 < lo <= hi, got {scale}")
        if int(feather) < 0 or int(max_tries) < 1:
            raise ValueError(f"cutpaste: need feather >= 0 and max_tries >= 1, got {feather}, {max_tries}")
        # normalised values go into the cache key, so equal configs hash equally however they were typed
        super().__init__(scale=[lo, hi], rotate=bool(rotate), max_angle=float(max_angle), flip=bool(flip),
                         feather=int(feather), max_tries=int(max_tries))

    def _sources(self, req: GenRequest, label: str) -> list[Item]:
        """Train items of `label` whose mask has at least one defect pixel, in path order."""
        ds = req.dataset
        cands = sorted((it for it in req.train if it.label == label and it.mask), key=lambda it: it.path)
        out = [it for it in cands if load_mask(ds.abspath(it.mask)).any()]
        if not out:
            raise DatasetError(f"{ds.root}: class {label!r} has no train image with a non-empty mask; "
                               f"cutpaste needs masks to cut defects from")
        return out

    def _cut(self, req: GenRequest, src: Item, cache: dict) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """(patch (h, w, 3), mask (h, w), source image (H, W)); cached, a scarce class has few sources."""
        if src.path not in cache:
            img = np.asarray(load_rgb(req.dataset.abspath(src.path)))
            mask = load_mask(req.dataset.abspath(src.mask))
            if mask.shape != img.shape[:2]:
                raise DatasetError(f"{req.dataset.abspath(src.mask)}: mask is {mask.shape[::-1]} but image "
                                   f"{src.path} is {img.shape[1::-1]}; expected the same size")
            cache[src.path] = (*cut_defect(img, mask), img.shape[:2])
        return cache[src.path]

    def _transform(self, patch, mask, rng, ratio: float, target_hw) -> tuple[np.ndarray, np.ndarray, dict] | None:
        """Random scale / flip / rotation, applied identically to patch and mask; fitted to the target."""
        lo, hi = self.config["scale"]
        # always draw every number, so toggling one option does not shift the others' stream
        s = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        flip, k, angle = bool(rng.random() < 0.5), int(rng.integers(4)), float(rng.uniform(-1, 1))
        flip, k = flip and self.config["flip"], k if self.config["rotate"] else 0
        angle = angle * self.config["max_angle"] if self.config["rotate"] else 0.0
        patch, mask = resize_pair(patch, mask, s * ratio)
        if flip:
            patch, mask = patch[:, ::-1], mask[:, ::-1]
        patch, mask = np.ascontiguousarray(np.rot90(patch, k)), np.ascontiguousarray(np.rot90(mask, k))
        if not mask.any():  # a tiny defect can vanish under nearest-neighbour downscaling
            return None
        if angle:
            patch, mask = rotate_pair(patch, mask, angle)
        cropped = crop_to_mask(patch, mask)
        if cropped is None:
            return None
        patch, mask = cropped
        fit = min(target_hw[0] / mask.shape[0], target_hw[1] / mask.shape[1])
        if fit < 1:  # larger than the target image: shrink to fit rather than clip the defect
            cropped = crop_to_mask(*resize_pair(patch, mask, fit))
            if cropped is None:
                return None
            patch, mask = cropped
        return patch, mask, {"scale": round(s * ratio * min(fit, 1), 6), "flip": int(flip), "rot90": k,
                             "angle": round(angle, 6)}

    def _make_one(self, req, sources, targets, rng, cache) -> tuple[np.ndarray, np.ndarray, dict]:
        """One output: (image (H, W, 3) uint8, mask (H, W) bool, provenance dict)."""
        for _ in range(self.config["max_tries"]):
            src, tgt = sources[rng.integers(len(sources))], targets[rng.integers(len(targets))]
            patch, mask, (sh, sw) = self._cut(req, src, cache)
            target = np.asarray(load_rgb(req.dataset.abspath(tgt.path)))
            th, tw = target.shape[:2]
            ratio = float(np.sqrt((th * tw) / (sh * sw)))  # keep defect size relative to the image
            got = self._transform(patch, mask, rng, ratio, (th, tw))
            if got is None:
                continue
            patch, mask, params = got
            alpha = feathered_alpha(mask, self.config["feather"])
            if not alpha.any():
                continue
            h, w = alpha.shape
            y, x = int(rng.integers(th - h + 1)), int(rng.integers(tw - w + 1))
            out_mask = np.zeros((th, tw), bool)
            out_mask[y:y + h, x:x + w] = alpha > 0
            prov = {"source": src.path, "target": tgt.path, "x0": x, "y0": y, "x1": x + w, "y1": y + h, **params}
            return blend(target, patch, alpha, y, x), out_mask, prov
        raise DatasetError(f"cutpaste: gave up after {self.config['max_tries']} tries to paste a "
                           f"{sources[0].label!r} defect (the defect vanished when resized to fit the targets)")

    def generate(self, req: GenRequest, out_dir: Path) -> list[Item]:
        ds, out_dir = req.dataset, Path(out_dir)
        wanted = {c: int(n) for c, n in sorted(req.counts.items()) if int(n) > 0}
        for c in wanted:
            if c not in ds.classes or c == ds.nominal:
                raise DatasetError(f"cutpaste: cannot generate class {c!r}; expected one of {ds.defect_classes}")
        targets = sorted((it for it in req.train if it.label == ds.nominal), key=lambda it: it.path)
        if wanted and not targets:
            raise DatasetError(f"{ds.root}: no nominal ({ds.nominal!r}) train images to paste defects onto")
        sources = {c: self._sources(req, c) for c in wanted}  # fail on a missing mask before writing anything
        items, rows, cache = [], [], {}
        with tqdm(total=sum(wanted.values()), desc="cutpaste", unit="img") as bar:
            for c, n in wanted.items():
                (out_dir / c).mkdir(parents=True, exist_ok=True)
                rng = class_rng(req.seed, c)
                for i in range(n):
                    img, mask, prov = self._make_one(req, sources[c], targets, rng, cache)
                    rel, rel_mask = f"{c}/{c}_{i:05d}.png", f"{c}/{c}_{i:05d}_mask.png"
                    Image.fromarray(img).save(out_dir / rel)
                    Image.fromarray(mask.astype(np.uint8) * 255).save(out_dir / rel_mask)
                    items.append(Item(rel, c, rel_mask))
                    rows.append({"path": rel, "label": c, **prov})
                    bar.update(1)
        write_provenance(out_dir / "provenance.csv", rows)
        return items


def write_provenance(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = SafeDictWriter(f, fieldnames=PROVENANCE_FIELDS)
        w.writeheader()
        w.writerows(rows)
