"""SLURM chaos: real faults on a real slurmctld, then the same command resubmitted, then the comparison with an
uninterrupted basic-launcher sweep (scripts/chaos.py's counts: lost / duplicated / mismatched / leftover).

    python scripts/chaos_slurm.py --faults 10              # its own throw-away cluster (scripts/slurm_local.sh)
    python scripts/chaos_slurm.py --faults 3 --kinds scancel,requeue,slurmd --cluster DIR   # a cluster already up

The study is the demo on the feature-bank engine (3 arms x 3 seeds by default), one array task per cell, one
core per task (two run at once on 2 cores), one synthetic cache for all studies (content-keyed). Fault kinds:
  scancel  `scancel <array>_<task>` of a task inside a cell (it holds the cell's lock: /proc/locks), at a
           random point up to 1 s after it was seen there: state CANCELLED
  requeue  `scontrol requeue` of such a task: SLURM kills it and queues it again (Restarts + 1); SLURM holds a
           requeued job 120 s, which we lift (`scontrol update StartTime=now`) to keep the run short
  slurmd   SIGKILL of slurmd while tasks run, kept down until slurmctld marks the node DOWN (SlurmdTimeout),
           then restarted: the tasks that ran on it are requeued by SLURM (NODE_FAIL, --requeue)
  timeout  the study submitted with a 1-minute limit (timeout_min=1; submitit's USR2 20 s before it) and every
           record write stretched to 100 s (SCARCE_CHAOS_WRITE_DELAY): tasks are ended by their time limit while
           they write, by submitit at its USR2 (FAILED, "timed-out" in the task's log) or by SLURM (TIMEOUT)
Each fault is counted only once SLURM shows it (state CANCELLED / TIMEOUT / FAILED timed-out, Restarts grew). After a campaign's
faults its array drains; the submitter still waits on tasks that died for good (the local cluster has no
sacct, so submitit cannot see them end): it is stopped, as a user who went home would, and the same command
is resubmitted to completion (after timeouts: without the write delay, with the normal time limit).
Exit status 1 unless all counts are 0.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chaos import FEATUREBANK, ROOT, Campaign, compare, ok_records, run_to_end, sweep_cmd  # noqa: E402
from benchmark.records import CHAOS_WRITE_DELAY_ENV, records_dir  # noqa: E402

# A 1-minute limit, and submitit's USR2 20 s before it (its default 120 s would fire at once): the task is then
# ended by its time limit, through submitit (FAILED, "timed-out and not checkpointable") or by SLURM (TIMEOUT)
# (max_num_timeout=0: submitit does not requeue it itself, so the resubmission is what completes the cell)
TIME_LIMIT = ("hydra.launcher.timeout_min=1", "hydra.launcher.signal_delay_s=20", "hydra.launcher.max_num_timeout=0")
KINDS = ("scancel", "requeue", "slurmd", "timeout")
CLUSTER_SH = ROOT / "scripts" / "slurm_local.sh"


def sh(*cmd: str) -> str:  # stdout of a SLURM client command
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout


def secs(t: str) -> int:
    """squeue's %M ('S', 'M:SS', 'H:MM:SS', 'D-H:MM:SS') -> seconds."""
    days, _, t = t.rpartition("-")
    parts = [int(x) for x in t.split(":")]
    return int(days or 0) * 86400 + sum(v * 60 ** i for i, v in enumerate(reversed(parts)))


def queue() -> dict[str, tuple[str, int]]:
    """Task id ('12_3', or a pending range '12_[4-8]') -> (state, seconds run) of every job in the queue."""
    rows = (line.split("|") for line in sh("squeue", "-h", "-o", "%i|%T|%M").split())
    return {r[0]: (r[1], secs(r[2])) for r in rows}


def job(tid: str) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in sh("scontrol", "show", "job", "-o", tid).split() if "=" in kv)


def until(pred, timeout: float, what: str, step: float = 0.5):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if v := pred():
            return v
        time.sleep(step)
    raise TimeoutError(f"chaos_slurm: {what} not seen within {timeout:.0f} s")


def release(tid: str) -> None:
    # lift the 120 s hold SLURM puts on a requeued job (it runs again as soon as a core is free)
    until(lambda: job(tid).get("JobState") in ("PENDING", "RUNNING", "COMPLETED"), 60, f"{tid} requeued")
    if job(tid).get("JobState") == "PENDING":
        subprocess.run(["scontrol", "update", f"JobId={tid}", "StartTime=now"], capture_output=True)


