"""Issue 21 item 3: one readable progress line for a sweep (cells done / total, failed, skipped, ETA), printed by
the launcher's parent from the events every job appends (benchmark/progress); per-cell bars only where one job
owns a terminal. The end-to-end test captures a parallel sweep's output to a file and reads it back."""
from __future__ import annotations

import io
import itertools
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode

from benchmark import PROJECT_ROOT
from benchmark.progress import bars
from benchmark.progress.events import PROGRESS_FILE, PROGRESS_LOG, EventReader, SweepEvents, most_at_once, tally
from benchmark.progress.sweep import Watcher, eta_seconds, format_line, planned_cells

BIN = Path(sys.executable).parent
TINY = ["model=timm", "model.name=resnet10t", "model.pretrained=false", "model.image_size=32", "trainer.max_steps=3",
        "trainer.batch_size=8", "trainer.warmup_steps=0", "synthetic.volume=4", "threads=1"]


def _ev(job, ev, t=0.0, **kw):
    return {"job": job, "ev": ev, "t": t, **kw}


def test_tally_counts_cells_and_jobs_that_ended_without_them():
    planned = {0: 2, 1: 2, 2: 3, 3: 1, 4: 2}
    events = [_ev(0, "start", 0), _ev(0, "plan", 1, n=2), _ev(0, "cell", 5, run_id="a", state="done"),
              _ev(0, "cell", 6, run_id="b", state="failed"), _ev(0, "end", 10, status="COMPLETED"),
              _ev(1, "start", 0), _ev(1, "cell", 2, run_id="a", state="skipped"),  # another job trained cell a
              _ev(1, "cell", 3, run_id="c", state="done"), _ev(1, "cell", 4, run_id="c", state="done"),  # requeued
              _ev(1, "end", 4, status="COMPLETED"),
              _ev(2, "start", 10), _ev(2, "plan", 11, n=6),  # 3 seeds × 2 folds: its plan corrects the estimate
              _ev(2, "cell", 12, run_id="d", state="done"), _ev(2, "end", 13, status="FAILED"),  # crashed: 5 failed
              _ev(3, "start", 11), _ev(3, "end", 12, status="COMPLETED", skipped=True),  # dataset absent
              _ev(4, "start", 12)]  # still running
    t = tally(events, planned)
    assert (t.done, t.failed, t.skipped, t.total) == (3, 1 + 5, 1 + 1, 2 + 2 + 6 + 1 + 2)
    assert t.finished == 3 + 6 + 2 and t.concurrency == 2  # jobs 0+1, then 2+3, then 2+4 at once
    assert sorted(t.per_cell) == sorted([10 / 2, 4 / 2, 3 / 6, 1 / 1])
    assert eta_seconds(t) == pytest.approx((t.total - t.finished) * sum(t.per_cell) / 4 / 2)
    assert tally(events, {}).total is None and tally(events[:3], planned).total == 10  # unknown sweeper; no ends
    assert eta_seconds(tally(events[:3], planned)) is None  # no job ended yet: no ETA


def test_most_at_once_against_a_brute_force_count():
    rng = random.Random(0)
    for _ in range(50):
        n = rng.randint(1, 8)
        spans = {j: sorted(rng.sample(range(40), 2)) for j in range(n)}
        ends = {j: _ev(j, "end", b) for j, (a, b) in spans.items() if rng.random() < 0.8}
        starts = {j: _ev(j, "start", a) for j, (a, _) in spans.items()}
        brute = max(sum(1 for j, (a, b) in spans.items() if a <= x + 0.5 and (j not in ends or x + 0.5 < b))
                    for x in range(40))
        assert most_at_once(starts, ends) == brute


def test_events_are_whole_lines_and_a_torn_line_waits(tmp_path):
    ev = SweepEvents(tmp_path / "sweep" / PROGRESS_FILE, job=3)
    ev.plan(2)
    ev.cell("r1", "done", 1.25)
    with pytest.raises(ValueError, match="expected one of"):
        ev.cell("r2", "finished", 0.0)
    reader = EventReader(ev.path)
    assert [e["ev"] for e in reader.poll()] == ["plan", "cell"] and reader.events[1]["s"] == 1.25
    with open(ev.path, "a") as f:
        f.write('{"job": 3, "ev": "cell", "run_id": "r2", "sta')  # a writer mid-line
    assert len(reader.poll()) == 2
    with open(ev.path, "a") as f:
        f.write('te": "skipped", "t": 0}\n')
    assert [e.get("state") for e in reader.poll()] == [None, "done", "skipped"]


