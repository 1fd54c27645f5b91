"""Golden records (tests/golden.py): a refactor must leave these cells' numbers where they are.

A difference here is either a bug or a deliberate change; a deliberate one is its own commit that says
why and rewrites the records with ``python -m tests.golden --write`` (and ``--write --platform`` on each
platform that keeps its own records). On a platform with its own records (``tests/golden/platforms/``) the
comparison is tight; every platform is also held to the reference records at the portable tolerance.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import SHARED
from tests.golden import CELLS, GOLDEN, NEEDS_SHARED, detection_cell, platform_file, portable, run_cell, summary

PINNED = json.loads(GOLDEN.read_text())
HERE = json.loads(platform_file().read_text()) if platform_file().is_file() else {}
# probabilities and scores are stored to 6 decimals (only a last-digit rounding flip may differ); boxes in pixels to 2
TIGHT = {"probs": 2e-6, "scores": 2e-6, "boxes": 0.011}


def _compare(name: str, got: list[dict]) -> None:
    """Tight against this platform's own records where it has them; portable against the reference records."""
    if name in HERE:
        _compare_to(name, got, HERE[name], TIGHT, 1e-9, ("paths", "classes"))
    else:
        print(f"golden {name}: no records for this platform ({platform_file().name}); portable comparison only")
    _compare_to(name, got, PINNED[name], *portable(name))


def _compare_to(name: str, got: list[dict], want: list[dict], tol: dict, metric_atol: float | None,
                exact: tuple = ("paths",)) -> None:
    assert [g["run_id"] for g in got] == [w["run_id"] for w in want], f"{name}: the cell's identity moved"
    for g, w in zip(got, want):
        assert g["status"] == w["status"] == "ok"
        assert set(g["metrics"]) == set(w["metrics"]), name
        if metric_atol is not None:
            assert g["metrics"] == pytest.approx(w["metrics"], abs=metric_atol), name
        for key, atol in tol.items():
            if key in w:
                a, b = w[key], g[key]
                assert len(a) == len(b), (name, key)
                for x, y in zip(a, b):
                    np.testing.assert_allclose(np.asarray(y, float), np.asarray(x, float), atol=atol, rtol=0)
        for key in exact:
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
    for f in platform_file().parent.glob("*.json"):  # a platform's records: the same cells and identities
        recs = json.loads(f.read_text())
        assert set(recs) <= set(PINNED), f.name
        assert all([r["run_id"] for r in recs[n]] == [r["run_id"] for r in PINNED[n]] for n in recs), f.name


def test_platform_records_agree_with_the_reference_portably():
    """Every platform's pinned records sit within the portable tolerance of the reference: the tolerance the
    other platforms are held to is wide enough for what kernels changed between the platforms we have seen."""
    for f in platform_file().parent.glob("*.json"):
        for name, recs in json.loads(f.read_text()).items():
            _compare_to(name, recs, PINNED[name], *portable(name))


def test_portable_comparison_still_catches_a_moved_number():
    """The portable tolerance is no licence: a feature-bank probability moved by 0.01, or a reordered file, fails."""
    name = "demo/featurebank/placebo"
    moved = json.loads(json.dumps(PINNED[name]))
    moved[0]["probs"][0][0] += 0.01
    with pytest.raises(AssertionError):
        _compare_to(name, moved, PINNED[name], *portable(name))
    swapped = json.loads(json.dumps(PINNED["demo/finetune/real"]))
    swapped[0]["paths"][:2] = swapped[0]["paths"][1::-1]
    with pytest.raises(AssertionError):
        _compare_to("demo/finetune/real", swapped, PINNED["demo/finetune/real"], *portable("demo/finetune/real"))
