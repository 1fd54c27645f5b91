"""What a tracker gets per record (benchmark/export/runs.py), and the missing-extra message: no MLflow needed."""
import sys

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from benchmark.cli import main
from benchmark.export.mlflow import INSTALL_HINT, import_mlflow
from benchmark.export.runs import budget, group_labels, metric_key, run_metrics, run_params, run_tags
from benchmark.records import run_id, write_record
from tests.report.test_report_study import SPEC, record, write_study


def test_budget_is_steps_or_epochs():
    assert budget({"trainer": {"engine": "featurebank", "max_steps": 600, "epochs": None}}) == "600 steps"
    assert budget({"trainer": {"engine": "yolo", "epochs": 3}}) == "3 epochs"
    assert budget({"trainer": {"engine": "torch"}}) is None


def test_params_of_a_fold_record():
    rec = record("synthetic", "cutpaste", 3, .5)
    rec["cell"].update(fold=2, trainer={"engine": "featurebank", "max_steps": 600})
    p = run_params(rec)
    assert {k: p[k] for k in ("dataset", "arm", "generator", "seed", "fold", "model", "budget", "engine")} == {
        "dataset": "tiles", "arm": "synthetic", "generator": "cutpaste", "seed": "3", "fold": "2",
        "model": "resnet18", "budget": "600 steps", "engine": "featurebank"}
    assert "k" not in p and "generator" not in run_params(record("real", None, 0, .3))  # None: left out


def test_metrics_equal_the_record_and_independent_endpoints():
    rec = record("synthetic", "cutpaste", 0, .6)
    m = run_metrics(rec)
    assert m["hardest_class_accuracy"] == .6 and m["per_class_accuracy/crack"] == .6 and m["macro_map"] == .8
    y, probs = np.array(rec["predictions"]["labels"]), np.array(rec["predictions"]["probs"])
    assert m["endpoint/hardest_accuracy"] == pytest.approx((probs[y == 0].argmax(1) == 0).mean())
    assert m["endpoint/hardest_ap"] == pytest.approx(average_precision_score(y == 0, probs[:, 0]))
    assert m["endpoint/hardest_log_loss"] == pytest.approx(-np.log(probs[y == 0, 0]).mean())
    assert not any(k.startswith(("classes", "confusion")) for k in m)  # lists are not metrics
    assert run_metrics(record("synthetic", "cutpaste", 5, None, error="CUDA out of memory")) == {}


def test_metric_names_are_what_mlflow_accepts():
    pytest.importorskip("mlflow", reason="MLflow is an optional extra: pip install -e .[mlflow]")
    from mlflow.utils.validation import _validate_metric_name  # the store's own check, when MLflow is here

    for parts, want in [(("per_class_accuracy", "crack (deep)?"), "per_class_accuracy/crack _deep__"),
                        (("average_precision", "ß*"), "average_precision/ß_"), (("support", "a/b"), "support/a_b"),
                        (("support", ".."), "support/__"), (("support", ""), "support/_")]:
        assert metric_key(*parts) == want
        _validate_metric_name(want)


def test_groups_follow_the_report(tmp_path):
    study = write_study(tmp_path / "s")
    from benchmark.records import load_records

    records = load_records(study)
    labels = group_labels(records)
    tags = {r["run_id"]: run_tags(r, "unit", labels[r["run_id"]], "0" * 64) for r in records}
    cells = {t["scarce.cell_group"].rsplit("/", 1)[1] for t in tags.values()}
    assert cells == {"real", "placebo[cutpaste+folder]", "synthetic[cutpaste]", "synthetic[folder]"}
    seeds = {}
    for r in records:
        seeds.setdefault(tags[r["run_id"]]["scarce.seed_group"], set()).add(r["cell"]["seed"])
    assert len(seeds) == 6 and all(len(s) == 1 for s in seeds.values())  # one group per seed, one seed per group
    n_ok = sum(len(accs) for _, _, accs in SPEC)
    assert len(records) == n_ok + 1 and tags[run_id(record("synthetic", "cutpaste", 5, None, error="x")["cell"])][
        "scarce.error"] == "CUDA out of memory"


def test_missing_mlflow_names_the_extra(tmp_path, monkeypatch, capsys):
    study = tmp_path / "s"
    write_record(study, record("real", None, 0, .3))
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` raises ImportError
    with pytest.raises(RuntimeError, match=r"pip install -e \.\[mlflow\]"):
        import_mlflow()
    assert main(["export", "mlflow", str(study)]) == 2
    assert INSTALL_HINT in capsys.readouterr().err
    assert not (study / "report").exists()  # said before any report is built


def test_the_test_extra_installs_mlflow():
    # CI installs `.[test]` (scripts/test.sh): the round trip (tests/export/test_mlflow_export.py) must run there, not skip
    tomllib = pytest.importorskip("tomllib", reason="Python < 3.11 has no tomllib")

    from benchmark import PROJECT_ROOT

    extras = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras["mlflow"]) <= set(extras["test"])
    assert {r.split(">")[0].split("<")[0] for r in extras["mlflow"]} == {"mlflow-skinny", "sqlalchemy", "alembic"}
