"""Records → what a tracker stores per run (params, metrics, tags), with no tracker imported: pure functions, a
record (the JSON of :mod:`benchmark.records`) in, plain dicts of strings and floats out.

Groups reuse the report's definitions, so a tracker groups runs exactly as the report pairs them:

- ``seed_group`` = dataset / design key / seed: the arms of one seed that the report pairs (same dataset,
  manifest, model, trainer, threads, k and fold: :func:`benchmark.records.design_key`);
- ``cell_group`` = dataset / design key / arm label: the seeds of one cell, the label being the report's
  (``real``, ``synthetic[g]``, ``placebo[g+h]``: :func:`benchmark.report.design.label_arms`).

A cross-fitted study's fold is part of the design key, so its groups are per fold, as its records are.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from benchmark.records import design_key

__all__ = ["PARAMS", "TAG", "record_sha256", "run_params", "run_metrics", "group_labels", "run_tags", "run_name",
           "budget"]

# the params the issue names first, then what else tells cells apart; absent (None) ones are left out
PARAMS = ("dataset", "arm", "generator", "seed", "fold", "model", "budget", "k", "engine", "task", "synthetic_key",
          "hardest_class", "design", "manifest_sha256")
TAG = "scarce."  # prefix of every tag we set (MLflow's own are "mlflow.")
# what MLflow accepts in a name part on every OS (word characters, '.', '-', ' '); anything else → "_"
_METRIC_PART = re.compile(r"[^\w.\- ]")


def record_sha256(path: str | Path) -> str:
    """sha256 of the record file's bytes: a rerun cell (same run ID, new numbers) has another."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def budget(cell: dict[str, Any]) -> str | None:
    """The training budget every arm shares: ``600 steps`` (trainer.max_steps) or ``3 epochs`` (trainer.epochs)."""
    t = cell.get("trainer") or {}
    if t.get("max_steps"):
        return f"{int(t['max_steps'])} steps"
    return f"{int(t['epochs'])} epochs" if t.get("epochs") else None


def run_params(record: dict[str, Any]) -> dict[str, str]:
    """The record's cell as MLflow params (strings), in :data:`PARAMS` order."""
    cell = record["cell"]
    values = {"dataset": cell["dataset"], "arm": cell["arm"], "generator": cell.get("generator"),
              "seed": cell["seed"], "fold": cell.get("fold", record.get("fold")),
              "model": (cell.get("model") or {}).get("name"), "budget": budget(cell), "k": cell.get("k"),
              "engine": (cell.get("trainer") or {}).get("engine"), "task": record.get("task") or "classification",
              "synthetic_key": cell.get("synthetic_key"), "hardest_class": record.get("hardest_class"),
              "design": design_key(cell), "manifest_sha256": cell.get("manifest_sha256")}
    return {k: str(values[k]) for k in PARAMS if values[k] is not None}


def _number(v: Any) -> float | None:
    """A metric value, or None for what is not one (text, lists, None, booleans)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def metric_key(*parts: str) -> str:
    """``a/b`` from name parts (a class name): a '/' inside a part, or a part that is '', '.' or '..' (MLflow
    refuses a name that normalises as a path to another) becomes '_'."""
    clean = [_METRIC_PART.sub("_", str(p)) for p in parts]
    return "/".join("_" * max(len(p), 1) if p in ("", ".", "..") else p for p in clean)


def run_metrics(record: dict[str, Any]) -> dict[str, float]:
    """Every number of ``record["metrics"]``: scalars under their name, per-class dicts as ``name/<class>``
    (``per_class_accuracy/crack``); plus the hardest-class endpoints computed from the stored probabilities
    as ``endpoint/<name>`` (:func:`benchmark.report.collect.record_endpoints`: the report's own numbers).
    A failed record has none. NaN is kept (an endpoint with no hardest-class image); None is left out."""
    from benchmark.report.collect import record_endpoints

    if record.get("status") != "ok":
        return {}
    out: dict[str, float] = {}
    for name, v in (record.get("metrics") or {}).items():
        if isinstance(v, dict):
            out.update({metric_key(name, c): x for c, cv in v.items() if (x := _number(cv)) is not None})
        elif (x := _number(v)) is not None:
            out[metric_key(name)] = x
    endpoints = record_endpoints(record)
    for name, v in (endpoints[0] if endpoints else {}).items():
        out[metric_key("endpoint", name)] = float(v)
    return out


def group_labels(records: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Per run ID: the report's arm label and design key (one pass of the report's own grouping over all
    records, so labels such as ``placebo[cutpaste+folder]`` come out as the report writes them)."""
    from benchmark.report.columns import records_frame
    from benchmark.report.design import GROUP_KEYS, label_arms

    frame = records_frame(records)
    out: dict[str, dict[str, str]] = {}
    for _, rows in frame.groupby(GROUP_KEYS, dropna=False, sort=False):
        for rid, label, design in zip(rows["run_id"], label_arms(rows), rows["design"]):
            out[rid] = {"label": str(label), "design": str(design)}
    return out


def run_tags(record: dict[str, Any], study: str, label: dict[str, str], sha256: str) -> dict[str, str]:
    """The tags of one run (``sha256``, the record file's, is set apart: it is written last, see
    :mod:`benchmark.export.mlflow`). ``label``: this run's :func:`group_labels` entry."""
    cell, base = record["cell"], f"{record['cell']['dataset']}/{label['design']}"
    tags = {"role": "run", "study": study, "run_id": record["run_id"], "status": record["status"],
            "arm_label": label["label"], "seed_group": f"{base}/seed={cell['seed']}",
            "cell_group": f"{base}/{label['label']}"}
    if record.get("status") != "ok":
        tags["error"] = str((record.get("error") or {}).get("message") or "")[:1000]
    return {TAG + k: v for k, v in tags.items()}


def run_name(record: dict[str, Any], label: str) -> str:
    cell = record["cell"]
    fold = cell.get("fold", record.get("fold"))
    return f"{label} seed {cell['seed']}" + (f" fold {fold}" if fold is not None else "")

