"""Tiny detection trees for the detection tests (written by the tests, never real data)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

VOC = """<annotation><size><width>{w}</width><height>{h}</height><depth>1</depth></size>{objects}</annotation>"""
OBJ = "<object><name>{name}</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"


def voc_xml(w: int, h: int, objects: list[tuple[str, int, int, int, int]]) -> str:
    return VOC.format(w=w, h=h, objects="".join(OBJ.format(name=n, x0=a, y0=b, x1=c, y1=d) for n, a, b, c, d in objects))


def write_neu_tree(root: Path, per_class: int = 3, size: int = 40) -> Path:
    """NEU-DET layout: IMAGES/<class>_<n>.jpg + ANNOTATIONS/<class>_<n>.xml, one box per image."""
    from benchmark.detect.data import NEU_CLASSES

    (root / "IMAGES").mkdir(parents=True)
    (root / "ANNOTATIONS").mkdir()
    for ci, c in enumerate(NEU_CLASSES):
        for i in range(per_class):
            rng = np.random.default_rng([ci, i])
            Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(root / "IMAGES" / f"{c}_{i + 1}.jpg")
            (root / "ANNOTATIONS" / f"{c}_{i + 1}.xml").write_text(voc_xml(size, size, [(c, 2 + i, 3, 20 + i, 30)]))
    return root


def write_yolo_tree(root: Path, names: list[str], boxes: dict[str, list[str]], size: int = 32) -> Path:
    """ultralytics layout: data.yaml, images/<stem>.png, labels/<stem>.txt (lines given verbatim)."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "data.yaml").write_text("names:\n" + "".join(f"  {i}: {n}\n" for i, n in enumerate(names)))
    for k, (stem, lines) in enumerate(sorted(boxes.items())):
        img = np.random.default_rng(k).integers(0, 255, (size, size), dtype=np.uint8)
        Image.fromarray(img).save(root / "images" / f"{stem}.png")
        (root / "labels" / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    return root


def tiny_demo_det(tmp: Path, n: int = 24) -> tuple[Path, Path]:
    """A rendered demo_det of n images and its frozen split (hardest class fixed, no pilots): (root, manifest)."""
    from benchmark.detect.demo import render_demo_det
    from benchmark.detect.split import make_det_split

    root = tmp / "demo_det"
    render_demo_det(root, seed=0, n=n)
    manifest = tmp / "demo_det_split.json"
    make_det_split({"dataset": {"name": "demo_det", "task": "detection", "root": str(root)}}, seed=0,
                   pilot_seeds=[], hardest="speck", reason="test fixture", out=manifest)
    return root, manifest


def tiny_overrides(tmp: Path, root: Path, manifest: Path) -> list[str]:
    """Hydra overrides for a seconds-long detection run (1 epoch, 64 px)."""
    return ["experiment=demo_det", f"dataset.root={root}", f"split.manifest={manifest}", f"results_root={tmp / 'results'}",
            f"cache_root={tmp / 'cache'}", "trainer.epochs=1", "trainer.batch=8", "model.image_size=64",
            "synthetic.volume=4", "trainer.eval.batch=8", "threads=2"]
