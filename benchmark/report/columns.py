"""Records → the reports' table: one row per run record, with the columns reports group and pair on.

The record schema itself (IDs, design and counts keys, writing, reading) is :mod:`benchmark.records`.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from benchmark.records import counts_key, design_key

__all__ = ["records_frame"]


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per record with the fields reports group and pair on."""
    rows = []
    for r in records:
        cell, m = r["cell"], r.get("metrics") or {}
        rows.append({
            "run_id": r["run_id"],
            "status": r["status"],
            "study": r.get("study"),
            "dataset": cell["dataset"],
            "manifest_sha256": cell["manifest_sha256"],
            "arm": cell["arm"],
            "generator": cell.get("generator"),
            "synthetic_key": cell.get("synthetic_key"),
            "curation": (cell.get("curation") or {}).get("name"),  # None: no pool (curation=none, or before it)
            "share": (cell.get("synthetic") or {}).get("share"),  # None: added images drawn like real ones
            "sets": (cell.get("synthetic") or {}).get("sets") or "shared",  # per_seed: a set per training seed
            "seed": cell["seed"],
            "k": cell.get("k"),
            "model": cell["model"]["name"],
            "engine": cell["trainer"].get("engine"),
            "design": design_key(cell),
            "curve_design": design_key({c: v for c, v in cell.items() if c != "k"}),  # a few-shot curve spans k
            "added_key": counts_key(r.get("added_counts") or cell.get("placebo_counts")),
            "hardest_class": r.get("hardest_class"),
            "hardest_rule": (r.get("hardest_evidence") or {}).get("description") or r.get("hardest_rule"),
            "hardest_acc": m.get("hardest_class_accuracy"),
            "accuracy": m.get("accuracy"),
            "balanced_accuracy": m.get("balanced_accuracy"),
            "macro_map": m.get("macro_map"),
            "n_added": sum((r.get("added_counts") or {}).values()),
            "error": (r.get("error") or {}).get("message"),
            **_task_columns(r),
        })
    return pd.DataFrame(rows)


def _task_columns(r: dict[str, Any]) -> dict[str, Any]:
    """The record's task (records before tasks existed are classification ones) and the columns that task adds
    (:meth:`benchmark.tasks.base.Task.frame_columns`, e.g. detection's mAP and parity columns)."""
    from benchmark.tasks import create_task

    name = r.get("task") or "classification"
    try:
        task = create_task(name)
    except KeyError:  # a record of a task whose plugin is not installed here: the shared columns only
        return {"task": name}
    return {"task": name, **task.frame_columns(r)}
