"""`trainer.engine=featurebank`: linear heads on cached frozen-backbone features, all seeds at once.

Features of V views per image are extracted once and cached (`benchmark.train.features`); a run then
only trains S = len(seeds) linear heads, vectorised: parameters W (S, D, C) and b (S, C), one loss that
sums each seed's mean cross-entropy. Parameters are disjoint and AdamW is elementwise, so every seed
trains exactly as it would alone; each seed has its own generator for init, batch order and views.
The budget is `trainer.max_steps` optimizer steps whatever the arm, as in the fine-tune engine.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmark.data.base import Dataset, Item
from benchmark.progress.bars import tqdm
from benchmark.train._registry import register_engine
from benchmark.train.features import extract_features
from benchmark.train.loop import BalancedSampler, make_optimizer, total_steps, update


class FastBalancedSampler(BalancedSampler):
    """The same draws as BalancedSampler (same generator calls, same arithmetic) without its
    per-element Python loop: S seeds x max_steps draws would otherwise dominate the training time."""

    def __init__(self, y: torch.Tensor, g: torch.Generator, balance: str = "sampler", weights=None):
        super().__init__(y, g, balance, weights)
        self.counts = torch.tensor([len(c) for c in self.by_class])  # (K,) items per present class
        self.starts = torch.cumsum(self.counts, 0) - self.counts  # (K,) offsets into `order`
        self.order = torch.cat(self.by_class)  # (N,) item indices grouped by class
        self.flat = None if self.cum is None else torch.cat(self.cum)  # (N,) class k's items in [k, k + 1]

    def draw(self, batch_size: int) -> torch.Tensor:
        if self.balance == "none":
            return super().draw(batch_size)
        cls = torch.randint(0, len(self.by_class), (batch_size,), generator=self.g)
        u = torch.rand(batch_size, generator=self.g)
        if self.flat is not None:  # class k's intervals are the only ones in (k, k + 1]: one search for all
            return self.order[torch.searchsorted(self.flat, cls + u.double(), right=True)]
        within = torch.minimum((u * self.counts[cls]).long(), self.counts[cls] - 1)
        return self.order[self.starts[cls] + within]


class LinearHeads(nn.Module):
    """S independent linear classifiers: logits[s] = x[s] @ W[s] + b[s]. Each seed's init is nn.Linear's
    default, U(-1/sqrt(D), 1/sqrt(D)) for weight (drawn as (C, D) like nn.Linear) and bias."""

    def __init__(self, gens: list[torch.Generator], dim: int, n_classes: int):
        super().__init__()
        bound = 1 / math.sqrt(dim)
        w = [torch.empty(n_classes, dim).uniform_(-bound, bound, generator=g).T for g in gens]
        b = [torch.empty(n_classes).uniform_(-bound, bound, generator=g) for g in gens]
        self.W = nn.Parameter(torch.stack(w).contiguous())  # (S, D, C)
        self.b = nn.Parameter(torch.stack(b))  # (S, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (S, B, D) -> (S, B, C)."""
        return torch.baddbmm(self.b[:, None, :], x, self.W)

    def predict(self, s: int, x: torch.Tensor) -> np.ndarray:
        """x: (N, D) -> (N, C) float64 softmax of seed s's head; the same op whatever S is."""
        with torch.no_grad():
            return (x @ self.W[s] + self.b[s]).double().softmax(1).numpy()


