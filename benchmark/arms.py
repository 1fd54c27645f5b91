"""Arms differ only in training data: real, real + synthetic, real + count-matched real duplicates."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.data.base import Dataset, Item
from benchmark.generators import GenRequest, SyntheticSet, create_generator

ARMS = ("real", "synthetic", "placebo")


@dataclass
class ArmData:
    arm: str
    train: list[Item]  # what the model trains on (real train + added)
    added: list[Item] = field(default_factory=list)
    synthetic: SyntheticSet | None = None
    cell: dict = field(default_factory=dict)  # the arm's part of the run ID


def target_counts(synthetic_cfg: dict, hardest: str, train_counts: dict[str, int]) -> dict[str, int]:
    """{class: N}. `volume` is a count per class (int) or a fraction of that class's real train count."""
    classes = synthetic_cfg.get("classes") or [hardest]
    vol = synthetic_cfg.get("volume")
    out = {}
    for c in classes:
        if c not in train_counts:
            raise ValueError(f"synthetic.classes: {c!r} is not a class of this dataset {sorted(train_counts)}")
        n = int(vol) if isinstance(vol, int) else int(round(float(vol) * train_counts[c]))
        if n <= 0:
            raise ValueError(f"synthetic.volume={vol!r} gives {n} images for {c!r}; expected at least 1")
        out[c] = n
    return out


def few_shot_subset(train: list[Item], k: int, seed: int) -> list[Item]:
    """k real train items per class, drawn by the run seed (the same draw for every arm of that seed)."""
    if k < 1:
        raise ValueError(f"k={k}: expected at least 1 real label per class")
    out = []
    for c in sorted({it.label for it in train}):
        pool = sorted((it for it in train if it.label == c), key=lambda it: it.path)
        if k > len(pool):
            raise ValueError(f"k={k} is larger than class {c!r}, which has {len(pool)} train images")
        pick = np.random.default_rng([seed, k, 11]).choice(len(pool), size=k, replace=False)
        out += [pool[i] for i in sorted(pick)]
    return out


def placebo_items(train: list[Item], counts: dict[str, int], seed: int) -> list[Item]:
    """N duplicated real train images per class, spread evenly (round-robin over a seeded shuffle),
    so placebo adds volume but no new visual content."""
    rng = np.random.default_rng([seed, 7])
    out = []
    for c, n in counts.items():
        pool = [it for it in train if it.label == c]
        order = rng.permutation(len(pool))
        out += [pool[order[i % len(pool)]] for i in range(n)]
    return out


def build_arm(arm: str, dataset: Dataset, train: list[Item], train_sha: dict[str, str], hardest: str,
              gen_cfg: dict, synthetic_cfg: dict, cache_root: Path) -> ArmData:
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; known arms: {', '.join(ARMS)}")
    if arm == "real":
        return ArmData(arm, list(train), cell={"arm": "real"})
    counts = target_counts(synthetic_cfg, hardest, dataset.counts(train))
    gen_cfg = dict(gen_cfg)
    name, gen_seed = gen_cfg.pop("name"), int(gen_cfg.pop("seed", 0))
    req = GenRequest(dataset, list(train), train_sha, counts, gen_seed)
    syn = create_generator(name, **gen_cfg).materialize(req, cache_root)
    if arm == "synthetic":
        cell = {"arm": arm, "generator": name, "synthetic_key": syn.key}
        return ArmData(arm, list(train) + syn.items, syn.items, syn, cell)
    # placebo: count-matched to what the synthetic set actually delivered, class by class
    matched = syn.counts()
    added = placebo_items(train, matched, gen_seed)
    return ArmData(arm, list(train) + added, added, None, {"arm": arm, "placebo_counts": matched,
                                                          "placebo_seed": gen_seed})
