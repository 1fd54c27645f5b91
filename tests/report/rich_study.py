"""A study that fills most of index.html: three generators with count-matched placebos (leaderboard), each set
audited (audit.json kept beside the study, as a cache would), dataset and hardest class matching SCARCE Table 1
(published vs reproduced), a failed run, and seeds whose accuracies coincide (the per-seed figure's dodge).
Built from the leaderboard test's records (tests/report/test_leaderboard.py); used by the 1280 px layout test."""
from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from benchmark.records import run_id, write_record
from tests.report import test_leaderboard as lb

DATASET, HARDEST = "magnetic_tile", "blowhole"   # a Table 1 row: the page gets its replication section


def _record(label: str, seed: int, audit_json: str) -> dict:
    rec = lb._record(label, seed, audit_json)
    rec["cell"]["dataset"] = DATASET
    rec["hardest_class"] = HARDEST
    rec["metrics"]["classes"] = [HARDEST, "free"]
    if rec["synthetic"]:
        rec["synthetic"]["audit"]["fidelity"] = {HARDEST: rec["synthetic"]["audit"]["fidelity"]["crack"]}
        rec["synthetic"]["audit"]["flagged"] = [f"{audit_json[:-len('audit.json')]}{Path(p).name}"
                                                for p in rec["synthetic"]["audit"]["flagged"]]
        rec["added_counts"] = {HARDEST: rec["added_counts"].get("crack", 0)}
        rec["synthetic"]["counts"] = {HARDEST: rec["synthetic"]["counts"]["crack"]}
    elif rec["cell"]["arm"] == "placebo":
        rec["cell"]["placebo_counts"] = {HARDEST: rec["cell"]["placebo_counts"]["crack"]}
        rec["added_counts"] = {HARDEST: rec["cell"]["placebo_counts"][HARDEST]}
    rec["run_id"] = run_id(rec["cell"])
    return rec


def write_rich_study(root: Path) -> Path:
    """``root/study`` (the records) and ``root/cache/set`` (audit.json and its gallery, outside the study)."""
    cache = root / "cache" / "set"
    cache.mkdir(parents=True)
    Image.new("RGB", (64, 64), (200, 90, 40)).save(cache / "audit_gallery.png")
    audit_json = cache / "audit.json"
    audit_json.write_text(json.dumps({"files": {"audit_gallery_png": str(cache / "audit_gallery.png")}}))
    study = root / "study"
    for label in lb.ARMS:
        for s in lb.SEEDS:
            write_record(study, _record(label, s, str(audit_json)))
    failed = _record("cutpaste", 0, str(audit_json)) | {"status": "failed", "error": {"message": "CUDA out of memory"}}
    failed["cell"] = failed["cell"] | {"seed": 6}
    failed["run_id"] = run_id(failed["cell"])
    del failed["metrics"], failed["predictions"]
    write_record(study, failed)
    return study
