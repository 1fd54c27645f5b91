"""Shared fixtures: a tiny on-disk dataset built by the tests (never real data copied into the repo)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark import PROJECT_ROOT
from benchmark.data.base import Dataset, Item
from tests.slurm_cluster import slurm_cluster  # noqa: F401  one local SLURM cluster per session, for every SLURM test

SHARED = PROJECT_ROOT.parent / "shared" / "data"


def write_tiny_dataset(root: Path, n: dict[str, int] | None = None, size: int = 32) -> Dataset:
    """imagefolder layout `root/images/<class>/*.png` + `root/masks/<class>/<stem>.png`: classes with
    distinct mean brightness (learnable), defect classes with a square mask."""
    n = n or {"good": 12, "hole": 8, "scratch": 6}
    items = []
    images, masks = root / "images", root / "masks"
    for ci, (label, count) in enumerate(sorted(n.items())):
        (images / label).mkdir(parents=True, exist_ok=True)
        (masks / label).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            rng = np.random.default_rng([ci, i])
            img = rng.integers(0, 40, (size, size), dtype=np.uint8) + 60 * ci
            rel = f"{label}/{label}_{i:03d}.png"
            Image.fromarray(img).save(images / rel)
            mask_rel = None
            if label != "good":
                m = np.zeros((size, size), np.uint8)
                m[8:16, 8:16] = 255
                mask_rel = str(masks / label / f"{label}_{i:03d}.png")
                Image.fromarray(m).save(mask_rel)
            items.append(Item(rel, label, mask_rel))
    return Dataset("imagefolder", images, sorted(n), "good", items)


@pytest.fixture
def tiny_dataset(tmp_path) -> Dataset:
    return write_tiny_dataset(tmp_path / "tiny")


def needs_shared(name: str) -> Path:
    path = SHARED / name
    if not path.is_dir():
        pytest.skip(f"{path} not present (real data lives beside the project root)")
    return path


# Lines a test wants in the summary of plain `pytest -q` (no -s needed): e.g. the SLURM job IDs it submitted.
SUMMARY_LINES: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if SUMMARY_LINES:
        terminalreporter.section("submitted jobs")
        for line in SUMMARY_LINES:
            terminalreporter.write_line(line)
