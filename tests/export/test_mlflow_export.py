"""`scarce export mlflow` round trip: the demo study of tests/report/test_report_study.py (22 records, one failed)
exported into a real local MLflow store (sqlite + artifact folder) and read back with MlflowClient, offline."""
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from benchmark.cli import main
from benchmark.records import load_records, record_path, write_record
from benchmark.report import write_report
from tests.report.test_report_study import record, write_study

mlflow = pytest.importorskip("mlflow", reason="MLflow is an optional extra: pip install -e .[mlflow]")
ROOT = Path(__file__).resolve().parents[2]


def export(study: Path, *extra: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["export", "mlflow", str(study), *extra]) == 0
    return out.getvalue()


def runs(client, role: str) -> list:
    exp = client.get_experiment_by_name("scarce/unit")
    return client.search_runs([exp.experiment_id], f"tags.`scarce.role` = '{role}'", max_results=1000)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The study with its report (n_boot kept small: the report is an artifact here, not under test) and
    its export into the default store, sqlite:///<study>/mlflow/mlflow.db."""
    study = write_study(tmp_path_factory.mktemp("mlflow") / "tiles_study")
    write_report(study, n_boot=200)
    with pytest.MonkeyPatch.context() as mp:  # the default store, whatever the environment names
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        printed = export(study)
    uri = f"sqlite:///{study / 'mlflow' / 'mlflow.db'}"
    return study, printed, mlflow.MlflowClient(tracking_uri=uri)


def test_round_trip_runs_params_metrics(store):
    study, printed, client = store
    records = {r["run_id"]: r for r in load_records(study)}
    assert "22 records: 22 runs created" in printed
    got = {r.data.tags["scarce.run_id"]: r for r in runs(client, "run")}
    assert set(got) == set(records) and len(runs(client, "study")) == 1
    for rid, rec in records.items():
        run, cell = got[rid], rec["cell"]
        assert {k: run.data.params.get(k) for k in ("dataset", "arm", "generator", "seed", "model")} == {
            "dataset": "tiles", "arm": cell["arm"], "generator": cell["generator"] and str(cell["generator"]),
            "seed": str(cell["seed"]), "model": "resnet18"}
        m = run.data.metrics
        if rec["status"] == "failed":
            assert run.info.status == "FAILED" and m == {} and run.data.tags["scarce.error"] == "CUDA out of memory"
            continue
        assert run.info.status == "FINISHED"
        for k in ("hardest_class_accuracy", "accuracy", "balanced_accuracy", "macro_map"):
            assert m[k] == rec["metrics"][k]
        assert m["per_class_accuracy/crack"] == rec["metrics"]["per_class_accuracy"]["crack"]
        y, p = np.array(rec["predictions"]["labels"]), np.array(rec["predictions"]["probs"])  # sklearn, not ours
        assert m["endpoint/hardest_accuracy"] == pytest.approx((p[y == 0].argmax(1) == 0).mean())
        assert m["endpoint/hardest_ap"] == pytest.approx(average_precision_score(y == 0, p[:, 0]))


def test_round_trip_groups(store):
    study, _, client = store
    all_runs = runs(client, "run")
    parent = runs(client, "study")[0].info.run_id
    assert {r.data.tags["mlflow.parentRunId"] for r in all_runs} == {parent}
    seeds: dict[str, set] = {}
    for r in all_runs:
        seeds.setdefault(r.data.tags["scarce.seed_group"], set()).add((r.data.params["seed"], r.data.tags[
            "scarce.arm_label"]))
    by_seed = {next(iter(v))[0]: {a for _, a in v} for v in seeds.values()}
    assert len(seeds) == len(by_seed) == 6  # one group per seed, the arms of that seed in it
    assert by_seed["0"] == {"real", "placebo[cutpaste+folder]", "synthetic[cutpaste]", "synthetic[folder]"}
    assert by_seed["5"] == {"real", "synthetic[cutpaste]"}  # placebo and folder ran seeds 0..4; cutpaste 5 failed
    exp = client.get_experiment_by_name("scarce/unit").experiment_id
    cells = {r.data.tags["scarce.cell_group"] for r in all_runs}
    seeds_of = {c: sorted(int(r.data.params["seed"]) for r in client.search_runs(
        [exp], f"tags.`scarce.cell_group` = '{c}'")) for c in cells}  # a tracker's own filter groups them
    assert sorted(seeds_of.values()) == [[0, 1, 2, 3, 4]] * 2 + [[0, 1, 2, 3, 4, 5]] * 2


