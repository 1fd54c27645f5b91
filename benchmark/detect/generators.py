"""Detection generators: N images *with boxes*, picked by name (`DET_GENERATORS`).

- `cutpaste`: crops objects of the target class (the box, or the mask when the item has one) from real
  train images and pastes them onto *other* train images at new positions, scaled / flipped / rotated
  by 90 degrees. The new box is the exact rectangle the crop was written to (box mode) or the tight box
  of the pasted mask pixels (mask mode), so every recorded box covers its pasted object by construction.
  Boxes of the target image that the paste covers for more than `drop_covered` of their area are
  dropped (they are no longer visible); the others are kept.
- `folder`: a vendor delivery, `images/**` with YOLO labels (`labels/**.txt`) or VOC labels
  (`annotations/<stem>.xml`); nothing is copied, the key hashes every delivered file.

Generated sets are cached under `<cache_root>/synthetic/<dataset>/<name>-<key>/` (key = hash of the
config, the train files' sha256 including label files, the request and the version), written atomically.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from benchmark.data.base import IMAGE_EXTENSIONS, DatasetError, load_mask, load_rgb
from benchmark.detect.data import DetDataset, DetItem, read_data_yaml
from benchmark.detect.labels import yolo_lines
from benchmark.generators.base import GenRequest, Generator, SyntheticSet, content_hash
from benchmark.generators.cutpaste import class_rng
from benchmark.progress.bars import tqdm
from benchmark.registry import Registry
from benchmark.csvsafe import SafeDictWriter

DET_GENERATORS = Registry("detection generator")


class DetGenerator(Generator):
    """A detection generator: the shared `Generator` (cache key, materialise, atomic write), with detection
    items, whose companion file is the box label file (hashed into the key, the content hash and index.csv)."""

    item_type, companion, dir_prefix, key_extra = DetItem, "boxes", "det-", {"task": "detection"}


class CutPasteDet(DetGenerator):
    name, version = "cutpaste", "1"

    def __init__(self, scale=(0.75, 1.33), flip: bool = True, rotate: bool = True, per_image: int = 1,
                 max_tries: int = 20, drop_covered: float = 0.5, seed: int = 0, **unknown):
        if unknown:
            raise ValueError(f"detection cutpaste: unknown option(s) {sorted(unknown)}; expected scale, flip, "
                             f"rotate, per_image, max_tries, drop_covered (use generator=det_cutpaste)")
        lo, hi = (float(s) for s in scale)
        if not 0 < lo <= hi or int(per_image) < 1 or int(max_tries) < 1 or not 0 < float(drop_covered) <= 1:
            raise ValueError(f"detection cutpaste: need 0 < scale lo <= hi, per_image >= 1, max_tries >= 1, "
                             f"0 < drop_covered <= 1; got {scale}, {per_image}, {max_tries}, {drop_covered}")
        self.config = {"scale": [lo, hi], "flip": bool(flip), "rotate": bool(rotate), "per_image": int(per_image),
                       "max_tries": int(max_tries), "drop_covered": float(drop_covered)}

    def _objects(self, ds: DetDataset, train: list[DetItem], cls: int) -> list[tuple[DetItem, np.ndarray]]:
        """(item, box (5,)) for every train object of class index `cls`, in path order."""
        out = [(it, b) for it in sorted(train, key=lambda i: i.path) for b in ds.boxes_of(it)[1] if int(b[0]) == cls]
        if not out:
            raise DatasetError(f"{ds.root}: no train object of class {ds.classes[cls]!r} to cut")
        return out

    def _crop(self, ds: DetDataset, it: DetItem, box: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
        """(patch (h, w, 3) uint8, alpha (h, w) bool), scaled / flipped / rotated; alpha from the mask if any."""
        img = np.asarray(load_rgb(ds.abspath(it.path)))
        H, W = img.shape[:2]
        x0, y0 = int(np.floor(max(box[1], 0))), int(np.floor(max(box[2], 0)))
        x1, y1 = int(np.ceil(min(box[3], W))), int(np.ceil(min(box[4], H)))
        patch = img[y0:y1, x0:x1]
        alpha = (load_mask(ds.abspath(it.mask))[y0:y1, x0:x1] if it.mask else np.ones(patch.shape[:2], bool))
        lo, hi = self.config["scale"]
        s = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))  # always drawn: toggles never shift the stream
        flip, k = bool(rng.random() < 0.5) and self.config["flip"], int(rng.integers(4)) * self.config["rotate"]
        size = (max(1, round(patch.shape[1] * s)), max(1, round(patch.shape[0] * s)))
        patch = np.asarray(Image.fromarray(patch).resize(size, Image.Resampling.BILINEAR))
        alpha = np.asarray(Image.fromarray(alpha.astype(np.uint8) * 255).resize(size, Image.Resampling.NEAREST)) > 127
        if flip:
            patch, alpha = patch[:, ::-1], alpha[:, ::-1]
        return np.ascontiguousarray(np.rot90(patch, k)), np.ascontiguousarray(np.rot90(alpha, k))

    def _paste(self, target: np.ndarray, boxes: np.ndarray, patch, alpha, cls: int, rng):
        """Paste at the least-overlapping of `max_tries` random positions -> (image, boxes, new box)."""
        H, W = target.shape[:2]
        fit = min(1.0, H / patch.shape[0], W / patch.shape[1])
        if fit < 1:  # larger than the target: shrink to fit rather than clip the object
            size = (max(1, int(patch.shape[1] * fit)), max(1, int(patch.shape[0] * fit)))
            patch = np.asarray(Image.fromarray(patch).resize(size, Image.Resampling.BILINEAR))
            alpha = np.asarray(Image.fromarray(alpha.astype(np.uint8) * 255).resize(size, Image.Resampling.NEAREST)) > 127
        h, w = alpha.shape
        best = None
        for _ in range(self.config["max_tries"]):
            y, x = int(rng.integers(H - h + 1)), int(rng.integers(W - w + 1))
            cover = covered_fraction(boxes, (x, y, x + w, y + h))
            if best is None or cover.sum() < best[2].sum():
                best = (y, x, cover)
        y, x, cover = best
        out = target.copy()
        region = out[y:y + h, x:x + w]
        region[alpha] = patch[alpha]
        ys, xs = np.nonzero(alpha)
        new = np.array([cls, x + xs.min(), y + ys.min(), x + xs.max() + 1, y + ys.max() + 1], dtype=np.float64)
        keep = boxes[cover <= self.config["drop_covered"]]
        return out, np.vstack([keep, new[None]]), new

    def generate(self, req: GenRequest, out_dir: Path) -> list[DetItem]:
        ds = req.dataset
        wanted = {c: int(n) for c, n in sorted(req.counts.items()) if int(n) > 0}
        items, rows = [], []
        with tqdm(total=sum(wanted.values()), desc="det cutpaste", unit="img") as bar:
            for c, n in wanted.items():
                ci = ds.classes.index(c)
                objects, targets = self._objects(ds, req.train, ci), sorted(req.train, key=lambda i: i.path)
                rng = class_rng(req.seed, c)
                (out_dir / c).mkdir(parents=True, exist_ok=True)
                for i in range(n):
                    tgt = targets[int(rng.integers(len(targets)))]
                    img, boxes = np.asarray(load_rgb(ds.abspath(tgt.path))), ds.boxes_of(tgt)[1]
                    for _ in range(self.config["per_image"]):
                        src, box = objects[int(rng.integers(len(objects)))]
                        img, boxes, new = self._paste(img, boxes, *self._crop(ds, src, box, rng), ci, rng)
                        rows.append({"path": f"{c}/{c}_{i:05d}.png", "source": src.path, "target": tgt.path,
                                     **dict(zip(("x0", "y0", "x1", "y1"), new[1:].tolist()))})
                    rel = f"{c}/{c}_{i:05d}"
                    Image.fromarray(img).save(out_dir / f"{rel}.png")
                    (out_dir / f"{rel}.txt").write_text(yolo_lines(boxes, (img.shape[1], img.shape[0])))
                    items.append(DetItem(f"{rel}.png", c, None, f"{rel}.txt"))
                    bar.update(1)
        with open(out_dir / "provenance.csv", "w", newline="") as f:
            w = SafeDictWriter(f, fieldnames=["path", "source", "target", "x0", "y0", "x1", "y1"])
            w.writeheader()
            w.writerows(rows)
        return items


def covered_fraction(boxes: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """(n,) fraction of each box's area that the rectangle (x0, y0, x1, y1) covers."""
    if len(boxes) == 0:
        return np.zeros(0)
    ix = np.clip(np.minimum(boxes[:, 3], rect[2]) - np.maximum(boxes[:, 1], rect[0]), 0, None)
    iy = np.clip(np.minimum(boxes[:, 4], rect[3]) - np.maximum(boxes[:, 2], rect[1]), 0, None)
    area = (boxes[:, 3] - boxes[:, 1]) * (boxes[:, 4] - boxes[:, 2])
    return ix * iy / np.maximum(area, 1e-9)


