"""Per-cell tqdm bars, only when they can be read: stderr is a terminal and one job runs at a time.

Two joblib workers drawing bars on one terminal line overwrite each other (`train: 3%| … train: 10%| …`), and a
bar written into a file is carriage-return soup. Every bar of a run goes through :func:`tqdm` here, which keeps
the call site's own `disable` and adds this decision; `scarce-run` sets it once per job from its launcher's
worker count (:func:`configure`). Unconfigured (the plain CLI, tests): bars only on a terminal.
"""
from __future__ import annotations

import sys

from tqdm import tqdm as _tqdm

_workers: int | None = None  # jobs running at once (the launcher's n_jobs); None = not under a launcher


def configure(workers: int) -> None:
    """Called by each `scarce-run` job: `workers` jobs share this terminal (the joblib launcher's n_jobs)."""
    global _workers
    _workers = int(workers)


def bars_on() -> bool:
    """Bars are drawn on stderr: only when it is a terminal and this job is the only one drawing there."""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty()) and (_workers is None or _workers <= 1)


def tqdm(*args, disable: bool | None = False, **kwargs):
    """`tqdm.tqdm` with the bar dropped where it cannot be read (see module doc); the iterable still runs."""
    return _tqdm(*args, disable=bool(disable) or not bars_on(), **kwargs)
