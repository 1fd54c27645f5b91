"""Training engines, picked by name (`trainer.engine`).

An engine is `fit_predict(dataset, train_items, eval_items, cfg, seeds) -> [(probs, log), ...]`:
for each seed, in order, (len(eval_items), n_classes) softmax probabilities in dataset.classes order
and a small dict log. `cfg` is the whole resolved run config (model, trainer, cache_root, ...).
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from benchmark.registry import Registry

ENGINES = Registry("engine")
register_engine = ENGINES.register
list_engines = ENGINES.list


def create_engine(name: str):
    return ENGINES.get(name)


def seed_everything(seed: int) -> None:
    """Called inside every job: Hydra joblib workers are reused, so nothing may leak between jobs."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0; got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def set_threads(n: int | None, workers: int = 1) -> int:
    """Torch threads for this job: the cores available to the process divided among launcher workers."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = int(n) if n else max(1, cores // max(1, workers))
    torch.set_num_threads(n)
    return n


from benchmark.train import engine_finetune  # noqa: E402,F401  (registers "finetune")
from benchmark.train import engine_featurebank  # noqa: E402,F401  (registers "featurebank")
