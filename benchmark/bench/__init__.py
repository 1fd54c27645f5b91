"""`scarce bench`: engines side by side on one protocol and one frozen split, in one invocation.

Each engine is paired with the naive script a user would write for the same protocol (timm +
ImageFolder + DataLoader, PIL decoding every step, one run per process): the fine-tune engine (run by
run; seeds in one job; + channels_last) against naive fine-tuning, the feature-bank engine against a
naive linear probe (frozen backbone re-embedding every augmented batch). Then a full feature-bank study
from a cold cache to the report, and sweeps with 1 vs 2 joblib workers. Every run is a child process
whose wall time and peak memory are measured from outside (os.wait4), so the figures are comparable;
each row also carries the accuracies reached, so speed is never bought with a different result.
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

from benchmark.csvsafe import safe_to_csv

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


def study_accs(results_root: Path, study: str) -> tuple[list[float], list[float]]:
    """(hardest-class accuracies, overall accuracies) of a study's ok records."""
    recs = [json.loads(p.read_text()) for p in sorted((results_root / study / "records").glob("*.json"))]
    ok = [r["metrics"] for r in recs if r["status"] == "ok"]
    return [m["hardest_class_accuracy"] for m in ok], [m["accuracy"] for m in ok]


def common_overrides(p: dict, root: Path, cache: str = "cache") -> list[str]:
    data_root = [f"dataset.root={Path(p['root']).resolve()}"] if p.get("root") else []
    return [f"dataset={p['dataset']}", *data_root, f"model.image_size={p['image_size']}", f"results_root={root}",
            f"cache_root={root / cache}", "force=true"]


def bench_naive(p: dict, root: Path, protocol: str = "finetune") -> dict:
    """One process per run, as a user's script: `benchmark.bench.naive` with the engine's protocol."""
    from benchmark.split.manifest import default_manifest_path

    lp = protocol == "linear_probe"
    steps, lr, n = (p["lp_steps"], 3e-3, p["lp_seeds"]) if lp else (p["steps"], 1e-3, p["seeds"])
    data = ["--manifest", default_manifest_path(p["dataset"]), "--root", _dataset_root(p)]  # once, not per run
    walls, rss, outs = [], [], []
    for s in range(n):
        wall, mem, out = timed([sys.executable, "-m", "benchmark.bench.naive", *data,
                                "--seed", s, "--steps", steps, "--lr", lr, "--image-size", p["image_size"],
                                "--threads", p["threads"], "--protocol", protocol])
        walls.append(wall)
        rss.append(mem)
        outs.append(json.loads(out.strip().splitlines()[-1]))
    return _row(f"naive {protocol.replace('_', ' ')} (ImageFolder + DataLoader)", protocol, walls, rss,
                ([o["hardest_acc"] for o in outs], [o["acc"] for o in outs]), steps * p["batch_size"],
                "one process per run, PIL decode + augment every step")


def bench_finetune(p: dict, root: Path) -> dict:
    """The engine as a user calls it run by run: one process per run; the first fills the decode cache."""
    walls, rss = [], []
    for s in range(p["seeds"]):
        wall, mem, _ = timed([BIN / "scarce-run", *common_overrides(p, root), "study=bench_ft", "arm=real",
                              f"seed={s}", f"trainer.max_steps={p['steps']}", f"threads={p['threads']}"])
        walls.append(wall)
        rss.append(mem)
    return _row("finetune engine", "finetune", walls, rss, study_accs(root, "bench_ft"),
                p["steps"] * p["batch_size"], "one process per run, decoded-image cache")


def bench_finetune_job(p: dict, root: Path, channels_last: bool) -> dict:
    """All seeds in one job (how a sweep runs them: one decode, one interpreter start for the seeds)."""
    study = "bench_ft_cl" if channels_last else "bench_ft_job"
    seeds = ",".join(str(s) for s in range(p["seeds"]))
    wall, mem, _ = timed([BIN / "scarce-run", *common_overrides(p, root), f"study={study}", "arm=real",
                          f"seeds=[{seeds}]", f"trainer.max_steps={p['steps']}", f"threads={p['threads']}",
                          f"trainer.channels_last={str(channels_last).lower()}"])
    note = f"one process, {p['seeds']} seeds in one job"
    if channels_last:
        note += "; NHWC: same math, float rounding differs, so per-seed results are not bitwise equal"
    name = "finetune engine, seeds in one job" + (" + channels_last" if channels_last else "")
    return _row(name, "finetune", [wall / p["seeds"]], [mem], study_accs(root, study),
                p["steps"] * p["batch_size"], note)


