"""The sweep's one progress line, printed by the launcher's parent: `sweep: 3/6 cells (0 failed, 0 skipped) ...`.

Why the parent: it is the one process every launcher keeps on the user's terminal (the basic launcher runs jobs
in it; joblib's and submitit's wait in it; a SLURM array's jobs write to their own files), so one writer
prints every line and no two lines can mix. A thread reads the jobs' events (:mod:`.events`) every second and
prints a line when a count changed: plain lines ending in a newline, never '\\r', on a terminal or not; the
same lines go to `<sweep dir>/progress.log`. The total comes from the sweep's own job list (Hydra's basic
sweeper, enumerated here as it does) times each job's seeds, corrected by each job's plan (folds) once it
starts. ETA = cells left × the mean wall time per cell of the jobs that ended ÷ the most jobs seen running at
once (:func:`eta_seconds`).

Registered in conf/config.yaml as `hydra.callbacks.sweep_progress`; the jobs append `end` events here too
(a job that crashed before its cells ran counts them as failed).
"""
from __future__ import annotations

import atexit
import datetime
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from benchmark.progress.events import PROGRESS_FILE, PROGRESS_LOG, EventReader, SweepEvents, Tally, tally


def clock(seconds: float) -> str:
    """H:MM:SS of whole seconds."""
    return str(datetime.timedelta(seconds=int(round(max(seconds, 0.0)))))


def eta_seconds(t: Tally) -> float | None:
    """Seconds left: cells not finished × the mean wall seconds per cell of the jobs that ended (their start-up,
    data loading and training included) ÷ the most jobs seen running at once; None before a job ended."""
    if t.total is None or not t.per_cell:
        return None
    return max(t.total - t.finished, 0) * sum(t.per_cell) / len(t.per_cell) / max(t.concurrency, 1)


def format_line(t: Tally, elapsed: float, final: bool = False) -> str:
    total = "?" if t.total is None else str(t.total)
    head = f"sweep: {t.finished}/{total} cells ({t.failed} failed, {t.skipped} skipped)"
    if final:
        left = "" if t.total is None or t.finished >= t.total else (
            f"; {t.total - t.finished} cell(s) not run or not finished (an error above, a job killed, or one "
            "still running elsewhere: `scarce status <study>`)")
        return f"{head} in {clock(elapsed)}{left}"
    eta = eta_seconds(t)
    return f"{head}, {clock(elapsed)} elapsed, ETA {'—' if eta is None else clock(eta)}"


def seeds_in(job: list[str], base: int) -> int:
    """Cells of one job from its overrides: the length of its `seeds=[...]`, else the config's `base`."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    given = [o for o in job if o.split("=", 1)[0].lstrip("+~") == "seeds"]
    if not given:
        return base
    value = OverridesParser.create().parse_overrides(given[-1:])[0].value()
    return len(value) if isinstance(value, list) and value else 1


def planned_cells(config: Any) -> dict[int, int]:
    """{Hydra job number: cells} of the sweep, as Hydra's basic sweeper will launch it (params of
    `hydra.sweeper.params` first, then the command line's); {} under another sweeper (total unknown)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    if not str(config.hydra.sweeper.get("_target_", "")).endswith("BasicSweeper"):
        return {}
    params = config.hydra.sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=False) if params is not None else {}
    args = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    jobs = [job for batch in BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(args), None)
            for job in batch]
    seeds = OmegaConf.select(config, "seeds")
    base = len(seeds) if seeds else 1
    return {i: seeds_in(job, base) for i, job in enumerate(jobs)}


class Watcher(threading.Thread):
    """Prints the sweep line whenever a count changes (polls `path` every `interval` s); `stop` prints the last."""

    def __init__(self, sweep_dir: Path, planned: dict[int, int], interval: float = 1.0, out=None):
        super().__init__(name="sweep-progress", daemon=True)
        self.reader, self.planned, self.interval = EventReader(sweep_dir / PROGRESS_FILE), planned, interval
        self.log_path, self.out = sweep_dir / PROGRESS_LOG, out
        self.t0, self.halt, self.last, self.closed = time.monotonic(), threading.Event(), None, False
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            self.tick()

    def tick(self, final: bool = False) -> None:
        with self.lock:
            if self.closed:
                return
            t = tally(self.reader.poll(), self.planned)
            key = (t.finished, t.failed, t.skipped, t.total)
            if final or key != self.last:
                self.last, self.closed = key, final
                self.write(format_line(t, time.monotonic() - self.t0, final))

    def write(self, line: str) -> None:
        from tqdm import tqdm  # clears and redraws this process's bars (the basic launcher's job) around the line

        out = self.out or sys.stdout
        tqdm.write(line + "\n", file=out, end="")  # one write: a log line of another thread cannot split it
        out.flush()
        try:
            with open(self.log_path, "a") as f:
                f.write(line + "\n")
        except OSError:
            pass

    def stop(self) -> None:
        self.halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)
        self.tick(final=True)


class SweepProgress(Callback):
    """Hydra callback: the parent's watcher (multirun start → end, or exit) and each job's `end` event."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval, self.watcher = float(interval), None

    def __getstate__(self) -> dict:  # pickled into joblib / submitit jobs: the parent's thread stays home
        return {"interval": self.interval, "watcher": None}

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        try:
            planned = planned_cells(config)
        except Exception:  # noqa: BLE001  an override this enumeration cannot read: no total, still the counts
            planned = {}
        self.watcher = Watcher(sweep_dir, planned, self.interval)
        self.watcher.tick()  # the first line: 0/total before any job starts
        self.watcher.start()
        atexit.register(self.watcher.stop)  # a failed job makes the sweeper raise: on_multirun_end never comes

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        if self.watcher is not None:
            self.watcher.stop()

    def on_job_start(self, config: Any, **kwargs: Any) -> None:
        if (events := _job_events(config)) is not None:
            events.start()

    def on_job_end(self, config: Any, job_return: Any, **kwargs: Any) -> None:
        if (events := _job_events(config)) is not None:
            value = getattr(job_return, "_return_value", None)  # .return_value re-raises a failed job's error
            skipped = isinstance(value, dict) and value.get("status") == "skipped"
            events.end(getattr(job_return.status, "name", str(job_return.status)), skipped)


def _job_events(config: Any) -> SweepEvents | None:
    """The events of the job `config` describes; None outside a multirun."""
    from hydra.types import RunMode

    if config.hydra.mode != RunMode.MULTIRUN:
        return None
    return SweepEvents(Path(str(config.hydra.sweep.dir)).absolute() / PROGRESS_FILE, int(config.hydra.job.num))
