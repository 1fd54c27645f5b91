"""Resumable sweeps: failed cells skipped unless retry_failed, OOM -> failed record, interrupts -> no
record, per-cell locks, stale temp files, `scarce status`, and a short chaos run (SIGKILL + rerun)."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from benchmark.cli import compose_config
from benchmark.cli import main as scarce_main
from benchmark.records import cell_lock, is_locked, load_records, read_record, record_path, records_dir, \
    stale_temp_files
from benchmark.run import run
from benchmark.split.pilot import make_split
from benchmark.status import cell_states, status_table
from tests.conftest import write_tiny_dataset

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
TINY = ["model=timm", "model.name=resnet10t", "model.pretrained=false", "model.image_size=32",
        "trainer.max_steps=3", "trainer.batch_size=8", "trainer.warmup_steps=0", "synthetic.volume=4", "threads=1"]


def make_study(tmp_path: Path, counts: dict[str, int] | None = None,
               tiny: list[str] = TINY) -> tuple[list[str], Path]:
    """A tiny imagefolder dataset, its frozen split (hardest class fixed: no pilot runs) and the overrides
    that point a run at them (`tiny`: the model / budget overrides). Returns (overrides, study dir)."""
    ds = write_tiny_dataset(tmp_path / "data", counts)
    over = ["dataset=imagefolder", "dataset.id=imagefolder", f"dataset.root={ds.root}", f"dataset.masks={tmp_path / 'data' / 'masks'}",
            f"results_root={tmp_path / 'results'}", "study=t", f"split.manifest={tmp_path / 'split.json'}",
            f"cache_root={tmp_path / 'cache'}", *tiny]
    cfg = OmegaConf.to_container(compose_config(over), resolve=True)
    make_split(cfg, seed=0, pilot_seeds=[1000], hardest="scratch", reason="test", out=tmp_path / "split.json")
    return over, tmp_path / "results" / "t"


@pytest.fixture
def study(tmp_path):
    return make_study(tmp_path)


def cfg_for(over, *extra):
    return compose_config([*over, *extra])


def test_failed_cell_skipped_unless_retry_failed(study, caplog):
    over, sdir = study
    failed = run(cfg_for(over, "arm=real", "seed=4", "trainer.lr=1e30"))  # non-finite loss -> failed record
    assert failed["status"] == "failed" and failed["error"]["type"] == "FloatingPointError"
    path = record_path(sdir, failed["run_id"])
    mtime = path.stat().st_mtime_ns
    caplog.set_level(logging.INFO, logger="scarce")
    caplog.clear()
    again = run(cfg_for(over, "arm=real", "seed=4", "trainer.lr=1e30"))
    assert again["status"] == "failed" and path.stat().st_mtime_ns == mtime  # skipped, not rerun
    assert "rerun it with retry_failed=true" in caplog.text
    retried = run(cfg_for(over, "arm=real", "seed=4", "trainer.lr=1e30", "retry_failed=true"))
    assert retried["status"] == "failed" and path.stat().st_mtime_ns != mtime  # rerun (and fails again)
    assert compose_config([]).retry_failed is False  # the key exists: `retry_failed=true`, no '+' needed


TorchOOM = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError  # torch < 2.5: cuda only


@pytest.mark.parametrize("exc", [MemoryError(), TorchOOM("CUDA out of memory. Tried to allocate 2.00 GiB"),
                                 RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: "
                                              "can't allocate memory")])
def test_out_of_memory_gives_failed_record(study, monkeypatch, exc):
    over, sdir = study

    def engine(*a, **k):
        raise exc

    monkeypatch.setattr("benchmark.tasks.classification.create_engine", lambda name: engine)
    rec = run(cfg_for(over, "arm=real", "seed=1"))
    assert rec["status"] == "failed" and rec["error"]["type"] == type(exc).__name__
    assert rec["error"]["message"]  # never empty (MemoryError() has no message of its own)
    assert read_record(record_path(sdir, rec["run_id"]))["status"] == "failed"


def test_keyboard_interrupt_writes_no_record_and_frees_the_cell(study, monkeypatch):
    over, sdir = study

    def engine(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("benchmark.tasks.classification.create_engine", lambda name: engine)
    with pytest.raises(KeyboardInterrupt):
        run(cfg_for(over, "arm=real", "seed=1"))
    assert not list(records_dir(sdir).glob("*.json"))  # no record, not even a failed one
    (cell,) = cell_states(sdir).itertuples()  # declared, so `scarce status` shows it missing
    assert cell.state == "missing" and not cell.running and not is_locked(sdir, cell.run_id)


def test_sigterm_writes_no_record(study):
    over, sdir = study
    p = subprocess.Popen([str(BIN / "scarce-run"), *over, "arm=real", "seed=2", "trainer.max_steps=100000"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and p.poll() is None:  # wait until it trains: cell declared, lock held
        declared = list((records_dir(sdir) / ".expected").glob("*.json"))
        if declared and is_locked(sdir, declared[0].stem):
            break
        time.sleep(0.05)
    time.sleep(0.5)
    assert p.poll() is None, "run ended before it started training"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=60) != 0
    assert not list(records_dir(sdir).glob("*.json"))
    assert cell_states(sdir)["state"].tolist() == ["missing"]


def test_waits_for_the_cell_lock_then_reuses_the_record(study, caplog):
    over, sdir = study
    first = run(cfg_for(over, "arm=real", "seed=5"))
    path = record_path(sdir, first["run_id"])
    content = path.read_bytes()
    path.unlink()
    held, waiting = threading.Event(), threading.Event()

    class Seen(logging.Handler):  # the run says it waits: only then may the other job finish the cell
        def emit(self, record):
            if "waiting for it to finish the cell" in record.getMessage():
                waiting.set()

    def other_job():  # another sweep holds the cell until this run waits on it, then finishes it
        with cell_lock(sdir, first["run_id"]):
            held.set()
            waiting.wait(timeout=120)  # a fixed sleep raced the run's own set-up on a loaded machine
            path.write_bytes(content)

    seen = Seen(level=logging.INFO)
    logging.getLogger("scarce").addHandler(seen)
    t = threading.Thread(target=other_job)
    t.start()
    held.wait()
    caplog.set_level(logging.INFO, logger="scarce")
    caplog.clear()
    try:
        rec = run(cfg_for(over, "arm=real", "seed=5"))
    finally:
        waiting.set()
        t.join()
        logging.getLogger("scarce").removeHandler(seen)
    assert "waiting for it to finish the cell" in caplog.text and "ok record exists" in caplog.text
    assert rec["predictions"] == first["predictions"] and path.read_bytes() == content  # not trained again


def test_stale_temp_file_ignored_then_cleaned(study):
    over, sdir = study
    rec = run(cfg_for(over, "arm=real", "seed=6"))
    stale = records_dir(sdir) / f".{rec['run_id']}.abc123.tmp"
    stale.write_text('{"schema": 1, "status": "ok", "run_id": "half a rec')  # a killed writer's leftover
    other = records_dir(sdir) / ".0123456789abcdef.zz.tmp"
    other.write_text("{")
    assert [r["run_id"] for r in load_records(sdir)] == [rec["run_id"]]  # temp files are never results
    assert set(stale_temp_files(sdir)) == {stale, other}
    run(cfg_for(over, "arm=real", "seed=6"))  # the next run of that cell removes its temp file (under lock)
    assert not stale.exists() and other.exists()  # another cell's temp file waits for that cell's lock


def test_status_counts_done_failed_missing(study, monkeypatch, capsys):
    over, sdir = study
    run(cfg_for(over, "arm=real", "seed=1"))
    run(cfg_for(over, "arm=real", "seed=2", "trainer.lr=1e30"))

    def engine(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr("benchmark.tasks.classification.create_engine", lambda name: engine)
        with pytest.raises(KeyboardInterrupt):
            run(cfg_for(over, "arm=real", "seed=3"))
    table = status_table(cell_states(sdir)).set_index("seed")
    assert table[["expected", "done", "failed", "missing"]].to_dict("index") == {
        1: {"expected": 1, "done": 1, "failed": 0, "missing": 0},
        2: {"expected": 1, "done": 0, "failed": 1, "missing": 0},
        3: {"expected": 1, "done": 0, "failed": 0, "missing": 1}}
    assert scarce_main(["status", str(sdir)]) == 0
    out = capsys.readouterr().out
    assert "3 expected cells: 1 done, 1 failed, 1 missing" in out and "retry_failed=true" in out
    assert scarce_main(["status", str(sdir.parent / "nope")]) == 2  # not a study: error, non-zero


def test_two_sweeps_into_one_study_train_each_cell_once(tmp_path):
    over, sdir = make_study(tmp_path)
    cmd = [str(BIN / "scarce-run"), "-m", *over, "arm=real,synthetic", "seed=7,8"]
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    text = "".join(outs)
    trained = [line for line in text.splitlines() if "[scarce][INFO] - ok " in line]
    assert len(trained) == 4, trained  # 4 cells, each trained by exactly one of the two sweeps
    assert text.count("ok record exists") == 4  # ... and found done by the other
    assert len(list(records_dir(sdir).glob("*.json"))) == 4


def test_chaos_short(tmp_path):
    """3 SIGKILLs (while generating the synthetic set, while writing a record, while training), a rerun after
    each, then the comparison with an uninterrupted sweep: nothing lost, duplicated or different."""
    out = tmp_path / "chaos.json"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "chaos.py"), "--kills", "3", "--arms", "real,synthetic",
                        "--seeds", "1", "--targets", "generator,write,train", "--out", str(tmp_path / "w"),
                        "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["kills"] == 3 and set(res["kills_by_phase"]) == {"generator", "write", "train"}, res
    assert (res["lost"], res["duplicated"], res["mismatched"], res["leftover_tmp"]) == (0, 0, 0, 0), res
    assert res["status_missing"] == 0 and res["status_failed"] == 0
    assert "lost: 0  duplicated: 0  mismatched: 0" in p.stdout
