"""`demo`: a small procedural surface-defect dataset that the project renders itself (no downloads).

64x64 grey textures (two octaves of smooth noise, an illumination gradient, faint specks, fine grain)
with five defect classes drawn together with their binary masks. `pit` is the deliberately rare and
subtle class: a few tiny low-contrast dark dots, close to the texture's own specks and to small holes.

Only numpy arithmetic is used (no scipy/skimage filters), and the per-image generator is seeded from
(seed, class index, image index), so re-rendering reproduces the committed images pixel for pixel.

    python -m benchmark.data.demo [--out DIR] [--seed 0]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from benchmark import PROJECT_ROOT
from benchmark.data._registry import register_dataset
from benchmark.data.base import Dataset, DatasetError
from benchmark.data.imagefolder import resolve_root, scan_class_tree

if __name__ == "__main__":
    # `python -m` runs a second copy of this file, but the package has already imported (and registered)
    # benchmark.data.demo; registering again would clash, so hand over to that module's CLI.
    import sys

    from benchmark.data.demo import main as _main

    sys.exit(_main())

SIZE = 64
NOMINAL = "good"
# Order matters only for seeding (class index); the taxonomy itself is sorted by the adapter.
# pit is scarce where it matters, in train (21 of 60 with the demo's split fractions, conf/dataset/demo.yaml),
# yet has 30 test images, so that one test image moves its accuracy by 3.3 points, not 17.
DEMO_COUNTS = {"good": 150, "scratch": 80, "hole": 80, "crack": 80, "stain": 80, "pit": 60}

_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
Segments = list[tuple[float, float, float, float]]


def default_root() -> Path:
    return PROJECT_ROOT / "datasets" / "demo"


# ----------------------------------------------------------------------------------------- texture
def smooth_noise(rng: np.random.Generator, cells: int) -> np.ndarray:
    """Value noise: a (cells+1)^2 random grid, smoothstep-interpolated up to SIZE x SIZE (unit std-ish)."""
    grid = rng.standard_normal((cells + 1, cells + 1))
    u = np.arange(SIZE) * (cells / SIZE)
    i0 = u.astype(int)
    f = u - i0
    f = f * f * (3 - 2 * f)  # smoothstep hides the grid's cell boundaries
    rows = grid[i0] * (1 - f)[:, None] + grid[i0 + 1] * f[:, None]
    return rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]


def dots(cx: np.ndarray, cy: np.ndarray, radius: np.ndarray, soft: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Union of small round dots: (soft profile in [0, 1], hard mask)."""
    prof = np.zeros((SIZE, SIZE))
    for x, y, r in zip(cx, cy, radius):
        d = np.sqrt((_XX - x) ** 2 + (_YY - y) ** 2)
        prof = np.maximum(prof, np.clip((r + soft - d) / (2 * soft), 0, 1))
    return prof, prof > 0.25


def texture(rng: np.random.Generator) -> np.ndarray:
    """Smooth surface without grain (grain is added after the defect so the defect is grainy too)."""
    img = np.full((SIZE, SIZE), rng.uniform(95, 165))
    img += rng.uniform(5, 12) * smooth_noise(rng, 4) + rng.uniform(2, 5) * smooth_noise(rng, 12)
    angle, strength = rng.uniform(0, 2 * np.pi), rng.uniform(0, 25)
    img += strength * ((_XX - 32) * np.cos(angle) + (_YY - 32) * np.sin(angle)) / SIZE
    # Faint natural specks in every image (good ones too), so a pit is not just "any dark dot".
    n = rng.integers(0, 5)
    speck, _ = dots(rng.uniform(2, 62, n), rng.uniform(2, 62, n), rng.uniform(0.5, 1.2, n))
    return img - rng.uniform(4, 10) * speck


