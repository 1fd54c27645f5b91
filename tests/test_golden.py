"""Golden records (tests/golden.py): a refactor must leave these cells' numbers where they are.

A difference here is either a bug or a deliberate change; a deliberate one is its own commit that says
why and rewrites the records with ``python -m tests.golden --write``.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import SHARED
from tests.golden import CELLS, GOLDEN, NEEDS_SHARED, detection_cell, run_cell, summary

PINNED = json.loads(GOLDEN.read_text())


def _compare(name: str, got: list[dict]) -> None:
    want = PINNED[name]
    assert [g["run_id"] for g in got] == [w["run_id"] for w in want], f"{name}: the cell's identity moved"
    for g, w in zip(got, want):
        assert g["status"] == w["status"] == "ok"
        assert g["metrics"] == pytest.approx(w["metrics"], abs=1e-9), name
        # probabilities and scores are stored to 6 decimals (only a last-digit rounding flip may differ);
        # boxes in pixels to 2 decimals
        for key, atol in (("probs", 2e-6), ("scores", 2e-6), ("boxes", 0.011)):
            if key in w:
                a, b = w[key], g[key]
                assert len(a) == len(b), (name, key)
                for x, y in zip(a, b):
                    np.testing.assert_allclose(np.asarray(y, float), np.asarray(x, float), atol=atol, rtol=0)
        for key in ("paths", "classes"):
            if key in w:
                assert g[key] == w[key], (name, key)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CELLS))
def test_golden_cell(name, tmp_path):
    if name in NEEDS_SHARED and not (SHARED / "magnetic_tile").is_dir():
        pytest.skip(f"{SHARED / 'magnetic_tile'} not present (real data lives beside the project root)")
    _compare(name, [summary(r) for r in run_cell(CELLS[name], tmp_path)])


@pytest.mark.slow
def test_golden_detection_cell(tmp_path):
    _compare("demo_det/yolo/synthetic", [summary(r) for r in detection_cell(tmp_path)])


def test_golden_records_cover_every_cell():
    assert set(PINNED) == set(CELLS) | {"demo_det/yolo/synthetic"}
    assert all(r["status"] == "ok" for recs in PINNED.values() for r in recs)
