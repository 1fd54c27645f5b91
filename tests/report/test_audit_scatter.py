"""The report's audit figures vs gain over placebo (benchmark/report/audit_scatter.py) and the functional columns
of the audit table, on the leaderboard test's three-generator study with functional figures in its records."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.records import write_record
from benchmark.report import write_report
from benchmark.report.collect import load_study
from tests.report.test_leaderboard import ARMS, SEEDS, _record

FUNCTIONAL = {  # generator -> planted audit figures of its crack set
    "cutpaste": {"discriminator_auc": 0.66, "auc_ci_low": 0.54, "auc_ci_high": 0.79, "label_fidelity": 0.44,
                 "precision": 0.8, "recall": 0.5, "density": 0.9, "coverage": 0.7},
    "augment": {"discriminator_auc": 0.55, "auc_ci_low": 0.40, "auc_ci_high": 0.70, "label_fidelity": 0.60,
                "precision": 0.9, "recall": 0.6, "density": 1.0, "coverage": 0.8},
    "noise": {"discriminator_auc": 1.0, "auc_ci_low": 1.0, "auc_ci_high": 1.0, "label_fidelity": 0.0,
              "precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0},
}


def _functional_record(label: str, seed: int) -> dict:
    rec = _record(label, seed)
    if rec["synthetic"]:
        gen = rec["synthetic"]["generator"]
        rec["synthetic"]["audit"]["fidelity"]["crack"] |= FUNCTIONAL[gen] | {"label_chance": 0.5,
                                                                              "real_cv_accuracy": 0.7}
    return rec


@pytest.fixture
def study(tmp_path):
    for label in ARMS:
        for s in SEEDS:
            write_record(tmp_path / "study", _functional_record(label, s))
    return tmp_path / "study"


def test_audit_gain_frame_joins_audit_figures_to_the_leaderboards_gain(study):
    from benchmark.report.artefacts import ReportContext
    from benchmark.report.audit_scatter import audit_gain_frame
    from benchmark.report.leaderboard import leaderboard_of

    ctx = ReportContext(load_study(study), seed=0, n_boot=200)
    t = audit_gain_frame(ctx).set_index("generator")
    assert sorted(t.index) == ["augment", "cutpaste", "noise"] and (t["n_sets"] == 1).all()
    for g, figs in FUNCTIONAL.items():
        for k, v in figs.items():
            assert t.loc[g, k] == pytest.approx(v)
    plc = leaderboard_of(ctx).query("kind == 'vs placebo'").set_index("generator")
    for c, lc in (("gain_pp", "mean_pp"), ("gain_ci_low_pp", "ci_low_pp"), ("gain_ci_high_pp", "ci_high_pp")):
        assert np.allclose(t.loc[plc.index, c].to_numpy(float), plc[lc].to_numpy(float))
    assert t.loc["cutpaste", "gain_pp"] > t.loc["noise", "gain_pp"]  # the planted study: cutpaste helps most


def test_report_writes_scatter_and_functional_audit_columns(study):
    paths = write_report(study, n_boot=200)
    for name in ("audit_scatter_csv", "audit_scatter_md", "audit_scatter_png", "audit_scatter_svg"):
        assert paths[name].is_file(), name
    audit = pd.read_csv(paths["audit_csv"]).set_index("generator")
    assert audit.loc["noise", "discriminator_auc"] == 1.0 and audit.loc["cutpaste", "auc_ci_low"] == 0.54
    assert audit.loc["augment", "label_fidelity"] == 0.6 and audit.loc["augment", "label_chance"] == 0.5
    assert "Real-vs-synthetic AUC" in paths["audit_md"].read_text()
    assert "audit_scatter" in paths["index_html"].read_text()


def test_no_scatter_for_a_single_generator(tmp_path):
    for label in ("real", "placebo16", "cutpaste"):
        for s in SEEDS:
            write_record(tmp_path / "one", _functional_record(label, s))
    paths = write_report(tmp_path / "one", n_boot=200)
    assert "audit_csv" in paths and not any(k.startswith("audit_scatter") for k in paths)


def test_hook_and_report_keep_the_same_fidelity_keys():
    from benchmark.audit.hook import FIDELITY_KEYS
    from benchmark.report.audit import FIDELITY_COLUMNS

    assert set(FIDELITY_KEYS) == set(FIDELITY_COLUMNS)