def test_round_trip_artifacts(store, tmp_path):
    study, _, client = store
    run = next(r for r in runs(client, "run") if r.data.params["arm"] == "real" and r.data.params["seed"] == "2")
    rid = run.data.tags["scarce.run_id"]
    assert [a.path for a in client.list_artifacts(run.info.run_id, "record")] == [f"record/{rid}.json"]
    got = Path(client.download_artifacts(run.info.run_id, f"record/{rid}.json", str(tmp_path)))
    assert json.loads(got.read_text()) == json.loads(record_path(study, rid).read_text())
    parent = runs(client, "study")[0].info.run_id
    names = {a.path for a in client.list_artifacts(parent, "report")}
    assert {"report/index.html", "report/table.csv", "report/comparisons.csv"} <= names
    html = Path(client.download_artifacts(parent, "report/index.html", str(tmp_path)))
    assert html.read_bytes() == (study / "report" / "index.html").read_bytes()


def test_reexport_is_idempotent_and_mirrors_changes(store, tmp_path):
    study = tmp_path / "tiles_study"
    shutil.copytree(store[0], study, ignore=shutil.ignore_patterns("mlflow"))
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    export(study, "--tracking-uri", uri)
    first = {r.data.tags["scarce.run_id"]: r.info.run_id for r in runs(client, "run")}
    assert "0 runs created, 0 replaced (record changed), 22 unchanged" in export(study, "--tracking-uri", uri)
    assert {r.data.tags["scarce.run_id"]: r.info.run_id for r in runs(client, "run")} == first  # same MLflow runs
    changed = record("real", None, 0, .9)  # seed 0 of real rerun with other numbers: same run ID
    write_record(study, changed)
    gone = record("placebo", None, 4, .4)["run_id"]
    record_path(study, gone).unlink()
    (study / "report" / "table.md").write_text("edited\n")  # the report changed (index.html still newer)
    printed = export(study, "--tracking-uri", uri)
    assert "21 records: 0 runs created, 1 replaced (record changed), 20 unchanged, 1 removed" in printed
    now = {r.data.tags["scarce.run_id"]: r for r in runs(client, "run")}
    assert set(now) == set(first) - {gone}
    assert now[changed["run_id"]].data.metrics["hardest_class_accuracy"] == .9
    parents = runs(client, "study")
    assert len(parents) == 1 and {r.data.tags["mlflow.parentRunId"] for r in now.values()} == {parents[0].info.run_id}


NO_NETWORK = """
import socket, sys
seen = []
def hook(event, args):  # refuse (and note) any connection or lookup to a host that is not this machine
    if event in ("socket.connect", "socket.getaddrinfo"):
        addr = args[1] if event == "socket.connect" else args[0]
        host = addr[0] if isinstance(addr, tuple) else addr
        if isinstance(host, bytes):
            host = host.decode()
        if isinstance(host, str) and host not in ("localhost", "127.0.0.1", "::1", ""):
            seen.append(f"{event} {host}")
            raise OSError(f"network refused in this test: {host}")
sys.addaudithook(hook)
from benchmark.cli import main
code = main(["export", "mlflow", sys.argv[1], "--tracking-uri", sys.argv[2], "--no-report"])
from mlflow.telemetry import get_telemetry_client
try:
    socket.getaddrinfo("192.0.2.1", 443)  # control: the hook sees a lookup
except OSError:
    pass
print("CODE", code, "TELEMETRY", get_telemetry_client(), "SEEN", seen)
"""


def test_no_socket_to_another_host(store, tmp_path):
    # outside pytest (MLflow switches telemetry off by itself under PYTEST_CURRENT_TEST or CI): as a user runs it
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "CI", "MLFLOW_DISABLE_TELEMETRY",
                                                            "DO_NOT_TRACK", "MLFLOW_TRACKING_URI")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", NO_NETWORK, str(store[0]), f"sqlite:///{tmp_path / 'n.db'}"],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CODE 0 TELEMETRY None SEEN ['socket.getaddrinfo 192.0.2.1']" in proc.stdout, proc.stdout + proc.stderr
    assert not (tmp_path / "mlruns").exists()  # artifacts beside the store, not in the working directory
