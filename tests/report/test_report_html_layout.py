"""index.html at a 1280 px window in headless Chromium (issue 21 item 5): nothing cut off, no table wider than
its column, no float artefact or absolute path in the text, every figure decoded. One Chromium launch measures
the DOM through an injected load handler, one takes the full-page screenshot. The figures' axis labels and
units are enforced where they are drawn (benchmark.report.figures.check_axis_labels, tests/report/
test_figure_axes.py). SCARCE_SCREENSHOT=<file.png> keeps a copy of the screenshot."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from benchmark.cli import main
from benchmark.report import write_report
from tests.report.rich_study import write_rich_study
from tests.report.test_report_html import CHROMIUM_FLAGS, chromium

WIDTH = 1280
# after load: per table its width against its container's, the page's width and height, every element whose right
# edge passes the window, the decoded images, and the page's text (to search for artefacts in Python)
PROBE = """<script>window.addEventListener('load',function(){
var W=document.documentElement.clientWidth,out={width:W,doc:document.documentElement.scrollWidth,
height:document.documentElement.scrollHeight,tables:[],past:[],images:[]};
document.querySelectorAll('table').forEach(function(t,i){var c=t.parentElement;
 out.tables.push({i:i,head:t.rows[0].cells[0].textContent,table:t.scrollWidth,box:c.clientWidth,
                  boxScroll:c.scrollWidth});});
document.querySelectorAll('body *').forEach(function(e){var r=e.getBoundingClientRect();
 if(r.width>0&&r.right>W+0.5)out.past.push(e.tagName+' '+(e.textContent||'').slice(0,40)+' right '+r.right);});
document.querySelectorAll('img').forEach(function(im){out.images.push({alt:im.alt,natural:im.naturalWidth,
 shown:im.getBoundingClientRect().width,box:im.parentElement.clientWidth});});
out.text=document.body.innerText;
var p=document.createElement('pre');p.id='probe';p.textContent='PROBE'+JSON.stringify(out)+'EBORP';
document.body.appendChild(p);});</script>"""
ARTEFACT = re.compile(r"\d\.\d{7,}|e\+\d{2,}|\d{12,}|\bnan\b|\bNaN\b|\bNone\b")
ABSOLUTE = ("/tmp/", "/home/", "/work/", "/root/", "/Users/", "C:\\")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    chromium()   # skips (with its reason) before the study is built where there is no Chromium
    root = tmp_path_factory.mktemp("layout")
    study = write_rich_study(root)
    assert main(["calibrate", str(study), "--sims", "200"]) == 0   # the A/A histogram and its caveats
    paths = write_report(study, n_boot=300)
    return paths["index_html"], study


@pytest.fixture(scope="module")
def probe(page, tmp_path_factory):
    """The probe's measurements at a 1280 px window (one Chromium launch)."""
    exe = chromium()
    index, _ = page
    tmp = tmp_path_factory.mktemp("probe")
    copy = index.parent / "probe.html"   # beside the page: the same relative links
    copy.write_text(index.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    cmd = [exe, *CHROMIUM_FLAGS, "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}",
           f"--window-size={WIDTH},1000", "--virtual-time-budget=10000", "--dump-dom", copy.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    copy.unlink()
    m = re.search(r'<pre id="probe">PROBE(.*?)EBORP', res.stdout, re.S)
    assert m, f"no probe output in the DOM (rc {res.returncode}): {res.stderr[-2000:]}"
    from html import unescape
    return json.loads(unescape(m.group(1)))


def test_every_table_fits_its_column_at_1280(probe):
    assert probe["width"] == WIDTH
    assert len(probe["tables"]) >= 8   # table, replication, comparisons, leaderboard, audit, failures, ...
    wide = [t for t in probe["tables"] if t["table"] > t["box"] or t["boxScroll"] > t["box"]]
    assert not wide, f"tables that scroll sideways at {WIDTH} px: {wide}"


def test_nothing_is_cut_off_at_1280(probe):
    assert probe["doc"] <= WIDTH, f"the page is {probe['doc']} px wide at a {WIDTH} px window"
    assert not probe["past"], f"elements past the right edge: {probe['past'][:10]}"
    imgs = probe["images"]
    assert len(imgs) >= 5 and all(i["natural"] > 0 for i in imgs), f"figures that did not decode: {imgs}"
    assert all(i["shown"] <= i["box"] + 0.5 for i in imgs), f"figures wider than their column: {imgs}"


def test_text_has_no_float_artefact_or_absolute_path(probe, page):
    text = probe["text"]
    for words in ("Verdicts", "Published vs reproduced", "Generator leaderboard", "Synthetic-set audit",
                  "Failed runs", "../cache/set/audit.json"):
        assert words in text, words
    bad = [text[max(0, m.start() - 60):m.end() + 20] for m in ARTEFACT.finditer(text)]
    assert not bad, f"float artefacts in the page: {bad[:5]}"
    _, study = page
    for needle in (*ABSOLUTE, str(study), str(study.parent)):
        assert needle not in text, f"absolute path {needle!r} in the page"


def test_screenshot_at_1280_is_full_and_uncut(page, probe, tmp_path):
    """A full-page screenshot (window as tall as the page): drawn, and its right margin is page background
    (a table or figure running past the column would paint there)."""
    from PIL import Image

    exe = chromium()
    index, _ = page
    shot = tmp_path / "index_1280.png"
    height = min(int(probe["height"]) + 20, 16000)
    cmd = [exe, *CHROMIUM_FLAGS, "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
           f"--screenshot={shot}", f"--window-size={WIDTH},{height}", index.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=180)
    assert shot.is_file(), "chromium wrote no screenshot"
    if os.environ.get("SCARCE_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["SCARCE_SCREENSHOT"])
    im = Image.open(shot).convert("L")
    assert im.size == (WIDTH, height)
    colors = im.getcolors(maxcolors=1 << 16)
    assert colors is None or len(colors) > 20   # text, tables and plots, not a blank page
    margin = im.crop((WIDTH - 30, 0, WIDTH, height))   # the page column ends 40 px before the window's edge
    assert margin.getextrema()[0] >= 250, "something is drawn in the right margin: cut off at 1280 px"
