"""Decode and resize every image once into a uint8 tensor, so the training loop never touches PIL."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from benchmark.data.base import load_rgb


def decode_resized(path: str | Path, size: int) -> np.ndarray:
    """(size, size, 3) uint8. Antialiased bilinear resize of the whole image (no crop: defects can sit
    anywhere, a centre crop could cut them out)."""
    im = load_rgb(path)
    if im.size != (size, size):
        im = im.resize((size, size), Image.BILINEAR, reducing_gap=None)
    return np.asarray(im, dtype=np.uint8)


def image_bank(paths: list[str | Path], size: int, desc: str = "decode") -> torch.Tensor:
    """(N, 3, size, size) uint8 tensor of all images, in the order given."""
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, p in enumerate(tqdm(paths, desc=desc, leave=False, disable=len(paths) < 200)):
        out[i] = decode_resized(p, size)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()
