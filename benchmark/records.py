"""The one place that owns the run-record schema: IDs, writing, reading (flattening records to the
reports' table is :mod:`benchmark.report.columns`).

A record is one JSON file per run, `<study>/records/<run_id>.json`, self-describing: it holds the
resolved config, the cell that identifies it, metrics, per-test-image probabilities, timings,
library versions and a status (`ok` or `failed` with the error).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from benchmark.io import mkstemp_shared, read_json

SCHEMA_VERSION = 1
STATUSES = ("ok", "failed")
# Chaos-testing hook (scripts/chaos.py): seconds to sleep between the fsynced temp file and the rename,
# to widen the window in which a killed writer leaves a temp file behind. Unset = no delay.
CHAOS_WRITE_DELAY_ENV = "SCARCE_CHAOS_WRITE_DELAY"

log = logging.getLogger("scarce")


def run_id(cell: dict[str, Any]) -> str:
    """Deterministic ID of a cell (dataset, manifest hash, arm, generator + set key, seed, model, budget).

    Never derived from Hydra's job number or the time, so re-running a sweep finds the same IDs.
    """
    blob = json.dumps(cell, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# cell fields that say *which training data* (the arm), not *which design*: left out of the design key
DESIGN_EXCLUDED = ("arm", "generator", "synthetic_key", "placebo_counts", "placebo_seed", "oracle_counts", "seed",
                   "synthetic", "volume", "parity", "curation")


def design_key(cell: dict[str, Any]) -> str:
    """8 hex digits over the cell without :data:`DESIGN_EXCLUDED`: equal for runs that may be paired."""
    rest = {k: v for k, v in cell.items() if k not in DESIGN_EXCLUDED}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, default=str).encode()).hexdigest()[:8]


def counts_key(counts: dict | None) -> str:
    """Canonical JSON of the non-zero class counts a run added (``{}`` for none)."""
    return json.dumps({str(c): int(n) for c, n in sorted((counts or {}).items()) if n}, sort_keys=True)


def records_dir(study_dir: str | Path) -> Path:
    return Path(study_dir) / "records"


def record_path(study_dir: str | Path, rid: str) -> Path:
    return records_dir(study_dir) / f"{rid}.json"


def write_record(study_dir: str | Path, record: dict[str, Any]) -> Path:
    """Atomic write: temp file in the same directory, fsync, rename. Readers never see half a record;
    on any error (disk full included) the temp file is removed and no record is left for the cell."""
    missing = [k for k in ("schema", "run_id", "status", "cell") if k not in record]
    if missing:
        raise ValueError(f"record lacks required field(s) {missing}")
    if record["status"] not in STATUSES:
        raise ValueError(f"record status {record['status']!r}; expected one of {STATUSES}")
    final = record_path(study_dir, record["run_id"])
    try:
        return atomic_write_json(final, record, delay=float(os.environ.get(CHAOS_WRITE_DELAY_ENV) or 0))
    except OSError as e:
        raise _os_error(e, f"{final}: could not write the record ({e.strerror or e}); no partial record was "
                           f"left; expected free space and a writable results directory") from e


def atomic_write_json(final: Path, obj: Any, delay: float = 0.0) -> Path:
    """`final` appears whole or not at all: temp file `.<name>.*.tmp` beside it, fsync, rename."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = mkstemp_shared(final)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=1, sort_keys=True, default=str)
            f.flush()
            os.fsync(f.fileno())
        if delay > 0:
            time.sleep(delay)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def read_record(path: str | Path) -> dict[str, Any]:
    rec = read_json(path, ValueError, "{path}: not a complete record ({e}); expected JSON written by "
                    "scarce-run (delete the file and rerun the sweep to redo the cell)")
    if not isinstance(rec, dict) or rec.get("schema") != SCHEMA_VERSION:
        got = rec.get("schema") if isinstance(rec, dict) else type(rec).__name__
        raise ValueError(f"{path}: field 'schema' is {got!r}; expected {SCHEMA_VERSION}")
    return rec


def check_record_slot(study_dir: str | Path, rid: str) -> Path:
    """The cell's record path, refused when something other than a file sits there (a directory, a
    socket): the run would train for minutes and then fail to write its record. Checked before training."""
    p = record_path(study_dir, rid)
    if (p.exists() or p.is_symlink()) and not p.is_file():
        kind = "a directory" if p.is_dir() else "not a regular file"
        raise FileExistsError(f"{p}: the record path of cell {rid} is {kind}; expected a record file or nothing "
                              "(remove it and rerun)")
    return p


def existing_record(study_dir: str | Path, rid: str) -> dict[str, Any] | None:
    """The cell's record, or None when absent or unreadable (an unreadable one is rewritten by the rerun)."""
    p = check_record_slot(study_dir, rid)
    if not p.exists():
        return None
    try:
        return read_record(p)
    except (ValueError, OSError) as e:
        log.warning("ignoring unreadable record %s: %s", p, e)
        return None


# ---- concurrency and progress: per-cell locks, expected cells, stale temp files ----------------------

def lock_path(study_dir: str | Path, rid: str) -> Path:
    return records_dir(study_dir) / ".locks" / f"{rid}.lock"


