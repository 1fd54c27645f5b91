"""index.html is self-contained and its figures render in a real browser (headless Chromium)."""
import os
import re
import shutil
import subprocess

import pytest

from benchmark.cli import main
from benchmark.report import write_report
from tests.report.test_report_study import write_study

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
# appended to a copy of the page: after load, count <img> elements that decoded (naturalWidth > 0)
PROBE = ("<script>window.addEventListener('load',function(){var im=document.images,ok=0;"
         "for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0)ok++;}"
         "var p=document.createElement('pre');p.id='probe';p.textContent='IMAGES-OK '+ok+'/'+im.length;"
         "document.body.appendChild(p);});</script>")


def _find_chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def chromium() -> str:
    """Path to a Chromium; installs it with apt-get only when running as root with apt-get, else skips."""
    found = _find_chromium()
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        try:
            subprocess.run(["apt-get", "install", "-y", "chromium"], check=False, timeout=900,
                           capture_output=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        except (OSError, subprocess.TimeoutExpired):
            pass
        found = _find_chromium()
        if found:
            return found
        pytest.skip("chromium is not installed and `apt-get install -y chromium` did not provide it "
                    "(try `apt-get update` first): cannot render index.html headless")
    pytest.skip("chromium is not installed and we are not root with apt-get to install it: "
                "cannot render index.html headless (install chromium to run this test)")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    study = write_study(tmp_path_factory.mktemp("html") / "tiles_study")
    assert main(["calibrate", str(study), "--sims", "200"]) == 0   # so the A/A histogram is in the page
    return write_report(study, n_boot=500)


def test_page_is_self_contained(report):
    html = report["index_html"].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html), "external URL in the page"
    assert "<script" not in html and "<link" not in html
    imgs = re.findall(r'<img [^>]*src="data:image/png;base64,', html)
    # paired seeds, forest, confusion, A/A histogram
    assert len(imgs) == 4
    for words in ("What was compared", "Verdicts", "Caveats", "has 10 test images",
                  "lowest mean real-only accuracy on the selection split", "Seeds per comparison: 5.",
                  "false-positive rate", "synthetic[cutpaste] − real", "Failed runs", "CUDA out of memory"):
        assert words in html, words


def test_figures_render_in_headless_chromium(report, tmp_path):
    exe = chromium()
    page = tmp_path / "probe.html"
    page.write_text(report["index_html"].read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                    encoding="utf-8")
    cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
           "--dump-dom", page.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    m = re.search(r"IMAGES-OK (\d+)/(\d+)", res.stdout)
    assert m, f"no probe marker in the DOM (rc {res.returncode}): {res.stderr[-2000:]}"
    ok, total = int(m.group(1)), int(m.group(2))
    assert total == 4 and ok == total, f"{ok} of {total} figures decoded"


def test_screenshot_is_not_blank(report, tmp_path):
    exe = chromium()
    from PIL import Image

    shot = tmp_path / "shot.png"
    cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
           "--window-size=1200,2400", report["index_html"].as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=180)
    assert shot.is_file(), "chromium wrote no screenshot"
    colors = Image.open(shot).convert("L").getcolors(maxcolors=1 << 16)
    assert colors is None or len(colors) > 20  # text, tables and plots: far more than a blank page's shades
