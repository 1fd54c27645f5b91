"""`demo_oracle`: a POSITIVE CONTROL. New images of the requested classes drawn from the demo's TRUE distribution.

The demo dataset is procedural (:mod:`benchmark.data.demo`), so its own renderer can draw images that no
split holds: the same texture, defect and grain model, the same 64x64 grey PNGs and binary masks (defect
classes), from fresh random streams. A perfect generator could do no better; a synthetic arm with it should
help the scarce class. A study in which it does not come out helpful is too small (too few seeds, test images
or steps) to see real information, whatever it says about other generators. `noise` is the negative control:
the two bracket what a study can resolve (docs/generators.md).

Why not `oracle`: issue 18 also plans an `oracle` ARM (real train images of the target class withheld by the
split, added count-matched). `arm=oracle` and `generator=oracle` in one cell, one run ID and one report row
would read as the same thing; this is a generator, and only for `demo`.

Seed streams, disjoint from the dataset's by construction. The demo renders image i of class index ci with
`default_rng([render_seed, ci, i])`: three 32-bit words, which numpy's SeedSequence zero-pads to its 4-word pool
(so [a, b, c] and [a, b, c, 0] are one stream). This generator renders output j of class index ci with
`default_rng([seed, ci, j, NAMESPACE])`, NAMESPACE a fixed non-zero word: its 4th word is never 0, so its
entropy differs from that of every demo image, for any render seed below 2**32 (the committed one is 0).
SeedSequence maps a pool's worth (<= 4 words) of entropy bijectively onto its pool (each mixing step is
invertible), and its first 4 output words bijectively from the pool, so distinct entropy gives distinct PCG64
generators. tests/generators/test_demo_oracle.py also checks that no output is byte-identical to, or within
the audit's hash threshold of, any demo image.

Outputs per class c: `c/c_00000.png` (L) and, for defect classes, `c/c_00000_mask.png` (L, 0/255), plus
`provenance.csv` with the entropy words of each output.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from benchmark.data.base import DatasetError, Item
from benchmark.data.demo import DEMO_COUNTS, render_image
from benchmark.generators._registry import register_generator
from benchmark.generators.base import GenRequest, Generator, SyntheticSet
from benchmark.generators.sources import save_output, wanted_counts, write_rows

DATASET = "demo"
CLASS_INDEX = {c: i for i, c in enumerate(DEMO_COUNTS)}  # the renderer's own class index (its seeding order)
# A fixed non-zero 32-bit word (sha256 of "scarce-bench demo_oracle"): the 4th entropy word, which no demo image has.
NAMESPACE = int.from_bytes(hashlib.sha256(b"scarce-bench demo_oracle").digest()[:4], "little") or 1
WORD = 2 ** 32


def oracle_entropy(seed: int, label: str, j: int) -> list[int]:
    """The entropy words of output j of class `label`: [seed, class index, j, NAMESPACE], each one 32-bit word."""
    return [int(seed), CLASS_INDEX[label], int(j), NAMESPACE]


def demo_entropy(render_seed: int, label: str, i: int) -> list[int]:
    """The entropy words the demo renders its image i of `label` with (benchmark.data.demo.render_demo)."""
    return [int(render_seed), CLASS_INDEX[label], int(i)]


def config_mistake(err: Exception) -> Exception:
    """`err` marked as a config mistake (as the protocol's own checks mark theirs): `scarce-run` prints its one
    line and exits 2 instead of a traceback. Raised before any set, audit or record is written."""
    err.config_error = True
    return err


def check_request(req: GenRequest) -> None:
    """Refuse any dataset but the demo, and seeds or counts that do not fit one 32-bit entropy word."""
    if req.dataset.name != DATASET:
        raise config_mistake(DatasetError(
            f"demo_oracle: dataset {req.dataset.name!r} is not supported; expected dataset=demo (it draws new "
            f"images with the demo's own renderer, benchmark/data/demo.py)"))
    if not 0 <= int(req.seed) < WORD:
        raise config_mistake(ValueError(f"demo_oracle: generator.seed={req.seed}; expected an integer in [0, 2**32)"))
    unknown = sorted(set(req.dataset.classes) - set(CLASS_INDEX))
    if unknown:
        raise DatasetError(f"demo_oracle: dataset demo at {req.dataset.root} has classes {unknown} that the "
                           f"renderer does not draw; expected classes among {sorted(CLASS_INDEX)}")
    big = {c: n for c, n in req.counts.items() if int(n) >= WORD}
    if big:
        raise ValueError(f"demo_oracle: synthetic.volume gives {big}; expected fewer than 2**32 images per class")


@register_generator("demo_oracle")
class DemoOracle(Generator):
    name = "demo_oracle"
    version = "1"

    def __init__(self):
        super().__init__()  # no options: the renderer is the demo's, the stream is (generator.seed, class, j)

    def materialize(self, req: GenRequest, cache_root: Path) -> SyntheticSet:
        check_request(req)  # before any cache directory is made
        return super().materialize(req, cache_root)

    def generate(self, req: GenRequest, out_dir: Path) -> list[Item]:
        check_request(req)
        out_dir = Path(out_dir)
        items, rows = [], []
        for c, n in wanted_counts(req, self.name, allow_nominal=True).items():
            for j in range(n):
                words = oracle_entropy(req.seed, c, j)
                img, mask = render_image(c, np.random.default_rng(words))
                items.append(save_output(out_dir, c, j, Image.fromarray(img), mask))
                rows.append({"path": items[-1].path, "label": c, "mask": items[-1].mask or "",
                             "entropy": " ".join(map(str, words))})
        write_rows(out_dir / "provenance.csv", rows)
        return items
