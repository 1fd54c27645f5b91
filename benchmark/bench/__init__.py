"""`scarce bench`: engines side by side on one protocol and one frozen split, in one invocation.

(a) naive baseline (timm + ImageFolder + DataLoader, decoding every step, one run per process),
(b) the fine-tune engine, (c) the feature-bank engine; then a full feature-bank study from a cold
cache to the report, and joblib with 1 vs 2 workers. Every run is a child process whose wall time
and peak memory are measured from outside (os.wait4), so the figures are comparable.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

BIN = Path(sys.executable).parent


def timed(cmd: list, cwd: Path | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB of the child, stdout); raises with the child's stderr on failure."""
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen([str(c) for c in cmd], cwd=cwd, stdout=fo, stderr=fe, text=True)
        _, status, usage = os.wait4(p.pid, 0)  # the child's own rusage, not all children's
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read(), fe.read()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{err[-3000:]}")
    return wall, usage.ru_maxrss / 1024, out


def study_accs(results_root: Path, study: str) -> list[float]:
    recs = [json.loads(p.read_text()) for p in sorted((results_root / study / "records").glob("*.json"))]
    return [r["metrics"]["hardest_class_accuracy"] for r in recs if r["status"] == "ok"]


def common_overrides(p: dict, root: Path, cache: str = "cache") -> list[str]:
    return [f"dataset={p['dataset']}", f"model.image_size={p['image_size']}", f"results_root={root}",
            f"cache_root={root / cache}", "force=true"]


def bench_naive(p: dict, root: Path) -> dict:
    from benchmark.split.manifest import default_manifest_path

    ds_root = _dataset_root(p["dataset"])
    walls, rss, accs = [], [], []
    for s in range(p["seeds"]):
        wall, mem, out = timed([sys.executable, "-m", "benchmark.bench.naive", "--manifest",
                                default_manifest_path(p["dataset"]), "--root", ds_root, "--seed", s, "--steps",
                                p["steps"], "--image-size", p["image_size"], "--threads", p["threads"]])
        walls.append(wall)
        rss.append(mem)
        accs.append(json.loads(out.strip().splitlines()[-1])["hardest_acc"])
    return _row("naive (ImageFolder + DataLoader)", walls, rss, accs, p, runs=p["seeds"])


def bench_finetune(p: dict, root: Path) -> dict:
    walls, rss = [], []
    for s in range(p["seeds"]):  # one process per run, like naive; the first one fills the decode cache
        wall, mem, _ = timed([BIN / "scarce-run", *common_overrides(p, root), "study=bench_ft", "arm=real",
                              f"seed={s}", f"trainer.max_steps={p['steps']}", f"threads={p['threads']}"])
        walls.append(wall)
        rss.append(mem)
    return _row("finetune engine", walls, rss, study_accs(root, "bench_ft"), p, runs=p["seeds"])


def bench_featurebank(p: dict, root: Path) -> dict:
    seeds = ",".join(str(s) for s in range(p["fb_seeds"]))
    wall, mem, _ = timed([BIN / "scarce-run", *common_overrides(p, root), "study=bench_fb", "arm=real",
                          "trainer=featurebank", f"seeds=[{seeds}]", f"threads={p['threads']}"])
    row = _row("featurebank engine", [wall / p["fb_seeds"]], [mem], study_accs(root, "bench_fb"), p,
               runs=p["fb_seeds"], steps=None)
    row["note"] = f"one process, {p['fb_seeds']} seeds vectorised, cold feature cache"
    return row


def _row(engine: str, walls: list[float], rss: list[float], accs: list[float], p: dict, runs: int,
         steps: int | None = -1) -> dict:
    per_run = sum(walls) / len(walls)
    imgs = p["steps"] * p["batch_size"] if steps == -1 else None
    return {"engine": engine, "runs": runs, "s_per_run": round(per_run, 2),
            "images_per_s": round(imgs / per_run, 1) if imgs else None,
            "peak_mem_mb": round(max(rss), 0), "hardest_acc_mean": round(100 * sum(accs) / len(accs), 1),
            "note": ""}