def bench_featurebank(p: dict, root: Path) -> dict:
    seeds = ",".join(str(s) for s in range(p["fb_seeds"]))
    wall, mem, _ = timed([BIN / "scarce-run", *common_overrides(p, root), "study=bench_fb", "arm=real",
                          "trainer=featurebank", f"seeds=[{seeds}]", f"trainer.max_steps={p['lp_steps']}",
                          f"threads={p['threads']}"])
    return _row("featurebank engine", "linear_probe", [wall / p["fb_seeds"]], [mem], study_accs(root, "bench_fb"),
                p["lp_steps"] * p["batch_size"],
                f"one process, {p['fb_seeds']} seeds vectorised, cold feature cache (extraction counted)")


def _row(engine: str, protocol: str, walls: list[float], rss: list[float], accs: tuple[list, list],
         images: int, note: str) -> dict:
    per_run = sum(walls) / len(walls)
    hardest, overall = accs
    return {"engine": engine, "protocol": protocol, "runs": len(hardest), "s_per_run": round(per_run, 2),
            "images_per_s": round(images / per_run, 1), "peak_mem_mb": round(max(rss), 0),
            "hardest_acc_mean": round(100 * sum(hardest) / len(hardest), 1),
            "acc_mean": round(100 * sum(overall) / len(overall), 1), "note": note}


def _dataset_root(p: dict) -> str:
    from benchmark.data import create_dataset

    return str(create_dataset(p["dataset"], **({"root": p["root"]} if p.get("root") else {})).root)


def bench_study(p: dict, root: Path) -> dict:
    """Full feature-bank study, 3 arms x N seeds, cold cache -> report."""
    seeds = ",".join(str(s) for s in range(p["study_seeds"]))
    t0 = time.perf_counter()
    sweep, mem, _ = timed([BIN / "scarce-run", "-m", *common_overrides(p, root, "study_cache"), "study=bench_study",
                           "trainer=featurebank", "arm=real,placebo,synthetic", f"seeds=[{seeds}]",
                           f"threads={p['threads']}"])  # as measured before threads became a fixed default (1)
    timed([BIN / "scarce", "report", root / "bench_study"])
    table = pd.read_csv(root / "bench_study" / "report" / "table.csv")
    runs = 3 * p["study_seeds"]
    return {"study": f"{p['dataset']} 3 arms x {p['study_seeds']} seeds, featurebank, cold cache -> report",
            "wall_s": round(time.perf_counter() - t0, 1), "sweep_s": round(sweep, 1), "runs": runs,
            "s_per_run_in_study": round(sweep / runs, 2), "gain_pp": table["gain_pp"].iloc[0],
            "z": table["z"].iloc[0]}


def bench_joblib(p: dict, root: Path) -> pd.DataFrame:
    """Sweep throughput with 1 vs 2 joblib workers (`threads=auto`: torch threads = cores / workers), two workloads:
    compute-bound fine-tune runs, and one-seed feature-bank jobs on a warm feature cache (the warm-up
    sweep fills it first, so both worker counts find the same cache)."""
    fb_jobs = ["trainer=featurebank", "arm=real,placebo,synthetic", f"seed=range({p['joblib_fb_seeds']})",
               f"trainer.max_steps={p['lp_steps']}"]
    workloads = {
        f"finetune, {p['joblib_runs']} runs x {p['joblib_steps']} steps": (
            ["arm=real", f"seed=range({p['joblib_runs']})", f"trainer.max_steps={p['joblib_steps']}"],
            p["joblib_runs"]),
        f"featurebank, 3 arms x {p['joblib_fb_seeds']} seeds, a job per run, warm cache": (
            fb_jobs, 3 * p["joblib_fb_seeds"]),
    }
    timed([BIN / "scarce-run", "-m", *common_overrides(p, root, "jl_cache"), "study=bench_jl_warm", *fb_jobs[:2],
           "seed=0", f"trainer.max_steps={p['lp_steps']}"])  # fills the feature cache for every arm
    rows = []
    for i, (name, (over, runs)) in enumerate(workloads.items()):
        rate = {}
        for n in (1, 2):
            wall, _, _ = timed([BIN / "scarce-run", "-m", *common_overrides(p, root, "jl_cache"),
                                f"study=bench_jl{i}_{n}", *over, "hydra/launcher=parallel",
                                f"hydra.launcher.n_jobs={n}", "threads=auto"])
            rate[n] = 60 * runs / wall
        rows.append({"workload": name, "runs": runs, "runs_per_min_1_worker": round(rate[1], 2),
                     "runs_per_min_2_workers": round(rate[2], 2), "speedup": round(rate[2] / rate[1], 2)})
    return pd.DataFrame(rows)


