"""Training-time transforms: batched augmentation on uint8 tensors with an explicit torch.Generator (seed = the run's seed).

Surface-inspection images have no canonical orientation, so flips and 90° rotations are label-safe.
(Not to be confused with the `augment` *generator*, :mod:`benchmark.generators.augment`, which writes
augmented copies of real images to disk as a synthetic set.)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def augment_batch(x: torch.Tensor, g: torch.Generator, cfg: dict) -> torch.Tensor:
    """x: (B, 3, S, S) float in [0, 1] -> same shape, augmented per sample."""
    b, _, s, _ = x.shape
    if cfg.get("hflip", True):
        flip = torch.rand(b, generator=g) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if cfg.get("vflip", True):
        flip = torch.rand(b, generator=g) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(2), x)
    if cfg.get("rot90", True):
        k = torch.randint(0, 4, (b,), generator=g)
        x = torch.stack([torch.rot90(xi, int(ki), dims=(1, 2)) for xi, ki in zip(x, k)])
    lo, hi = cfg.get("crop_scale", (0.8, 1.0))
    if lo < 1.0:
        x = _random_resized_crop(x, g, lo, hi)
    if cfg.get("brightness", 0) or cfg.get("contrast", 0):
        br = 1 + (torch.rand(b, 1, 1, 1, generator=g) * 2 - 1) * cfg.get("brightness", 0)
        ct = 1 + (torch.rand(b, 1, 1, 1, generator=g) * 2 - 1) * cfg.get("contrast", 0)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * ct + mean) * br
    return x.clamp(0, 1)


def _random_resized_crop(x: torch.Tensor, g: torch.Generator, lo: float, hi: float) -> torch.Tensor:
    """Square crops covering lo..hi of the area, resized back to S via one affine grid per sample."""
    b = x.shape[0]
    side = torch.sqrt(lo + (hi - lo) * torch.rand(b, generator=g))  # fraction of the side kept
    cx = (torch.rand(b, generator=g) * 2 - 1) * (1 - side)  # centre in [-1+side, 1-side]
    cy = (torch.rand(b, generator=g) * 2 - 1) * (1 - side)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = side, side
    theta[:, 0, 2], theta[:, 1, 2] = cx, cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
