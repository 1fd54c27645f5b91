"""The study report on a small hand-built set of records with hand-computed gains and z.

Accuracies are multiples of 1/8 (a hardest class with 8 test images), so every difference is exact
in floating point and the degenerate z cases (constant d) are hit deterministically.
"""
import math

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from benchmark.records import load_records, run_id, write_record
from benchmark.report import failures_frame, markdown_table, write_report
from benchmark.report.columns import records_frame
from benchmark.report.paired_seeds import plot_paired_seeds
from benchmark.report.table1 import TABLE_COLUMNS, study_table

HARDEST = {"tiles": "crack", "screws": "thread", "nuts": "chip"}

# (dataset, arm, generator, {seed: hardest-class accuracy})
TILES_REAL = {0: 0.5, 1: 0.625, 2: 0.375, 3: 0.5, 4: 0.5}
SPEC = [
    ("tiles", "real", None, TILES_REAL),
    ("tiles", "synthetic", "cutpaste", {0: 0.625, 1: 0.875, 2: 0.75, 3: 1.0}),   # seed 4 failed
    ("tiles", "placebo", None, {0: 0.625, 1: 0.75, 2: 0.5, 3: 0.625}),
    ("tiles", "synthetic", "folder", {s: TILES_REAL[s] for s in range(4)}),     # exactly = real
    ("screws", "real", None, {0: 0.25, 1: 0.5, 2: 0.75}),
    ("screws", "synthetic", "cutpaste", {0: 0.5, 1: 0.5, 2: 1.0}),              # no placebo arm
    ("nuts", "real", None, {0: 0.5, 1: 0.5}),                                   # real only
]


def _cell(dataset, arm, generator, seed):
    return {"dataset": dataset, "manifest_sha256": f"sha-{dataset}", "arm": arm, "generator": generator,
            "synthetic_key": f"{generator}-v1" if generator else None, "seed": seed, "k": 10,
            "model": {"name": "resnet18"}, "trainer": {"engine": "torch"}}


def _record(dataset, arm, generator, seed, acc=None, error=None):
    cell = _cell(dataset, arm, generator, seed)
    rec = {"schema": 1, "run_id": run_id(cell), "status": "failed" if error else "ok", "study": "unit",
           "cell": cell, "hardest_class": HARDEST[dataset],
           "added_counts": {HARDEST[dataset]: 16} if arm != "real" else {}}
    if error:
        rec["error"] = {"message": error}
    else:
        rec["metrics"] = {"hardest_class_accuracy": acc, "accuracy": 0.9, "balanced_accuracy": 0.8,
                          "macro_map": 0.85, "per_class_accuracy": {HARDEST[dataset]: acc}}
    return rec


@pytest.fixture
def study(tmp_path):
    for dataset, arm, gen, accs in SPEC:
        for seed, acc in accs.items():
            write_record(tmp_path, _record(dataset, arm, gen, seed, acc))
    write_record(tmp_path, _record("tiles", "synthetic", "cutpaste", 4, error="CUDA out of memory"))
    return tmp_path


@pytest.fixture
def frame(study):
    return records_frame(load_records(study))


def _row(table, dataset, generator):
    gen = table["generator"].isna() if generator is None else table["generator"] == generator
    sel = table[(table["dataset"] == dataset) & gen]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_table_shape(frame):
    table = study_table(frame)
    assert list(table.columns) == TABLE_COLUMNS
    # tiles × {cutpaste, folder}, screws × cutpaste, nuts × (none)
    assert len(table) == 4


def test_gain_and_z_tiles_cutpaste(frame):
    r = _row(study_table(frame), "tiles", "cutpaste")
    assert r["hardest_class"] == "crack" and r["model"] == "resnet18"
    # real mean over its 5 ok seeds: (0.5+0.625+0.375+0.5+0.5)/5 = 0.5 → 50 %
    assert r["real_acc_pct"] == pytest.approx(50.0)
    # synthetic (seed 4 failed): (0.625+0.875+0.75+1.0)/4 = 3.25/4 = 0.8125 → 81.25 %
    assert r["synthetic_acc_pct"] == pytest.approx(81.25)
    # placebo: (0.625+0.75+0.5+0.625)/4 = 0.625 → 62.5 %
    assert r["placebo_acc_pct"] == pytest.approx(62.5)
    # d = syn − real on seeds 0..3 = [0.125, 0.25, 0.375, 0.5] = 0.125·[1, 2, 3, 4]
    # → mean 0.3125 = 31.25 pp; z scale-free = √15 = 3.872983 (see test_stats)
    assert r["gain_pp"] == pytest.approx(31.25)
    assert r["z"] == pytest.approx(3.872983, abs=1e-6)
    # d' = syn − placebo = [0, 0.125, 0.25, 0.375] = 0.125·[0, 1, 2, 3] → mean 0.1875 = 18.75 pp
    # sd = 0.125·sqrt(5/3); z = 1.5/(sqrt(5/3)/2) = 3/sqrt(5/3) = 3·sqrt(0.6) = 2.323790
    assert r["gain_vs_placebo_pp"] == pytest.approx(18.75)
    assert r["z_vs_placebo"] == pytest.approx(2.323790, abs=1e-6)
    assert r["n_seeds"] == 4 and r["n_seeds_vs_placebo"] == 4
    assert r["dropped_seeds"] == [4]  # real ok, synthetic failed


