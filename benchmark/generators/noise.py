"""Noise: a NEGATIVE CONTROL. Images that carry no information about the class they are labelled with.

Adding them to the scarce class should not help, and with enough of them it should hurt (the model learns
that the class looks like anything). A study whose synthetic arm with `generator=noise` comes out
"helpful" shows that the harness (or the seeds, or the budget) cannot tell harmful data from useful data.

Modes:
- `texture`: band-limited random noise (white noise low-pass filtered at a random scale, several octaves),
  scaled to the mean / std of pixel intensities over ALL train images (every class pooled, so no class
  statistic leaks in), sized like a randomly drawn train image of ANY class, grey if the dataset is grey.
- `relabel`: real train images of OTHER classes (the nominal one included), relabelled as the target
  class; spread round-robin over a seeded shuffle. Their masks are dropped (they mark another class).

No masks are emitted. `provenance.csv` says what each output is.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from benchmark.data.base import DatasetError, Item
from benchmark.generators._registry import register_generator
from benchmark.generators.base import GenRequest, Generator
from benchmark.progress.bars import tqdm
from benchmark.generators.sources import class_rng, is_grey, load_source, round_robin, save_output, \
    wanted_counts, write_rows

MODES = ("texture", "relabel")


def band_limited(rng: np.random.Generator, h: int, w: int, channels: int, sigmas: list[float]) -> np.ndarray:
    """(h, w, channels) float noise, zero mean and unit std: a sum of white noise blurred at each sigma
    (one octave per sigma, equal weight), so the spectrum has no peak a class could be recognised by."""
    out = np.zeros((h, w, channels), np.float64)
    for s in sigmas:
        layer = ndimage.gaussian_filter(rng.standard_normal((h, w, channels)), sigma=(s, s, 0), mode="wrap")
        out += layer / max(float(layer.std()), 1e-8)
    return (out - out.mean()) / max(float(out.std()), 1e-8)


@register_generator("noise")
class Noise(Generator):
    name = "noise"
    version = "1"

    def __init__(self, mode: str = "texture", octaves: int = 3, max_sigma: float = 8.0, stats_images: int = 64):
        if mode not in MODES:
            raise ValueError(f"noise: mode={mode!r}; expected one of {list(MODES)}")
        if int(octaves) < 1 or float(max_sigma) < 0.5 or int(stats_images) < 1:
            raise ValueError(f"noise: need octaves >= 1, max_sigma >= 0.5, stats_images >= 1; got {octaves}, "
                             f"{max_sigma}, {stats_images}")
        super().__init__(mode=mode, octaves=int(octaves), max_sigma=float(max_sigma), stats_images=int(stats_images))

    def _pooled_stats(self, req: GenRequest) -> tuple[float, float, bool]:
        """(mean, std, grey) of pixel values over a seeded sample of train images of every class."""
        pool = sorted(req.train, key=lambda it: it.path)
        rng = class_rng(req.seed, "*", "noise-stats")
        picks = [pool[i] for i in sorted(rng.permutation(len(pool))[:self.config["stats_images"]])]
        arrays = [np.asarray(load_source(req, it)[0], np.float64) for it in picks]
        values = np.concatenate([a.ravel() for a in arrays])
        grey = all(is_grey(req.dataset.abspath(it.path)) for it in picks)
        return float(values.mean()), float(values.std()), grey

    def _texture(self, rng, req: GenRequest, stats, size_pool: list[Item], sizes: dict) -> tuple[Image.Image, dict]:
        mean, std, grey = stats
        src = size_pool[int(rng.integers(len(size_pool)))]
        if src.path not in sizes:
            with Image.open(req.dataset.abspath(src.path)) as im:  # header only: the size, not the pixels
                sizes[src.path] = im.size
        w, h = sizes[src.path]
        lo, hi = 0.5, self.config["max_sigma"]
        sigmas = sorted(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) for _ in range(self.config["octaves"]))
        a = band_limited(rng, h, w, 1 if grey else 3, sigmas) * std + mean
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        img = Image.fromarray(a[..., 0] if grey else a)
        return img, {"size_of": src.path, "sigmas": ";".join(f"{s:.4f}" for s in sigmas)}

    def generate(self, req: GenRequest, out_dir: Path) -> list[Item]:
        out_dir = Path(out_dir)
        wanted = wanted_counts(req, self.name)
        items, rows = [], []
        if self.config["mode"] == "texture":
            stats, size_pool, sizes = self._pooled_stats(req), sorted(req.train, key=lambda it: it.path), {}
        with tqdm(total=sum(wanted.values()), desc=f"noise ({self.config['mode']})", unit="img") as bar:
            for c, n in wanted.items():
                rng = class_rng(req.seed, c, "noise")
                if self.config["mode"] == "texture":
                    made = (self._texture(rng, req, stats, size_pool, sizes) for _ in range(n))
                else:
                    others = sorted((it for it in req.train if it.label not in wanted), key=lambda it: it.path)
                    if not others:
                        raise DatasetError(f"noise: relabel needs train images of classes other than "
                                           f"{sorted(wanted)}; the train split has none")
                    made = ((load_source(req, it)[0], {"source": it.path, "source_label": it.label})
                            for it in round_robin(others, n, rng))
                for i, (img, info) in enumerate(made):
                    items.append(save_output(out_dir, c, i, img, None))
                    rows.append({"path": items[-1].path, "label": c, "mode": self.config["mode"], **info})
                    bar.update(1)
        write_rows(out_dir / "provenance.csv", rows)
        return items
