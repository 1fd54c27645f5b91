"""`scarce status` on submitted sweeps: parsing real squeue / sacct output (tests/submit/samples.py), the
SLURM queries through stand-in clients on PATH, and the join of submission files, job links, records,
locks and SLURM states into one state per job."""
from __future__ import annotations

import json
import os
import stat

import pytest

from benchmark.records import atomic_write_json, cell_lock, write_expected, write_record
from benchmark.status import cell_states, format_status
from benchmark.submit import slurm
from benchmark.submit.links import link_path, submissions_dir
from benchmark.submit.view import format_submissions, job_table
from tests.submit import samples


def test_parse_squeue_captured():
    assert slurm.parse_squeue(samples.SQUEUE_PENDING) == slurm.parse_squeue(samples.SQUEUE_PENDING_NO_R)
    assert sorted(slurm.parse_squeue(samples.SQUEUE_PENDING_NO_R)) == ["1_0", "1_1", "1_2", "1_3"]
    mixed = slurm.parse_squeue(samples.SQUEUE_MIXED)
    assert mixed["1_0"]["state"] == "RUNNING" and mixed["1_1"] == {"state": "PENDING", "reason": "JobArrayTaskLimit"}
    assert "1_3" not in mixed  # a pending task cancelled leaves squeue at once
    every = slurm.parse_squeue(samples.SQUEUE_ALL)
    assert {j: slurm.folded(v["state"]) for j, v in every.items()} == {
        "7": "failed", "1_2": "completed", "1_1": "completed", "1_0": "completed", "3": "completed",
        "8_0": "running", "8_1": "running", "2": "failed", "6": "failed"}
    assert every["6"] == {"state": "TIMEOUT", "reason": "TimeLimit"}


def test_parse_sacct_documented_layout():
    got = slurm.parse_sacct(samples.SACCT_DOC)
    assert got["8_1"] == {"state": "CANCELLED", "exit": "0:15"}  # "CANCELLED by 0"
    assert [got[f"8_{i}"]["state"] for i in (2, 3, 4)] == ["PENDING"] * 3  # "8_[2-4%2]"
    assert slurm.folded(got["10"]["state"]) == "failed" and slurm.folded(got["9"]["state"]) == "failed"
    assert slurm.expand_job_id("5_[0,3-4]") == ["5_0", "5_3", "5_4"] and slurm.expand_job_id("12") == ["12"]
    assert slurm.folded("PENDING") == "queued" and slurm.folded("COMPLETING") == "running" and slurm.folded("") is None


