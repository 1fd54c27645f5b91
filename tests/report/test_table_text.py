"""Numbers that cannot exist print 'not reachable' or a dash, never float artefacts (issue 21 item 7), in every
table format; wide HTML tables are cut into column blocks that each fit the page (issue 21 item 5)."""
from __future__ import annotations

import math
import re

import pandas as pd

from benchmark.report.comparisons import seeds_text
from benchmark.report.replication import REPLICATION_HEADERS, replication_lines
from benchmark.report.table_formats import (HTML_BUDGET_PX, NOT_REACHABLE, count_text, count_value, csv_ready,
                                            fmt_cell, html_table, latex_table, markdown_table)
from benchmark.stats.plausibility import seeds_for_z
from benchmark.stats.power import MAX_SEEDS

DIGITS = re.compile(r"\d{12,}|e\+\d{2,}")


def test_counts_that_cannot_exist():
    assert count_value(18.0) == 18 and isinstance(count_value(18.0), int)
    assert count_value(math.inf) == NOT_REACHABLE and count_value(1e34) == NOT_REACHABLE
    assert math.isnan(count_value(None)) and math.isnan(count_value(math.nan))
    assert count_value("not reachable") == NOT_REACHABLE and count_text("18") == "18"   # read back from a CSV
    assert count_text(math.nan) == "—" and count_text(2e40) == NOT_REACHABLE
    assert seeds_text(34.0) == "34" and seeds_text(math.inf) == NOT_REACHABLE
    assert seeds_text(MAX_SEEDS + 1) == NOT_REACHABLE and seeds_text(math.nan) == "—"
    # the plug-in seeds for a z at a gain that is float noise: a 32-digit count, which the tables refuse to print
    n = seeds_for_z(13.2, 1e-15, 5.0)
    assert n > 1e30 and count_text(n) == NOT_REACHABLE


def test_every_format_prints_not_reachable_for_an_astronomical_float():
    t = pd.DataFrame({"what": ["V", "z"], "value": [1.0e34, 2.5]})
    assert fmt_cell(1.0e34) == NOT_REACHABLE and fmt_cell(-3e12) == NOT_REACHABLE and fmt_cell(2.5) == "2.50"
    for text in (markdown_table(t), latex_table(t), html_table(t)):
        assert NOT_REACHABLE in text and "2.50" in text and not DIGITS.search(text), text
    assert str(fmt_cell(math.inf)) == "+inf"          # z of a constant non-zero d: infinite, said so
    assert csv_ready(t)["value"].tolist() == [1.0e34, 2.5]   # the CSV keeps the machine value


def test_replication_lines_say_not_reachable():
    row = {c: math.nan for c in REPLICATION_HEADERS} | {"seeds_for_z_null": NOT_REACHABLE, "seeds_for_z_synthetic": 18,
                                                          "n_seeds": 6, "dataset": "magnetic_tile"}
    lines = "\n".join(replication_lines(pd.DataFrame([row])))
    assert "needs at the published gain: not reachable (our null SD), 18 (our synthetic − real SD)" in lines


def test_wide_html_table_is_cut_into_blocks_that_fit():
    t = pd.DataFrame({"dataset": ["tiles"] * 3, "comparison": ["a − b", "a − c", "b − c"],
                      **{f"statistic number {i} (pp)": [1.5 * i, 2.0, 3.25] for i in range(30)}})
    one = html_table(t, budget_px=1e9)
    assert one.count("<table>") == 1 and "Every row" not in one
    cut = html_table(t)
    assert cut.count("<table>") >= 3
    assert "Every row: dataset: <b>tiles</b>." in cut                      # equal in every row: said once
    blocks = re.findall(r"<table>.*?</table>", cut)
    assert all("<th>comparison</th>" in b and "a − c" in b for b in blocks)   # the key column leads each block
    heads = [h for b in blocks for h in re.findall(r"<th>(statistic number \d+ \(pp\))</th>", b)]
    assert heads == [f"statistic number {i} (pp)" for i in range(30)]       # every column once, in order
    assert HTML_BUDGET_PX < 1200
