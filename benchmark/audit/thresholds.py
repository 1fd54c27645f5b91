"""The audit thresholds that apply to one dataset: `audit.thresholds`, overridden by
`audit.dataset_thresholds.<dataset>` where a dataset's own train split calls for it.

Why per dataset: a threshold is calibrated on a dataset's train split (`scarce audit --calibrate`). On Magnetic
Tile, distinct tiles of other groups come as close as 9 hash bits (5 % within 13), so the demo's hash threshold
of 21 flagged honest images of look-alike tiles; there the hash only has to catch exact / resized / JPEG copies
(<= 7 bits) and the keypoint detector carries crops, rotations and shifts.
"""
from __future__ import annotations


def for_dataset(audit_cfg: dict, dataset_name: str) -> dict:
    """`audit_cfg` with `thresholds` = the global ones updated by this dataset's overrides (idempotent)."""
    over = (audit_cfg.get("dataset_thresholds") or {}).get(dataset_name) or {}
    return {**audit_cfg, "thresholds": {**(audit_cfg.get("thresholds") or {}), **over}}
