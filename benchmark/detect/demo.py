"""`demo_det`: a procedural detection set the project renders itself (no downloads, commit-sized).

128x128 grey textured backgrounds with 1-3 objects each, drawn with their exact boxes (the tight box of
the drawn pixels). Four classes: `blob` (dark ellipse), `bar` (bright thin rectangle at an angle),
`ring` (dark annulus) and the rare, subtle `speck` (a small low-contrast dot, in few images). Seeded per
image from (seed, image index), so re-rendering reproduces the committed files pixel for pixel.

    python -m benchmark.detect.demo [--out DIR] [--seed 0] [--n 160]

Writes an ultralytics folder: `images/demo_<i>.png`, `labels/demo_<i>.txt`, `data.yaml`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from benchmark import PROJECT_ROOT
from benchmark.detect.labels import yolo_lines

SIZE = 128
CLASSES = ["blob", "bar", "ring", "speck"]
CLASS_P = [0.36, 0.3, 0.26, 0.08]  # speck is the scarce class
N_IMAGES = 160
_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)


def background(rng: np.random.Generator) -> np.ndarray:
    """(SIZE, SIZE) float texture: bicubic-upsampled noise at two scales plus fine grain."""
    img = np.full((SIZE, SIZE), rng.uniform(100, 160))
    for cells, amp in ((5, rng.uniform(6, 14)), (17, rng.uniform(2, 6))):
        grid = rng.standard_normal((cells, cells)).astype(np.float32)
        up = np.asarray(Image.fromarray(grid).resize((SIZE, SIZE), Image.Resampling.BICUBIC), dtype=np.float64)
        img += amp * up
    return img


def draw(label: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(delta (SIZE, SIZE) to add, profile in [0, 1]) for one object centred somewhere inside the frame."""
    cx, cy = rng.uniform(20, SIZE - 20, 2)
    if label == "blob":
        a, b, th = rng.uniform(6, 14), rng.uniform(4, 10), rng.uniform(0, np.pi)
        u = ((_XX - cx) * np.cos(th) + (_YY - cy) * np.sin(th)) / a
        v = (-(_XX - cx) * np.sin(th) + (_YY - cy) * np.cos(th)) / b
        prof = np.clip((1 - np.sqrt(u * u + v * v)) * 4, 0, 1)
        return -rng.uniform(40, 70) * prof, prof
    if label == "bar":
        length, width, th = rng.uniform(14, 30), rng.uniform(2, 4), rng.uniform(0, np.pi)
        u = (_XX - cx) * np.cos(th) + (_YY - cy) * np.sin(th)
        v = -(_XX - cx) * np.sin(th) + (_YY - cy) * np.cos(th)
        prof = np.clip(width / 2 + 0.5 - np.abs(v), 0, 1) * np.clip(length / 2 + 0.5 - np.abs(u), 0, 1)
        return rng.uniform(40, 70) * prof, prof
    d = np.sqrt((_XX - cx) ** 2 + (_YY - cy) ** 2)
    if label == "ring":
        r, w = rng.uniform(6, 12), rng.uniform(1.5, 3)
        prof = np.clip(w / 2 + 0.5 - np.abs(d - r), 0, 1)
        return -rng.uniform(40, 70) * prof, prof
    r = rng.uniform(1.8, 3.0)  # speck: small and faint, close to the texture's own variation
    prof = np.clip(r + 0.5 - d, 0, 1)
    return -rng.uniform(18, 30) * prof, prof


def box_of(prof: np.ndarray, cls: int) -> list[float] | None:
    """Tight box [cls, x0, y0, x1, y1] (pixel edges) of the pixels the object visibly changed."""
    ys, xs = np.nonzero(prof > 0.25)
    if ys.size == 0:
        return None
    return [cls, float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def render_image(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 image (SIZE, SIZE), boxes (n, 5)); objects never overlap (a redraw is tried otherwise)."""
    img = background(rng)
    taken = np.zeros((SIZE, SIZE), bool)
    boxes = []
    for _ in range(int(rng.integers(1, 4))):
        cls = int(rng.choice(len(CLASSES), p=CLASS_P))
        for _try in range(10):
            delta, prof = draw(CLASSES[cls], rng)
            box = box_of(prof, cls)
            if box is None:
                continue
            _, x0, y0, x1, y1 = (int(v) for v in box)
            if not taken[max(0, y0 - 2):y1 + 2, max(0, x0 - 2):x1 + 2].any():
                img += delta
                taken[y0:y1, x0:x1] = True
                boxes.append(box)
                break
    img += rng.normal(0, rng.uniform(2, 4), (SIZE, SIZE))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), np.asarray(boxes, dtype=np.float64).reshape(-1, 5)


def render_demo_det(out_dir: Path, seed: int = 0, n: int = N_IMAGES) -> dict[str, int]:
    """Write the folder; returns object counts per class (and `images`)."""
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    (out_dir / "labels").mkdir(parents=True, exist_ok=True)
    counts = {c: 0 for c in CLASSES}
    for i in range(n):
        img, boxes = render_image(np.random.default_rng([seed, i]))
        Image.fromarray(img).save(out_dir / "images" / f"demo_{i:03d}.png", optimize=True)
        (out_dir / "labels" / f"demo_{i:03d}.txt").write_text(yolo_lines(boxes, (SIZE, SIZE)))
        for c in boxes[:, 0].astype(int):
            counts[CLASSES[c]] += 1
    for p in (out_dir / "images").glob("demo_*.png"):  # drop stale renders of a larger n
        if int(p.stem.split("_")[1]) >= n:
            p.unlink()
            (out_dir / "labels" / f"{p.stem}.txt").unlink(missing_ok=True)
    names = "\n".join(f"  {i}: {c}" for i, c in enumerate(CLASSES))
    (out_dir / "data.yaml").write_text(f"# procedural demo_det (benchmark/detect/demo.py, seed {seed})\n"
                                       f"path: .\ntrain: images\nval: images\nnames:\n{names}\n")
    return {"images": n, **counts}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(PROJECT_ROOT / "datasets" / "demo_det"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=N_IMAGES)
    args = ap.parse_args(argv)
    print(render_demo_det(Path(args.out), args.seed, args.n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
