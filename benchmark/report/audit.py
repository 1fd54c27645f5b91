"""The report's audit section: per synthetic set used by the study, what the audit flagged and its fidelity
numbers (from each record's `synthetic.audit` block), and its gallery figure copied next to the report."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd

from benchmark.report.collect import StudyData

__all__ = ["audit_frame", "write_audit", "AUDIT_HEADERS", "FIDELITY_COLUMNS"]

AUDIT_HEADERS = {"generator": "Generator", "set": "Set key", "n_images": "Images", "n_test_copies": "Test near-copies",
                 "flagged": "Flagged files", "train_copy_fraction": "Train near-copies (share)",
                 "mean_cosine_to_real": "Cosine to real", "real_within_cosine": "Real-real cosine", "fid": "FID",
                 "kid": "KID", "discriminator_auc": "Real-vs-synthetic AUC", "auc_ci_low": "AUC CI low",
                 "auc_ci_high": "AUC CI high", "precision": "Precision", "recall": "Recall", "density": "Density",
                 "coverage": "Coverage", "label_fidelity": "Label fidelity", "label_chance": "Chance",
                 "real_cv_accuracy": "Real CV accuracy", "allowed": "Contaminated, run anyway", "audit_json": "audit.json"}
# per-class figures of a record's `synthetic.audit.fidelity` (benchmark.audit.hook.FIDELITY_KEYS; not imported:
# benchmark.audit loads the backbone stack, the report does not need it). Older records lack the functional ones.
FIDELITY_COLUMNS = [k for k in AUDIT_HEADERS if k in {
    "mean_cosine_to_real", "real_within_cosine", "fid", "kid", "discriminator_auc", "auc_ci_low", "auc_ci_high",
    "precision", "recall", "density", "coverage", "label_fidelity", "label_chance", "real_cv_accuracy"}]


def _shown_path(path: str | None, root: Path | None) -> str | None:
    """``path`` relative to the study directory (``../cache/…`` when it lies beside it), so a report names no
    machine's absolute directories; unchanged when there is no study directory."""
    if not path or root is None:
        return path
    return os.path.relpath(Path(path).resolve(), root)


def audit_frame(data: StudyData) -> pd.DataFrame:
    """One row per (audited synthetic set, class): flag counts, flagged files and fidelity per class."""
    rows, seen = [], set()
    sets = [syn or {} for _, meta in sorted(data.runs.items())  # a K-fold run: each fold's own set
            for syn in meta.get("synthetic_sets") or [meta.get("synthetic")]]
    for syn in sets:
        audit = syn.get("audit")
        if not audit or (syn.get("key"), syn.get("content_sha256")) in seen:
            continue
        seen.add((syn.get("key"), syn.get("content_sha256")))
        base = {"generator": syn.get("generator"), "set": syn.get("key"), "n_images": audit["n_images"],
                "n_test_copies": audit["n_test_copies"], "flagged": ", ".join(Path(p).name for p in audit["flagged"]),
                "train_copy_fraction": audit["train_copy_fraction"], "allowed": bool(audit["contaminated"]),
                "audit_json": _shown_path(audit.get("audit_json"), data.root)}
        for c, fid in (audit.get("fidelity") or {"-": {}}).items():
            rows.append({**base, "class": c, **{k: fid.get(k) for k in FIDELITY_COLUMNS}})
    cols = ["generator", "set", "class", *[c for c in AUDIT_HEADERS if c not in ("generator", "set")]]
    return pd.DataFrame(rows, columns=cols)


def write_audit(ctx, out_dir: Path) -> dict[str, Path]:
    """audit.{csv,md,tex} and, per audited set, its gallery (`audit_gallery_<generator>-<key>.png/svg`)."""
    from benchmark.report.table_formats import write_table_formats

    frame = audit_frame(ctx.data)
    if frame.empty:
        return {}
    note = ("\nNear-copy: perceptual-hash distance <= threshold or backbone cosine >= threshold to a test image "
            "(flips, 90-degree rotations, crops, resizes and JPEG re-encodes included). A study refuses a set with "
            "test near-copies unless audit.allow_contamination=true ('Run anyway'). Real-vs-synthetic AUC: a "
            "5-fold logistic probe on backbone features telling the class's real train images from the set "
            "(0.5 = indistinguishable, near 1 = a separate domain; CI: bootstrap of out-of-fold scores). "
            "Precision / recall / density / coverage: Naeem et al. 2020, k = 5 nearest neighbours, against the "
            "class's real train features. Label fidelity: share of the set a probe fit on real train images of "
            "every class assigns to the set's own label (Chance = 1 / classes; Real CV accuracy = the same probe "
            "on the class's real train images, out of fold).\n")
    paths = write_table_formats(frame, out_dir, "audit", AUDIT_HEADERS | {"class": "Class"}, digits=4, md_suffix=note,
                                caption="Synthetic-set audit: contamination and fidelity")
    root = ctx.data.root or Path.cwd()
    for r in frame.drop_duplicates("set").itertuples():
        src = root / r.audit_json if isinstance(r.audit_json, str) else None   # shown relative to the study
        files = json.loads(src.read_text()).get("files", {}) if src and src.is_file() else {}
        for kind in ("png", "svg"):
            f = files.get(f"audit_gallery_{kind}")
            if f and Path(f).is_file():
                stem = f"audit_gallery_{r.generator}-{r.set}"
                dst = Path(out_dir) / f"{stem}.{kind}"
                shutil.copyfile(f, dst)
                paths[f"{stem}_{kind}"] = dst
    return paths