class SlurmCampaign(Campaign):
    def __init__(self, *a, cluster: Path, rng: random.Random, **k):
        super().__init__(*a, **k)
        self.cluster, self.rng, self.arrays, self.hit = cluster, rng, set(), set()

    def job_ids(self) -> list[str]:
        """<array>_<task> of every task submitted for this study (submitit's folders, all submissions)."""
        return sorted(p.name for p in self.study.glob(".hydra/multirun/*/.submitit/*_*") if p.is_dir())

    def watch(self) -> dict[str, tuple[str, int]]:
        q = queue()
        self.arrays |= {t.split("_")[0] for t in q}
        return q

    def in_cell(self, stale) -> dict[str, str]:
        """Tasks inside a cell right now -> 'train' or 'write': the holder of a cell lock (an flock in
        /proc/locks, cell without a record yet) mapped to its task by its SLURM_ARRAY_* environment."""
        holders = {}
        for line in Path("/proc/locks").read_text().splitlines():
            f = line.split()  # '1: FLOCK ADVISORY WRITE <pid> <maj:min:inode> 0 EOF'; waiters have '->'
            if len(f) > 5 and f[1] == "FLOCK":
                holders[int(f[5].split(":")[2])] = int(f[4])
        tmp = {p.name.split(".")[1] for p in self.rec_tmp() - stale[1]}
        out = {}
        for lock in (records_dir(self.study) / ".locks").glob("*.lock"):
            pid = holders.get(lock.stat().st_ino) if not (records_dir(self.study) / f"{lock.stem}.json").exists() \
                else None
            try:
                env = dict(kv.split("=", 1) for kv in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in kv)
            except (OSError, ValueError):
                continue
            if "SLURM_ARRAY_TASK_ID" in env:
                tid = f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
                out[tid] = "write" if lock.stem in tmp else "train"
        return out

    def mid_cell_task(self, proc, stale) -> str | None:
        """A running task, not faulted before, inside a cell (None: the sweep ended first)."""
        def pick():
            seen, q = bool(self.arrays), self.watch()
            if proc.poll() is not None or (seen and not q):  # the sweep ended, or waits on tasks killed for good
                return "done"
            ready = [t for t in self.in_cell(stale) if t not in self.hit and q.get(t, ("",))[0] == "RUNNING"]
            return self.rng.choice(sorted(ready)) if ready else None
        t = until(pick, 900, "a task inside a cell", step=0.2)
        time.sleep(self.rng.uniform(0, 1))  # a random point inside the cell
        return None if t == "done" else t

    def fault(self, kind: str, proc, stale) -> tuple[str, str] | None:
        """Inject one fault; (phase of the study when it hit, what SLURM shows) or None if the sweep ended."""
        if (tid := self.mid_cell_task(proc, stale)) is None:
            return None
        self.hit.add(tid)
        phase = self.in_cell(stale).get(tid, "other")  # 'other': its cell ended in the pause
        if kind == "scancel":
            sh("scancel", tid)
            return phase, f"{tid} " + until(lambda: job(tid)["JobState"] if job(tid)["JobState"] == "CANCELLED"
                                            else None, 60, f"{tid} CANCELLED")
        if kind == "requeue":
            n = int(job(tid)["Restarts"])
            sh("scontrol", "requeue", tid)
            until(lambda: int(job(tid)["Restarts"]) > n, 60, f"{tid} requeued")
            release(tid)
            return phase, f"{tid} requeued (Restarts {n + 1})"
        # slurmd: the tasks running now must be requeued by SLURM once the node is found dead
        running = {t: int(job(t)["Restarts"]) for t, (st, _) in self.watch().items() if st == "RUNNING"}
        pid = int((self.cluster / "run" / "slurmd.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        until(lambda: sh("sinfo", "-h", "-N", "-o", "%T").startswith("down"), 180, "node DOWN", step=1)
        sh("bash", str(CLUSTER_SH), "up", str(self.cluster))
        for t, n in running.items():
            # requeued (Restarts grew), or it ended while slurmd was down (its slurmstepd reports to slurmctld)
            until(lambda: int(job(t)["Restarts"]) > n or job(t)["JobState"] != "RUNNING", 60, f"{t} requeued")
        requeued = sorted(t for t, n in running.items() if int(job(t)["Restarts"]) > n)
        for t in requeued:
            release(t)
        return phase, f"slurmd {pid} killed, node DOWN; requeued {','.join(requeued) or 'none'} of {','.join(running)}"

    def time_limited(self, t: str) -> str | None:
        """How task t was ended by its time limit, or None: SLURM's TIMEOUT, or FAILED with submitit's own
        'timed-out' line in the task's log (submitit stops a non-checkpointable task at the USR2 before the limit)."""
        st = job(t)["JobState"]
        if st == "TIMEOUT":
            return "TIMEOUT"
        if st == "FAILED":
            logs = list(self.study.glob(f".hydra/multirun/*/.submitit/{t}/{t}_0_log.err"))
            if any("timed-out" in p.read_text(errors="replace") for p in logs):
                return "FAILED at its time limit (submitit: timed-out)"
        return None

    def _newly_time_limited(self, seen: set[str], stale) -> list[tuple[str, str]]:
        out = []
        for t in sorted(seen - self.hit):
            if ended := self.time_limited(t):
                self.hit.add(t)
                out.append((self.phase(stale), f"{t} {ended} after {job(t)['RunTime']} (limit 1 min)"))
        return out

    def timeouts(self, n: int, proc, stale) -> list[tuple[str, str]]:
        """Wait for n tasks killed by their time limit, then cancel the rest of the array (not counted)."""
        got: list[tuple[str, str]] = []
        seen: set[str] = set()
        t0 = time.monotonic()
        while len(got) < n and proc.poll() is None:
            if time.monotonic() - t0 > 900:
                raise TimeoutError(f"chaos_slurm: {n} tasks killed by their time limit not seen in 900 s")
            for t, (st, _) in self.watch().items():
                if st == "RUNNING":
                    seen.add(t)
            got += self._newly_time_limited(seen, stale)
            time.sleep(1)
        got += self._newly_time_limited(seen, stale)  # the last tasks may end just as the submitter exits
        for a in self.arrays:
            subprocess.run(["scancel", a], capture_output=True)
        return got[:n]


def campaign(c: SlurmCampaign, kinds: list[str], env: dict, log) -> list[tuple[str, str, str]]:
    """Submit, inject `kinds`, drain, stop the waiting submitter, resubmit the same command to the end."""
    stale = (c.gen_tmp(), c.rec_tmp())
    tmo = kinds[0] == "timeout"
    run_env = {**env, CHAOS_WRITE_DELAY_ENV: "100" if tmo else "0.3"}
    proc = subprocess.Popen(c.cmd, env=run_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:  # the submitter runs in its own session: stop it whatever happens here
        done = [("timeout", p, d) for p, d in c.timeouts(len(kinds), proc, stale)] if tmo else []
        for kind in [] if tmo else kinds:
            if (r := c.fault(kind, proc, stale)) is None:
                break
            done.append((kind, *r))
            c.snapshot()
        until(lambda: proc.poll() is not None or not c.watch(), 900, "the array drained", step=1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
    c.snapshot()
    # the same command, resubmitted; after timeouts with the normal time limit (a retrained cell may need > 1 min)
    run_to_end([a for a in c.cmd if a not in TIME_LIMIT], env, log, timeout=1800)
    c.snapshot()
    return done


def plans(n: int, kinds: list[str]) -> list[list[str]]:
    """The n faults in order: scancel/requeue/slurmd ones first, up to 4 per study; timeouts 2 per study."""
    seq = [kinds[i % len(kinds)] for i in range(n)]
    other, tmo = [k for k in seq if k != "timeout"], [k for k in seq if k == "timeout"]
    return [other[i:i + 4] for i in range(0, len(other), 4)] + [tmo[i:i + 2] for i in range(0, len(tmo), 2)]


def chaos(work: Path, cluster: Path, faults: int, kinds: list[str], arms: str, seeds: int, seed: int,
          timing: bool, tag: str = "chaos") -> dict:
    rng, env = random.Random(seed), {**os.environ, "HYDRA_FULL_ERROR": "1", "PYTHONPATH": str(ROOT)}
    cache = work / "cache"
    res: dict = {"jobs": {}}
    with open(work / "chaos_slurm.log", "w") as log:
        ref_s = run_to_end(sweep_cmd(work, "reference", arms, seeds, "basic", FEATUREBANK, cache), env, log)
        ref = ok_records(work / "results" / "reference")
        unint = SlurmCampaign(work, "slurm", sweep_cmd(work, "slurm", arms, seeds, "slurm", FEATUREBANK, cache),
                              cache=cache, cluster=cluster, rng=rng)
        res["slurm_s"], res["reference_cold_cache_s"] = round(run_to_end(unint.cmd, env, log, 1800), 1), round(ref_s, 1)
        res["jobs"]["slurm"], res["slurm_vs_basic"] = unint.job_ids(), compare(unint, ref)
        if timing:  # the basic launcher again, on the warm cache the SLURM study had
            res["basic_s"] = round(run_to_end(sweep_cmd(work, "basic2", arms, seeds, "basic", FEATUREBANK, cache),
                                              env, log), 1)
        by_kind, by_phase, per, log_lines = Counter(), Counter(), [], []
        todo, i, idle = plans(faults, kinds), 0, 0
        while todo and idle < 3:  # a study that ended before all its faults: the rest go to the next one
            plan, i = todo.pop(0), i + 1
            name = f"{tag}{i - 1}"
            c = SlurmCampaign(work, name, sweep_cmd(work, name, arms, seeds, "slurm", FEATUREBANK, cache)
                              + (list(TIME_LIMIT) if plan[0] == "timeout" else []),
                              cache=cache, cluster=cluster, rng=rng)
            done = campaign(c, plan, env, log)
            idle = 0 if done else idle + 1
            if len(done) < len(plan):
                todo.insert(0, plan[len(done):])
            for kind, phase, detail in done:
                by_kind[kind] += 1
                by_phase[phase] += 1
                log_lines.append(f"  {name} {kind:8s} phase={phase:9s} {detail}")
            res["jobs"][name] = c.job_ids()
            per.append(compare(c, ref))
    total = {k: sum(p[k] for p in per) for k in per[0]} if per else {}
    return {**res, **total, "faults": sum(by_kind.values()), "by_kind": dict(by_kind), "by_phase": dict(by_phase),
            "campaigns": len(per), "cells_per_sweep": len(ref), "fault_log": log_lines}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faults", type=int, default=10)
    ap.add_argument("--kinds", default=",".join(KINDS), help=f"comma list cycled through, from {KINDS}")
    ap.add_argument("--cluster", default=None, help="a cluster dir already `up` (default: start one, stop it after)")
    ap.add_argument("--out", default=None, help="work directory (default: a fresh temp dir, removed after)")
    ap.add_argument("--arms", default="real,placebo,synthetic"), ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0, help="seed of the fault schedule")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--tag", default="chaos", help="name prefix of the faulted studies (another run in the same --out)")
    ap.add_argument("--no-timing", action="store_true", help="skip the warm-cache basic run timed against SLURM")
    a = ap.parse_args(argv)
    kinds = a.kinds.split(",")
    if set(kinds) - set(KINDS):
        ap.error(f"--kinds {kinds}: expected names from {KINDS}")
    work = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="scarce-chaos-slurm-"))
    work.mkdir(parents=True, exist_ok=True)
    cluster = Path(a.cluster) if a.cluster else Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))
    if not a.cluster:  # `up` prints `export SLURM_CONF=<cluster>/slurm.conf`
        sh("bash", str(CLUSTER_SH), "up", str(cluster))
    os.environ["SLURM_CONF"] = str(cluster / "slurm.conf")
    try:
        r = chaos(work, cluster, a.faults, kinds, a.arms, a.seeds, a.seed, not a.no_timing, a.tag)
    finally:
        if not a.cluster:
            subprocess.run(["bash", str(CLUSTER_SH), "down", str(cluster)], capture_output=True)
            shutil.rmtree(cluster, ignore_errors=True)
        if not a.out:
            shutil.rmtree(work, ignore_errors=True)
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=1))
    print(f"SLURM job IDs: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in r["jobs"].items()))
    sb = r["slurm_vs_basic"]
    print(f"uninterrupted SLURM study vs basic: {r['cells_per_sweep']} cells, lost {sb['lost']}, "
          f"mismatched {sb['mismatched']}; wall {r['slurm_s']} s under SLURM"
          + (f" vs {r['basic_s']} s basic (same warm cache)" if "basic_s" in r else ""))
    print("\n".join(r["fault_log"]))
    print(f"faults: {r['faults']} by kind {r['by_kind']} by phase {r['by_phase']} over {r['campaigns']} studies")
    print(f"lost: {r.get('lost', 0)}  duplicated: {r.get('duplicated', 0)}  mismatched: {r.get('mismatched', 0)}  "
          f"leftover temp files: {r.get('leftover_tmp', 0)}  (status: {r.get('status_missing', 0)} missing, "
          f"{r.get('status_failed', 0)} failed)")
    bad = sum(r.get(k, 0) for k in ("lost", "duplicated", "mismatched", "leftover_tmp")) + sb["lost"] + sb["mismatched"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