def _dataset_root(name: str) -> str:
    from benchmark.data import create_dataset

    return str(create_dataset(name).root)


def bench_study(p: dict, root: Path) -> dict:
    """Full feature-bank study, 3 arms x N seeds, cold cache -> report."""
    seeds = ",".join(str(s) for s in range(p["study_seeds"]))
    t0 = time.perf_counter()
    sweep, mem, _ = timed([BIN / "scarce-run", "-m", *common_overrides(p, root, "study_cache"), "study=bench_study",
                           "trainer=featurebank", "arm=real,placebo,synthetic", f"seeds=[{seeds}]"])
    timed([BIN / "scarce", "report", root / "bench_study"])
    table = pd.read_csv(root / "bench_study" / "report" / "table.csv")
    runs = 3 * p["study_seeds"]
    return {"study": f"{p['dataset']} 3 arms x {p['study_seeds']} seeds, featurebank, cold cache -> report",
            "wall_s": round(time.perf_counter() - t0, 1), "sweep_s": round(sweep, 1), "runs": runs,
            "s_per_run_in_study": round(sweep / runs, 2), "gain_pp": table["gain_pp"].iloc[0],
            "z": table["z"].iloc[0]}


def bench_joblib(p: dict, root: Path) -> dict:
    """Throughput of 4 short fine-tune runs with 1 vs 2 joblib workers (threads = cores / workers)."""
    out = {}
    for n in (1, 2):
        wall, _, _ = timed([BIN / "scarce-run", "-m", *common_overrides(p, root), f"study=bench_jl{n}",
                            "arm=real", "seed=range(4)", f"trainer.max_steps={p['joblib_steps']}",
                            "hydra/launcher=parallel", f"hydra.launcher.n_jobs={n}"])
        out[n] = 4 / wall
    return {"runs_per_min_1_worker": round(60 * out[1], 2), "runs_per_min_2_workers": round(60 * out[2], 2),
            "speedup": round(out[2] / out[1], 2)}


DEFAULTS = {"dataset": "magnetic_tile", "image_size": 96, "steps": 150, "batch_size": 32, "seeds": 2,
            "fb_seeds": 15, "study_seeds": 15, "joblib_steps": 30, "threads": 2}


def run_bench(p: dict, out_dir: Path, parts: tuple[str, ...] = ("engines", "study", "joblib")) -> dict:
    """Runs the parts, prints their tables, writes `<out_dir>/*.csv`; returns the frames."""
    p = {**DEFAULTS, **p}
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {}
    with tempfile.TemporaryDirectory(prefix="scarce-bench-") as tmp:
        root = Path(tmp)
        if "engines" in parts:
            rows = [f(p, root) for f in (bench_naive, bench_finetune, bench_featurebank)]
            df = pd.DataFrame(rows)
            df["speedup_vs_naive"] = (df["s_per_run"].iloc[0] / df["s_per_run"]).round(1)
            frames["engines"] = df
        if "study" in parts:
            frames["study"] = pd.DataFrame([bench_study(p, root)])
            if "engines" in frames:  # per run inside a whole study (3 arms share one cold extraction)
                st, eng = frames["study"].iloc[0], frames["engines"]
                naive = eng["s_per_run"].iloc[0]
                frames["study"]["speedup_vs_naive"] = round(naive / st["s_per_run_in_study"], 1)
        if "joblib" in parts:
            frames["joblib"] = pd.DataFrame([bench_joblib(p, root)])
    for name, df in frames.items():
        df.to_csv(out_dir / f"{name}.csv", index=False)
        print(f"\n== {name} ({out_dir / (name + '.csv')})")
        print(df.to_string(index=False))
    return frames