def test_watcher_prints_plain_lines_and_the_final_count(tmp_path):
    out = io.StringIO()
    w = Watcher(tmp_path, {0: 1, 1: 1}, interval=60, out=out)
    w.tick()
    ev = SweepEvents(tmp_path / PROGRESS_FILE, 0)
    ev.start()
    ev.cell("a", "done", 1.0)
    ev.end("COMPLETED")
    w.tick()
    w.tick()  # nothing changed: no line
    w.stop()
    lines = out.getvalue().splitlines()
    assert lines[0] == "sweep: 0/2 cells (0 failed, 0 skipped), 0:00:00 elapsed, ETA —"
    assert lines[1].startswith("sweep: 1/2 cells (0 failed, 0 skipped), 0:00:00 elapsed, ETA 0:00:0")
    assert lines[2].startswith("sweep: 1/2 cells (0 failed, 0 skipped) in 0:00:00; 1 cell(s) not run or not finished")
    assert len(lines) == 3 and "\r" not in out.getvalue()
    assert (tmp_path / PROGRESS_LOG).read_text().splitlines() == lines


def _multirun_config(overrides: list[str]):
    import benchmark.config  # noqa: F401  the scarce_study resolver of hydra.sweep.dir

    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        return GlobalHydra.instance().hydra.compose_config("config", overrides, run_mode=RunMode.MULTIRUN,
                                                            with_log_configuration=False)


def test_planned_cells_follow_the_basic_sweeper():
    assert planned_cells(_multirun_config(["arm=real,placebo", "seed=0,1,2"])) == dict.fromkeys(range(6), 1)
    assert planned_cells(_multirun_config(["seeds=[0,1],[2]", "arm=real,placebo"])) == {0: 2, 1: 2, 2: 1, 3: 1}
    demo = yaml.safe_load((PROJECT_ROOT / "conf/experiment/demo.yaml").read_text())
    grid = list(itertools.product(*(str(v).split(",") for v in demo["hydra"]["sweeper"]["params"].values())))
    assert planned_cells(_multirun_config(["experiment=demo"])) == dict.fromkeys(range(len(grid)), len(demo["seeds"]))
    assert format_line(tally([], {0: 2}), 0.0) == "sweep: 0/2 cells (0 failed, 0 skipped), 0:00:00 elapsed, ETA —"


def test_bars_only_for_one_job_on_a_terminal(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(bars, "_workers", None)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not bars.bars_on()  # a file or a pipe: never a bar
    monkeypatch.setattr(sys, "stderr", Tty())
    assert bars.bars_on()
    bars.configure(2)
    assert not bars.bars_on()  # two joblib workers on one terminal
    bars.configure(1)
    assert bars.bars_on() and bars.tqdm(range(3), disable=True).disable
    sink = io.StringIO()
    bars.configure(2)
    assert list(bars.tqdm(range(3), file=sink, desc="train")) == [0, 1, 2] and sink.getvalue() == ""


def test_parallel_sweep_log_file_reads(tmp_path):
    # two joblib workers, each job one cell; every cell is asked for twice (seed=0,0), so the job that comes second
    # finds the record (after waiting on the cell's lock) and skips it: the path of a resumed sweep, in one run
    cmd = [str(BIN / "scarce-run"), "-m", "dataset=demo", "study=p", "arm=real,placebo", "seed=0,0", *TINY,
           "hydra/launcher=parallel", "hydra.launcher.n_jobs=2", f"results_root={tmp_path / 'results'}",
           f"cache_root={tmp_path / 'cache'}"]
    with open(tmp_path / "sweep.log", "w") as f:  # captured to a file, as `scarce-run -m ... > sweep.log 2>&1`
        p = subprocess.run(cmd, cwd=tmp_path, env={**os.environ, "HYDRA_FULL_ERROR": "1"}, stdout=f,
                           stderr=subprocess.STDOUT, timeout=600)
    text = (tmp_path / "sweep.log").read_text()
    assert p.returncode == 0, text[-3000:]
    assert "\r" not in text  # no bar redraws in a file
    lines = text.splitlines()
    assert all(ln.count("%|") <= 1 and ln.count("sweep:") <= 1 for ln in lines)  # no two bars / lines on one line
    progress = [ln for ln in lines if ln.startswith("sweep: ")]
    assert progress[0] == "sweep: 0/4 cells (0 failed, 0 skipped), 0:00:00 elapsed, ETA —"
    assert progress[-1].startswith("sweep: 4/4 cells (0 failed, 2 skipped) in "), progress
    done = [int(ln.split()[1].split("/")[0]) for ln in progress]
    assert done == sorted(done) and len(set(done)) == len(done)  # one line per change, never backwards
    assert all(" elapsed, ETA " in ln for ln in progress[:-1])
    sweep_dir = next((tmp_path / "results/p/.hydra/multirun").iterdir())
    assert (sweep_dir / PROGRESS_LOG).read_text().splitlines() == progress  # the same lines in the sweep's log
    assert len([d for d in sweep_dir.iterdir() if d.is_dir() and d.name.isdigit()]) == 4  # Hydra's own job count
    assert len(list((tmp_path / "results/p/records").glob("*.json"))) == 2
