"""Rendering tables: CSV, GitHub Markdown, LaTeX (booktabs) and HTML, written by hand — no tabulate/jinja.
What goes into the study's Table 1 is :mod:`.table1`.

One formatter (:func:`fmt_cell`) serves Markdown, LaTeX and HTML so every output shows the same digits.
"""
from __future__ import annotations

import itertools
import math
from pathlib import Path

import pandas as pd

from benchmark.csvsafe import escape_frame

__all__ = ["fmt_cell", "markdown_table", "latex_table", "csv_ready", "write_table_formats", "html_table",
           "count_value", "count_text", "NOT_REACHABLE", "HUGE"]

MISSING = "–"
NOT_REACHABLE = "not reachable"
# no measured number here (accuracies, pp, seeds, images, FID) comes near 1e9: a finite value beyond it is a formula
# run past where it means anything (a power or fit extrapolation, a near-zero divisor), never a figure to print
HUGE = 1e9
_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "−": "$-$", "–": "--", "×": r"$\times$", "≥": r"$\geq$", "≤": r"$\leq$", "|": r"\textbar{}",
                  "∌": r"$\not\ni$", "δ": r"$\delta$"}


def _missing(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def count_value(v, cap: float = HUGE):
    """A count for a table (seeds, images): an ``int`` when finite and at most ``cap``, ``NOT_REACHABLE`` when
    infinite or beyond ``cap`` (a 34-digit "seeds needed" is a formula's artefact, not a plan), NaN when missing;
    text (already rendered) passes through."""
    if isinstance(v, str) or _missing(v):
        return v if isinstance(v, str) else math.nan
    v = float(v)
    return NOT_REACHABLE if math.isinf(v) or abs(v) > cap else int(v)


def count_text(v, cap: float = HUGE, missing: str = "—") -> str:
    """:func:`count_value` as text: '18', 'not reachable', or ``missing``."""
    got = count_value(v, cap)
    return missing if _missing(got) else str(got)


def fmt_cell(v, digits: int = 2) -> str:
    """Cell text: fixed decimals, '–' for missing, seed lists as '3, 5', ±inf spelled out, a finite value beyond
    ``HUGE`` as 'not reachable' (never 34 digits of float artefact)."""
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if v is None or v is pd.NA or v is pd.NaT:
        return MISSING
    if isinstance(v, float):
        if math.isnan(v):
            return MISSING
        if math.isinf(v):
            return "+inf" if v > 0 else "-inf"
        return NOT_REACHABLE if abs(v) > HUGE else f"{v:.{digits}f}"
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


# index.html's tables must fit the page's 1200 px column at a 1280 px window without a horizontal scroll bar
# (tests/report/test_report_html_layout.py measures it in Chromium): a wider table is cut into column blocks,
# each repeating the row's key columns; columns equal in every row are said once above the blocks.
HTML_BUDGET_PX = 1100
LONG_WORD = 32
# 13 px sans (the CSS's .82em; DejaVu on Linux): at most 8.6 px a bold character; 16 px of padding and border
_PX_PER_CHAR, _PX_PAD = 8.6, 16


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=1)


def _col_px(header: str, cells: list[str], numeric: bool) -> float:
    """The width a column needs at least: its longest header word (headers wrap at spaces), its longest number
    (numbers never wrap) or its text cells' longest word up to ``LONG_WORD`` characters (a longer word, a hash or a
    path, may break anywhere: class ``brk``)."""
    head = max((len(w) for w in str(header).split()), default=1)
    body = max((len(c) if numeric else min(LONG_WORD, _longest_word(c)) for c in cells), default=1)
    return max(head, body) * _PX_PER_CHAR + _PX_PAD


def _html_block(table: pd.DataFrame, headers: dict[str, str], digits: int) -> str:
    from html import escape

    num = _numeric(table)
    head = "".join(f"<th>{escape(str(headers.get(c, c)))}</th>" for c in table.columns)
    def td(text: str, n: bool) -> str:
        cls = "num" if n else "txt brk" if _longest_word(text) > LONG_WORD else "txt"
        return f"<td class=\"{cls}\">{escape(text)}</td>"

    rows = ["<tr>" + "".join(td(fmt_cell(v, digits), n) for v, n in zip(row, num)) + "</tr>"
            for row in table.itertuples(index=False)]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def html_table(table: pd.DataFrame, headers: dict[str, str] | None = None, digits: int = 2,
               budget_px: float = HTML_BUDGET_PX) -> str:
    """An escaped HTML ``<table>`` with the same cell text as the Markdown/LaTeX renderings. Wider than
    ``budget_px`` (estimated from the cell text), it becomes: a line with the columns equal in every row, then
    tables of at most that width, each led by the row's key columns (the first one or two columns that are text
    and differ between rows)."""
    from html import escape

    headers = headers or {}
    num = dict(zip(table.columns, _numeric(table)))
    texts = {c: [fmt_cell(v, digits) for v in table[c]] for c in table.columns}
    px = {c: _col_px(headers.get(c, c), texts[c], num[c]) for c in table.columns}
    if sum(px.values()) <= budget_px or len(table.columns) < 2:
        return _html_block(table, headers, digits)
    same = [c for c in table.columns if len(table) > 1 and len(set(texts[c])) == 1]
    rest = [c for c in table.columns if c not in same]
    keys = list(itertools.takewhile(lambda c: not num[c], rest))[:2] or rest[:1]
    blocks, cur, width = [], [], sum(px[k] for k in keys)
    for c in (c for c in rest if c not in keys):
        if cur and width + px[c] > budget_px:
            blocks.append(cur)
            cur, width = [], sum(px[k] for k in keys)
        cur.append(c)
        width += px[c]
    blocks += [cur] if cur else []
    said = " · ".join(f"{escape(str(headers.get(c, c)))}: <b>{escape(texts[c][0])}</b>" for c in same)
    lead = f"<p class=\"same\">Every row: {said}.</p>" if said else ""
    return lead + "".join(_html_block(table[keys + b], headers, digits) for b in blocks or [[]])


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
