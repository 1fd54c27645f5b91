"""Which cells a submitted job claimed: `<study>/.submissions/tasks/<job id>.json` = {"run_ids": [...]}.

Written on the node, by the job itself, each time it claims a cell (benchmark.protocol.cells.claim), only
when the job was started by our SLURM launchers (they set SCARCE_SUBMITTED_AS to submitit's job id,
"<array>_<task>"). One job claims its cells one after the other in one process, so nothing else writes
its file; the write is atomic (temp file + rename), so `scarce status` never reads half of it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

JOB_ENV = "SCARCE_SUBMITTED_AS"


def submissions_dir(study_dir: str | Path) -> Path:
    return Path(study_dir) / ".submissions"


def link_path(study_dir: str | Path, job_id: str) -> Path:
    return submissions_dir(study_dir) / "tasks" / f"{job_id}.json"


def note_claim(study_dir: str | Path, rid: str) -> None:
    """Add `rid` to this job's claimed cells (no-op outside a job our launchers submitted)."""
    from benchmark.records import atomic_write_json

    job = os.environ.get(JOB_ENV)
    if not job:
        return
    p = link_path(study_dir, job)
    rids = read_link(p)
    if rid not in rids:
        atomic_write_json(p, {"job_id": job, "run_ids": [*rids, rid]})


def read_link(path: Path) -> list[str]:
    try:
        return list(json.loads(path.read_text())["run_ids"])
    except (OSError, ValueError, KeyError, TypeError):
        return []
