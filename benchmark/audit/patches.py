"""Transplanted defects: a test image's defect patch searched in a synthetic image by normalised cross-correlation.

A defect cut out of a test image (its mask's box + `PATCH_PAD` px: the defect with its own texture around it)
and pasted onto a train image matches that test image nowhere else, so whole-image detectors miss it. Every
reference defect patch, plain and mirrored, is slid over the synthetic image (`cv2.matchTemplate`,
TM_CCOEFF_NORMED) at a coarse scale (one factor per dataset: median reference side -> `PATCH_WORK`), and
the `VERIFY_K` best placements are verified at native resolution in a small window around the coarse hit. A
defect pasted unchanged sits at whole native pixels, so it correlates ~1.0 there, while at the coarse scale
resampling phase alone can take a thin crack down to 0.8 (measured on Magnetic Tile); a look-alike defect of
another part loses correlation at native resolution instead of gaining it. No smoothing: the grain inside a
pasted patch is what tells it from a look-alike defect.
"""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

PATCH_PAD = 3  # px (native) around the mask's bounding box: the defect with its own texture around it
PATCH_WORK = 128  # coarse search: both sides scaled by one factor per dataset, median reference longer side -> this
PATCH_MIN = 6  # px at the coarse scale: smaller patches carry too little texture to tell apart
STD_RATIO = 2.0  # a window counts when its grey-level std is within this factor of the patch's
VERIFY_K = 16  # coarse placements (best first, one per patch) verified at native resolution


def grey(img: Image.Image, f: float = 1.0) -> np.ndarray:
    a = np.asarray(img.convert("L"), np.float32)
    if f < 1:
        a = cv2.resize(a, (max(1, round(a.shape[1] * f)), max(1, round(a.shape[0] * f))), interpolation=cv2.INTER_AREA)
    return a


def best_ncc(a: np.ndarray, p: np.ndarray, sums: tuple[np.ndarray, np.ndarray] | None = None
             ) -> tuple[float, tuple[int, int]]:
    """(max TM_CCOEFF_NORMED of patch `p` over image `a`, its (x, y)) over windows whose grey-level std is
    within STD_RATIO of the patch's: on a flat window (a blank image, a mask) the NCC is 0/0 and OpenCV
    returns 1.0, which is no evidence of a copy; a pasted patch keeps its own spread (NCC is blind to
    brightness and contrast; the ratio allows contrast changes up to 2x). (-1, (0, 0)) when none counts.
    `sums`: `cv2.integral2(a)[:2]` when the caller slides many patches over one image (computed once)."""
    h, w = p.shape
    if h > a.shape[0] or w > a.shape[1]:
        return -1.0, (0, 0)
    r = cv2.matchTemplate(a, p, cv2.TM_CCOEFF_NORMED)  # (H - h + 1, W - w + 1)
    s1, s2 = sums if sums is not None else cv2.integral2(a.astype(np.float64))[:2]
    box = lambda t: t[h:, w:] - t[:-h, w:] - t[h:, :-w] + t[:-h, :-w]  # noqa: E731  window sums, r's shape
    n, ps = float(h * w), float(p.std())
    std = np.sqrt(np.maximum(box(s2) / n - (box(s1) / n) ** 2, 0.0))
    r = np.where((std >= ps / STD_RATIO) & (std <= ps * STD_RATIO), r, -1.0)
    y, x = np.unravel_index(int(np.argmax(r)), r.shape)
    return float(r[y, x]), (int(x), int(y))


class DefectPatches:
    """The defect patches (mask box + PATCH_PAD) of reference images, plain and mirrored, coarse and native."""

    def __init__(self, images: list[Image.Image], masks: list[np.ndarray | None]):
        sides = [max(im.size) for im in images] or [PATCH_WORK]
        self.f = min(1.0, PATCH_WORK / float(np.median(sides)))
        self.patches: list[tuple[int, np.ndarray, np.ndarray]] = []  # (reference index, coarse, native)
        for i, (im, m) in enumerate(zip(images, masks)):
            if m is None or not np.any(m):
                continue
            ys, xs = np.nonzero(m)
            h, w = m.shape
            box = (max(0, xs.min() - PATCH_PAD), max(0, ys.min() - PATCH_PAD), min(w, xs.max() + 1 + PATCH_PAD),
                   min(h, ys.max() + 1 + PATCH_PAD))
            native = grey(im.crop(box))
            coarse = grey(im.crop(box), self.f)
            if min(coarse.shape) < PATCH_MIN or float(coarse.std()) < 1e-3:
                continue
            for flip in (False, True):
                c, n = (coarse[:, ::-1], native[:, ::-1]) if flip else (coarse, native)
                self.patches.append((i, np.ascontiguousarray(c), np.ascontiguousarray(n)))

    def match(self, img: Image.Image, exclude: set[int] = frozenset()) -> tuple[float, int]:
        """(best native-resolution NCC of any reference defect patch in `img`, that reference's index)."""
        native = grey(img)
        coarse = grey(img, self.f) if self.f < 1 else native
        hits, sums = [], cv2.integral2(coarse.astype(np.float64))[:2]  # one image, every patch slides over it
        for k, (i, c, _) in enumerate(self.patches):
            if i not in exclude:
                v, xy = best_ncc(coarse, c, sums)
                if v > 0:
                    hits.append((v, k, xy))
        best = (0.0, -1)
        margin = int(np.ceil(2 / self.f)) + 2  # native px around the coarse hit: its resampling uncertainty
        for _, k, (x, y) in sorted(hits, reverse=True)[:VERIFY_K]:
            i, _, p = self.patches[k]
            x0, y0 = max(0, int(x / self.f) - margin), max(0, int(y / self.f) - margin)
            win = native[y0:y0 + p.shape[0] + 2 * margin, x0:x0 + p.shape[1] + 2 * margin]
            v = best_ncc(win, p)[0]
            if v > best[0]:
                best = (v, i)
        return best
