"""CSV cells that a spreadsheet would run as a formula, made inert (CSV / formula injection).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel, LibreOffice and
Google Sheets (``=2+5+cmd|' /C calc'!A0`` from a vendor's file name, say). Such a text cell gets a leading
apostrophe, which spreadsheets show as text and never evaluate (OWASP's advice). Numbers are left alone, and so
is text that is a plain number (``-0.25``): a spreadsheet reads it as that number, never as a formula.

For CSVs people open. An index the project reads back itself must round-trip exactly: use :func:`unescape_cell`
on reading, or do not escape it.
"""
from __future__ import annotations

import csv
import re
from typing import Any, Iterable

import pandas as pd

__all__ = ["FORMULA_START", "escape_cell", "unescape_cell", "escape_frame", "safe_to_csv", "SafeWriter",
           "SafeDictWriter"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", re.IGNORECASE)


def escape_cell(v: Any) -> Any:
    """``v`` with a leading ``'`` when it is text a spreadsheet would evaluate; anything else unchanged."""
    if isinstance(v, str) and v.startswith(FORMULA_START) and not _NUMBER.fullmatch(v):
        return "'" + v
    return v


def unescape_cell(v: Any) -> Any:
    """The inverse of :func:`escape_cell` for cells it wrote (text that itself began with `'=` is ambiguous)."""
    if isinstance(v, str) and v.startswith("'") and v[1:].startswith(FORMULA_START) and not _NUMBER.fullmatch(v[1:]):
        return v[1:]
    return v


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell and column name escaped."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(escape_cell)
    out.columns = [escape_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def safe_to_csv(frame: pd.DataFrame, path, **kwargs) -> None:
    """``frame.to_csv(path, **kwargs)`` with formulas escaped."""
    escape_frame(frame).to_csv(path, **kwargs)


class SafeWriter:
    """``csv.writer`` whose rows are escaped."""

    def __init__(self, f, *args, **kwargs):
        self._w = csv.writer(f, *args, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._w.writerow([escape_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for r in rows:
            self.writerow(r)


class SafeDictWriter(csv.DictWriter):
    """``csv.DictWriter`` whose header and values are escaped."""

    def writeheader(self):
        return self.writer.writerow([escape_cell(f) for f in self.fieldnames])

    def _dict_to_list(self, rowdict):
        return [escape_cell(v) for v in super()._dict_to_list(rowdict)]
