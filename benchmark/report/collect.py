"""Read a study once: the records frame plus what the statistics need from each record's predictions.

Records carry per-test-image probabilities (N × C). The report keeps only what it uses — for every
ok run, the hardest-class test images (by path) and whether each was classified correctly, and the
confusion matrix — so a study of thousands of runs does not hold every probability in memory.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.endpoints import DEFAULT_PRIMARY, ENDPOINTS, PRIMARY_CHOICES, all_endpoints, declared_primary
from benchmark.progress.bars import tqdm
from benchmark.report.folds import FoldMerger
from benchmark.report.notrun import load_skipped
from benchmark.records import read_record, records_dir
from benchmark.report.columns import records_frame

__all__ = ["StudyData", "hardest_correctness", "record_endpoints", "load_study", "study_from_records",
           "PROGRESS_MIN_RECORDS", "endpoint_column"]

PROGRESS_MIN_RECORDS = 100  # show a progress bar from this many records on


@dataclass
class StudyData:
    """``frame``: :func:`benchmark.report.columns.records_frame` of every record (ok and failed).
    ``correct``: run_id → (hardest-class test image paths, 0/1 correctness per image, independent-unit
    label per image — its near-duplicate group — or None when the split is not grouped).
    ``confusion``: run_id → (class names, confusion counts, rows = true class).
    ``runs``: run_id → added counts and synthetic block (placebo matching, audit section)."""

    frame: pd.DataFrame
    correct: dict[str, tuple[tuple[str, ...], np.ndarray, tuple | None]] = field(default_factory=dict)
    confusion: dict[str, tuple[list[str], np.ndarray]] = field(default_factory=dict)
    name: str = "study"
    # run_id -> {"added_counts": {class: n} (non-zero), "synthetic": the record's synthetic block}: placebo
    # matching by counts and the audit section (benchmark.report.leaderboard / .audit)
    runs: dict[str, dict] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)  # skip notes of datasets not run
    # run_id -> per-image values of the endpoints that decompose (benchmark.endpoints), over the same
    # hardest-class test images, in the same order, as ``correct``; the run's scores are ``ep_*`` frame columns
    per_image: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    primary: str = DEFAULT_PRIMARY  # the endpoint the records' config declared primary (endpoints.primary)
    volume_curve: dict = field(default_factory=dict)  # the records' declared volume_curve.{fit, threshold_pp}
    root: Path | None = None  # the study directory (load_study): paths in the report are shown relative to it


def endpoint_column(name: str) -> str:
    """The frame column of an endpoint's per-run value (hardest-class accuracy keeps its ``hardest_acc``)."""
    return "hardest_acc" if name == "hardest_accuracy" else f"ep_{name}"


def hardest_correctness(record: dict[str, Any]) -> tuple[tuple[str, ...], np.ndarray, tuple | None] | None:
    """(paths, correct, units) over the record's hardest-class test images, or None without predictions.

    Correct means argmax of the stored probabilities is the hardest class — the rule
    :func:`benchmark.metrics.classification_metrics` uses, so the mean reproduces ``hardest_acc``.
    ``units``: the images' near-duplicate groups (``predictions.groups``, written when the split is
    grouped), or None: then every image is its own independent unit.
    """
    pred, m = record.get("predictions") or {}, record.get("metrics") or {}
    classes, hardest = m.get("classes"), record.get("hardest_class")
    if not pred.get("probs") or not classes or hardest not in classes:
        return None
    h = classes.index(hardest)
    labels = np.asarray(pred["labels"])
    sel = np.flatnonzero(labels == h)
    probs = np.asarray(pred["probs"], dtype=float)[sel]
    paths = tuple(pred["paths"][i] for i in sel) if pred.get("paths") else tuple(str(i) for i in sel)
    correct = (probs.argmax(axis=1) == h).astype(float) if sel.size else np.empty(0)
    groups = pred.get("groups")
    units = tuple(groups[i] for i in sel) if groups else None
    return paths, correct, units


def record_endpoints(record: dict[str, Any]) -> tuple[dict[str, float], dict[str, np.ndarray]] | None:
    """Every endpoint of a record computed from its stored probabilities (:func:`benchmark.endpoints.all_endpoints`),
    or None without predictions: records written before the endpoints existed get them too, unchanged."""
    pred, m = record.get("predictions") or {}, record.get("metrics") or {}
    classes, hardest = m.get("classes"), record.get("hardest_class")
    if not pred.get("probs") or not classes or hardest not in classes:
        return None
    return all_endpoints(pred["labels"], pred["probs"], classes.index(hardest))


def _confusion(record: dict[str, Any]) -> tuple[list[str], np.ndarray] | None:
    m = record.get("metrics") or {}
    if not m.get("confusion_matrix") or not m.get("classes"):
        return None
    return list(m["classes"]), np.asarray(m["confusion_matrix"], dtype=float)


