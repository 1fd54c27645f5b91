"""`scarce status <study>`: how far a study is: done / failed / missing cells per arm and seed.

The expected cells come from the study itself: every job declares its cells in
`records/.expected/<run_id>.json` before it trains them. So status = declared cells minus ok records
minus failed records; a cell whose job was killed (or is still training) is *missing* until a rerun of
the same sweep finishes it. A job that died before declaring its cells (a config error, a crash while
loading the dataset or generating the synthetic set) declares nothing: rerun the sweep to see it.
A sweep submitted through the SLURM launchers also gets one row per job (queued / running / done / failed, with
SLURM's state and job id): benchmark.submit.view.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from benchmark.records import is_locked, read_record, records_dir, stale_temp_files

STATES = ("done", "failed", "missing")


def cell_states(study_dir: str | Path) -> pd.DataFrame:
    """One row per cell (declared or recorded): run_id, dataset, arm, generator, seed, state, running, error."""
    d = records_dir(study_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"{study_dir}: no 'records/' directory; expected a study written by scarce-run")
    cells = {p.stem: _read_json(p) for p in sorted((d / ".expected").glob("*.json"))}
    cells = {rid: c for rid, c in cells.items() if c is not None}
    recorded = {}
    for p in sorted(d.glob("*.json")):
        try:
            recorded[p.stem] = read_record(p)
        except (ValueError, OSError):  # unreadable: the cell counts as missing (a rerun rewrites it)
            cells.setdefault(p.stem, {"run_id": p.stem, "arm": "(unreadable record)", "seed": -1})
    rows = []
    for rid in sorted(set(cells) | set(recorded)):
        rec = recorded.get(rid)
        info = cells.get(rid) or _summary_of(rec)
        state = "missing" if rec is None else ("done" if rec["status"] == "ok" else "failed")
        rows.append({"run_id": rid, "dataset": info.get("dataset"), "arm": info.get("arm"),
                     "generator": info.get("generator"), "seed": info.get("seed"), "state": state,
                     "running": state == "missing" and is_locked(study_dir, rid),
                     "error": ((rec or {}).get("error") or {}).get("message")})
    return pd.DataFrame(rows, columns=["run_id", "dataset", "arm", "generator", "seed", "state", "running",
                                       "error"])


def status_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Counts per (arm, seed): expected, done, failed, missing, and how many of the missing are running."""
    cols = ["arm", "seed", "expected", *STATES, "running"]
    if cells.empty:
        return pd.DataFrame(columns=cols)
    counts = pd.crosstab([cells["arm"], cells["seed"]], cells["state"]).reindex(columns=list(STATES), fill_value=0)
    counts["running"] = cells.groupby(["arm", "seed"])["running"].sum().astype(int)
    counts["expected"] = counts[list(STATES)].sum(axis=1)
    return counts.reset_index()[cols].sort_values(["arm", "seed"], kind="stable").reset_index(drop=True)


def format_status(study_dir: str | Path, max_listed: int = 20) -> str:
    """The records view, then (when the study has SLURM submissions) one row per submitted job."""
    from benchmark.submit.view import format_submissions, load_submissions

    if not records_dir(study_dir).is_dir() and load_submissions(study_dir):  # submitted, nothing ran yet
        cells = pd.DataFrame(columns=["run_id", "dataset", "arm", "generator", "seed", "state", "running", "error"])
        return "\n".join([f"study {study_dir}: no cell declared yet", *format_submissions(study_dir, cells)])
    cells = cell_states(study_dir)
    table = status_table(cells)
    n = {s: int((cells["state"] == s).sum()) for s in STATES} if len(cells) else dict.fromkeys(STATES, 0)
    lines = [f"study {study_dir}: {len(cells)} expected cells: {n['done']} done, {n['failed']} failed, "
             f"{n['missing']} missing ({int(cells['running'].sum()) if len(cells) else 0} of them running now)",
             table.to_string(index=False) if len(table) else "(no cells declared yet)"]
    for state, hint in (("failed", "rerun with retry_failed=true"), ("missing", "rerun the same sweep")):
        sub = cells[cells["state"] == state] if len(cells) else cells
        if len(sub):
            lines.append(f"{state} ({hint}):")
            for r in sub.head(max_listed).itertuples():
                extra = f": {r.error}" if state == "failed" else (" [running]" if r.running else "")
                lines.append(f"  {r.run_id} {r.arm} seed={r.seed}{extra}")
            if len(sub) > max_listed:
                lines.append(f"  ... and {len(sub) - max_listed} more")
    stale = stale_temp_files(study_dir)
    if stale:
        lines.append(f"{len(stale)} temp file(s) of killed writers (never read as results; each is removed "
                     f"when its cell next runs)")
    return "\n".join(lines + format_submissions(study_dir, cells))


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _summary_of(rec: dict) -> dict:
    """Status fields of a record that was not declared (studies written before `.expected/` existed)."""
    cell, cfg = rec["cell"], rec.get("config") or {}
    gen = (cfg.get("generator") or {}).get("name") if cell["arm"] != "real" else None
    return {"dataset": cell["dataset"], "arm": cell["arm"], "generator": gen, "seed": cell["seed"]}
