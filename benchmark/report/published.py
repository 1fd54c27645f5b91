"""Published numbers (``results/published/*.csv``) as data, and matching a study's rows against them.

Empty cells are numbers we do not have; they load as NaN and are shown as missing, never guessed.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark import PROJECT_ROOT

__all__ = ["PUBLISHED_DIR", "normalise", "load_table1", "load_fewshot", "load_oem", "load_cosine", "match_dataset",
           "match_table1", "published_columns", "with_published", "published_fewshot"]

PUBLISHED_DIR = PROJECT_ROOT / "results" / "published"
PUBLISHED_COLUMNS = ["published_hardest_class", "published_real_acc_pct", "published_synthetic_acc_pct",
                     "published_gain_pp", "published_z", "published_note"]
PUBLISHED_HEADERS = {"published_hardest_class": "Published hardest class",
                     "published_real_acc_pct": "Published real-only (%)",
                     "published_synthetic_acc_pct": "Published +synthetic (%)",
                     "published_gain_pp": "Published gain (pp)", "published_z": "Published z",
                     "published_note": "Published: note"}


def normalise(name: Any) -> str:
    """Case- and punctuation-free key: 'Magnetic Tile' = 'magnetic_tile' = 'magnetic-tile'."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower()) if name is not None else ""


def _read(name: str, directory: Path | None) -> pd.DataFrame:
    path = Path(directory or PUBLISHED_DIR) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: published numbers not found (expected under results/published/)")
    return pd.read_csv(path, dtype={"aliases": str, "note": str, "source": str})


def load_table1(directory: Path | None = None) -> pd.DataFrame:
    """SCARCE Table 1, one row per dataset: dataset, aliases, industry, hardest_class, real_only_acc_pct,
    synthetic_acc_pct, gain_pp, z, the design as stated (n_seeds_min/max, z_formula, z_correction,
    placebo_controlled, test_split), test_images (not given: empty), generator, source, note."""
    return _read("scarce_table1.csv", directory)


def load_fewshot(directory: Path | None = None) -> pd.DataFrame:
    """SCARCE MVTec Pill few-shot points: dataset, aliases, hardest_class, k, arm, hardest_acc_pct, source, note."""
    return _read("scarce_pill_fewshot.csv", directory)


def load_oem(directory: Path | None = None) -> pd.DataFrame:
    """OEM detection curve: setting, real_images, synthetic_images, metric, value, source, note."""
    return _read("oem_detection.csv", directory)


def load_cosine(directory: Path | None = None) -> pd.DataFrame:
    """SCARCE Figure 1's cosine range: dataset, aliases, measure, cosine_min, cosine_max, source, note."""
    return _read("scarce_fig1_cosine.csv", directory)


def match_dataset(published: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Rows of ``published`` whose dataset name or one of its ``aliases`` equals ``dataset`` (normalised)."""
    key = normalise(dataset)

    def names(row) -> set[str]:
        aliases = row.get("aliases")
        extra = str(aliases).split("|") if isinstance(aliases, str) else []
        return {normalise(row["dataset"]), *map(normalise, extra)}

    mask = [key in names(r) for _, r in published.iterrows()]
    return published[mask]


def match_table1(dataset: str, hardest_class: str, table1: pd.DataFrame | None = None) -> dict[str, Any] | None:
    """The published row for this dataset, with ``comparable`` = same hardest class; None if no row."""
    t1 = load_table1() if table1 is None else table1
    rows = match_dataset(t1, dataset)
    if rows.empty:
        return None
    row = rows.iloc[0].to_dict()
    row["comparable"] = normalise(row["hardest_class"]) == normalise(hardest_class)
    return row


def _num(v: Any) -> float:
    return float(v) if v is not None and not (isinstance(v, float) and math.isnan(v)) else math.nan


def published_columns(dataset: str, hardest_class: str, table1: pd.DataFrame) -> dict[str, Any]:
    """The ``published_*`` cells for one study row (NaN/'' where there is nothing to show)."""
    row = match_table1(dataset, hardest_class, table1)
    empty = {c: math.nan for c in PUBLISHED_COLUMNS} | {"published_hardest_class": "", "published_note": ""}
    if row is None:
        return empty
    if not row["comparable"]:
        return empty | {"published_hardest_class": row["hardest_class"],
                        "published_note": f"published hardest class is {row['hardest_class']}, this study's is "
                                          f"{hardest_class}: not comparable"}
    note = row.get("note") if isinstance(row.get("note"), str) else ""
    return {"published_hardest_class": row["hardest_class"],
            "published_real_acc_pct": _num(row.get("real_only_acc_pct")),
            "published_synthetic_acc_pct": _num(row.get("synthetic_acc_pct")),
            "published_gain_pp": _num(row.get("gain_pp")), "published_z": _num(row.get("z")),
            "published_note": note}


def with_published(table: pd.DataFrame, table1: pd.DataFrame | None = None) -> pd.DataFrame:
    """``table`` (one row per dataset/hardest class, e.g. :func:`benchmark.report.table1.study_table`)
    with the published columns appended when any row's dataset is in Table 1; unchanged otherwise."""
    if table.empty:
        return table
    try:
        t1 = load_table1() if table1 is None else table1
    except FileNotFoundError:
        return table
    cells = [published_columns(ds, hc, t1) for ds, hc in zip(table["dataset"], table["hardest_class"])]
    if not any(c["published_hardest_class"] for c in cells):
        return table
    return pd.concat([table.reset_index(drop=True), pd.DataFrame(cells, columns=PUBLISHED_COLUMNS)], axis=1)


def published_fewshot(dataset: str, hardest_class: str, fewshot: pd.DataFrame | None = None) -> pd.DataFrame:
    """Published few-shot points for this dataset *and* hardest class (empty frame if none)."""
    try:
        fs = load_fewshot() if fewshot is None else fewshot
    except FileNotFoundError:
        return pd.DataFrame()
    rows = match_dataset(fs, dataset)
    return rows[rows["hardest_class"].map(normalise) == normalise(hardest_class)].reset_index(drop=True)
