"""`scarce export mlflow <study>`: one MLflow run per record under one parent run per study, offline.

- **Where**: ``--tracking-uri``, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///<study>/mlflow/mlflow.db``
  with artifacts beside it (MLflow 3 refuses its legacy ``./mlruns`` file store unless opted in, and puts a
  new sqlite experiment's artifacts in the *working directory* unless told: we tell it). Always passed to
  the client explicitly; the global tracking URI is left alone.
- **Nothing over the network**: telemetry (on by default in MLflow 3, started at ``import mlflow``) is switched
  off through ``MLFLOW_DISABLE_TELEMETRY`` and ``DO_NOT_TRACK`` before the import, and again after it
  (``set_telemetry_client`` re-reads them) for a process that imported MLflow earlier.
- **Runs**: params, metrics and tags from :mod:`benchmark.export.runs`; the record JSON as artifact
  ``record/<run_id>.json``; status FINISHED (``ok``) or FAILED (``failed``, its error as a tag).
- **Parent**: tagged ``scarce.role=study``; its artifact ``report/`` is the study's report, built first
  (:func:`benchmark.report.write_report`) when absent or older than the newest record (``report=False``: none).
- **Idempotent**: a run is keyed by ``scarce.run_id``. A run whose ``scarce.record_sha256`` (written last, so a
  run cut off half-way never matches) equals the record file's is kept; a changed record replaces its run;
  a run whose record left the study is deleted (MLflow's soft delete: ``mlflow gc`` purges). A changed
  report gets a new parent and the kept runs are moved under it.
"""
from __future__ import annotations

import hashlib
import os
import time
import warnings
from pathlib import Path
from typing import Any

from benchmark.export.runs import TAG, group_labels, record_sha256, run_metrics, run_name, run_params, run_tags
from benchmark.records import read_record, records_dir

INSTALL_HINT = "pip install -e .[mlflow]"
OFFLINE_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
PARENT = "mlflow.parentRunId"  # MLflow's own tag: nests a run under another in the UI and in searches


def import_mlflow():
    """``mlflow`` with telemetry off, or a RuntimeError that names the extra to install."""
    os.environ.update(OFFLINE_ENV)  # before the import: MLflow starts its telemetry client at import time
    try:
        import mlflow
    except ImportError as e:
        raise RuntimeError(f"scarce export mlflow needs MLflow, an optional extra: {INSTALL_HINT} "
                           f"(import failed: {e})") from None
    try:
        from mlflow.telemetry import set_telemetry_client
    except ImportError:  # an MLflow from before telemetry: nothing to switch off
        return mlflow
    set_telemetry_client()  # mlflow imported before us: re-read the switches (disabled → no client, no thread)
    return mlflow


def default_tracking_uri(study_dir: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(study_dir / 'mlflow' / 'mlflow.db').resolve()}"


def _sqlite_artifacts(uri: str) -> str | None:
    """``<folder of the db>/artifacts`` as a file URI for a sqlite store (else None: the store decides)."""
    if not uri.startswith("sqlite:///"):
        return None
    db = Path(uri[len("sqlite:///"):])
    db.parent.mkdir(parents=True, exist_ok=True)
    return (db.parent / "artifacts").resolve().as_uri()


