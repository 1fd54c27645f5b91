"""The submitted jobs of a study, joined to SLURM's job states and to the records: one row per job
(= one cell, or one seed block with `seeds=[...]`), state queued / running / done / failed / ended / unknown.

    submission file  .submissions/<id>.json       task job id -> Hydra job number, overrides
    job link         .submissions/tasks/<tid>.json task job id -> run IDs it claimed (written by the job)
    records          records/<rid>.json           done (ok) / failed
    locks            records/.locks/<rid>.lock    held while a cell trains (the view when SLURM is not reachable)
    SLURM            squeue / sacct               PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, ...
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from benchmark.records import is_locked
from benchmark.submit import slurm
from benchmark.submit.links import link_path, read_link, submissions_dir

JOB_STATES = ("queued", "running", "done", "failed", "ended", "unknown")
HINTS = {"ended": "job over, cell not recorded: rerun the sweep", "unknown": "no record; SLURM not reachable"}


def load_submissions(study_dir: str | Path) -> list[dict]:
    """The study's submission files, oldest first (an unreadable one is skipped)."""
    subs = []
    for p in sorted(submissions_dir(study_dir).glob("*.json")):
        try:
            sub = json.loads(p.read_text())
            subs.append(sub if isinstance(sub.get("tasks"), list) else None)
        except (OSError, ValueError, AttributeError):
            continue
    return sorted([s for s in subs if s], key=lambda s: (s.get("submitted", ""), str(s.get("job_id"))))


def job_state(rids: list[str], cells: dict[str, str], locked: bool, sl: dict | None, reachable: bool) -> str:
    """One job's state. `cells`: run ID -> done / failed / missing (the records); `sl`: SLURM's entry."""
    states = [cells.get(r, "missing") for r in rids]
    if rids and "missing" not in states:
        return "done" if set(states) == {"done"} else "failed"
    fold = slurm.folded((sl or {}).get("state"))
    if fold in ("queued", "running", "failed"):
        return fold
    if locked:
        return "running"
    if fold == "completed" or reachable:
        return "ended"  # SLURM says it is over (or has forgotten it) and a cell has no record
    return "unknown"


def job_table(study_dir: str | Path, cells: pd.DataFrame, subs: list[dict], states: dict[str, dict],
              reachable: bool) -> pd.DataFrame:
    """One row per submitted job: submission, job id, state, SLURM's state, swept overrides, run IDs."""
    by_rid = dict(zip(cells["run_id"], cells["state"])) if len(cells) else {}
    rows = []
    for sub in subs:
        swept = _swept([t["overrides"] for t in sub["tasks"]])
        for t in sub["tasks"]:
            rids = read_link(link_path(study_dir, t["job_id"]))
            sl = states.get(t["job_id"])
            locked = any(is_locked(study_dir, r) for r in rids if by_rid.get(r, "missing") == "missing")
            rows.append({"submission": str(sub["job_id"]), "job": t["job_id"],
                         "state": job_state(rids, by_rid, locked, sl, reachable),
                         "slurm": (sl or {}).get("state") or "-",
                         "overrides": " ".join(o for o in t["overrides"] if o.split("=", 1)[0] in swept) or "-",
                         "run_ids": ",".join(rids) or "-"})
    return pd.DataFrame(rows, columns=["submission", "job", "state", "slurm", "overrides", "run_ids"])


def format_submissions(study_dir: str | Path, cells: pd.DataFrame, query=slurm.job_states) -> list[str]:
    """Lines for `scarce status`: one summary per submission, then its jobs (nothing when none was submitted)."""
    subs = load_submissions(study_dir)
    if not subs:
        return []
    states, note = query(str(s["job_id"]) for s in subs)
    reachable = not (note or "").startswith("SLURM not reachable")
    table = job_table(study_dir, cells, subs, states, reachable)
    lines = [note] if note else []
    for sub in subs:
        rows = table[table["submission"] == str(sub["job_id"])]
        counts = rows["state"].value_counts()
        lines.append(f"SLURM job {sub['job_id']} submitted {sub.get('submitted', '?')} "
                     f"({'waited for' if sub.get('wait') else 'in the background'}), {len(rows)} job(s): "
                     + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in JOB_STATES if s in counts or s in
                                 ("queued", "running", "done", "failed")))
        lines += ["  " + line for line in rows.drop(columns="submission").to_string(index=False).splitlines()]
        lines += [f"  ({s}: {HINTS[s]})" for s in HINTS if s in counts]
    return lines


def _swept(overrides: list[list[str]]) -> set[str]:
    """Keys whose value differs between the jobs (all keys when there is one job)."""
    vals: dict[str, set] = {}
    for ovs in overrides:
        for o in ovs:
            k, _, v = o.partition("=")
            vals.setdefault(k, set()).add(v)
    if len(overrides) == 1:
        return set(vals)
    return {k for k, v in vals.items() if len(v) > 1 or sum(k in [o.partition("=")[0] for o in ovs]
                                                              for ovs in overrides) < len(overrides)}
