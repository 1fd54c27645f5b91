"""`synthetic.share`: the part of a target class's training draws that its added images get.

By default every image of a class is equally likely, so the added images' part of a class grows with the
volume (N added to n real: N / (n + N) of the class's draws) and a volume curve measures volume and dose at
once: on MT crack, 124 cut-paste images beside 31 real ones took 80 % of crack's draws (docs/volume.md).
With `synthetic.share = s` a class's added images get s of its draws and its real images 1 - s, each group
uniform within, at every volume: the curve then measures what more distinct added images buy at a fixed
dose. The placebo's duplicates get the same s, so it stays count- and dose-matched.
"""
from __future__ import annotations

import numpy as np

__all__ = ["share_weights", "synthetic_cell"]


def share_weights(labels: list[str], n_added: int, share: float | None) -> np.ndarray | None:
    """labels (N,) of an arm's train list, whose last `n_added` items are the added ones (benchmark/arms.py
    builds every arm as real train + added) -> (N,) within-class draw weights, or None (no share: uniform).

    In a class with added items: each real item (1 - s) / n_real, each added item s / n_added; the sampler
    normalises within class, so classes without added items stay uniform."""
    if share is None or n_added == 0:
        return None
    if not 0 < share < 1:
        raise ValueError(f"synthetic.share={share!r}: expected a number in (0, 1) or null")
    lab = np.asarray(labels)
    added = np.arange(len(lab)) >= len(lab) - n_added  # (N,) bool
    w = np.ones(len(lab))
    for c in np.unique(lab[added]):
        real, new = (lab == c) & ~added, (lab == c) & added
        if not real.any():  # a class made only of added images: nothing to share with
            continue
        w[real], w[new] = (1 - share) / real.sum(), share / new.sum()
    return w


def synthetic_cell(synthetic_cfg: dict) -> dict:
    """The `synthetic` part of a cell: `share` only when set and `sets` only when not `shared` (the defaults), so
    every cell recorded before them keeps its run ID."""
    return {k: v for k, v in synthetic_cfg.items()
            if not (k == "share" and v is None) and not (k == "sets" and v in (None, "shared"))}

