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
            "seed": cell["seed"],
            "k": cell.get("k"),
            "model": cell["model"]["name"],
            "engine": cell["trainer"].get("engine"),
            "design": design_key(cell),
            "added_key": counts_key(r.get("added_counts") or cell.get("placebo_counts")),
            "hardest_class": r.get("hardest_class"),
            "hardest_rule": (r.get("hardest_evidence") or {}).get("description") or r.get("hardest_rule"),
            "hardest_acc": m.get("hardest_class_accuracy"),
            "accuracy": m.get("accuracy"),
            "balanced_accuracy": m.get("balanced_accuracy"),
            "macro_map": m.get("macro_map"),
            "n_added": sum((r.get("added_counts") or {}).values()),
            "error": (r.get("error") or {}).get("message"),
            **_detection_columns(r, cell, m),
        })
    return pd.DataFrame(rows)


def _detection_columns(r: dict[str, Any], cell: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    """Detection records (`task: detection`, benchmark/detect): mAP columns, the real-set size and the
    parity design; classification records get task 'classification' and no other column."""
    if r.get("task") != "detection":
        return {"task": "classification"}
    cfg = r.get("config") or {}
    return {"task": "detection", "map50_95": m.get("map50_95"), "map50": m.get("map50"),
            "hardest_ap50_95": m.get("hardest_class_ap50_95"), "hardest_ap50": m.get("hardest_class_ap50"),
            "n_real": r.get("n_real"), "parity_base": (cell.get("parity") or {}).get("base"),
            "parity_margin": (cfg.get("parity") or {}).get("margin"), "published": cfg.get("published")}
