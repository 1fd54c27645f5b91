"""Decode and resize every image once into a uint8 tensor, so the training loop never touches PIL.

With a `cache_dir` the decoded arrays also persist on disk, keyed by the file's content (sha256), the
size and the resize method: later runs (other arms, seeds, engines) skip PNG/JPEG decoding entirely.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmark.data.base import load_rgb
from benchmark.generators.base import sha256_file
from benchmark.io import mkstemp_shared
from benchmark.progress.bars import tqdm

# Part of the decoded-cache key: bump it whenever `decode_resized` changes what it returns.
RESIZE_METHOD = "pil-bilinear-antialias-v1"


def decode_resized(path: str | Path, size: int) -> np.ndarray:
    """(size, size, 3) uint8. Antialiased bilinear resize of the whole image (no crop: defects can sit
    anywhere, a centre crop could cut them out)."""
    im = load_rgb(path)
    if im.size != (size, size):
        im = im.resize((size, size), Image.BILINEAR, reducing_gap=None)
    return np.asarray(im, dtype=np.uint8)


def save_npy_atomic(path: Path, arr: np.ndarray) -> None:
    """Temp file in the same directory, then rename: a concurrent reader sees the old file or the
    whole new one, never half an array (several launcher workers may fill the same cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = mkstemp_shared(path)
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, arr)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_npy(path: Path, shape: tuple[int, ...] | None, dtype) -> np.ndarray | None:
    """The cached array (memory-mapped), or None when absent, unreadable or of the wrong shape/dtype."""
    try:
        arr = np.load(path, mmap_mode="r")
    except (FileNotFoundError, ValueError, OSError):
        return None
    if arr.dtype != dtype or (shape is not None and arr.shape != tuple(shape)):
        return None
    return arr


def decoded_path(cache_dir: str | Path, size: int, sha: str) -> Path:
    return Path(cache_dir) / RESIZE_METHOD / str(size) / sha[:2] / f"{sha}.npy"


def decode_cached(path: str | Path, size: int, cache_dir: str | Path | None, sha: str | None = None) -> np.ndarray:
    """(size, size, 3) uint8, from the on-disk cache when present (no PIL decoding), else decoded and
    stored. `sha` = the file's sha256 when the caller already has it."""
    if cache_dir is None:
        return decode_resized(path, size)
    entry = decoded_path(cache_dir, size, sha or sha256_file(path))
    arr = load_npy(entry, (size, size, 3), np.uint8)
    if arr is None:
        arr = decode_resized(path, size)
        save_npy_atomic(entry, arr)
    return arr


def image_bank(paths: list[str | Path], size: int, desc: str = "decode",
               cache_dir: str | Path | None = None) -> torch.Tensor:
    """(N, 3, size, size) uint8 tensor of all images, in the order given. The values are the same with
    or without `cache_dir` (the cache stores exactly what `decode_resized` returns)."""
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, p in enumerate(tqdm(paths, desc=desc, leave=False, disable=len(paths) < 200)):
        out[i] = decode_cached(p, size, cache_dir)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()
