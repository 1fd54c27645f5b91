"""Detection datasets: images with box label files, picked by name (`DET_DATASETS`).

A `DetDataset` looks like a classification `Dataset` to the split code (name, root, classes, items,
`counts`, `abspath`) so `benchmark/split/manifest.py` freezes it the same way; each item also names
its label file (`DetItem.boxes`, hashed into the manifest). An item's `label` is the class it is
stratified by: the rarest class (dataset-wide object count) among its boxes.

- `neu_det`: `<root>/IMAGES/<class>_<n>.jpg` + `ANNOTATIONS/<class>_<n>.xml` (Pascal VOC), plus the
  optional `Validation_Images/` + `Validation_Annotations/`; default root `../shared/data/neu_det`.
- `yolo`: an ultralytics folder: a data YAML (`names`), `images/**` and `labels/**` (same relative
  path, `.txt`). Images without a label file or with an empty one are dropped and counted in `meta`.
- `demo_det`: the procedural set in `datasets/demo_det/` (a `yolo` folder), see `benchmark/detect/demo.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from benchmark import PROJECT_ROOT
from benchmark.data.base import IMAGE_EXTENSIONS, DatasetError, Item
from benchmark.data.ident import adapter_options, named
from benchmark.data.riawelc import drop_duplicates
from benchmark.detect.labels import read_boxes
from benchmark.registry import Registry

DET_DATASETS = Registry("detection dataset")
NEU_CLASSES = ["crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches"]
NEU_FOLDERS = (("IMAGES", "ANNOTATIONS"), ("Validation_Images", "Validation_Annotations"))


@dataclass(frozen=True)
class DetItem(Item):
    boxes: str | None = None  # label file (.xml = VOC, .txt = YOLO), same path convention as `path`


def label_format(label_path: str) -> str:
    suffix = Path(label_path).suffix.lower()
    if suffix not in (".xml", ".txt"):
        raise DatasetError(f"{label_path}: unknown label file type {suffix!r}; expected .xml (VOC) or .txt (YOLO)")
    return "voc" if suffix == ".xml" else "yolo"


@dataclass
class DetDataset:
    name: str
    root: Path
    classes: list[str]
    items: list[DetItem]
    meta: dict = field(default_factory=dict)
    nominal: None = None  # detection has no nominal class; every class is a hardest-class candidate
    task: str = "detection"
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        missing = [it.path for it in self.items if not it.boxes]
        if missing:
            raise DatasetError(f"{self.root}: {missing[0]} has no label file; every detection item needs one")

    @property
    def defect_classes(self) -> list[str]:
        return list(self.classes)

    def counts(self, items: list[Item] | None = None) -> dict[str, int]:
        out = {c: 0 for c in self.classes}
        for it in self.items if items is None else items:
            out[it.label] = out.get(it.label, 0) + 1
        return out

    def object_counts(self, items: list[DetItem] | None = None) -> dict[str, int]:
        out = {c: 0 for c in self.classes}
        for it in self.items if items is None else items:
            for c in self.boxes_of(it)[1][:, 0].astype(int):
                out[self.classes[c]] += 1
        return out

    def abspath(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else self.root / p

    def boxes_of(self, it: DetItem) -> tuple[tuple[int, int], np.ndarray]:
        """((width, height), boxes (n, 5) [cls, x0, y0, x1, y1] in pixels), read once and cached."""
        key = (it.path, it.boxes)
        if key not in self._cache:
            with Image.open(self.abspath(it.path)) as im:
                wh = im.size
            lab = self.abspath(it.boxes)
            self._cache[key] = (wh, read_boxes(lab, label_format(str(lab)), self.classes, wh))
        return self._cache[key]


def stratify_labels(ds_classes: list[str], boxes: dict[str, np.ndarray]) -> dict[str, str]:
    """{image path: its rarest class} (rarest by object count over the whole dataset; ties by name)."""
    total = np.zeros(len(ds_classes), int)
    for b in boxes.values():
        np.add.at(total, b[:, 0].astype(int), 1)
    out = {}
    for path, b in boxes.items():
        present = sorted(set(b[:, 0].astype(int).tolist()), key=lambda c: (total[c], ds_classes[c]))
        out[path] = ds_classes[present[0]]
    return out


@DET_DATASETS.register("neu_det")
def neu_det(root: str | Path | None = None, dedupe: bool = True, **_) -> DetDataset:
    root = Path(root).expanduser().resolve() if root else PROJECT_ROOT.parent / "shared" / "data" / "neu_det"
    if not (root / "IMAGES").is_dir() or not (root / "ANNOTATIONS").is_dir():
        raise DatasetError(f"{root}: no IMAGES/ and ANNOTATIONS/; expected the NEU-DET layout "
                           f"IMAGES/<class>_<n>.jpg + ANNOTATIONS/<class>_<n>.xml (pass dataset.root=<dir>)")
    items = []
    for img_dir, ann_dir in NEU_FOLDERS:
        if not (root / img_dir).is_dir():
            continue
        for p in sorted((root / img_dir).glob("*.jpg")):
            prefix = p.stem.rpartition("_")[0]
            if prefix not in NEU_CLASSES:
                raise DatasetError(f"{p}: unexpected file; expected <class>_<n>.jpg with class in {NEU_CLASSES}")
            ann = root / ann_dir / f"{p.stem}.xml"
            if not ann.is_file():
                raise DatasetError(f"{p}: no annotation {ann}; expected one VOC XML per image")
            items.append(DetItem(p.relative_to(root).as_posix(), prefix, None, ann.relative_to(root).as_posix()))
    meta: dict = {"label_format": "voc"}
    if dedupe:  # the shared copy has one byte-identical pair (patches_101 / patches_105)
        items, dropped = drop_duplicates(items, root)  # keeps the DetItems themselves, in order
        meta.update(dropped)
    ds = DetDataset("neu_det", root, list(NEU_CLASSES), items, meta)
    # The split is stratified by the file-name class. A few NEU images also hold objects of another class
    # (e.g. crazing_104 has a patches box): counted, not refused; an image without its own class is refused.
    mixed = 0
    for it in items:
        got = {NEU_CLASSES[int(c)] for c in ds.boxes_of(it)[1][:, 0]}
        if it.label not in got:
            raise DatasetError(f"{root / it.boxes}: no object of class {it.label!r} (the file-name class); "
                               f"found {sorted(got)}")
        mixed += len(got) > 1
    meta["images_with_other_classes"] = mixed
    return ds


def read_data_yaml(path: Path) -> list[str]:
    """Class names from an ultralytics data YAML (`names:` list or {index: name})."""
    if not path.is_file():
        raise DatasetError(f"{path}: data YAML not found; expected a file with `names:` (ultralytics format)")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise DatasetError(f"{path}: not valid YAML ({e})") from None
    names = doc.get("names") if isinstance(doc, dict) else None
    if isinstance(names, dict):
        if sorted(names) != list(range(len(names))):
            raise DatasetError(f"{path}: field 'names' has keys {sorted(names)}; expected 0..{len(names) - 1}")
        names = [names[i] for i in range(len(names))]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise DatasetError(f"{path}: field 'names' is {names!r}; expected a non-empty list of class names")
    return names


def scan_yolo(name: str, root: Path, data: str) -> DetDataset:
    classes = read_data_yaml(root / data)
    if not (root / "images").is_dir():
        raise DatasetError(f"{root}: no images/ folder; expected images/** and labels/** beside {data}")
    items, boxes, dropped = [], {}, 0
    probe = DetDataset(name, root, classes, [])
    for p in sorted(q for q in (root / "images").rglob("*") if q.suffix.lower() in IMAGE_EXTENSIONS):
        rel = p.relative_to(root)
        lab = Path("labels", *rel.parts[1:]).with_suffix(".txt")
        if not (root / lab).is_file() or not (root / lab).read_text().strip():
            dropped += 1
            continue
        it = DetItem(rel.as_posix(), "", None, lab.as_posix())
        boxes[it.path] = probe.boxes_of(it)[1]
        items.append(it)
    if not items:
        raise DatasetError(f"{root}: no image with a non-empty label file under images/ + labels/")
    strat = stratify_labels(classes, boxes)
    items = [DetItem(it.path, strat[it.path], None, it.boxes) for it in items]
    ds = DetDataset(name, root, classes, items, {"label_format": "yolo", "dropped_unlabelled": dropped})
    ds._cache.update({(k, v): c for (k, v), c in probe._cache.items()})
    return ds


@DET_DATASETS.register("yolo")
def yolo(root: str | Path | None = None, data: str = "data.yaml", **_) -> DetDataset:
    if not root:
        raise DatasetError("dataset yolo needs dataset.root=<folder with images/, labels/ and a data YAML>")
    return scan_yolo("yolo", Path(root).expanduser().resolve(), data)


@DET_DATASETS.register("demo_det")
def demo_det(root: str | Path | None = None, **_) -> DetDataset:
    root = Path(root).expanduser().resolve() if root else PROJECT_ROOT / "datasets" / "demo_det"
    if not (root / "data.yaml").is_file():
        raise DatasetError(f"{root}: demo_det not rendered; run `python -m benchmark.detect.demo --out {root}`")
    return scan_yolo("demo_det", root, "data.yaml")


def create_det_dataset(dcfg: dict) -> DetDataset:
    # a custom dataset (yolo) is named by its dataset.id (benchmark/data/ident.py)
    return named(DET_DATASETS.create(dcfg["name"], **adapter_options(dcfg, "task")), dcfg)


def det_split_items(manifest: dict, split: str) -> list[DetItem]:
    """The manifest's entries of `split` as detection items (image, stratification label, mask, box file)."""
    return [DetItem(e["path"], e["label"], e.get("mask"), e.get("boxes")) for e in manifest["files"][split]]
