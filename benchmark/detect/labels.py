"""Box label files: Pascal-VOC XML and YOLO txt, read into one array convention.

Boxes are float arrays of shape (n, 5): [class index, x0, y0, x1, y1] in pixels of the image
(x right, y down, x1/y1 exclusive edges as VOC writes them). Every error names the file and field.

The YOLO <-> pixel conversions are the arithmetic of ultralytics' `xywhn2xyxy` / `xyxy2xywhn`, written out
(tests/detect/test_detect_labels.py checks they agree bit for bit): labels are read before a run has imported
ultralytics, and that import must happen once, offline, under the run's cache_root (`detect/offline.py`).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from benchmark.data.base import DatasetError

FORMATS = ("voc", "yolo")


def _num(node, field: str, path: Path, where: str) -> float:
    el = node.find(field)
    if el is None or el.text is None:
        raise DatasetError(f"{path}: {where} has no <{field}>; expected a number")
    try:
        return float(el.text.strip())
    except ValueError:
        raise DatasetError(f"{path}: {where} <{field}> is {el.text.strip()!r}; expected a number") from None


def parse_voc(path: str | Path, classes: list[str]) -> tuple[tuple[int, int], np.ndarray]:
    """((width, height), boxes (n, 5)) from one VOC XML file."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise DatasetError(f"{path}: label file not found") from None
    except ET.ParseError as e:
        raise DatasetError(f"{path}: not valid XML ({e}); expected a Pascal-VOC annotation") from None
    size = root.find("size")
    if size is None:
        raise DatasetError(f"{path}: no <size>; expected <size><width>..<height>.. (Pascal-VOC)")
    wh = (int(_num(size, "width", path, "<size>")), int(_num(size, "height", path, "<size>")))
    rows = []
    for i, obj in enumerate(root.findall("object")):
        where = f"<object> #{i + 1}"
        name = (obj.findtext("name") or "").strip()
        if name not in classes:
            raise DatasetError(f"{path}: {where} <name> is {name!r}; expected one of {classes}")
        box = obj.find("bndbox")
        if box is None:
            raise DatasetError(f"{path}: {where} has no <bndbox>; expected xmin/ymin/xmax/ymax")
        xyxy = [_num(box, k, path, f"{where} <bndbox>") for k in ("xmin", "ymin", "xmax", "ymax")]
        rows.append([classes.index(name), *xyxy])
    boxes = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    check_boxes(boxes, wh, path)
    return wh, boxes


def parse_yolo(path: str | Path, classes: list[str], wh: tuple[int, int]) -> np.ndarray:
    """Boxes (n, 5) in pixels from a YOLO txt (`cls cx cy w h`, normalised to 0..1) of an image of size wh."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: label file not found; expected one `cls cx cy w h` line per object")
    rows = []
    for ln, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            vals = [float(v) for v in parts]
        except ValueError:
            vals = []
        if len(vals) != 5 or not vals[0].is_integer():
            raise DatasetError(f"{path}:{ln}: {line.strip()!r}; expected `cls cx cy w h` (integer class, "
                               f"4 numbers normalised to 0..1)")
        c, cx, cy, w, h = vals
        if not 0 <= c < len(classes):
            raise DatasetError(f"{path}:{ln}: class {int(c)}; expected 0..{len(classes) - 1} ({classes})")
        if min(cx, cy, w, h) < 0 or max(cx, cy, w, h) > 1:
            raise DatasetError(f"{path}:{ln}: {line.strip()!r}; expected coordinates normalised to 0..1")
        W, H = wh  # ultralytics' xywhn2xyxy, not imported here (see the module docstring)
        rows.append([c, (cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H])
    boxes = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    check_boxes(boxes, wh, path)
    return boxes


def check_boxes(boxes: np.ndarray, wh: tuple[int, int], path: Path, tol: float = 1.0) -> None:
    """Refuse empty or inverted boxes and boxes outside the image (`tol` pixels of rounding allowed)."""
    W, H = wh
    for i, (_, x0, y0, x1, y1) in enumerate(boxes):
        if not (x1 > x0 and y1 > y0):
            raise DatasetError(f"{path}: box #{i + 1} {[x0, y0, x1, y1]} is empty or inverted; expected x0<x1, y0<y1")
        if x0 < -tol or y0 < -tol or x1 > W + tol or y1 > H + tol:
            raise DatasetError(f"{path}: box #{i + 1} {[x0, y0, x1, y1]} lies outside the {W}x{H} image")


def yolo_lines(boxes: np.ndarray, wh: tuple[int, int]) -> str:
    """YOLO txt text for boxes (n, 5) in pixels (clipped to the image)."""
    W, H = wh  # ultralytics' xyxy2xywhn, not imported here (see the module docstring)
    out = []
    for c, x0, y0, x1, y1 in boxes:
        x0, x1 = np.clip([x0, x1], 0, W)
        y0, y1 = np.clip([y0, y1], 0, H)
        out.append(f"{int(c)} {(x0 + x1) / 2 / W:.6f} {(y0 + y1) / 2 / H:.6f} {(x1 - x0) / W:.6f} {(y1 - y0) / H:.6f}")
    return "\n".join(out) + ("\n" if out else "")


def read_boxes(label: str | Path, fmt: str, classes: list[str], wh: tuple[int, int]) -> np.ndarray:
    """Boxes (n, 5) of one label file in `fmt` ('voc' or 'yolo') for an image of size wh."""
    if fmt == "voc":
        got_wh, boxes = parse_voc(label, classes)
        if got_wh != tuple(wh):
            raise DatasetError(f"{label}: <size> says {got_wh[0]}x{got_wh[1]} but the image is {wh[0]}x{wh[1]}")
        return boxes
    if fmt == "yolo":
        return parse_yolo(label, classes, wh)
    raise DatasetError(f"label format {fmt!r}; expected one of {FORMATS}")