# ----------------------------------------------------------------------------------------- strokes
def stroke(segments: Segments, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Anti-aliased polyline: (profile in [0, 1], mask) from each pixel's distance to the segments."""
    dist = np.full((SIZE, SIZE), np.inf)
    for x0, y0, x1, y1 in segments:
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((_XX - x0) * dx + (_YY - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
        dist = np.minimum(dist, np.sqrt((_XX - x0 - t * dx) ** 2 + (_YY - y0 - t * dy) ** 2))
    prof = np.clip(width / 2 + 0.5 - dist, 0, 1)
    return prof, dist <= width / 2 + 0.5


def polyline(xs: np.ndarray, ys: np.ndarray) -> Segments:
    return [(xs[k], ys[k], xs[k + 1], ys[k + 1]) for k in range(len(xs) - 1)]


def random_walk(rng: np.random.Generator, x: float, y: float, heading: float, steps: int,
                jitter: float) -> tuple[np.ndarray, np.ndarray]:
    """Jagged path: fixed-ish step length, heading wobbling around its start (kept inside the frame)."""
    angles = heading + np.cumsum(rng.normal(0, jitter, steps)) * 0.5 + rng.normal(0, jitter, steps)
    lengths = rng.uniform(2.0, 4.0, steps)
    xs = np.clip(x + np.concatenate([[0], np.cumsum(lengths * np.cos(angles))]), 1, SIZE - 2)
    ys = np.clip(y + np.concatenate([[0], np.cumsum(lengths * np.sin(angles))]), 1, SIZE - 2)
    return xs, ys


# ----------------------------------------------------------------------------------------- defects
def draw_scratch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    segs: Segments = []
    for _ in range(rng.integers(1, 3)):
        x, y, a = rng.uniform(8, 56), rng.uniform(8, 56), rng.uniform(0, 2 * np.pi)
        length = rng.uniform(15, 40)
        if rng.random() < 0.5:  # straight segment
            segs.append((x, y, x + length * np.cos(a), y + length * np.sin(a)))
        else:  # arc of a large circle through (x, y)
            r = rng.uniform(20, 60)
            th = a + np.linspace(0, length / r, 12) * rng.choice([-1, 1])
            cx, cy = x - r * np.cos(a), y - r * np.sin(a)
            segs += polyline(cx + r * np.cos(th), cy + r * np.sin(th))
    prof, mask = stroke(segs, rng.uniform(0.8, 1.6))
    return rng.choice([-1, 1]) * rng.uniform(25, 45) * prof, mask


def draw_hole(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x, y, r = rng.uniform(10, 54), rng.uniform(10, 54), rng.uniform(2.5, 6)
    d = np.sqrt((_XX - x) ** 2 + (_YY - y) ** 2)
    core = np.clip(r + 0.5 - d, 0, 1)
    rim = np.clip(1 - np.abs(d - (r + 1.0)) / 1.2, 0, 1)  # raised bright lip around the hole
    return rim * rng.uniform(10, 25) - core * rng.uniform(45, 80), d <= r + 1.0


def draw_crack(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    heading = rng.uniform(0, 2 * np.pi)
    xs, ys = random_walk(rng, rng.uniform(14, 50), rng.uniform(14, 50), heading, rng.integers(8, 15), 0.45)
    segs = polyline(xs, ys)
    for _ in range(rng.integers(1, 4)):  # branches leave from a vertex at an angle
        k = rng.integers(1, len(xs))
        turn = rng.choice([-1, 1]) * rng.uniform(0.5, 1.2)
        bx, by = random_walk(rng, xs[k], ys[k], heading + turn, rng.integers(3, 7), 0.45)
        segs += polyline(bx, by)
    prof, mask = stroke(segs, rng.uniform(0.8, 1.5))
    return -rng.uniform(35, 60) * prof, mask


def draw_stain(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x, y = rng.uniform(16, 48), rng.uniform(16, 48)
    soft = rng.uniform(0.35, 0.6)
    alpha = np.zeros((SIZE, SIZE))
    for _ in range(rng.integers(2, 5)):  # a blotch = union of overlapping soft ellipses
        ex, ey = x + rng.normal(0, 4), y + rng.normal(0, 4)
        a, b, th = rng.uniform(5, 12), rng.uniform(4, 9), rng.uniform(0, np.pi)
        u = ((_XX - ex) * np.cos(th) + (_YY - ey) * np.sin(th)) / a
        v = (-(_XX - ex) * np.sin(th) + (_YY - ey) * np.cos(th)) / b
        s = np.clip((1 - np.sqrt(u * u + v * v)) / soft, 0, 1)
        alpha = np.maximum(alpha, s * s * (3 - 2 * s))
    return rng.choice([-1, 1], p=[0.7, 0.3]) * rng.uniform(12, 20) * alpha, alpha >= 0.5


def draw_pit(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = rng.integers(2, 5)
    prof, mask = dots(rng.uniform(5, 59, n), rng.uniform(5, 59, n), rng.uniform(0.6, 1.2, n))
    return -rng.uniform(11, 20) * prof, mask


DRAW = {"scratch": draw_scratch, "hole": draw_hole, "crack": draw_crack, "stain": draw_stain, "pit": draw_pit}


def render_image(label: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """One (uint8 image, bool mask or None) of class `label`."""
    img = texture(rng)
    mask = None
    if label != NOMINAL:
        delta, mask = DRAW[label](rng)
        img = img + delta
    img = img + rng.normal(0, rng.uniform(2.5, 5.0), (SIZE, SIZE))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), mask


def render_demo(out_dir: Path, seed: int = 0) -> dict[str, int]:
    """Write images/<class>/<class>_<i>.png and masks/<class>/... (defects only); return counts."""
    out_dir = Path(out_dir)
    for ci, (label, count) in enumerate(DEMO_COUNTS.items()):
        img_dir, mask_dir = out_dir / "images" / label, out_dir / "masks" / label
        img_dir.mkdir(parents=True, exist_ok=True)
        written = set()
        for i in range(count):
            name = f"{label}_{i:03d}.png"
            img, mask = render_image(label, np.random.default_rng([seed, ci, i]))
            Image.fromarray(img).save(img_dir / name, optimize=True)
            if mask is not None:
                mask_dir.mkdir(parents=True, exist_ok=True)
                Image.fromarray(mask.astype(np.uint8) * 255).save(mask_dir / name, optimize=True)
            written.add(name)
        # Drop stale renders (e.g. from larger counts) so the folder always matches DEMO_COUNTS.
        for d in (img_dir, mask_dir):
            for p in d.glob(f"{label}_*.png") if d.is_dir() else ():
                if p.name not in written:
                    p.unlink()
    return dict(DEMO_COUNTS)


@register_dataset("demo")
def demo(root: str | Path | None = None, **_) -> Dataset:
    root = default_root() if root is None else resolve_root(root)
    images = root / "images"
    if not images.is_dir() or not any(images.glob("*/*.png")):
        raise DatasetError(f"{images}: demo images not found; render them with "
                           f"`python -m benchmark.data.demo --out {root}`")
    masks = root / "masks"
    classes, items = scan_class_tree(root, images, masks if masks.is_dir() else None, (".png",))
    return Dataset(name="demo", root=root, classes=classes, nominal=NOMINAL, items=items,
                   meta={"procedural": True})


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Render the procedural demo dataset.")
    ap.add_argument("--out", type=Path, default=default_root(), help="output directory")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    counts = render_demo(args.out, args.seed)
    print(f"rendered {sum(counts.values())} images into {args.out}: {counts}")