def engines_table(p: dict, root: Path) -> pd.DataFrame:
    """One row per engine; `speedup_vs_naive` divides by the naive run of the same protocol."""
    rows = [bench_naive(p, root, "finetune"), bench_finetune(p, root), bench_finetune_job(p, root, False),
            bench_finetune_job(p, root, True), bench_naive(p, root, "linear_probe"), bench_featurebank(p, root)]
    df = pd.DataFrame(rows)
    naive = df[df["engine"].str.startswith("naive")].set_index("protocol")["s_per_run"]
    df["speedup_vs_naive"] = (df["protocol"].map(naive) / df["s_per_run"]).round(2)
    return df


DEFAULTS = {"dataset": "magnetic_tile", "root": None, "image_size": 96, "steps": 150, "batch_size": 32,
            "seeds": 2, "lp_steps": 600, "lp_seeds": 2, "fb_seeds": 15, "study_seeds": 15, "joblib_steps": 60,
            "joblib_runs": 4, "joblib_fb_seeds": 8, "ceiling_s": 10, "threads": 2, "folds": 5}


def run_bench(p: dict, out_dir: Path, parts: tuple[str, ...] = ("engines", "study", "joblib", "ceiling")) -> dict:
    """Runs the parts, prints their tables, writes `<out_dir>/*.csv`; returns the frames."""
    p = {**DEFAULTS, **p}
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {}
    with tempfile.TemporaryDirectory(prefix="scarce-bench-") as tmp:
        root = Path(tmp)
        if "engines" in parts:
            frames["engines"] = engines_table(p, root)
        if "study" in parts:
            frames["study"] = pd.DataFrame([bench_study(p, root)])
            if "engines" in frames:  # per run inside a whole study (3 arms share one cold extraction)
                eng = frames["engines"]
                naive = eng.loc[eng["engine"].str.startswith("naive linear probe"), "s_per_run"].iloc[0]
                frames["study"]["speedup_vs_naive_linear_probe"] = round(
                    naive / frames["study"]["s_per_run_in_study"].iloc[0], 1)
        if "joblib" in parts:
            frames["joblib"] = bench_joblib(p, root)
        if "ceiling" in parts:  # what 2 cores can give compute-bound runs, whatever the launcher
            from benchmark.bench.ceiling import measure

            frames["ceiling"] = pd.DataFrame([measure(p)])
            if "engines" in frames:  # the most a fine-tune engine can gain over naive: same math (NCHW), NHWC
                naive = frames["engines"].set_index("engine")["images_per_s"].filter(like="naive finetune").iloc[0]
                ceil = frames["ceiling"]
                ceil["finetune_ceiling_vs_naive"] = round(ceil["img_s_2_threads"].iloc[0] / naive, 2)
                ceil["finetune_ceiling_vs_naive_channels_last"] = round(
                    ceil["img_s_2_threads_channels_last"].iloc[0] / naive, 2)
        if "audit" in parts:  # the contamination audit: planted copies caught, honest sets flagged, s / 1,000
            from benchmark.bench.audit import audit_frame

            frames["audit"] = audit_frame(p, root)
        if "folds" in parts:  # a 5-fold feature-bank study against the single-split one (benchmark/bench/folds)
            from benchmark.bench.folds import folds_frame

            frames["folds"] = folds_frame(p, root)
    for name, df in frames.items():
        safe_to_csv(df, out_dir / f"{name}.csv", index=False)  # spreadsheet formulas escaped
        print(f"\n== {name} ({out_dir / (name + '.csv')})")
        print(df.to_string(index=False))
    return frames
