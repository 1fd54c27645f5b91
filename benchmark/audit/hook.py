"""Run-time audit: before a run trains on a synthetic set, audit it once and refuse it if it leaks test images.

The result is cached next to the set's cache entries, at
`<cache_root>/synthetic/<dataset>/audit-<generator>-<set key>/<audit key>/audit.json`, where the audit key
hashes the set's `content_sha256`, the test split's manifest hash, the audit config (model and
thresholds; `allow_contamination` is not part of it: it decides what to do with the result, not the result),
the keypoint matcher's version and the functional audit's version (an audit cached before the discriminator / PRDC / label-fidelity figures
is recomputed, not reused without them).
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from benchmark.audit.functional import FUNCTIONAL_VERSION
from benchmark.generators.base import SyntheticSet

log = logging.getLogger("scarce")
# the keypoint matcher's version (benchmark/audit/keypoints.py, not imported here: it loads OpenCV). 2: OpenCV's RNG
# seeded before each index build and query, so audits matched with an unseeded RNG are redone, not reused
MATCH_VERSION = 2

FIDELITY_KEYS = ("mean_cosine_to_real", "real_within_cosine", "fid", "kid", "discriminator_auc", "auc_ci_low",
                 "auc_ci_high", "precision", "recall", "density", "coverage", "label_fidelity", "label_chance",
                 "real_cv_accuracy")
SUMMARY_KEYS = ("n_images", "n_test_copies", "n_test_copies_new", "contaminated", "n_train_copies",
                "train_copy_fraction", "split_leak", "thresholds")


class AuditRefused(ValueError):
    """A synthetic set holds near-copies of test images and `audit.allow_contamination` is false."""


def test_split_sha256(manifest: dict) -> str:
    """Hash of the test split's (path, label, sha256) entries: the audit's reference set."""
    rows = sorted((e["path"], e["label"], e["sha256"]) for e in manifest["files"]["test"])
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def audit_key(syn: SyntheticSet, manifest: dict, audit_cfg: dict) -> str:
    blob = json.dumps({"content": syn.content_sha256, "test": test_split_sha256(manifest),
                       "model": audit_cfg.get("model"), "thresholds": audit_cfg.get("thresholds"),
                       "refuse_inherited": bool(audit_cfg.get("refuse_inherited", False)),
                       "functional": FUNCTIONAL_VERSION, "keypoint_match": MATCH_VERSION},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def audit_dir(syn: SyntheticSet, dataset_name: str, manifest: dict, audit_cfg: dict, cache_root: Path) -> Path:
    from benchmark.audit.thresholds import for_dataset

    return (Path(cache_root).resolve() / "synthetic" / dataset_name / f"audit-{syn.generator}-{syn.key}"
            / audit_key(syn, manifest, for_dataset(audit_cfg, dataset_name)))


def record_summary(audit: dict) -> dict:
    """What a run record keeps: flag counts, train-copy fraction, per-class fidelity and functional figures
    (FIDELITY_KEYS; None where a cached audit predates one), audit.json path."""
    out = {k: audit["summary"][k] for k in SUMMARY_KEYS}
    out["flagged"] = [f["path"] for f in audit["summary"]["flagged"]]
    out["fidelity"] = {c: {k: v.get(k) for k in FIDELITY_KEYS} for c, v in audit["fidelity"]["per_class"].items()}
    out["audit_json"] = (audit.get("files") or {}).get("audit_json")
    return out


def load_or_audit(syn: SyntheticSet, dataset, manifest: dict, audit_cfg: dict, cache_root: Path) -> dict:
    """The cached audit of this set, or a fresh one written to its cache directory."""
    from benchmark.audit import audit_set

    d = audit_dir(syn, dataset.name, manifest, audit_cfg, cache_root)
    path = d / "audit.json"
    if path.is_file():
        return json.loads(path.read_text())
    log.info("audit %s set %s (%d images) -> %s", syn.generator, syn.key, len(syn.items), d)
    return audit_set(syn.items, dataset, manifest, audit_cfg, cache_root, d)


def _describe(f: dict) -> str:
    """One flagged image and the test image it copies (keypoint flags name the keypoint match)."""
    if f.get("test_copy_by") == "keypoints":
        return (f"{f['path']} ~ test {f['test_kp_match']} (keypoints: {f['test_kp_inliers']} inliers, "
                f"{f['test_kp_patch_inliers']} in its defect region, defect-patch NCC {f['test_patch_ncc']:.3f})")
    return f"{f['path']} ~ test {f['test_hash_match']} (hash {f['test_hash_dist']}, cos {f['test_cos']:.3f})"


def ensure_audited(cfg: dict, dataset, manifest: dict, syn: SyntheticSet | None) -> dict | None:
    """Audit `syn` (once, cached) when `audit.enabled`; store the summary in `syn.meta['audit']`.

    Raises :class:`AuditRefused` naming the flagged files when the set holds near-copies of test images
    and `audit.allow_contamination` is false; with it true, logs a warning and goes on (the record lists
    what was flagged either way)."""
    audit_cfg = cfg.get("audit") or {}
    if syn is None or not audit_cfg.get("enabled", False):
        return None
    audit = load_or_audit(syn, dataset, manifest, audit_cfg, Path(cfg["cache_root"]))
    summary = record_summary(audit)
    syn.meta["audit"] = summary
    flagged = audit["summary"]["flagged"]
    if not audit["summary"]["contaminated"]:
        flagged = []
        if audit["summary"]["n_test_copies"]:
            log.warning("synthetic set %s-%s: %d images are near test images that already have near-copies in the "
                        "train split (a leak of the split itself; see %s)", syn.generator, syn.key,
                        audit["summary"]["n_test_copies"], summary["audit_json"])
    else:
        flagged = [f for f in flagged if not f["inherited"]] or flagged
    if flagged:
        listed = "; ".join(_describe(f) for f in flagged[:10])
        more = f" and {len(flagged) - 10} more" if len(flagged) > 10 else ""
        msg = (f"synthetic set {syn.generator}-{syn.key} ({syn.root}): {len(flagged)} of {len(syn.items)} images are "
               f"near-copies of test images: {listed}{more}. Full list: {summary['audit_json']}")
        if not audit_cfg.get("allow_contamination", False):
            raise AuditRefused(msg + "; refusing to train on it (set audit.allow_contamination=true to run anyway)")
        log.warning("%s; audit.allow_contamination=true, training anyway", msg)
    return summary
