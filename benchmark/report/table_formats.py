"""Rendering tables: CSV, GitHub Markdown, LaTeX (booktabs) and HTML, written by hand — no tabulate/jinja.
What goes into the study's Table 1 is :mod:`.table1`.

One formatter (:func:`fmt_cell`) serves Markdown, LaTeX and HTML so every output shows the same digits.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from benchmark.csvsafe import escape_frame

__all__ = ["fmt_cell", "markdown_table", "latex_table", "csv_ready", "write_table_formats", "html_table"]

MISSING = "–"
_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "−": "$-$", "–": "--", "×": r"$\times$", "≥": r"$\geq$", "≤": r"$\leq$", "|": r"\textbar{}",
                  "∌": r"$\not\ni$", "δ": r"$\delta$"}


def fmt_cell(v, digits: int = 2) -> str:
    """Cell text: fixed decimals, '–' for missing, seed lists as '3, 5', ±inf spelled out."""
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if v is None or v is pd.NA or v is pd.NaT:
        return MISSING
    if isinstance(v, float):
        if math.isnan(v):
            return MISSING
        if math.isinf(v):
            return "+inf" if v > 0 else "-inf"
        return f"{v:.{digits}f}"
    return str(v)


def _numeric(table: pd.DataFrame) -> list[bool]:
    return [pd.api.types.is_numeric_dtype(table[c]) for c in table.columns]


def markdown_table(table: pd.DataFrame, headers: dict[str, str] | None = None, digits: int = 2) -> str:
    """A GitHub-flavoured markdown table without depending on ``tabulate`` (not a project dependency).

    Numeric columns are right-aligned; ``headers`` renames columns for humans.
    """
    headers = headers or {}
    head = [str(headers.get(c, c)).replace("|", "\\|") for c in table.columns]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---:" if num else ":---" for num in _numeric(table)) + "|"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(fmt_cell(v, digits).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def latex_table(table: pd.DataFrame, headers: dict[str, str] | None = None, digits: int = 2,
                caption: str | None = None) -> str:
    """A booktabs ``tabular`` (``\\toprule``/``\\midrule``/``\\bottomrule``; needs ``\\usepackage{booktabs}``),
    wrapped in a ``table`` float when ``caption`` is given."""
    headers = headers or {}
    spec = "".join("r" if num else "l" for num in _numeric(table))
    head = " & ".join(latex_escape(headers.get(c, c)) for c in table.columns)
    body = [" & ".join(latex_escape(fmt_cell(v, digits)) for v in row) + r" \\"
            for row in table.itertuples(index=False)]
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", head + r" \\", r"\midrule", *body,
             r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines = [r"\begin{table}[ht]", r"\centering", rf"\caption{{{latex_escape(caption)}}}", *lines, r"\end{table}"]
    return "\n".join(lines) + "\n"


def html_table(table: pd.DataFrame, headers: dict[str, str] | None = None, digits: int = 2) -> str:
    """An escaped HTML ``<table>`` with the same cell text as the Markdown/LaTeX renderings."""
    from html import escape

    headers = headers or {}
    num = _numeric(table)
    head = "".join(f"<th>{escape(headers.get(c, c))}</th>" for c in table.columns)
    rows = ["<tr>" + "".join(f"<td class=\"{'num' if n else 'txt'}\">{escape(fmt_cell(v, digits))}</td>"
                             for v, n in zip(row, num)) + "</tr>" for row in table.itertuples(index=False)]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def csv_ready(table: pd.DataFrame) -> pd.DataFrame:
    """Lists (dropped seeds) become '3 5' so the CSV stays one scalar per cell; text a spreadsheet would run as
    a formula (a vendor's file name ``=2+5+cmd|...``) gets a leading apostrophe (:mod:`benchmark.csvsafe`)."""
    out = table.copy()
    for c in out.columns:
        if out[c].map(lambda v: isinstance(v, (list, tuple))).any():
            out[c] = out[c].map(lambda v: " ".join(str(x) for x in v) if isinstance(v, (list, tuple)) else v)
    return escape_frame(out)


def write_table_formats(table: pd.DataFrame, out_dir: Path, stem: str, headers: dict[str, str] | None = None,
                        digits: int = 2, md_suffix: str = "", caption: str | None = None) -> dict[str, Path]:
    """``<stem>.csv`` (machine names), ``<stem>.md`` (+ ``md_suffix``) and ``<stem>.tex`` (human headers)."""
    csv, md, tex = out_dir / f"{stem}.csv", out_dir / f"{stem}.md", out_dir / f"{stem}.tex"
    csv_ready(table).to_csv(csv, index=False)
    md.write_text(markdown_table(table, headers, digits) + md_suffix)
    tex.write_text(latex_table(table, headers, digits, caption))
    return {f"{stem}_csv": csv, f"{stem}_md": md, f"{stem}_tex": tex}