@contextlib.contextmanager
def cell_lock(study_dir: str | Path, rid: str) -> Iterator[Path]:
    """Exclusive `flock` on records/.locks/<rid>.lock, held while the cell trains and its record is written:
    two sweeps writing into one study never train the same cell at once (the second waits, then finds
    the record). The kernel drops the lock when its holder dies, SIGKILL included; lock files stay."""
    path = lock_path(study_dir, rid)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("wait %s: another job holds %s; waiting for it to finish the cell", rid, path)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def cell_locks(study_dir: str | Path, rids: list[str]) -> Iterator[None]:
    """Locks of several cells (a seed block), always taken in sorted order so two jobs cannot deadlock."""
    with contextlib.ExitStack() as stack:
        for rid in sorted(set(rids)):
            stack.enter_context(cell_lock(study_dir, rid))
        yield


def is_locked(study_dir: str | Path, rid: str) -> bool:
    """True while some process holds the cell's lock (i.e. is training it right now)."""
    path = lock_path(study_dir, rid)
    if not path.exists():
        return False
    with open(path) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def stale_temp_files(study_dir: str | Path, rid: str | None = None) -> list[Path]:
    """Temp files a killed writer left (`.<rid>.*.tmp` in records/ and records/.expected/). Never read."""
    d = records_dir(study_dir)
    pattern = f".{rid}.*.tmp" if rid else ".*.tmp"
    return sorted([*d.glob(pattern), *(d / ".expected").glob(pattern)])


def remove_stale_temp(study_dir: str | Path, rid: str) -> int:
    """Delete the cell's leftover temp files. Only while holding the cell's lock: then no live writer owns
    them (a writer holds the lock from before its temp file exists until after the rename)."""
    stale = stale_temp_files(study_dir, rid)
    for p in stale:
        p.unlink(missing_ok=True)
        log.info("removed %s: temp file of a writer killed before it finished", p)
    return len(stale)


def expected_path(study_dir: str | Path, rid: str) -> Path:
    return records_dir(study_dir) / ".expected" / f"{rid}.json"


def cell_summary(rid: str, cell: dict[str, Any], generator: str | None = None) -> dict[str, Any]:
    """What `scarce status` shows of a cell a job has declared."""
    return {"run_id": rid, "dataset": cell["dataset"], "arm": cell["arm"], "generator": generator,
            "seed": cell["seed"], "k": cell.get("k"), "model": cell["model"]["name"]}


def write_expected(study_dir: str | Path, rid: str, summary: dict[str, Any]) -> None:
    """Declare a cell before it trains (records/.expected/<rid>.json): a cell whose job died shows as missing."""
    p = expected_path(study_dir, rid)
    if p.exists():
        return
    try:
        atomic_write_json(p, summary)
    except OSError as e:
        raise _os_error(e, f"{p}: could not declare the cell ({e.strerror or e}); expected free space and a "
                           f"writable results directory") from e


def ensure_writable(study_dir: str | Path) -> Path:
    """Create records/ and prove it is writable, before any training time is spent."""
    d = records_dir(study_dir)
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe.", suffix=".tmp", dir=d)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise _os_error(e, f"{d}: results directory is not writable ({e.strerror or e}); expected a "
                           f"writable directory (set results_root=<dir>)") from None
    return d


def _os_error(e: OSError, message: str) -> OSError:
    """The same kind of OSError (errno kept, so ENOSPC stays ENOSPC) with a message naming the culprit."""
    return type(e)(e.errno, message) if e.errno is not None else OSError(message)


def load_records(study_dir: str | Path) -> list[dict[str, Any]]:
    """All records of a study, sorted by run ID (temporary files are ignored)."""
    d = records_dir(study_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"{study_dir}: no 'records/' directory; expected a study written by scarce-run")
    return [read_record(p) for p in sorted(d.glob("*.json"))]


def compute_platform() -> str:
    """``torch<version>-<CPU capability>-<hash of the CPU's vector-ISA flags>``: what decides which float kernels
    run. Same config + seed gives the same numbers on one such platform; across them (AVX2 / AVX512 / AMX) the
    sums run in another order and a trained model can differ (tests/golden.py keeps records per platform)."""
    import re

    import torch

    isa, flags = re.compile(r"^(avx\w*|amx\w*|fma\w*|sse4\w*|f16c)$"), set()
    with contextlib.suppress(OSError):  # not Linux: the capability alone
        for line in open("/proc/cpuinfo").read().splitlines():
            if line.startswith("flags"):
                flags |= {f for f in line.split(":", 1)[1].split() if isa.match(f)}
    digest = hashlib.sha256(" ".join(sorted(flags)).encode()).hexdigest()[:10]
    return f"torch{torch.__version__.split('+')[0]}-{torch.backends.cpu.get_cpu_capability()}-{digest}".lower()


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version(), "platform": platform.platform(), "compute": compute_platform()}
    for pkg in ("scarce-bench", "torch", "torchvision", "timm", "numpy", "scipy", "pandas", "scikit-learn",
                "pillow", "hydra-core"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out
