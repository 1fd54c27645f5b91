"""Whole studies through the real console scripts: `scarce-run -m ...` then `scarce report`."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import needs_shared

BIN = Path(sys.executable).parent
TINY = ["model=timm", "model.name=resnet10t", "model.image_size=32", "trainer.max_steps=3",
        "trainer.batch_size=8", "trainer.warmup_steps=0", "synthetic.volume=4"]


def sh(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    p = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p


def read_table(study: Path) -> list[dict]:
    with open(study / "report" / "table.csv") as f:
        return list(csv.DictReader(f))


GENERATORS = {"cutpaste", "demo_oracle", "noise"}  # conf/experiment/demo.yaml's sweep, with real and placebo


@pytest.mark.parametrize("launcher", ["basic", "parallel"])
def test_demo_study_multirun_then_report(tmp_path, launcher):
    extra = [] if launcher == "basic" else ["hydra/launcher=parallel", "hydra.launcher.n_jobs=2"]
    small = ["seeds=[0,1]", "trainer.views=2", "audit.model.image_size=64", *TINY]
    sh(BIN / "scarce-run", "-m", "experiment=demo", *small, *extra,
       cwd=tmp_path)  # relative results_root/cache_root defaults resolve against the cwd
    records = sorted((tmp_path / "results" / "demo" / "records").glob("*.json"))
    # 2 seeds x (real + one placebo, count-matched to the equal volume every generator delivers + 3 synthetic)
    assert len(records) == 2 * (2 + len(GENERATORS))
    assert {json.loads(p.read_text())["status"] for p in records} == {"ok"}
    out = sh(BIN / "scarce", "report", "results/demo", "--verbose", cwd=tmp_path).stdout
    assert "table_csv: " in out and out.splitlines()[-1].endswith("index.html")
    rows = read_table(tmp_path / "results" / "demo")
    assert {r["generator"] for r in rows} == GENERATORS
    manifest = json.loads((Path(__file__).parents[1] / "datasets/splits/demo.json").read_text())
    for row in rows:
        assert row["hardest_class"] == manifest["hardest"]["class"]
        assert row["n_seeds"] == "2"
        for col in ("real_acc_pct", "synthetic_acc_pct", "placebo_acc_pct", "gain_pp", "gain_vs_placebo_pp"):
            assert row[col] != "", col
    assert (tmp_path / "results" / "demo" / "report" / "paired_seeds.png").stat().st_size > 1000
    # rerunning the same sweep finds every ok record and rewrites none of them
    mtimes = [p.stat().st_mtime_ns for p in records]
    again = sh(BIN / "scarce-run", "-m", "experiment=demo", *small, cwd=tmp_path)
    assert sorted((tmp_path / "results" / "demo" / "records").glob("*.json")) == records
    assert [p.stat().st_mtime_ns for p in records] == mtimes
    # each of the 3 x 3 jobs finds its 2 seeds' records (the real jobs share one cell, the placebo jobs another)
    assert (again.stdout + again.stderr).count("ok record exists") == 3 * len(GENERATORS) * 2


@pytest.mark.shared_data
def test_magnetic_tile_tiny_study(tmp_path):
    needs_shared("magnetic_tile")
    sh(BIN / "scarce-run", "-m", "study=mt", "dataset=magnetic_tile", "seed=range(2)",
       "arm=real,placebo,synthetic", f"results_root={tmp_path}", f"cache_root={tmp_path / 'cache'}", *TINY,
       cwd=tmp_path)
    sh(BIN / "scarce", "report", tmp_path / "mt", cwd=tmp_path)
    (row,) = read_table(tmp_path / "mt")
    assert row["dataset"] == "magnetic_tile" and row["n_seeds"] == "2"
    assert row["hardest_class"] in {"blowhole", "break", "crack", "fray", "uneven"}
