"""SLURM job states of submitted jobs, from `squeue` (live jobs, and finished ones for MinJobAge, 300 s by
default) and `sacct` (finished ones, when accounting storage is configured).

Only format strings that Slurm 22.05's clients print as plain text are used: `squeue -h -r -t all -o
'%i|%T|%r'` and `sacct -n -X -P -o JobID,State,ExitCode` (`--json` needs the data_parser plugins, absent
from many installs). An array task's id is `<array job>_<task>`; pending tasks not yet split off their
array show as one line `<array job>_[0-3,7%2]` (`%2` = at most 2 at once), which is expanded here.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from typing import Iterable

# SLURM's states, folded into what `scarce status` shows
QUEUED = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED", "CONFIGURING",
          "RESIZING", "SPECIAL_EXIT", "STOPPED"}
RUNNING = {"RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT"}
FAILED = {"FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE",
          "REVOKED"}
SQUEUE_FORMAT = "%i|%T|%r"
SACCT_FIELDS = "JobID,State,ExitCode"
_RANGE = re.compile(r"^(\d+)_\[([^\]]+)\]$")


def expand_job_id(job_id: str) -> list[str]:
    """`123_[0-2,5%4]` -> [123_0, 123_1, 123_2, 123_5]; any other id as is."""
    m = _RANGE.match(job_id)
    if not m:
        return [job_id]
    out = []
    for part in m.group(2).split("%")[0].split(","):
        lo, _, hi = part.partition("-")
        out += [f"{m.group(1)}_{i}" for i in range(int(lo), int(hi or lo) + 1)]
    return out


def parse_squeue(text: str) -> dict[str, dict]:
    """Lines `id|STATE|reason` -> {task job id: {"state", "reason"}}."""
    out = {}
    for line in text.splitlines():
        if line.strip():
            jid, state, reason = (line.split("|") + ["", ""])[:3]
            for j in expand_job_id(jid.strip()):
                out[j] = {"state": state.strip(), "reason": reason.strip()}
    return out


def parse_sacct(text: str) -> dict[str, dict]:
    """Lines `JobID|State|ExitCode` -> {task job id: {"state", "exit"}}; `CANCELLED by 0` -> CANCELLED."""
    out = {}
    for line in text.splitlines():
        if line.strip():
            jid, state, code = (line.split("|") + ["", ""])[:3]
            for j in expand_job_id(jid.strip()):
                out[j] = {"state": state.split()[0] if state.strip() else "", "exit": code.strip()}
    return out


def folded(state: str | None) -> str | None:
    """queued / running / completed / failed for a SLURM state (None when SLURM said nothing)."""
    if not state:
        return None
    s = state.split()[0].rstrip("+")
    if s in QUEUED:
        return "queued"
    if s in RUNNING:
        return "running"
    if s == "COMPLETED":
        return "completed"
    return "failed" if s in FAILED else None


def job_states(array_ids: Iterable[str], timeout: float = 20.0) -> tuple[dict[str, dict], str | None]:
    """({task job id: {"state", ...}}, None), or ({}, why SLURM is not reachable) in one line.
    sacct fills in what squeue no longer knows (jobs older than MinJobAge); a cluster without
    accounting storage makes sacct fail, which only loses those."""
    ids = sorted(set(array_ids))
    if not ids:
        return {}, None
    if shutil.which("squeue") is None:
        return {}, "SLURM not reachable: no `squeue` on PATH"
    states, errors = {}, []
    for jid in ids:  # one call per array: squeue refuses a whole list when one id has expired
        ok, out = _run(["squeue", "-h", "-r", "-t", "all", "-j", jid, "-o", SQUEUE_FORMAT], timeout)
        if ok:
            states.update(parse_squeue(out))
        elif "invalid job id" not in out.lower():
            return {}, f"SLURM not reachable: squeue: {out}"
    missing = [j for j in ids if not any(k == j or k.startswith(f"{j}_") for k in states)]
    if missing and shutil.which("sacct"):
        ok, out = _run(["sacct", "-n", "-X", "-P", "-o", SACCT_FIELDS, "-j", ",".join(missing)], timeout)
        if ok:
            states.update({k: v for k, v in parse_sacct(out).items() if k not in states})
        else:
            errors.append(f"sacct: {out}")
    return states, "; ".join(errors) or None


def _run(cmd: list[str], timeout: float) -> tuple[bool, str]:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"no answer in {timeout:g} s (controller down, or SLURM_CONF wrong?)"
    except OSError as e:
        return False, f"{type(e).__name__}: {e}"
    if p.returncode != 0:
        return False, " ".join((p.stderr or p.stdout).split()) or f"exit {p.returncode}"
    return True, p.stdout