def _client(bin_dir, name: str, body: str) -> None:
    p = bin_dir / name
    p.write_text("#!/bin/sh\n" + body)
    p.chmod(p.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake_path(tmp_path, monkeypatch):
    """A PATH holding only stand-in SLURM clients (their scripts call tools by absolute path)."""
    d = tmp_path / "bin"
    d.mkdir()
    monkeypatch.setenv("PATH", str(d))  # the real clients (/usr/bin/squeue) stay out of sight
    return d


def test_job_states_through_the_clients(fake_path, tmp_path):
    (tmp_path / "all.txt").write_text(samples.SQUEUE_ALL)
    # squeue -h -r -t all -j <id> -o FMT: the captured lines of that id; an expired id: the captured error, exit 1
    _client(fake_path, "squeue", f'/usr/bin/grep "^$6[_|]" {tmp_path / "all.txt"} && exit 0\n'
                                 f'echo "{samples.SQUEUE_INVALID}" >&2; exit 1\n')
    _client(fake_path, "sacct", f'echo "{samples.SACCT_DISABLED}" >&2; exit 1\n')
    states, note = slurm.job_states(["8", "6", "99"])
    assert {k: v["state"] for k, v in states.items()} == {"8_0": "RUNNING", "8_1": "RUNNING", "6": "TIMEOUT"}
    assert note == f"sacct: {samples.SACCT_DISABLED}"  # only 99 was asked of sacct, which has no accounting
    (tmp_path / "sacct.txt").write_text(samples.SACCT_DOC)
    _client(fake_path, "sacct", f'/usr/bin/cat {tmp_path / "sacct.txt"}\n')
    states, note = slurm.job_states(["8", "99"])
    assert note is None and states["8_0"]["state"] == "RUNNING"  # squeue's live state wins over sacct's


def test_job_states_unreachable(fake_path):
    states, note = slurm.job_states(["8"])
    assert states == {} and note == "SLURM not reachable: no `squeue` on PATH"
    _client(fake_path, "squeue", 'echo "slurm_load_jobs error: Unable to contact slurm controller (connect failure)" '
                                 '>&2; exit 1\n')
    states, note = slurm.job_states(["8"])
    assert states == {} and note.startswith("SLURM not reachable: squeue: slurm_load_jobs error: Unable to contact")
    _client(fake_path, "squeue", "exec /usr/bin/sleep 5\n")  # a wrong SLURM_CONF: squeue hangs on DNS lookups
    assert slurm.job_states(["8"], timeout=0.5) == ({}, "SLURM not reachable: squeue: no answer in 0.5 s (controller "
                                                        "down, or SLURM_CONF wrong?)")


def _study(tmp_path):
    """Submission 8 of 7 jobs: job i claimed cell r<i> where it got that far; records for r0 (ok) and r1 (failed)."""
    sdir = tmp_path / "study"
    tasks = [{"job_id": f"8_{i}", "job_num": i, "overrides": ["dataset=demo", f"arm=a{i}", "seed=0"]} for i in range(7)]
    atomic_write_json(submissions_dir(sdir) / "8.json", {"schema": 1, "job_id": "8", "submitted": "2026-12-07T03:00:00",
                                                         "wait": False, "tasks": tasks})
    for i in (0, 1, 2, 5):
        atomic_write_json(link_path(sdir, f"8_{i}"), {"job_id": f"8_{i}", "run_ids": [f"r{i}"]})
        write_expected(sdir, f"r{i}", {"run_id": f"r{i}", "dataset": "demo", "arm": f"a{i}", "generator": None, "seed": 0})
    for i, status in ((0, "ok"), (1, "failed")):
        write_record(sdir, {"schema": 1, "run_id": f"r{i}", "status": status, "cell": {"arm": f"a{i}"},
                            "error": None if status == "ok" else {"type": "RuntimeError", "message": "nan loss"}})
    return sdir


SLURM_SAYS = {"8_0": "COMPLETED", "8_1": "COMPLETED", "8_2": "RUNNING", "8_3": "PENDING", "8_4": "TIMEOUT",
              "8_5": "CANCELLED"}  # 8_6: SLURM has forgotten it (older than MinJobAge, no accounting)


def test_join_with_slurm(tmp_path):
    sdir = _study(tmp_path)
    table = job_table(sdir, cell_states(sdir), [json.loads((submissions_dir(sdir) / "8.json").read_text())],
                      {k: {"state": v} for k, v in SLURM_SAYS.items()}, reachable=True)
    assert list(table["state"]) == ["done", "failed", "running", "queued", "failed", "failed", "ended"]
    assert list(table["slurm"]) == [*SLURM_SAYS.values(), "-"]
    assert list(table["overrides"]) == [f"arm=a{i}" for i in range(7)]  # only what the sweep varies
    assert list(table["run_ids"]) == ["r0", "r1", "r2", "-", "-", "r5", "-"]


def test_join_without_slurm(tmp_path):
    sdir = _study(tmp_path)
    down = lambda ids: (list(ids) and {}, "SLURM not reachable: no `squeue` on PATH")  # noqa: E731
    with cell_lock(sdir, "r2"):  # the job of r2 trains it right now (this process holds its flock)
        lines = format_submissions(sdir, cell_states(sdir), query=down)
    assert lines[0] == "SLURM not reachable: no `squeue` on PATH"
    assert lines[1].startswith("SLURM job 8 submitted 2026-12-07T03:00:00 (in the background), 7 job(s): "
                               "0 queued, 1 running, 1 done, 1 failed, 4 unknown")
    assert "  (unknown: no record; SLURM not reachable)" in lines


def test_status_before_any_job_started(tmp_path, monkeypatch):
    sdir = tmp_path / "study"
    atomic_write_json(submissions_dir(sdir) / "9.json", {"schema": 1, "job_id": "9", "submitted": "t", "wait": False,
                                                         "tasks": [{"job_id": "9", "job_num": 0, "overrides": ["a=1"]}]})
    monkeypatch.setenv("PATH", str(tmp_path))  # no squeue
    out = format_status(sdir)
    assert out.splitlines()[0] == f"study {sdir}: no cell declared yet" and "1 unknown" in out
    assert os.path.isdir(sdir) and not (sdir / "records").exists()  # status writes nothing