def train_heads(x: torch.Tensor, y: torch.Tensor, n_classes: int, cfg: dict, seeds: list[int], weights=None):
    """x: (N, V, D) standardised features, y: (N,) labels, weights: (N,) within-class draw weights or None
    -> (heads, per-seed final loss (S,), train_s)."""
    t0 = time.perf_counter()
    (n, views, dim), batch = x.shape, int(cfg["batch_size"])
    steps = total_steps(cfg, n)
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]  # init, then per step: batch, views
    heads = LinearHeads(gens, dim, n_classes)
    samplers = [FastBalancedSampler(y, g, cfg.get("balance", "sampler"), weights) for g in gens]
    opt, sched = make_optimizer(heads, cfg, steps)
    losses = torch.empty(steps, len(seeds))  # (steps, S)
    for step in tqdm(range(steps), desc="train heads", leave=False, mininterval=2):
        idx = torch.stack([smp.draw(batch) for smp in samplers])  # (S, B) item indices
        view = torch.stack([torch.randint(0, views, (batch,), generator=g) for g in gens])  # (S, B)
        logits = heads(x[idx, view])  # (S, B, C)
        per_seed = F.cross_entropy(logits.flatten(0, 1), y[idx].flatten(), reduction="none",
                                   label_smoothing=cfg.get("label_smoothing", 0.0)).view(len(seeds), batch).mean(1)
        # seeds' parameters are disjoint: the summed loss gives each exactly its own gradient
        update(opt, sched, per_seed.sum(), step)
        losses[step] = per_seed.detach()
    tail = losses[-max(1, steps // 10):].mean(0)  # (S,) mean over the last 10 % of steps
    return heads, tail, time.perf_counter() - t0


def standardise(train_view0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) view-0 features of the distinct train images -> mean, std (D,); constant dimensions get std 1
    (they carry nothing, and must not explode on augmented views or eval images where they are not constant)."""
    mean, std = train_view0.mean(0), train_view0.std(0)
    return mean, np.where(std > 1e-6, std, 1.0).astype(np.float32)


@register_engine("featurebank")
def fit_predict(dataset: Dataset, train: list[Item], evaluate: list[Item], cfg: dict,
                seeds: list[int], weights=None) -> list[tuple[np.ndarray, dict]]:
    """Per seed, in order: (len(evaluate), C) float64 probabilities in dataset.classes order and a log.
    Train features: all V views; eval features: view 0 (plain resize). weights: (len(train),) or None."""
    t0 = time.perf_counter()
    def paths(items):
        return [str(dataset.abspath(it.path)) for it in items]

    f_train, stats = extract_features(paths(train), cfg["model"], cfg["trainer"], Path(cfg["cache_root"]))
    f_eval, st_eval = extract_features(paths(evaluate), cfg["model"], cfg["trainer"], Path(cfg["cache_root"]),
                                       desc="features (eval)", view0_only=True)  # evaluated on view 0 only
    f_eval = f_eval[:, 0]  # (N, V, D) train, (M, D) eval
    stats = {k: stats[k] + st_eval[k] if k != "feature_key" else stats[k] for k in stats}
    # statistics over distinct images: a placebo's duplicates (or any repeated item) must not move the feature
    # scale, else the count-matched placebo adds "no new visual content" yet changes every input (measured on MT
    # crack: 124 duplicates pulled the placebo from 27.3 to 18.8 %; over distinct images 30.3 %, docs/volume.md)
    _, first = np.unique(paths(train), return_index=True)  # index of each distinct path's first occurrence
    mean, std = standardise(f_train[np.sort(first), 0])  # the same for every seed of the call
    x = torch.from_numpy((f_train - mean) / std).float()
    x_eval = torch.from_numpy((f_eval - mean) / std).float()
    index = {c: i for i, c in enumerate(dataset.classes)}
    y = torch.tensor([index[it.label] for it in train], dtype=torch.long)
    data_s = time.perf_counter() - t0
    heads, final_loss, train_s = train_heads(x, y, len(dataset.classes), cfg["trainer"], seeds, weights)
    out = []
    for s, seed in enumerate(seeds):
        t1 = time.perf_counter()
        probs = heads.predict(s, x_eval)
        log = {"steps": total_steps(cfg["trainer"], len(y)), "final_loss": float(final_loss[s]),
               "feature_s": stats["feature_s"], "train_s": train_s, "data_s": data_s,
               "eval_s": time.perf_counter() - t1, "n_cached": stats["n_cached"],
               "n_extracted": stats["n_extracted"], "n_train": len(y), "n_eval": len(x_eval),
               "views": int(x.shape[1]), "feature_dim": int(x.shape[2]), "seeds_in_block": len(seeds),
               "feature_key": stats["feature_key"]}
        out.append((probs, log))
    return out
