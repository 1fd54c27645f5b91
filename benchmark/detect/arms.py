"""Detection arms: they differ only in training images (and their boxes).

- `real`: the real train images (or the parity base subset, see below);
- `synthetic`: real + generated images with boxes (`synthetic.volume`: per target class, a count or a
  fraction of that class's real train images, as for classification; `synthetic.classes: all` spreads it
  over every class, so a fraction f adds about f x the real images);
- `placebo`: real + M duplicated real train images that hold the target class, count-matched to what the
  generator delivered (volume without new content);
- `real_plus`: the parity arm, real + M *more real* images drawn from the rest of the train split.

Parity design (`parity.base`, a count or a fraction of the train split): every arm starts from the same
fixed real subset of N images (drawn once by `parity.seed`, stratified by class, not by the run seed), so
"N real + M synthetic" can be compared with "N + M real" (the published "24k + 6k synthetic vs 30k real").
"""
from __future__ import annotations

import numpy as np

from benchmark.arms import ArmData, generated_arm, target_counts
from benchmark.detect.data import DetDataset, DetItem
from benchmark.detect.generators import DET_GENERATORS

DET_ARMS = ("real", "synthetic", "placebo", "real_plus")


def as_count(value, n_real: int, field: str) -> int:
    """An int is a count; a float is a fraction of `n_real` (rounded)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{field}={value!r}; expected an image count (int) or a fraction of the real train set")
    return int(value) if isinstance(value, int) else int(round(float(value) * n_real))


def stratified_subset(items: list[DetItem], n: int, seed: int) -> list[DetItem]:
    """n items, every class keeping (about) its share, drawn by `seed`; path order within the result."""
    if not 0 < n <= len(items):
        raise ValueError(f"parity.base gives {n} images; expected 1..{len(items)} (the train split size)")
    rng = np.random.default_rng([seed, 31])
    labels = sorted({it.label for it in items})
    pools = {c: sorted((it for it in items if it.label == c), key=lambda it: it.path) for c in labels}
    quota = {c: int(np.floor(n * len(p) / len(items))) for c, p in pools.items()}
    rest = n - sum(quota.values())  # largest remainders first, ties by class name
    for c in sorted(labels, key=lambda c: (-(n * len(pools[c]) / len(items) - quota[c]), c))[:rest]:
        quota[c] += 1
    out = [pools[c][i] for c in labels for i in sorted(rng.permutation(len(pools[c]))[:quota[c]])]
    return sorted(out, key=lambda it: it.path)


def parity_split(train: list[DetItem], parity: dict | None) -> tuple[list[DetItem], list[DetItem]]:
    """(base N real images, the rest of the train split = the pool `real_plus` draws from)."""
    if not parity or parity.get("base") is None:
        return list(train), []
    n = as_count(parity["base"], len(train), "parity.base")
    base = stratified_subset(train, n, int(parity.get("seed", 0)))
    keep = {it.path for it in base}
    return base, [it for it in train if it.path not in keep]


def build_det_arm(arm: str, ds: DetDataset, train: list[DetItem], train_sha: dict[str, str], hardest: str,
                  gen_cfg: dict, syn_cfg: dict, parity: dict | None, cache_root) -> ArmData:
    if arm not in DET_ARMS:
        raise ValueError(f"unknown detection arm {arm!r}; known arms: {', '.join(DET_ARMS)}")
    base, pool = parity_split(train, parity)
    par = None if not parity or parity.get("base") is None else {"base": len(base), "seed": int(parity.get("seed", 0))}
    cell = {"arm": arm, "n_real": len(base), "parity": par}
    if arm == "real":
        return ArmData(arm, list(base), cell=cell)
    counts = target_counts(syn_cfg, hardest, ds.counts(base))  # per target class, as for classification
    cell["volume"] = m = sum(counts.values())
    if arm == "real_plus":  # M more real images, M = what the synthetic arm would add
        if m > len(pool):
            raise ValueError(f"real_plus: {m} more real images requested but only {len(pool)} train images are "
                             f"outside the parity base (parity.base={parity and parity.get('base')})")
        extra = stratified_subset(pool, m, cell["parity"]["seed"] + 1) if m < len(pool) else list(pool)
        return ArmData(arm, base + extra, extra, cell=cell)
    out = generated_arm(arm, ds, base, train_sha, counts, gen_cfg, DET_GENERATORS, cache_root,
                        holds=lambda it, c: ds.classes.index(c) in ds.boxes_of(it)[1][:, 0].astype(int))
    out.cell = {**cell, **out.cell}
    return out
