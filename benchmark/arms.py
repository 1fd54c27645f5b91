"""Arms differ only in training data: real, real + synthetic, real + count-matched real duplicates, and (with a
reserve frozen in the split) real + count-matched withheld real images of the target class: the oracle."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.curation import Curation, curated_set
from benchmark.data.base import Dataset, Item
from benchmark.generators import GENERATORS, GenRequest, SyntheticSet
from benchmark.registry import Registry

ARMS = ("real", "synthetic", "placebo", "oracle")


@dataclass
class ArmData:
    arm: str
    train: list[Item]  # what the model trains on (real train + added)
    added: list[Item] = field(default_factory=list)
    synthetic: SyntheticSet | None = None
    cell: dict = field(default_factory=dict)  # the arm's part of the run ID


def target_counts(synthetic_cfg: dict, hardest: str, train_counts: dict[str, int]) -> dict[str, int]:
    """{class: N} for every task. `classes`: null = the hardest class, a list, or "all". `volume` is a count
    per target class (int) or a fraction of that class's real train count (float): one meaning everywhere."""
    classes = synthetic_cfg.get("classes") or [hardest]
    if isinstance(classes, str) and classes != "all":  # a string would be read letter by letter
        raise ValueError(f"synthetic.classes={classes!r}: expected null (the hardest class), all, or a list of "
                         f"class names such as [{classes}]")
    classes = sorted(train_counts) if classes == "all" else classes
    vol = synthetic_cfg.get("volume")
    if isinstance(vol, bool) or not isinstance(vol, (int, float)) or not math.isfinite(vol):
        raise ValueError(f"synthetic.volume={vol!r}; expected an image count per target class (int) or a "
                         f"fraction of that class's real train count (float), finite")
    out = {}
    for c in classes:
        if c not in train_counts:
            raise ValueError(f"synthetic.classes: {c!r} is not a class of this dataset {sorted(train_counts)}")
        n = int(vol) if isinstance(vol, int) else int(round(float(vol) * train_counts[c]))
        if n <= 0:
            raise ValueError(f"synthetic.volume={vol!r} gives {n} images for {c!r}; expected at least 1 "
                             f"(volume 0 is the `real` arm)")
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


def placebo_items(train: list[Item], counts: dict[str, int], seed: int,
                  holds: Callable[[Item, str], bool] | None = None) -> list[Item]:
    """N duplicated real train items per class, spread evenly (round-robin over a seeded shuffle), so placebo
    adds volume but no new visual content. `holds(item, c)`: whether an item shows class c (default: its
    label is c; detection: one of its boxes is)."""
    holds = holds or (lambda it, c: it.label == c)
    rng = np.random.default_rng([seed, 7])
    out = []
    for c, n in counts.items():
        pool = [it for it in train if holds(it, c)]
        if not pool:
            raise ValueError(f"placebo: no real train image holds class {c!r} to duplicate")
        order = rng.permutation(len(pool))
        out += [pool[order[i % len(pool)]] for i in range(n)]
    return out


def oracle_arm(dataset: Dataset, train: list[Item], reserve: list[Item], hardest: str, synthetic_cfg: dict) -> ArmData:
    """The base train split + the first N of the fold's reserve (withheld real images of the hardest class, in
    their frozen draw order), N = what `synthetic.volume` gives the synthetic arm: what a perfect generator adds."""
    if not reserve:
        raise ValueError("arm=oracle: the manifest has no reserve; expected one frozen by `scarce split <dataset> "
                         "split.reserve=<n or fraction>` (it withholds real train images of the hardest class)")
    counts = target_counts(synthetic_cfg, hardest, dataset.counts(train))
    cls = reserve[0].label
    if set(counts) != {cls}:
        raise ValueError(f"arm=oracle: synthetic.classes gives {sorted(counts)}; expected only the reserve's class "
                         f"{cls!r} (the reserve holds withheld images of the hardest class only)")
    if counts[cls] > len(reserve):
        raise ValueError(f"arm=oracle: synthetic.volume={synthetic_cfg.get('volume')!r} asks for {counts[cls]} "
                         f"{cls!r} images but the fold's reserve holds {len(reserve)}; expected a volume <= the "
                         f"reserve (split.reserve at `scarce split`)")
    added = reserve[:counts[cls]]
    return ArmData("oracle", list(train) + added, added, None, {"arm": "oracle", "oracle_counts": {cls: counts[cls]}})


def build_arm(arm: str, dataset: Dataset, train: list[Item], train_sha: dict[str, str], hardest: str,
              gen_cfg: dict, synthetic_cfg: dict, cache_root: Path, curation: Curation | None = None) -> ArmData:
    """A classification arm (detection's, with its parity arm, is benchmark/detect/arms.py). `curation`: keep N
    of an r·N pool (benchmark/curation); None or `none` = the generator's N, as before."""
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; known arms: {', '.join(ARMS)}")
    if arm == "real":
        return ArmData(arm, list(train), cell={"arm": "real"})
    counts = target_counts(synthetic_cfg, hardest, dataset.counts(train))
    return generated_arm(arm, dataset, train, train_sha, counts, gen_cfg, GENERATORS, cache_root, curation=curation)


def generated_arm(arm: str, dataset, train: list[Item], train_sha: dict[str, str], counts: dict[str, int],
                  gen_cfg: dict, generators: Registry, cache_root: Path,
                  holds: Callable[[Item, str], bool] | None = None, curation: Curation | None = None) -> ArmData:
    """`synthetic` (train + the generator's set for `counts`) or `placebo` (train + as many duplicated real
    images per class as the generator actually delivered), for any task: `generators` is the task's registry.
    With an active `curation` the set is N chosen of an r·N pool and names its selector in the cell; the placebo
    stays count-matched to the N delivered (its cell is the uncurated arm's)."""
    gen_cfg = {k: v for k, v in gen_cfg.items() if k != "task"}  # which task a config is for: not an option
    name, gen_seed = gen_cfg.pop("name"), int(gen_cfg.pop("seed", 0))
    req = GenRequest(dataset, list(train), train_sha, counts, gen_seed)
    gen = generators.create(name, **gen_cfg)
    active = curation is not None and curation.active
    syn = curated_set(gen, req, curation, cache_root) if active else gen.materialize(req, cache_root)
    if arm == "synthetic":
        cell = {"arm": arm, "generator": name, "synthetic_key": syn.key,
                **({"curation": curation.cell()} if active else {})}  # absent for `none`: run IDs as before
        return ArmData(arm, list(train) + syn.items, syn.items, syn, cell)
    matched = syn.counts()  # placebo: count-matched to what the synthetic set actually delivered, class by class
    added = placebo_items(train, matched, gen_seed, holds)
    return ArmData(arm, list(train) + added, added, None, {"arm": arm, "placebo_counts": matched,
                                                          "placebo_seed": gen_seed})
