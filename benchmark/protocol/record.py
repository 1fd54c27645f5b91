"""The base record every task writes: identity, config, the hardest class and its evidence, what was trained
on, the synthetic set and its audit, library versions. Tasks add their own fields (Task.record_fields)."""
from __future__ import annotations

import traceback

from benchmark.arms import ArmData
from benchmark.records import SCHEMA_VERSION, library_versions, run_id

EVIDENCE_KEYS = ("description", "pilot_seeds", "mean_selection_accuracy", "mean_selection_ap50_95")


def base_record(cfg: dict, task, seed: int, cell: dict, manifest: dict, dataset, arm: ArmData, threads: int) -> dict:
    ev = manifest["hardest"].get("evidence", {})
    return {"schema": SCHEMA_VERSION, "task": task.name, "run_id": run_id(cell), "study": cfg["study"], "cell": cell,
            "config": {**cfg, "seed": seed, "seeds": None}, "hardest_class": manifest["hardest"]["class"],
            "hardest_rule": manifest["hardest"].get("rule"),
            "hardest_evidence": {k: ev[k] for k in EVIDENCE_KEYS if k in ev},
            **({"fold": manifest["fold"], "folds": manifest["folds"]} if "fold" in manifest else {}),
            "train_counts": dataset.counts(arm.train), "added_counts": dataset.counts(arm.added),
            "synthetic": synthetic_info(arm), "versions": library_versions(), "threads": threads}


def synthetic_info(arm: ArmData) -> dict | None:
    s = arm.synthetic
    if s is None:
        return None
    return {"generator": s.generator, "key": s.key, "content_sha256": s.content_sha256, "root": str(s.root),
            "counts": s.counts(), "audit": s.meta.get("audit")}


def failure(e: BaseException) -> dict:
    """The record fields of a failed fit: the exception's type, message and traceback."""
    return {"status": "failed", "error": {"type": type(e).__name__, "message": str(e) or type(e).__name__,
                                          "traceback": "".join(traceback.format_exception(e))}}
