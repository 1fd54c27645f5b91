"""The detection report's positional-fidelity table (`det_fidelity`): per synthetic set of the study, the
real-only detectors the real arm kept (one per seed, `fit.kept_weights`) score the set's images against its own
boxes (benchmark/detect/positional.py); mean and 95 % t CI over those seeds, beside the same detectors' mean
test mAP (a detector that finds nothing on real test images scores ~0 on any set: then the figure says nothing).

Computed when the report is written (ultralytics' validator on the set's images; cached next to the weights), for
the sets and detectors still on disk; a set or a detector that is gone is counted in `missing`, not guessed.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from benchmark.report.collect import StudyData
from benchmark.stats import mean_ci

log = logging.getLogger("scarce")

__all__ = ["det_fidelity_table", "FIDELITY_HEADERS", "FIDELITY_NOTE"]

KEYS = {"map50": "mAP@.5", "map50_95": "mAP@.5:.95", "hardest_class_ap50_95": "hardest AP@.5:.95"}
FIDELITY_HEADERS = {"dataset": "dataset", "hardest_class": "hardest class", "generator": "generator",
                    "synthetic_key": "set", "n_images": "set images", "n_detectors": "detectors (seeds)",
                    **{f"{k}_{s}": f"{v} {s}" for k, v in KEYS.items() for s in ("mean", "lo", "hi")},
                    "detector_test_map50_95": "detectors' test mAP@.5:.95", "missing": "missing"}
FIDELITY_NOTE = ("\nPositional fidelity: each real-only detector (the real arm's `last.pt`, one per seed) scores the "
                 "synthetic images against the set's own boxes with ultralytics' validator (as on test); mean and "
                 "95 % t CI over the seeds. Read it against the detectors' own test mAP: low fidelity with a "
                 "detector that works on test means the boxes do not match the pixels; with a detector near 0 on "
                 "test it means nothing. `missing`: detectors or sets no longer on disk.\n")


def det_fidelity_table(data: StudyData, threads: int = 1) -> pd.DataFrame:
    """One row per (dataset, design, synthetic set) that has real-arm detectors of the same design."""
    from benchmark.detect.positional import cached_fidelity

    f = data.frame
    if "kept_weights" not in f.columns:
        return pd.DataFrame()
    ok = f[(f["status"] == "ok") & (f["task"] == "detection")]
    real = ok[(ok["arm"] == "real") & ok["kept_weights"].notna()]
    rows = []
    for (ds, man, design, gen, key), g in ok[ok["arm"] == "synthetic"].groupby(
            ["dataset", "manifest_sha256", "design", "generator", "synthetic_key"], sort=True):
        dets = real[(real["dataset"] == ds) & (real["manifest_sha256"] == man) & (real["design"] == design)]
        if dets.empty:
            continue
        syn = data.runs[g["run_id"].iloc[0]].get("synthetic") or {}
        got, missing = [], 0
        for r in dets.sort_values("seed").itertuples():
            weights = json.loads(r.kept_weights)
            if not syn.get("root") or not Path(syn["root"]).is_dir() or not Path(weights["path"]).is_file():
                missing += 1
                continue
            got.append((cached_fidelity(weights, syn["root"], list(json.loads(r.classes)), r.hardest_class, threads),
                        r.map50_95))
        row = {"dataset": ds, "hardest_class": g["hardest_class"].iloc[0], "generator": gen, "synthetic_key": key,
               "n_images": got[0][0]["n_images"] if got else None, "n_detectors": len(got)}
        for k in KEYS:
            row[f"{k}_mean"], row[f"{k}_lo"], row[f"{k}_hi"] = mean_ci([v[k] for v, _ in got])
        row["detector_test_map50_95"] = mean_ci([t for _, t in got])[0]
        rows.append(row | {"missing": missing})
        if missing:
            log.warning("det_fidelity %s/%s: %d detector(s) or the set no longer on disk", gen, key, missing)
    return pd.DataFrame(rows, columns=list(FIDELITY_HEADERS))
