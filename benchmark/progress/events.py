"""The sweep's progress events: one JSON line per event in `<sweep dir>/progress.jsonl`, appended by every job.

Jobs of one sweep are separate processes (joblib's workers, submitit's / SLURM's jobs), so none of them knows
how far the sweep is; each appends what it did, and the launcher's parent reads the file back
(:mod:`benchmark.progress.sweep`). Events, each with `job` (Hydra's job number) and `t` (Unix time):

    {"ev": "start"}                                           the job began (Hydra's on_job_start)
    {"ev": "plan", "n": 6}                                    the job's cells (seeds × folds), once it knows them
    {"ev": "cell", "run_id": ..., "state": "done", "s": 4.2}  done | failed | skipped (its record existed), seconds
    {"ev": "end", "status": "COMPLETED", "skipped": false}     Hydra's job status; skipped = dataset absent

Each event is one `write(2)` of one short line to a file opened with O_APPEND: on a local filesystem lines
of concurrent jobs never interleave (NFS does not promise that; a torn line is ignored when read).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

PROGRESS_FILE = "progress.jsonl"  # in the sweep's directory (<study>/.hydra/multirun/<time>/)
PROGRESS_LOG = "progress.log"  # the parent's plain progress lines, beside it
CELL_STATES = ("done", "failed", "skipped")


def append_line(path: Path, obj: dict) -> None:
    """One JSON line, one write: atomic against other appenders (see module doc)."""
    data = (json.dumps(obj, separators=(",", ":"), default=str) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class SweepEvents:
    """What one job of a sweep appends (`job`: Hydra's job number)."""
    path: Path
    job: int

    def emit(self, ev: str, **fields) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            append_line(self.path, {"job": self.job, "t": round(time.time(), 3), "ev": ev, **fields})
        except OSError:  # progress is for reading along; it never fails a run
            pass

    def plan(self, n_cells: int) -> None:
        self.emit("plan", n=int(n_cells))

    def cell(self, run_id: str, state: str, seconds: float) -> None:
        if state not in CELL_STATES:
            raise ValueError(f"progress state {state!r}; expected one of {CELL_STATES}")
        self.emit("cell", run_id=run_id, state=state, s=round(float(seconds), 3))

    def start(self) -> None:
        self.emit("start")

    def end(self, status: str, skipped: bool = False) -> None:
        self.emit("end", status=str(status), skipped=bool(skipped))


def from_hydra() -> SweepEvents | None:
    """The current job's events under `scarce-run -m` (None for a single run or outside Hydra)."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
        if hc.mode != RunMode.MULTIRUN:
            return None
        return SweepEvents(Path(str(hc.sweep.dir)).absolute() / PROGRESS_FILE, int(hc.job.num))
    except (ValueError, AttributeError):  # HydraConfig not set: a test or a pilot run
        return None


class EventReader:
    """Reads the events file incrementally: only complete new lines, malformed ones skipped."""

    def __init__(self, path: Path):
        self.path, self.offset, self.events = Path(path), 0, []

    def poll(self) -> list[dict]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return self.events
        whole = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written stays for the next poll
        self.offset += len(whole)
        for line in whole.splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if isinstance(e, dict) and "job" in e:
                self.events.append(e)
        return self.events


@dataclass
class Tally:
    """The sweep so far. `total` is None when the jobs could not be enumerated (a sweeper other than Hydra's).
    `per_cell`: per ended job, its wall seconds (start to end event) over its cells; `concurrency`: the most
    jobs seen running at once (started, not ended): what the ETA divides by."""
    done: int = 0
    failed: int = 0
    skipped: int = 0
    total: int | None = None
    per_cell: list[float] = field(default_factory=list)
    concurrency: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.skipped


def _last(events: list[dict]) -> tuple[dict, dict, dict, dict]:
    """{job: n} of plans, {(job, run_id): event} of cells, {job: event} of starts and of ends; the last event of a
    kind wins (a requeued job reports again)."""
    plans, cells, starts, ends = {}, {}, {}, {}
    for e in events:
        kind = e.get("ev")
        if kind == "plan":
            plans[e["job"]] = int(e["n"])
        elif kind == "cell" and e.get("state") in CELL_STATES:
            cells[(e["job"], e.get("run_id"))] = e
        elif kind in ("start", "end"):
            (starts if kind == "start" else ends)[e["job"]] = e
    return plans, cells, starts, ends


def most_at_once(starts: dict, ends: dict) -> int:
    """The most jobs running at one time: +1 at each start, -1 at each end (a job not ended is still running)."""
    marks = sorted([(e["t"], 1) for e in starts.values()] + [(ends[j]["t"], -1) for j in starts if j in ends],
                   key=lambda m: (m[0], m[1]))  # an end before a start at the same instant
    running = best = 0
    for _, step in marks:
        running += step
        best = max(best, running)
    return best


def tally(events: list[dict], planned: dict[int, int]) -> Tally:
    """Counts over `events`; `planned`: {job: cells} estimated before the sweep (a job's own plan wins). A job that
    ended without reporting all its cells: the rest count as failed (it crashed) or skipped (dataset absent)."""
    got, cells, starts, ends = _last(events)
    plans = {**planned, **got}
    t, reported = Tally(concurrency=most_at_once(starts, ends)), {}
    for (job, _), e in cells.items():
        setattr(t, e["state"], getattr(t, e["state"]) + 1)
        reported[job] = reported.get(job, 0) + 1
    for job, e in ends.items():
        n = reported.get(job, 0)
        rest = plans.get(job, n) - n
        if rest > 0 and e.get("skipped"):
            t.skipped += rest
        elif rest > 0 and e.get("status") != "COMPLETED":
            t.failed += rest
        else:  # completed: what it reported is its count (an estimate before its plan can be off)
            plans[job] = n
        if job in starts and plans[job] > 0:
            t.per_cell.append((e["t"] - starts[job]["t"]) / plans[job])
    t.total = sum(plans.values()) if planned and set(plans) == set(planned) else None
    return t
