"""The one place that owns the run-record schema: IDs, writing, reading, flattening to a table.

A record is one JSON file per run, `<study>/records/<run_id>.json`, self-describing: it holds the
resolved config, the cell that identifies it, metrics, per-test-image probabilities, timings,
library versions and a status (`ok` or `failed` with the error).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

SCHEMA_VERSION = 1
STATUSES = ("ok", "failed")


def run_id(cell: dict[str, Any]) -> str:
    """Deterministic ID of a cell (dataset, manifest hash, arm, generator + set key, seed, model, budget).

    Never derived from Hydra's job number or the time, so re-running a sweep finds the same IDs.
    """
    blob = json.dumps(cell, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def records_dir(study_dir: str | Path) -> Path:
    return Path(study_dir) / "records"


def record_path(study_dir: str | Path, rid: str) -> Path:
    return records_dir(study_dir) / f"{rid}.json"


def write_record(study_dir: str | Path, record: dict[str, Any]) -> Path:
    """Atomic write: temp file in the same directory, fsync, rename. Readers never see half a record."""
    missing = [k for k in ("schema", "run_id", "status", "cell") if k not in record]
    if missing:
        raise ValueError(f"record lacks required field(s) {missing}")
    if record["status"] not in STATUSES:
        raise ValueError(f"record status {record['status']!r}; expected one of {STATUSES}")
    final = record_path(study_dir, record["run_id"])
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{record['run_id']}.", suffix=".tmp", dir=final.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=1, sort_keys=True, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def read_record(path: str | Path) -> dict[str, Any]:
    with open(path) as f:
        rec = json.load(f)
    if rec.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"{path}: field 'schema' is {rec.get('schema')!r}; expected {SCHEMA_VERSION}")
    return rec


def existing_ok(study_dir: str | Path, rid: str) -> bool:
    p = record_path(study_dir, rid)
    if not p.exists():
        return False
    try:
        return read_record(p).get("status") == "ok"
    except (ValueError, OSError):
        return False


def load_records(study_dir: str | Path) -> list[dict[str, Any]]:
    """All records of a study, sorted by run ID (temporary files are ignored)."""
    d = records_dir(study_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"{study_dir}: no 'records/' directory; expected a study written by scarce-run")
    return [read_record(p) for p in sorted(d.glob("*.json"))]


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
            "hardest_class": r.get("hardest_class"),
            "hardest_rule": (r.get("hardest_evidence") or {}).get("description") or r.get("hardest_rule"),
            "hardest_acc": m.get("hardest_class_accuracy"),
            "accuracy": m.get("accuracy"),
            "balanced_accuracy": m.get("balanced_accuracy"),
            "macro_map": m.get("macro_map"),
            "n_added": sum((r.get("added_counts") or {}).values()),
            "error": (r.get("error") or {}).get("message"),
        })
    return pd.DataFrame(rows)


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("scarce-bench", "torch", "torchvision", "timm", "numpy", "scipy", "pandas", "scikit-learn",
                "pillow", "hydra-core"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out
