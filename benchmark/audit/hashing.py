"""Perceptual hashes (imagehash pHash + dHash, 64 bits each) of an image's variants, and their distances.

A near-copy of a reference image R may be resized, JPEG re-encoded, flipped, rotated by 90 degrees or
cropped. pHash and dHash (both on a 32x32 / 9x8 grey thumbnail) already absorb resizing and JPEG noise;
the rest is covered by hashing variants on both sides:

- a *query* (synthetic) image is hashed in its 8 dihedral views (4 rotations x optional mirror);
- a *reference* (test or train) image is hashed whole and as 18 crops (sides 90 % and 95 %, each at a
  3 x 3 grid of offsets), so a query that is a crop of R lands within ~2.5 % of one of them.

The crop grid is symmetric under the dihedral group, so "query view v vs reference crop c" covers every
crop-then-flip/rotate combination. The distance of a (query, reference) pair is the smallest over
those combinations of pHash + dHash Hamming distance (0..128 bits): summing two hashes halves the
relative noise of each on small, noisy images (measured on the demo set: see `calibrate_hash`).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

CROP_SIDES = (0.9, 0.95)
CROP_OFFSETS = (0.0, 0.5, 1.0)
THUMB = 128  # images are first reduced to at most this side: hashes use <= 32 px anyway; keeps crops cheap
N_DIHEDRAL = 8


def _bits(h) -> np.uint64:
    """imagehash's (8, 8) bool array -> one uint64."""
    return np.packbits(np.asarray(h.hash, dtype=bool).ravel()).view(">u8")[0].astype(np.uint64)


def hash_pair(img: Image.Image) -> np.ndarray:
    """(2,) uint64: pHash and dHash of a grey image."""
    import imagehash

    grey = img.convert("L")
    return np.array([_bits(imagehash.phash(grey, 8)), _bits(imagehash.dhash(grey, 8))], dtype=np.uint64)


def thumbnail(img: Image.Image) -> Image.Image:
    img = img.convert("L")
    if max(img.size) > THUMB:
        img = img.copy()
        img.thumbnail((THUMB, THUMB), Image.Resampling.LANCZOS)
    return img


def dihedral(img: Image.Image) -> list[Image.Image]:
    """The 8 views: rotations by 0/90/180/270 degrees, each plain and mirrored left-right."""
    out = []
    for k in range(4):
        r = img.rotate(90 * k, expand=True) if k else img
        out += [r, r.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return out


def crops(img: Image.Image) -> list[Image.Image]:
    """The whole image, then 18 crops: sides CROP_SIDES x offsets CROP_OFFSETS^2 of the free margin."""
    w, h = img.size
    out = [img]
    for s in CROP_SIDES:
        cw, ch = max(1, round(w * s)), max(1, round(h * s))
        for fy in CROP_OFFSETS:
            for fx in CROP_OFFSETS:
                x, y = round((w - cw) * fx), round((h - ch) * fy)
                out.append(img.crop((x, y, x + cw, y + ch)))
    return out


def query_hashes(img: Image.Image) -> np.ndarray:
    """(8, 2) uint64: pHash/dHash of the 8 dihedral views of a query image."""
    return np.stack([hash_pair(v) for v in dihedral(thumbnail(img))])


def reference_hashes(img: Image.Image) -> np.ndarray:
    """(19, 2) uint64: pHash/dHash of a reference image and its 18 crops."""
    return np.stack([hash_pair(v) for v in crops(thumbnail(img))])


def min_distances(query: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """query (8, 2), refs (M, C, 2) -> (M,) int: per reference, min over views x crops of summed Hamming bits."""
    x = refs[:, None, :, :] ^ query[None, :, None, :]  # (M, 8, C, 2)
    # not cdist(..., "hamming") as in split/groups.py: same integers, but ~4x slower on these packed hashes
    return np.bitwise_count(x).sum(axis=-1, dtype=np.int64).min(axis=(1, 2))  # NumPy >= 2
