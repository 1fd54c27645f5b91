"""Chaos test of resumable sweeps: SIGKILL a tiny `scarce-run -m` sweep at random points, rerun the same
command after every kill, and compare the result with an uninterrupted sweep.

    python scripts/chaos.py --kills 20            # ~5 minutes on 2 cores
    python scripts/chaos.py --kills 3 --arms real,synthetic --seeds 2 --targets generator,write,train

Each round starts the sweep, picks a target (`random`: a random delay; `generator`: while the synthetic
set is being generated into the cache; `write`: while a record's temp file exists, widened by
SCARCE_CHAOS_WRITE_DELAY; `train`: while a cell without a record is locked, i.e. training), waits a random
extra delay and kills the whole process group with SIGKILL. The phase seen at the moment of the kill is
what is counted. When a sweep finishes before its kill, that study (a "campaign") is complete and the next
kill goes to a fresh study and cache. Finally every campaign is rerun once more to completion and checked
against the uninterrupted reference sweep:

    lost        cells of the reference without an ok record in the campaign
    duplicated  ok records rewritten after they first appeared (a cell trained twice), plus records of
                cells that the reference does not have
    mismatched  cells whose metrics or per-image probabilities differ from the reference
    leftover    record temp files still present after the final rerun (each must be cleaned by the rerun)

Exit status 1 when lost, duplicated, mismatched or leftover is not 0.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmark.records import CHAOS_WRITE_DELAY_ENV, is_locked, read_record, records_dir  # noqa: E402
from benchmark.status import cell_states  # noqa: E402

TINY = ["model=timm", "model.name=resnet10t", "model.pretrained=false", "model.image_size=32",
        "trainer.max_steps=3", "trainer.batch_size=8", "trainer.warmup_steps=0", "synthetic.volume=4",
        "threads=1"]
# the demo study on the feature-bank engine (frozen offline ImageNet backbone, one linear head per seed)
FEATUREBANK = ["trainer=featurebank", "model.image_size=64", "generator=cutpaste", "synthetic.volume=8", "threads=1"]
# one core and 1 GB per SLURM task, so two tasks run at once on a 2-core node
SLURM = ["hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1"]
TARGETS = ("random", "generator", "write", "train")
RECORD_TMP = re.compile(r"^\.[0-9a-f]{16}\..*\.tmp$")


def sweep_cmd(work: Path, study: str, arms: str, seeds: int, launcher: str, engine: list[str] = TINY,
              cache: Path | None = None) -> list[str]:
    extra = {"basic": [], "slurm": SLURM}.get(launcher, [f"hydra/launcher={launcher}", "hydra.launcher.n_jobs=2"])
    return [str(Path(sys.executable).parent / "scarce-run"), "-m", "dataset=demo", f"study={study}",
            f"arm={arms}", f"seed={','.join(map(str, range(seeds)))}", *engine, *extra,
            f"results_root={work / 'results'}", f"cache_root={cache or work / ('cache-' + study)}"]


class Campaign:
    """One study directory driven to completion through kills and reruns."""

    def __init__(self, work: Path, name: str, cmd: list[str], cache: Path | None = None):
        self.name, self.cmd = name, cmd
        self.study = work / "results" / name
        self.cache = cache or work / f"cache-{name}"
        self.seen: dict[str, tuple[int, int]] = {}  # run_id -> (inode, mtime_ns) of its ok record
        self.rewritten: set[str] = set()

    def gen_tmp(self) -> set[Path]:
        d = self.cache / "synthetic"
        return {p for p in d.glob("*/.*") if p.is_dir()} if d.is_dir() else set()

    def rec_tmp(self) -> set[Path]:
        d = records_dir(self.study)
        return {p for p in d.iterdir() if RECORD_TMP.match(p.name)} if d.is_dir() else set()

    def training(self) -> bool:
        d = records_dir(self.study) / ".locks"
        rids = [p.stem for p in d.glob("*.lock")] if d.is_dir() else []
        return any(not (records_dir(self.study) / f"{r}.json").exists() and is_locked(self.study, r) for r in rids)

    def phase(self, stale: tuple[set, set]) -> str:
        """What the sweep is doing right now (temp files left by earlier kills do not count)."""
        if self.gen_tmp() - stale[0]:
            return "generator"
        if self.rec_tmp() - stale[1]:
            return "write"
        return "train" if self.training() else "other"

    def snapshot(self) -> None:
        """Remember every ok record; one that changes later was trained (and written) twice."""
        for p in records_dir(self.study).glob("*.json") if self.study.is_dir() else ():
            try:
                if read_record(p)["status"] != "ok":
                    continue
                st = p.stat()
            except (OSError, ValueError):
                continue
            key = (st.st_ino, st.st_mtime_ns)
            if self.seen.setdefault(p.stem, key) != key:
                self.rewritten.add(p.stem)


def run_round(c: Campaign, env: dict, target: str, rng: random.Random, max_delay: float,
              log) -> tuple[bool, str | None]:
    """Start the sweep; kill it in `target` (plus a random delay). (killed, phase at the kill)."""
    if target == "generator":  # the cache is content-keyed: removing it only forces regeneration
        shutil.rmtree(c.cache / "synthetic", ignore_errors=True)
    stale = (c.gen_tmp(), c.rec_tmp())
    windows = {"generator": 0.01, "write": 0.2, "train": 0.3}
    p = subprocess.Popen(c.cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    t0 = time.monotonic()
    kill_at = t0 + rng.uniform(0, max_delay) if target == "random" else None
    while p.poll() is None:
        now = time.monotonic()
        if kill_at is None and c.phase(stale) == target:
            kill_at = now + rng.uniform(0, windows[target])
        if kill_at is not None and now >= kill_at:
            phase = c.phase(stale)
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return True, phase
        time.sleep(0.002)
    return False, None


def run_to_end(cmd: list[str], env: dict, log, timeout: float | None = None) -> float:
    t0 = time.monotonic()
    rc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout).returncode
    if rc != 0:
        raise SystemExit(f"chaos: uninterrupted sweep exited {rc}; see the log")
    return time.monotonic() - t0


def ok_records(study: Path) -> dict[str, dict]:
    recs = [read_record(p) for p in sorted(records_dir(study).glob("*.json"))]
    return {r["run_id"]: r for r in recs if r["status"] == "ok"}


def compare(c: Campaign, ref: dict[str, dict]) -> dict:
    got = ok_records(c.study)
    all_ids = {p.stem for p in records_dir(c.study).glob("*.json")}
    same = lambda a, b: json.dumps([a["metrics"], a["predictions"]], sort_keys=True) == \
        json.dumps([b["metrics"], b["predictions"]], sort_keys=True)  # noqa: E731
    states = cell_states(c.study)
    return {"lost": len(set(ref) - set(got)),
            "duplicated": len(c.rewritten) + len(all_ids - set(ref)),
            "mismatched": sum(not same(got[r], ref[r]) for r in set(ref) & set(got)),
            "leftover_tmp": len(c.rec_tmp()),
            "stale_generator_dirs": len(c.gen_tmp()),
            "status_missing": int((states["state"] == "missing").sum()),
            "status_failed": int((states["state"] == "failed").sum())}


def chaos(work: Path, kills: int, arms: str, seeds: int, targets: list[str] | None, seed: int,
          launcher: str = "basic", write_delay: float = 0.3) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    chaos_env = {**env, CHAOS_WRITE_DELAY_ENV: str(write_delay)}
    t_start = time.monotonic()
    with open(work / "chaos.log", "w") as log:
        ref_cmd = sweep_cmd(work, "reference", arms, seeds, launcher)
        ref_s = run_to_end(ref_cmd, env, log)
        ref = ok_records(work / "results" / "reference")
        campaigns, phases, rounds = [], Counter(), 0
        while sum(phases.values()) < kills:
            name = f"chaos{len(campaigns)}"
            c = Campaign(work, name, sweep_cmd(work, name, arms, seeds, launcher))
            campaigns.append(c)
            while sum(phases.values()) < kills:
                n = sum(phases.values())
                target = targets[n % len(targets)] if targets else rng.choice(TARGETS)
                rounds += 1
                killed, phase = run_round(c, chaos_env, target, rng, ref_s, log)
                c.snapshot()
                if not killed:  # the sweep finished before its kill: this campaign is complete
                    break
                phases[phase] += 1
        for c in campaigns:  # the same command once more, uninterrupted
            run_to_end(c.cmd, chaos_env, log)
            c.snapshot()
    per = [compare(c, ref) for c in campaigns]
    total = {k: sum(p[k] for p in per) for k in per[0]}
    return {"kills": sum(phases.values()), "kills_by_phase": dict(phases), "rounds": rounds,
            "campaigns": len(campaigns), "cells_per_sweep": len(ref), **total,
            "reference_sweep_s": round(ref_s, 1), "wall_s": round(time.monotonic() - t_start, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--out", default=None, help="work directory (default: a fresh temp dir, removed after)")
    ap.add_argument("--arms", default="real,placebo,synthetic")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--targets", default=None, help=f"comma list cycled through (default: random of {TARGETS})")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill schedule")
    ap.add_argument("--launcher", default="basic", choices=["basic", "parallel"])
    ap.add_argument("--write-delay", type=float, default=0.3, help=f"{CHAOS_WRITE_DELAY_ENV} for the killed runs")
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args(argv)
    targets = a.targets.split(",") if a.targets else None
    if targets and set(targets) - set(TARGETS):
        ap.error(f"--targets {targets}: expected names from {TARGETS}")
    import tempfile

    work = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="scarce-chaos-"))
    try:
        res = chaos(work, a.kills, a.arms, a.seeds, targets, a.seed, a.launcher, a.write_delay)
    finally:
        if not a.out:
            shutil.rmtree(work, ignore_errors=True)
    print(f"kills: {res['kills']} {res['kills_by_phase']} in {res['rounds']} rounds over {res['campaigns']} "
          f"studies of {res['cells_per_sweep']} cells")
    print(f"lost: {res['lost']}  duplicated: {res['duplicated']}  mismatched: {res['mismatched']}  "
          f"leftover temp files: {res['leftover_tmp']}  (status: {res['status_missing']} missing, "
          f"{res['status_failed']} failed; stale generator temp dirs, never read: {res['stale_generator_dirs']})")
    print(f"time: {res['wall_s']} s (one uninterrupted sweep: {res['reference_sweep_s']} s)")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))
    bad = res["lost"] + res["duplicated"] + res["mismatched"] + res["leftover_tmp"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
