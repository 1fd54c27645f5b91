"""Study reports: records → tables and figures on disk.

``write_report`` is the single entry point; each artefact has its own small ``write_*`` function
taking the records frame and an output directory, so new tables/figures are added by writing one
more function and one line in ``ARTEFACTS``. Nothing here computes statistics itself: numbers come
from :mod:`benchmark.report.table` (which uses :mod:`benchmark.stats`).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from benchmark.records import load_records, records_frame
from benchmark.report.table import TABLE_HEADERS, study_table

__all__ = ["write_report", "study_table", "markdown_table", "failures_frame"]

FAILURE_COLUMNS = ["run_id", "dataset", "model", "arm", "generator", "seed", "error"]


# ------------------------------------------------------------------------------------ formatting
def _fmt_cell(v, digits: int = 2) -> str:
    """Markdown cell text: fixed decimals, '–' for missing, seeds lists as '3, 5'."""
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if v is None:
        return "–"
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "+inf" if v > 0 else "-inf"
        return f"{v:.{digits}f}"
    return str(v).replace("|", "\\|")


def markdown_table(table: pd.DataFrame, headers: dict[str, str] | None = None, digits: int = 2) -> str:
    """A GitHub-flavoured markdown table without depending on ``tabulate`` (not a project dependency).

    Numeric columns are right-aligned; ``headers`` renames columns for humans.
    """
    headers = headers or {}
    cols = list(table.columns)
    head = [headers.get(c, c) for c in cols]
    numeric = [pd.api.types.is_numeric_dtype(table[c]) for c in cols]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---:" if num else ":---" for num in numeric) + "|"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt_cell(v, digits) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _csv_ready(table: pd.DataFrame) -> pd.DataFrame:
    """Lists (dropped seeds) become '3 5' so the CSV stays one scalar per cell."""
    out = table.copy()
    for c in out.columns:
        if out[c].map(lambda v: isinstance(v, (list, tuple))).any():
            out[c] = out[c].map(lambda v: " ".join(str(x) for x in v) if isinstance(v, (list, tuple)) else v)
    return out


# ------------------------------------------------------------------------------------- artefacts
def failures_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Failed runs with their error message, so gaps in the table can be traced to a cause."""
    if frame.empty or "status" not in frame:
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    failed = frame[frame["status"] == "failed"]
    return failed.reindex(columns=FAILURE_COLUMNS).sort_values(["dataset", "arm", "seed"]).reset_index(drop=True)


def write_table(frame: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    table = study_table(frame)
    csv, md = out_dir / "table.csv", out_dir / "table.md"
    _csv_ready(table).to_csv(csv, index=False)
    md.write_text(markdown_table(table, TABLE_HEADERS) + _selection_notes(frame))
    return {"table_csv": csv, "table_md": md}


def _selection_notes(frame: pd.DataFrame) -> str:
    """Say which pre-registered rule chose each hardest class (it is part of the result)."""
    if frame.empty or "hardest_rule" not in frame:
        return ""
    rules = frame.dropna(subset=["hardest_class"]).drop_duplicates(["dataset", "hardest_class"])
    lines = [f"- {r.dataset}: hardest class **{r.hardest_class}**, chosen by: {r.hardest_rule}"
             for r in rules.itertuples()]
    return "\nHardest class (pre-registered in the split manifest, never chosen on test):\n\n" + "\n".join(lines) + "\n"


def write_failures(frame: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    path = out_dir / "failures.csv"
    failures_frame(frame).to_csv(path, index=False)
    return {"failures_csv": path}


def write_paired_seeds(frame: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    """One subplot per dataset with at least one ok run (one empty panel if there is none)."""
    import matplotlib.pyplot as plt

    from benchmark.report.plots import plot_paired_seeds

    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    datasets = sorted(ok["dataset"].dropna().unique()) if not ok.empty else []
    n = max(len(datasets), 1)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.5 * ncols, 4.5 * nrows), squeeze=False)
    for ax, ds in zip(axes.flat, datasets or [None]):
        plot_paired_seeds(frame, ax, dataset=ds)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    path = out_dir / "paired_seeds.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return {"paired_seeds_png": path}


ARTEFACTS: list[Callable[[pd.DataFrame, Path], dict[str, Path]]] = [
    write_table, write_failures, write_paired_seeds,
]


# ------------------------------------------------------------------------------------ entry point
def write_report(study_dir: Path, out_dir: Path | None = None) -> dict[str, Path]:
    """Load a study's records and write every artefact; returns ``{name: path}``.

    Default ``out_dir`` is ``<study_dir>/report``. Failed runs are excluded from the numbers and
    listed in ``failures.csv``.
    """
    study_dir = Path(study_dir)
    out_dir = Path(out_dir) if out_dir is not None else study_dir / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = records_frame(load_records(study_dir))
    paths: dict[str, Path] = {}
    for write in ARTEFACTS:
        paths.update(write(frame, out_dir))
    return paths
