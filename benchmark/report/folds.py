"""The K fold records of one (arm, generator, seed, ...) cell as one run on the union of the folds.

On a cross-fitted manifest (benchmark/split/folds.py) a cell runs once per fold, each fold's model tested on
its own fold, so together the K records test every non-selection image exactly once. The statistics treat
that union as the test set: per seed one score over all hardest-class images (pooled out-of-fold
predictions), and the seeds × test-units tests resample its images' groups. The paired unit stays the seed
(its K fold runs share the seed), so every statistic, report and calibration reads a merged record exactly
as it reads a single-split one.
"""
from __future__ import annotations

import hashlib

import numpy as np

from benchmark.metrics import classification_metrics
from benchmark.records import run_id

__all__ = ["FoldMerger", "merge_folds", "union_cell"]


PER_FOLD = ("fold", "synthetic_key")  # what differs between the fold runs of one cell (each fold's own set)


def union_cell(cell: dict) -> dict:
    """A fold record's cell without what is the fold's own: the identity of the cell over all folds."""
    return {k: v for k, v in cell.items() if k not in PER_FOLD}


class FoldMerger:
    """Feed records one at a time (`add`): single-split records come straight back, fold records are held
    until their K folds are in and come back merged; `finish` returns the sets still incomplete, each as a
    failed record that names the missing folds."""

    def __init__(self) -> None:
        self.pending: dict[str, dict[int, dict]] = {}

    def add(self, record: dict) -> list[dict]:
        if "fold" not in record or "folds" not in record:
            return [record]
        key = run_id(union_cell(record["cell"]))
        got = self.pending.setdefault(key, {})
        got[int(record["fold"])] = record
        if len(got) < int(record["folds"]):
            return []
        return [merge_folds([got[f] for f in sorted(self.pending.pop(key))])]

    def finish(self) -> list[dict]:
        out = [merge_folds([got[f] for f in sorted(got)]) for got in self.pending.values()]
        self.pending.clear()
        return out


def merge_folds(records: list[dict]) -> dict:
    """One record over the union of the folds of `records` (sorted by fold; one cell, one seed)."""
    first, k = records[0], int(records[0]["folds"])
    cell = union_cell(first["cell"]) | {"folds": k}
    if "synthetic_key" in first["cell"]:  # the K sets together, one key (one set per fold, shared by the seeds)
        keys = "+".join(str(r["cell"]["synthetic_key"]) for r in records)
        cell["synthetic_key"] = f"k{k}-" + hashlib.sha256(keys.encode()).hexdigest()[:14]
    merged = {**{key: v for key, v in first.items() if key not in ("fold", "predictions", "metrics")},
              "run_id": run_id(union_cell(first["cell"])), "cell": cell, "folds": k,
              "fold_run_ids": [r["run_id"] for r in records],
              "train_counts": [r.get("train_counts") for r in records],
              "fold_synthetic": [r.get("synthetic") for r in records]}
    missing = sorted(set(range(k)) - {int(r["fold"]) for r in records})
    failed = [r for r in records if r.get("status") != "ok"]
    if missing or failed:
        why = f"fold(s) {missing} of {k} have no record yet" if missing else \
            f"fold {failed[0]['fold']} failed: {(failed[0].get('error') or {}).get('message')}"
        return merged | {"status": "failed", "error": {"type": "FoldsIncomplete", "message": why,
                                                       "traceback": None}}
    return merged | _union_predictions(records)


def _union_predictions(records: list[dict]) -> dict:
    """predictions concatenated fold after fold; metrics recomputed on the union (pooled out-of-fold)."""
    preds = [r["predictions"] for r in records]
    classes = records[0]["metrics"]["classes"]
    union = {key: [x for p in preds for x in p[key]] for key in ("labels", "paths", "probs")}
    if all(p.get("groups") for p in preds):
        union["groups"] = [g for p in preds for g in p["groups"]]
    metrics = classification_metrics(np.asarray(union["labels"]), np.asarray(union["probs"], dtype=float), classes,
                                     records[0]["hardest_class"])
    return {"predictions": union, "metrics": metrics}
