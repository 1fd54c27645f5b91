"""Positional (label) fidelity of a detection synthetic set: a detector trained on real images only scores the
synthetic images against their own boxes (mAP@.5, mAP@.5:.95 and the hardest class's AP, from ultralytics' own
validator, the one that scores test). Low agreement means the boxes do not match the pixels: a box drawn where
no object is, or an object pasted without its box, costs AP exactly as a miss or a false alarm on test does.

The real arm keeps its detector for this (`keep_weights`: `last.pt` copied to
`<cache_root>/detect/weights/<run_id>-<sha256[:12]>.pt`, path and sha256 in the record's `fit.kept_weights`); only the real arm,
so a study holds one ~6 MB file per seed. Nothing here reads selection or test images.

Read the figure against the detector's own test mAP (same record): a detector that finds nothing on real test
images (YOLO from scratch on CPU budgets) scores ~0 on any set, right or wrong boxes alike.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from benchmark.detect.data import DetDataset, DetItem
from benchmark.detect.labels import yolo_lines
from benchmark.generators.base import sha256_file

POSITIONAL_VERSION = 1  # part of the cache key of a scored (detector, set) pair
FIELDS = ("map50", "map50_95", "hardest_class_ap50", "hardest_class_ap50_95", "precision", "recall")


def keep_weights(last: Path, cache_root: str | Path, run_id: str, image_size: int) -> dict:
    """Copy a run's `last.pt` to `<cache_root>/detect/weights/<run_id>-<sha256[:12]>.pt`; -> the record's
    `fit.kept_weights`. The hash is in the name: a checkpoint holds its save time, so a rerun of the same cell
    (another study) writes other bytes and must not replace the file an earlier record points to."""
    digest = sha256_file(last)
    dest = Path(cache_root).resolve() / "detect" / "weights" / f"{run_id}-{digest[:12]}.pt"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".pt.tmp")
    shutil.copyfile(last, tmp)
    tmp.replace(dest)  # atomic: a reader never sees half a file
    return {"path": str(dest), "sha256": digest, "image_size": int(image_size), "file": "last.pt"}


def read_set(root: str | Path, classes: list[str]) -> tuple[DetDataset, list[DetItem]]:
    """A materialised detection set (`root/index.csv`: path, label, boxes relative to root) as a dataset over
    `classes` (the detector's, in its order) and its items, for `layout` / `boxes_of`."""
    root = Path(root)
    index = root / "index.csv"
    if not index.is_file():
        raise FileNotFoundError(f"{index}: no index.csv; expected a materialised detection set (det-<generator>-<key>)")
    with open(index, newline="") as f:
        items = [DetItem(r["path"], r["label"], None, r.get("boxes") or None) for r in csv.DictReader(f)]
    if not items or any(it.boxes is None for it in items):
        raise ValueError(f"{index}: field 'boxes' empty or missing; expected a box label file for every image")
    return DetDataset("synthetic", root, list(classes), items), items


def _model_classes(model) -> list[str]:
    names = model.names
    return [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)


def positional_fidelity(weights: str | Path, ds: DetDataset, items: list[DetItem], hardest: str, work: Path,
                        image_size: int, threads: int = 1, sha256: str | None = None, ev: dict | None = None,
                        cache_root: str | Path | None = None) -> dict:
    """Score `items` (images + their boxes, via `ds.boxes_of`) with the detector in `weights`.

    -> {map50, map50_95, hardest_class_ap50(_95), precision, recall, per_class_ap50_95, n_images, weights_sha256}.
    `sha256`: the hash the record kept; a different file is refused. `ev`: validator settings (conf, iou, batch),
    defaults as for test (conf 0.001, iou 0.7)."""
    from benchmark.detect.offline import ultralytics
    from benchmark.detect.yolo import data_yaml, detection_metrics, layout, pin_threads

    ultralytics(cache_root)  # offline settings (YOLO_CONFIG_DIR under cache_root), as for training
    from ultralytics import YOLO

    weights, ev = Path(weights), ev or {}
    got = sha256_file(weights) if weights.is_file() else None
    if got is None or (sha256 and got != sha256):
        raise ValueError(f"{weights}: {'missing' if got is None else 'sha256 ' + got[:12]}; expected the real arm's "
                         f"kept detector{' with sha256 ' + sha256[:12] if sha256 else ''}")
    model = YOLO(str(weights))
    if _model_classes(model) != list(ds.classes):
        raise ValueError(f"{weights}: classes {_model_classes(model)}; expected the set's {ds.classes}")
    pin_threads(model, int(threads))
    work = Path(work).resolve()  # ultralytics reads relative YAML paths against its own datasets_dir
    work.mkdir(parents=True, exist_ok=True)
    folder = layout(ds, items, work / "sets")
    yaml = data_yaml(work / f"positional-{folder.name}.yaml", folder, folder, ds.classes)  # train unused by val
    val = model.val(data=str(yaml), split="val", plots=False, batch=int(ev.get("batch", 32)), workers=0,
                    project=str(work), name="val", exist_ok=True, conf=float(ev.get("conf", 0.001)),
                    iou=float(ev.get("iou", 0.7)), imgsz=int(image_size), device="cpu", verbose=False)
    m = detection_metrics(val, ds.classes, hardest, len(items))
    return {**{k: m[k] for k in FIELDS}, "per_class_ap50_95": m["per_class_ap50_95"], "n_images": len(items),
            "weights_sha256": got}


def cached_fidelity(weights: dict, syn_root: str | Path, classes: list[str], hardest: str, threads: int = 1) -> dict:
    """`positional_fidelity` of a kept detector (`fit.kept_weights`) on a materialised set, cached next to the weights
    (`<cache_root>/detect/positional/<key>.json`, key = weights sha256 + the set's index and label bytes)."""
    ds, items = read_set(syn_root, classes)
    h = hashlib.sha256()
    for it in items:  # the set's content: image and label bytes, in index order
        h.update(sha256_file(ds.abspath(it.path)).encode() + sha256_file(ds.abspath(it.boxes)).encode())
    key = hashlib.sha256(json.dumps([POSITIONAL_VERSION, weights["sha256"], h.hexdigest(), hardest,
                                     int(weights["image_size"])]).encode()).hexdigest()[:20]
    cache = Path(weights["path"]).parent.parent / "positional"
    hit = cache / f"{key}.json"
    if hit.is_file():
        return json.loads(hit.read_text())
    out = positional_fidelity(weights["path"], ds, items, hardest, cache / "work", int(weights["image_size"]),
                              threads, sha256=weights["sha256"], cache_root=cache.parent.parent)
    tmp = hit.with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    tmp.replace(hit)
    return out


def shifted_set(ds: DetDataset, items: list[DetItem], out: Path, shift: float = 0.5) -> list[DetItem]:
    """A control: the same images with every box moved by `shift` x the image size (right and down, wrapping
    around, so each box keeps its size and stays inside the image). Label files under `out/labels/`."""
    (out / "labels").mkdir(parents=True, exist_ok=True)
    moved = []
    for i, it in enumerate(items):
        (w, h), b = ds.boxes_of(it)
        b = b.copy()                                   # (n, 5) [cls, x0, y0, x1, y1] pixels
        bw, bh = b[:, 3] - b[:, 1], b[:, 4] - b[:, 2]
        b[:, 1] = (b[:, 1] + shift * w) % np.maximum(w - bw, 1)
        b[:, 2] = (b[:, 2] + shift * h) % np.maximum(h - bh, 1)
        b[:, 3], b[:, 4] = b[:, 1] + bw, b[:, 2] + bh
        lab = out / "labels" / f"{i:06d}.txt"
        lab.write_text(yolo_lines(b, (w, h)))
        moved.append(DetItem(str(ds.abspath(it.path)), it.label, None, str(lab)))
    return moved
