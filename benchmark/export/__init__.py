"""`scarce export <tracker> <study>`: a study's records in an experiment tracker (today: MLflow, an optional
extra). What a run holds is :mod:`benchmark.export.runs` (no tracker needed); the MLflow side is
:mod:`benchmark.export.mlflow` (imports MLflow only when a command runs)."""
from __future__ import annotations

import argparse

__all__ = ["add_export_parser", "cmd_export_mlflow"]


def cmd_export_mlflow(args: argparse.Namespace) -> int:
    from benchmark.export.mlflow import export_study

    s = export_study(args.study_dir, args.tracking_uri, args.experiment, report=not args.no_report)
    print(f"MLflow store {s['tracking_uri']}, experiment {s['experiment']!r} (id {s['experiment_id']}), "
          f"parent run {s['parent_run_id']} (report: {s['report'] or 'none'})")
    print(f"{s['records']} records: {s['created']} runs created, {s['replaced']} replaced (record changed), "
          f"{s['unchanged']} unchanged, {s['removed']} removed (record gone)")
    return 0


def add_export_parser(sub) -> None:
    """The `export` subcommand of `scarce` (benchmark/cli.py), one sub-subcommand per tracker."""
    e = sub.add_parser("export", help="a study's runs in an experiment tracker (mlflow)")
    trackers = e.add_subparsers(dest="tracker", required=True)
    m = trackers.add_parser("mlflow", help="one MLflow run per record under a parent run holding the report "
                            "(needs the extra: pip install -e .[mlflow])")
    m.add_argument("study_dir")
    m.add_argument("--tracking-uri", help="MLflow tracking URI (default $MLFLOW_TRACKING_URI, else "
                   "sqlite:///<study_dir>/mlflow/mlflow.db)")
    m.add_argument("--experiment", help="experiment name (default scarce/<study>)")
    m.add_argument("--no-report", action="store_true", help="no report on the parent run (default: the study's "
                   "report/, built first when missing or older than the records)")
    m.set_defaults(func=cmd_export_mlflow)
