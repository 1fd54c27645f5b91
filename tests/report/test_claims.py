"""`scarce published`: the published claims checked on their own numbers (benchmark/report/claims.py).

The expected figures are recomputed here by hand from the issue's numbers (independent of the code under
test); a tampered copy of the CSVs must turn a check to "differs"."""
import math
import shutil

import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.report.claims import claims_frame
from benchmark.report.published import PUBLISHED_DIR


@pytest.fixture
def frame():
    return claims_frame()


def test_every_published_claim_agrees_with_its_own_numbers(frame):
    checked = frame[frame["agrees"].notna()]
    assert len(checked) == 9 + 1 + 1 + 1          # 9 gains, |z| ≥ 3.4, §5.2, OEM
    assert checked["agrees"].astype(bool).all(), checked[~checked["agrees"].astype(bool)]


def test_the_pill_claim_is_recomputed_by_the_label_efficiency_code(frame):
    row = frame[frame["source"] == "SCARCE technical report, §5.2"].iloc[0]
    # real-only crosses 44.6 % between k = 3 (33.5) and k = 5 (45.4): k = 3 + 2·(44.6 − 33.5)/(45.4 − 33.5)
    k = 3 + 2 * (44.6 - 33.5) / (45.4 - 33.5)
    assert f"k = {k:.2f} interpolated ({100 * (1 - 2 / k):.1f} % fewer)" in row["recomputed"]
    assert "k = 5 on the grid (60 % fewer)" in row["recomputed"] and round(100 * (1 - 2 / k)) == 59


def test_implied_sd_rows(frame):
    row = frame[frame["claim"] == "Magnetic Tile [blowhole]: paired SD implied by gain and z"].iloc[0]
    assert row["recomputed"] == f"{29.1 * math.sqrt(7) / 13.2:.2f} pp at n = 7, {29.1 * math.sqrt(15) / 13.2:.2f} pp at n = 15"
    assert row["recomputed"].startswith("5.83 pp") and pd.isna(row["agrees"])


def test_a_tampered_table_differs(tmp_path):
    for f in PUBLISHED_DIR.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    t1 = pd.read_csv(tmp_path / "scarce_table1.csv")
    t1.loc[t1["dataset"] == "Magnetic Tile", "gain_pp"] = 29.4          # 84.9 − 55.8 = 29.1: off by 0.3
    t1.loc[t1["dataset"] == "MVTec Wood", "z"] = 3.0                     # below the stated |z| ≥ 3.4
    t1.to_csv(tmp_path / "scarce_table1.csv", index=False)
    fs = pd.read_csv(tmp_path / "scarce_pill_fewshot.csv")
    fs.loc[(fs["k"] == 3) & (fs["arm"] == "real"), "hardest_acc_pct"] = 45.0   # real k = 3 now reaches 44.6
    fs.to_csv(tmp_path / "scarce_pill_fewshot.csv", index=False)
    got = claims_frame(tmp_path).set_index("claim")["agrees"]
    assert not got["Magnetic Tile [blowhole]: gain = +synthetic − real-only"]
    assert got["MVTec Wood [hole]: gain = +synthetic − real-only"]
    assert not got["all |z| ≥ 3.4"]
    assert not next(v for c, v in got.items() if c.startswith("MVTec Pill [faulty_imprint]: +Synthgen"))


def test_cli_prints_and_writes(tmp_path, capsys):
    assert main(["published", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "[agrees] MVTec Pill [faulty_imprint]: +Synthgen at k = 2 matches real-only at k = 5" in out
    assert "0.378 − 0.279 = +0.099, +35.5 % relative" in out and "differs" not in out
    assert (tmp_path / "out" / "claims.csv").is_file() and (tmp_path / "out" / "claims.md").is_file()
