"""What fixes a job's numbers besides its config: the seed and the torch thread count (a leaf module:
imports nothing from `benchmark.train`, so engine modules can use it without the package's `__init__`)."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["seed_everything", "THREADS_ALLOWED", "check_threads", "resolve_threads", "set_threads"]


def seed_everything(seed: int) -> None:
    """Called inside every job: Hydra joblib workers are reused, so nothing may leak between jobs."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0; got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


from benchmark.config.checks import THREADS_ALLOWED  # noqa: E402  (kept in config: the schema needs no torch)


def check_threads(value) -> None:
    """`threads` is part of every cell (float reduction order, hence the numbers, depends on it), so it must name
    a thread count: an int >= 1 or "auto". Anything else (null included) is refused before any data is read."""
    ok = value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)
    if not ok:
        raise ValueError(f"threads={value!r}: expected {THREADS_ALLOWED}; the thread count is part of the cell "
                         f"(default 1 in conf/config.yaml, the same on every launcher)")


def resolve_threads(value, workers: int = 1) -> int:
    """The torch thread count `threads` stands for: the int itself, or for "auto" the cores available to the
    process divided among the launcher's workers (so "auto" gives a different cell under another launcher)."""
    check_threads(value)
    if value == "auto":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return max(1, cores // max(1, workers))
    return int(value)


def set_threads(value, workers: int = 1) -> int:
    """Set torch's thread count for this job from `threads` (see resolve_threads); returns the count."""
    n = resolve_threads(value, workers)
    torch.set_num_threads(n)
    return n