def test_real_and_placebo_shared_across_generators(frame):
    r = _row(study_table(frame), "tiles", "folder")
    assert r["real_acc_pct"] == pytest.approx(50.0) and r["placebo_acc_pct"] == pytest.approx(62.5)
    # synthetic == real on seeds 0..3 → d = 0 everywhere: gain 0, z = 0.0 (documented choice)
    assert r["gain_pp"] == 0.0 and r["z"] == 0.0
    # vs placebo: d' = real − (real + 0.125) = −0.125 on every seed → constant → z = −inf
    assert r["gain_vs_placebo_pp"] == pytest.approx(-12.5)
    assert r["z_vs_placebo"] == -math.inf
    assert r["dropped_seeds"] == [4]  # real has seed 4, folder does not


def test_missing_placebo_arm_gives_nan(frame):
    r = _row(study_table(frame), "screws", "cutpaste")
    # d = [0.5−0.25, 0.5−0.5, 1.0−0.75] = [0.25, 0, 0.25] → mean 1/6 = 16.667 pp, z = 2 (see test_stats)
    assert r["gain_pp"] == pytest.approx(100 / 6)
    assert r["z"] == pytest.approx(2.0)
    assert math.isnan(r["placebo_acc_pct"]) and math.isnan(r["gain_vs_placebo_pp"])
    assert math.isnan(r["z_vs_placebo"]) and r["n_seeds_vs_placebo"] == 0


def test_real_only_dataset_reported(frame):
    r = _row(study_table(frame), "nuts", None)
    assert r["real_acc_pct"] == pytest.approx(50.0)
    assert math.isnan(r["synthetic_acc_pct"]) and math.isnan(r["gain_pp"]) and math.isnan(r["z"])
    assert r["n_seeds"] == 0 and r["dropped_seeds"] == [0, 1]


def test_empty_and_all_failed_frames():
    assert study_table(pd.DataFrame()).empty
    failed = records_frame([_record("tiles", "real", None, 0, error="boom")])
    assert study_table(failed).empty and list(study_table(failed).columns) == TABLE_COLUMNS


def test_failures_frame(frame):
    f = failures_frame(frame)
    assert len(f) == 1
    assert f.iloc[0][["arm", "seed", "error"]].tolist() == ["synthetic", 4, "CUDA out of memory"]


def test_markdown_formatting():
    t = pd.DataFrame({"a": ["x|y", None], "b": [1.23456, float("nan")], "c": [[1, 2], []],
                      "d": [float("-inf"), 0.5]})
    md = markdown_table(t, {"a": "A"}).splitlines()
    assert md[0] == "| A | b | c | d |"
    assert md[1] == "|:---|---:|:---|---:|"
    assert md[2] == "| x\\|y | 1.23 | 1, 2 | -inf |"
    assert md[3] == "| – | – |  | 0.50 |"


def test_plot_paired_seeds(frame):
    fig, ax = plt.subplots()
    out = plot_paired_seeds(frame, ax, dataset="screws")
    assert out is fig
    # screws: 3 seed lines + 1 mean marker line for the single (resnet18, cutpaste) group
    assert len(ax.lines) == 4
    assert [t.get_text() for t in ax.get_xticklabels()] == ["real", "placebo", "synthetic"]
    plt.close(fig)