def _slim(record: dict[str, Any], data: StudyData, interned: dict[tuple, tuple]) -> dict[str, Any]:
    """Keep what the report needs from one record in ``data``; return the record without predictions."""
    if record.get("status") == "ok":
        hc = hardest_correctness(record)
        if hc is not None:
            paths = interned.setdefault(hc[0], hc[0])  # one copy of a test set shared by all runs
            data.correct[record["run_id"]] = (paths, hc[1], hc[2])
            acc = (record.get("metrics") or {}).get("hardest_class_accuracy")
            if acc is not None and hc[1].size and abs(float(hc[1].mean()) - acc) > 1e-9:
                warnings.warn(f"run {record['run_id']}: hardest-class accuracy {acc:.4f} differs from its "
                              f"stored predictions ({hc[1].mean():.4f})", stacklevel=2)
        cm = _confusion(record)
        if cm is not None:
            data.confusion[record["run_id"]] = cm
    data.runs[record["run_id"]] = {"added_counts": {c: int(n) for c, n in (record.get("added_counts") or {}).items()
                                                    if n}, "synthetic": record.get("synthetic"),
                                 "synthetic_sets": record.get("fold_synthetic") or [record.get("synthetic")]}
    return {**{k: v for k, v in record.items() if k != "predictions"}, "_endpoints": _keep_endpoints(record, data)}


def _keep_endpoints(record: dict[str, Any], data: StudyData) -> dict[str, float]:
    """An ok record's endpoint scores (returned) and per-image values (kept in ``data.per_image``)."""
    ep = record_endpoints(record) if record.get("status") == "ok" else None
    if ep is None:
        return {}
    data.per_image[record["run_id"]] = ep[1]
    return ep[0]


def _frame(slim: list[dict[str, Any]], data: StudyData) -> pd.DataFrame:
    """The records frame, one ``ep_*`` column per endpoint; sets ``data.primary`` from the records' config."""
    frame = records_frame(slim)
    for name in ENDPOINTS:
        if name != "hardest_accuracy":
            frame[endpoint_column(name)] = pd.Series([r["_endpoints"].get(name, np.nan) for r in slim],
                                                     index=frame.index, dtype=float)
    declared = sorted({declared_primary(r.get("config")) for r in slim})
    if len(declared) > 1:
        raise ValueError(f"{data.name}: the records declare different primary endpoints {declared} "
                         "(config endpoints.primary); expected one per study, declared before running")
    data.primary = declared[0] if declared else DEFAULT_PRIMARY
    fits = {tuple(sorted(v.items())) for r in slim if (v := (r.get("config") or {}).get("volume_curve"))}
    if len(fits) > 1:
        raise ValueError(f"{data.name}: the records declare different volume_curve settings {sorted(fits)}; "
                         "expected one fit and threshold per study, declared before running")
    data.volume_curve = dict(fits.pop()) if fits else {}
    if data.primary not in PRIMARY_CHOICES:
        raise ValueError(f"{data.name}: the records declare endpoints.primary={data.primary!r}; expected one of "
                         + ", ".join(PRIMARY_CHOICES))
    return frame


def study_from_records(records: list[dict[str, Any]], name: str = "study", progress: bool | None = None) -> StudyData:
    """A :class:`StudyData` from records already in memory (tests, notebooks)."""
    data = StudyData(frame=pd.DataFrame(), name=name)
    interned: dict[tuple, tuple] = {}
    show = len(records) >= PROGRESS_MIN_RECORDS if progress is None else progress
    merger = FoldMerger()  # the K fold records of a cell become one run on the union of the folds
    slim = [_slim(m, data, interned) for r in tqdm(records, desc="aggregating records", unit="run",
                                                   disable=not show, leave=False) for m in merger.add(r)]
    slim += [_slim(m, data, interned) for m in merger.finish()]
    data.frame = _frame(slim, data)
    return data


def load_study(study_dir: str | Path, progress: bool | None = None) -> StudyData:
    """Read ``<study_dir>/records/*.json`` one at a time (a progress bar for large studies)."""
    d = records_dir(study_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"{study_dir}: no 'records/' directory; expected a study written by scarce-run")
    files = sorted(d.glob("*.json"))
    show = len(files) >= PROGRESS_MIN_RECORDS if progress is None else progress
    data = StudyData(frame=pd.DataFrame(), name=Path(study_dir).resolve().name, root=Path(study_dir).resolve())
    interned: dict[tuple, tuple] = {}
    merger = FoldMerger()
    slim = [_slim(m, data, interned)
            for p in tqdm(files, desc="reading records", unit="run", disable=not show, leave=False)
            for m in merger.add(read_record(p))]
    slim += [_slim(m, data, interned) for m in merger.finish()]
    data.frame = _frame(slim, data)
    data.skipped = load_skipped(study_dir)
    return data