class FolderDet(DetGenerator):
    """A delivery: `images/**` + `labels/**.txt` (format yolo) or `annotations/<stem>.xml` (format voc)."""

    name = "folder"  # materialize points at the delivery in place: nothing is copied into the cache

    def __init__(self, root: str | Path | None = None, format: str = "yolo", seed: int = 0, **unknown):
        if unknown:
            raise ValueError(f"detection folder: unknown option(s) {sorted(unknown)}; expected root, format")
        if not root:
            raise ValueError("detection folder generator needs generator.root=<delivery directory>")
        if format not in ("yolo", "voc"):
            raise ValueError(f"detection folder: format={format!r}; expected 'yolo' or 'voc'")
        self.config = {"root": str(Path(root).expanduser().resolve()), "format": format}

    def scan(self, ds: DetDataset) -> list[DetItem]:
        """Every delivered image with its label file, validated (boxes parse against the dataset classes)."""
        root = Path(self.config["root"]).resolve()
        if not (root / "images").is_dir():
            raise DatasetError(f"{root}: delivery has no images/ folder; expected images/** with "
                               f"{'labels/**.txt' if self.config['format'] == 'yolo' else 'annotations/<stem>.xml'}")
        if self.config["format"] == "yolo" and (root / "data.yaml").is_file():
            names = read_data_yaml(root / "data.yaml")
            if names != ds.classes:
                raise DatasetError(f"{root / 'data.yaml'}: field 'names' is {names}; expected the dataset's "
                                   f"classes in order {ds.classes}")
        items, seen, contents = [], {}, {}
        for p in sorted(q for q in (root / "images").rglob("*") if q.suffix.lower() in IMAGE_EXTENSIONS):
            rel = p.relative_to(root / "images")
            lab = (root / "labels" / rel).with_suffix(".txt") if self.config["format"] == "yolo" else \
                root / "annotations" / f"{p.stem}.xml"
            if not lab.is_file():
                raise DatasetError(f"{p}: no label file {lab}; expected one per delivered image")
            self._count_once(root, p, lab, seen, contents)
            it = DetItem(str(p), "", None, str(lab))
            labels = sorted({ds.classes[int(c)] for c in ds.boxes_of(it)[1][:, 0]})  # parses now: a malformed
            items.append(DetItem(str(p), labels[0] if labels else "", None, str(lab)))  # label names its line
        return items

    @staticmethod
    def _count_once(root: Path, p: Path, lab: Path, seen: dict, contents: dict) -> None:
        """Each delivered image counts once: resolved inside the delivery (a symlink out is refused), not the
        same file as another (a symlink inside), not byte-identical to another (a copy under a new name)."""
        from benchmark.generators.base import sha256_file

        for f in (p, lab):
            real = f.resolve()
            if not real.is_relative_to(root):
                raise DatasetError(f"{f}: a symlink resolving to {real}, outside the delivery {root}; expected files "
                                   f"inside it")
        real = p.resolve()
        if real in seen:
            raise DatasetError(f"{p}: the same file as {seen[real]} (through a symlink); expected each image once")
        seen[real] = p
        digest = sha256_file(p)
        if digest in contents:
            raise DatasetError(f"{p}: byte-identical to {contents[digest]}; expected distinct images (a copy would "
                               f"count one image twice)")
        contents[digest] = p

    def generate(self, req: GenRequest, out_dir: Path | None = None) -> list[DetItem]:
        """The delivered images a request takes, in place (nothing is written): per class c, the first n in
        path order that hold an object of c."""
        ds, items = req.dataset, self.scan(req.dataset)
        out: list[DetItem] = []
        for c, n in sorted(req.counts.items()):  # the first n delivered images (path order) holding class c
            ci, used = ds.classes.index(c), {it.path for it in out}
            have = [it for it in items if ci in ds.boxes_of(it)[1][:, 0].astype(int) and it.path not in used]
            if int(n) > len(have):
                raise DatasetError(f"{self.config['root']}: requested {int(n)} images with class {c!r}; "
                                   f"the delivery has {len(have)}")
            out += [DetItem(it.path, c, None, it.boxes) for it in have[:int(n)]]
        return out

    def materialize(self, req: GenRequest, cache_root: Path) -> SyntheticSet:
        out = self.generate(req)  # the delivery is used where it is; its key is its content
        content = content_hash(out, self.companion)
        return SyntheticSet(self.name, content[:20], content, out, Path(self.config["root"]))


DET_GENERATORS.register("cutpaste")(CutPasteDet)
DET_GENERATORS.register("folder")(FolderDet)