def test_write_report_files(study):
    paths = write_report(study)
    out = study / "report"
    # the original four artefacts, plus the suite's (LaTeX, comparisons, SVGs, forest, index.html, …)
    assert {"table_csv", "table_md", "failures_csv", "paired_seeds_png"} <= set(paths)
    assert {"table_tex", "comparisons_csv", "comparisons_md", "comparisons_tex", "failures_md", "failures_tex",
            "paired_seeds_svg", "forest_png", "forest_svg", "index_html"} <= set(paths)
    for p in paths.values():
        assert p.parent == out and p.exists() and p.stat().st_size > 0
    csv = pd.read_csv(paths["table_csv"])
    assert len(csv) == 4
    tiles = csv[(csv["dataset"] == "tiles") & (csv["generator"] == "cutpaste")].iloc[0]
    assert tiles["gain_pp"] == pytest.approx(31.25) and str(tiles["dropped_seeds"]) == "4"
    md = paths["table_md"].read_text()
    assert "Gain over placebo (pp)" in md and "| tiles | crack | resnet18 | cutpaste | 50.00 | 81.25 |" in md
    fails = pd.read_csv(paths["failures_csv"])
    assert fails[["run_id", "arm", "seed", "error"]].values.tolist() == [
        [run_id(_cell("tiles", "synthetic", "cutpaste", 4)), "synthetic", 4, "CUDA out of memory"]]
    assert paths["paired_seeds_png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_write_report_custom_out_dir(study, tmp_path):
    out = tmp_path / "elsewhere"
    paths = write_report(study, out)
    assert all(p.parent == out for p in paths.values())


def test_runs_of_other_designs_are_separate_rows_never_averaged(frame):
    # issue 15 item 9: a second ok "screws" real run for seed 0 under another k is another design: its own
    # group (a real-only row), never averaged into the seed 0 of the k = 10 design
    dup = _record("screws", "real", None, 0, 0.75)
    dup["cell"]["k"] = 20
    dup["run_id"] = run_id(dup["cell"])
    full = pd.concat([frame, records_frame([dup])], ignore_index=True)
    table = study_table(full)
    r = table[(table["dataset"] == "screws") & (table["generator"] == "cutpaste")].iloc[0]
    assert r["gain_pp"] == pytest.approx(_row(study_table(frame), "screws", "cutpaste")["gain_pp"])
    assert len(table[table["dataset"] == "screws"]) == 2
    # another trainer budget is another design too
    other = _record("screws", "real", None, 0, 0.75)
    other["cell"]["trainer"] = {"engine": "torch", "max_steps": 5}
    other["run_id"] = run_id(other["cell"])
    assert len(study_table(pd.concat([frame, records_frame([other])], ignore_index=True)).query("dataset == 'screws'")) == 2


def test_two_runs_of_one_arm_and_seed_are_refused(frame):
    # two placebo runs at seed 0 whose cells differ only in the placebo's generator seed: the design key
    # cannot tell them apart, so the report refuses instead of averaging them
    from benchmark.report.design import MixedDesignError

    a, b = (_record("tiles", "placebo", None, 0, 0.5), _record("tiles", "placebo", None, 0, 0.75))
    for r, ps in ((a, 0), (b, 1)):
        r["cell"] |= {"placebo_counts": {"crack": 16}, "placebo_seed": ps}
        r["run_id"] = run_id(r["cell"])
    with pytest.raises(MixedDesignError, match=a["run_id"]):
        study_table(pd.concat([frame, records_frame([a, b])], ignore_index=True))



def test_scarce_report_ends_with_the_answer(study, capsys):
    # issue 21 item 4: the printout ends with the answer (one line per primary comparison, its verdict in words),
    # the caveats that matter and index.html; the file list only with --verbose
    from benchmark.cli import main
    from benchmark.stats import DecisionRule

    assert main(["report", str(study)]) == 0
    out = capsys.readouterr().out.splitlines()
    table = pd.read_csv(study / "report" / "comparisons.csv")
    primary = table[table["family"] == "primary"]
    lines = [ln for ln in out if " -> " in ln]
    assert len(lines) == len(primary) > 0
    for ln, row in zip(lines, primary.itertuples()):
        assert row.comparison in ln and "cross_p_holm" in ln and f"-> {row.verdict} (" in ln
        assert "nan" not in ln and "inf" not in ln  # a number that cannot exist prints "—"
    assert all("fewer than the rule's 5" in ln for ln in lines)  # 4 paired seeds: "not tested", and why
    assert any(ln.startswith(f"  verdict rule: {DecisionRule().describe()}; about ") for ln in out)
    start = out.index("answer (primary comparisons, one rule, Holm within the family):")
    tail = out[start:]
    assert tail[1:1 + len(lines)] == lines and "caveats:" in tail  # the verdicts, then the caveats, then the page
    caveats = tail[tail.index("caveats:") + 1:-1]
    assert any("under-powered" in c and "needs about 23 seeds; this study has 4" in c for c in caveats), caveats
    assert any("seed(s) 4 dropped" in c for c in caveats) and any("1 run(s) failed" in c for c in caveats)
    assert out[-1].startswith(f"report: {study / 'report' / 'index.html'}  (") and "--verbose" in out[-1]
    assert not any(ln.startswith(("files:", "  comparisons_csv:")) for ln in out)
    assert main(["report", str(study), "--verbose"]) == 0
    verbose = capsys.readouterr().out.splitlines()
    assert verbose[0] == "files:" and f"  comparisons_csv: {study / 'report' / 'comparisons.csv'}" in verbose
    assert verbose[-len(tail):-1] == tail[:-1] and verbose[-1] == f"report: {study / 'report' / 'index.html'}"
