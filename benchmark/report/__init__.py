"""Study reports: records → tables, figures and one self-contained HTML page on disk.

``write_report`` is the single entry point. Each artefact is one ``write_*(ctx, out_dir)`` function
(:mod:`.artefacts`) and one line in ``ARTEFACTS``; ``index.html`` (:mod:`.html`) is written last and
embeds what they wrote. Statistics come from :mod:`benchmark.stats`; reading records from
:mod:`.collect`; comparisons from :mod:`.comparisons`; rendering from :mod:`.table_formats` / :mod:`.figures`;
published numbers from :mod:`.published` (side by side with ours: :mod:`.replication`); the A/A calibration from :mod:`.calibrate`.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from benchmark.report.artefacts import (ReportContext, failures_frame, write_aa_histogram, write_comparisons,
                                        write_confusion, write_failures, write_fewshot, write_forest,
                                        write_paired_seeds, write_table)
from benchmark.report.collect import StudyData, load_study
from benchmark.report.curation import write_curation
from benchmark.report.endpoints import write_endpoints
from benchmark.report.audit import write_audit
from benchmark.report.audit_scatter import write_audit_scatter
from benchmark.report.html import write_html
from benchmark.report.leaderboard import write_leaderboard
from benchmark.report.notrun import write_not_run
from benchmark.report.replication import write_replication
from benchmark.report.table1 import study_table
from benchmark.report.table_formats import markdown_table
from benchmark.report.volume_artefacts import write_volume
from benchmark.stats import DecisionRule
from benchmark.stats.bootstrap import DEFAULT_N_BOOT

__all__ = ["write_report", "build_report", "study_table", "markdown_table", "failures_frame", "ARTEFACTS"]

ARTEFACTS: list[Callable[[ReportContext, Path], dict[str, Path]]] = [
    write_table, write_comparisons, write_replication, write_endpoints, write_failures, write_not_run,
    write_paired_seeds, write_forest, write_fewshot, write_confusion, write_aa_histogram,
    write_leaderboard, write_curation, write_audit, write_audit_scatter, write_volume,
]


def build_report(data: StudyData, out_dir: Path, rule: DecisionRule = DecisionRule(), seed: int = 0,
                 n_boot: int = DEFAULT_N_BOOT) -> dict[str, Path]:
    """Write every artefact of ``data`` into ``out_dir``, then ``index.html``; returns ``{name: path}``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, data = _task_reports(data, out_dir, rule)
    if written and data.frame.empty:
        return written
    ctx = ReportContext(data, rule, seed, n_boot)
    ctx.written.update(written)
    for write in ARTEFACTS:
        ctx.written.update(write(ctx, out_dir))
    ctx.written.update(write_html(ctx, out_dir))
    return dict(ctx.written)


def _task_reports(data: StudyData, out_dir: Path, rule: DecisionRule) -> tuple[dict[str, Path], StudyData]:
    """Let each task with its own report (Task.write_report, e.g. detection) write it for its rows; return
    what they wrote and the rows left for the shared pipeline (classification and tasks like it)."""
    from benchmark.tasks import create_task

    frame, written = data.frame, {}
    for name in sorted(set(frame["task"])) if "task" in frame else []:
        rows = frame["task"] == name
        sub = dataclasses.replace(data, frame=frame[rows].reset_index(drop=True))
        out = create_task(name).write_report(sub, out_dir, rule, html=bool(rows.all()))
        if out is not None:
            written |= out
            frame = frame[frame["task"] != name]
    return written, dataclasses.replace(data, frame=frame.reset_index(drop=True))


def write_report(study_dir: Path, out_dir: Path | None = None, rule: DecisionRule = DecisionRule(),
                 seed: int = 0, n_boot: int = DEFAULT_N_BOOT, progress: bool | None = None) -> dict[str, Path]:
    """Load a study's records and write its report; returns ``{name: path}``.

    Default ``out_dir`` is ``<study_dir>/report``. Failed runs are excluded from the numbers and
    listed in ``failures.*``. ``rule`` decides the verdicts; ``seed`` seeds the bootstraps.
    """
    study_dir = Path(study_dir)
    out_dir = Path(out_dir) if out_dir is not None else study_dir / "report"
    return build_report(load_study(study_dir, progress), out_dir, rule, seed, n_boot)