def _experiment(client, name: str, uri: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is None:
        return client.create_experiment(name, artifact_location=_sqlite_artifacts(uri))
    if exp.lifecycle_stage == "deleted":
        client.restore_experiment(exp.experiment_id)
    return exp.experiment_id


def _search(client, exp_id: str, role: str) -> list:
    """Every active run of the experiment with ``scarce.role = role`` (all pages)."""
    runs, token = [], None
    while True:
        page = client.search_runs([exp_id], f"tags.`{TAG}role` = '{role}'", max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _report_dir(study_dir: Path, build: bool) -> Path | None:
    """The study's report directory, (re)built when its index.html is missing or older than a record."""
    if not build:
        return None
    out, newest = study_dir / "report", max(p.stat().st_mtime for p in records_dir(study_dir).glob("*.json"))
    index = out / "index.html"
    if not index.is_file() or index.stat().st_mtime < newest:
        from benchmark.report import write_report

        print(f"building the report in {out} ({'older than the records' if index.is_file() else 'none yet'})")
        write_report(study_dir, out)
    return out


def _dir_sha256(d: Path | None) -> str:
    h = hashlib.sha256()
    for p in sorted(d.rglob("*")) if d else []:
        if p.is_file():
            h.update(str(p.relative_to(d)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _parent(client, exp_id: str, study: str, report: Path | None, kept: list) -> str:
    """The study's parent run: the existing one if its report is unchanged, else a new one (report logged),
    the kept runs moved under it and the old parent(s) deleted."""
    digest, olds = _dir_sha256(report), _search(client, exp_id, "study")
    same = [r for r in olds if r.data.tags.get(TAG + "report_sha256") == digest]
    if same:
        return same[0].info.run_id
    run = client.create_run(exp_id, run_name=study, tags={TAG + "role": "study", TAG + "study": study,
                                                          TAG + "report": "yes" if report else "no"})
    if report:
        client.log_artifacts(run.info.run_id, str(report), "report")
    client.set_terminated(run.info.run_id)
    client.set_tag(run.info.run_id, TAG + "report_sha256", digest)  # last: a parent cut off half-way never matches
    for r in kept:
        client.set_tag(r.info.run_id, PARENT, run.info.run_id)
    for r in olds:
        client.delete_run(r.info.run_id)
    return run.info.run_id


def _log_run(client, exp_id: str, parent: str, path: Path, record: dict, study: str, label: dict) -> None:
    from mlflow.entities import Metric, Param, RunTag

    sha, now = record_sha256(path), int(time.time() * 1000)
    tags = {**run_tags(record, study, label, sha), PARENT: parent}
    run = client.create_run(exp_id, run_name=run_name(record, label["label"]), tags=tags)
    rid = run.info.run_id
    client.log_batch(rid, metrics=[Metric(k, v, now, 0) for k, v in run_metrics(record).items()],
                     params=[Param(k, v) for k, v in run_params(record).items()])
    client.log_artifact(rid, str(path), "record")
    client.set_terminated(rid, "FINISHED" if record["status"] == "ok" else "FAILED")
    client.set_tag(rid, TAG + "record_sha256", sha)  # last: the mark of a complete run


def export_study(study_dir: str | Path, tracking_uri: str | None = None, experiment: str | None = None,
                 report: bool = True) -> dict[str, Any]:
    """Export (or bring up to date) a study in an MLflow store; returns what was done, for the caller to print."""
    study_dir = Path(study_dir)
    paths = sorted(records_dir(study_dir).glob("*.json"))
    if not paths:
        raise FileNotFoundError(f"{records_dir(study_dir)}: no records; expected a study written by scarce-run")
    records = [read_record(p) for p in paths]
    study = str(records[0].get("study") or study_dir.name)
    uri, name = tracking_uri or default_tracking_uri(study_dir), experiment or f"scarce/{study}"
    mlflow = import_mlflow()  # before the report is built: a missing extra is said at once
    report_dir = _report_dir(study_dir, report)
    with warnings.catch_warnings():  # SQLAlchemy 2.1 deprecates a loader MLflow's sqlite store uses: not ours
        warnings.filterwarnings("ignore", module=r"mlflow\.store")
        try:
            return _sync(mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri), uri, name, study, paths,
                         records, report_dir)
        except mlflow.exceptions.MlflowException as e:
            raise RuntimeError(f"MLflow store {uri}: {e.message}") from e


def _sync(client, uri: str, name: str, study: str, paths: list[Path], records: list[dict],
          report_dir: Path | None) -> dict[str, Any]:
    exp_id = _experiment(client, name, uri)
    existing: dict[str, Any] = {}
    counts = {"created": 0, "replaced": 0, "unchanged": 0, "removed": 0}
    for r in _search(client, exp_id, "run"):  # duplicates (two exports at once): keep one, the others go
        if r.data.tags.get(TAG + "run_id") in existing:
            client.delete_run(r.info.run_id)
        else:
            existing[r.data.tags.get(TAG + "run_id")] = r
    current = {rec["run_id"]: (p, rec) for p, rec in zip(paths, records)}
    for rid in sorted(set(existing) - set(current)):  # its record left the study
        client.delete_run(existing.pop(rid).info.run_id)
        counts["removed"] += 1
    same = {rid for rid, r in existing.items()
            if r.data.tags.get(TAG + "record_sha256") == record_sha256(current[rid][0])}
    parent = _parent(client, exp_id, study, report_dir, [existing[rid] for rid in sorted(same)])
    labels = group_labels(records)
    for rid, (path, rec) in current.items():
        if rid in same:
            counts["unchanged"] += 1
            continue
        if rid in existing:
            client.delete_run(existing[rid].info.run_id)
            counts["replaced"] += 1
        else:
            counts["created"] += 1
        _log_run(client, exp_id, parent, path, rec, study, labels[rid])
    return {"tracking_uri": uri, "experiment": name, "experiment_id": exp_id, "parent_run_id": parent,
            "records": len(records), "report": str(report_dir) if report_dir else None, **counts}
