"""`split.dedupe=true`: keep one copy of each byte-identical image before splitting, and list the others.

Exported datasets often hold exact copies of one image (the surface-defect export did). Split per image, two
copies can land in train and test, which `scarce split` refuses (a test image the model trained on). Grouping
(`split.group=near_duplicate`) keeps copies in one split; dedupe drops all copies but one, so no image counts
twice anywhere. Which copy is kept is fixed: the first path in sorted order. The manifest lists every dropped
file with its sha256 and the path kept in its place (`dedupe.dropped`), so the choice is auditable and a run
can check that the kept file is the one that was hashed (benchmark/split/validate.py).

Copies whose labels differ (or, for detection, whose box files differ) are an annotation conflict, not a
duplicate: no copy can be kept without choosing a label, so they are refused, naming the files.
"""
from __future__ import annotations

from collections import defaultdict

from benchmark.generators.base import sha256_file

RULE = "byte-identical images (same sha256): the first path in sorted order kept, the others dropped before splitting"


def dedupe_items(dataset, items: list) -> tuple[list, list[dict]]:
    """(`items` with one copy of each byte-identical image, in their order; the dropped entries
    [{path, label, sha256, kept}] sorted by path). Only files that share their size with another are hashed."""
    by_size: dict[int, list] = defaultdict(list)
    for it in items:
        by_size[dataset.abspath(it.path).stat().st_size].append(it)
    by_sha: dict[str, list] = defaultdict(list)
    for same in by_size.values():
        if len(same) > 1:
            for it in same:
                by_sha[sha256_file(dataset.abspath(it.path))].append(it)
    dropped = []
    for sha, copies in by_sha.items():
        if len(copies) < 2:
            continue
        copies = sorted(copies, key=lambda it: it.path)
        _refuse_conflict(dataset, copies)
        dropped += [{"path": it.path, "label": it.label, "sha256": sha, "kept": copies[0].path} for it in copies[1:]]
    gone = {d["path"] for d in dropped}
    return [it for it in items if it.path not in gone], sorted(dropped, key=lambda d: d["path"])


def _refuse_conflict(dataset, copies: list) -> None:
    labels = {it.label for it in copies}
    boxes = {sha256_file(dataset.abspath(it.boxes)) for it in copies if getattr(it, "boxes", None)}
    if len(labels) > 1 or len(boxes) > 1:
        what = f"labels {sorted(labels)}" if len(labels) > 1 else "box label files that differ"
        raise ValueError(f"{dataset.root}: {', '.join(f'{it.path} ({it.label})' for it in copies)} are "
                         f"byte-identical images with {what}; expected one annotation per image: fix the labels "
                         f"(split.dedupe=true keeps one copy only when the copies agree)")


def dedupe_record(dropped: list[dict]) -> dict:
    """The manifest's `dedupe` field."""
    return {"rule": RULE, "n_dropped": len(dropped), "dropped": dropped}
