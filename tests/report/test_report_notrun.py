"""A multi-dataset study reports its absent datasets, and a fixed hardest class is set beside our rule's choice."""
import json

from benchmark.experiments import write_skip_note
from benchmark.report import write_report
from benchmark.report.notrun import load_skipped, not_run_frame, rule_choice, rule_note
from tests.report.test_report_study import write_study


def _note(tmp_path, dataset, reason):
    cfg = {"results_root": str(tmp_path), "study": "tiles_study", "dataset": {"name": dataset}}
    return write_skip_note(cfg, reason)


def test_absent_datasets_are_listed_with_their_published_class(tmp_path):
    study = write_study(tmp_path / "tiles_study")
    _note(tmp_path, "marble", "marble: data not found at /nowhere")
    _note(tmp_path, "mvtec_ad_pill", "mvtec_ad_pill: data not found at /nowhere")
    _note(tmp_path, "tiles", "tiles: an old note from before its data arrived")  # it has records now
    paths = write_report(study)
    md = paths["not_run_md"].read_text()
    assert "| marble | absent (not run) | crack |" in md
    assert "| mvtec_ad_pill | absent (not run) | faulty_imprint |" in md  # matched through the alias
    assert "tiles |" not in md
    html = paths["index_html"].read_text()
    assert "Datasets not run" in html and "marble: data not found at /nowhere" in html


def test_no_skip_notes_no_not_run_table(tmp_path):
    paths = write_report(write_study(tmp_path / "tiles_study"))
    assert "not_run_md" not in paths and "Datasets not run" not in paths["index_html"].read_text()


def test_unreadable_skip_note_is_reported_not_fatal(tmp_path):
    folder = tmp_path / "s" / "skipped"
    folder.mkdir(parents=True)
    (folder / "riawelc.json").write_text("{trunc")
    notes = load_skipped(tmp_path / "s")
    assert notes[0]["dataset"] == "riawelc" and "unreadable skip note" in notes[0]["reason"]
    assert list(not_run_frame(notes, set())["dataset"]) == ["riawelc"]


def _manifest(path, hardest):
    path.write_text(json.dumps({"hardest": hardest}))


def test_rule_choice_only_from_pilot_chosen_splits(tmp_path):
    _manifest(tmp_path / "mt.json", {"class": "uneven", "rule": "selection", "evidence": {
        "description": "lowest mean selection accuracy", "pilot_seeds": [1000, 1001],
        "mean_selection_accuracy": {"uneven": 0.7, "blowhole": 0.93},
        "pilot_config": {"trainer": {"engine": "finetune"}}}})
    _manifest(tmp_path / "fixed.json", {"class": "crack", "rule": "fixed", "evidence": {"rule": "fixed"}})
    assert rule_choice("mt", tmp_path)["class"] == "uneven"
    assert rule_choice("fixed", tmp_path) is None and rule_choice("absent", tmp_path) is None


def test_rule_note_names_both_classes(tmp_path, monkeypatch):
    import benchmark.report.notrun as notrun

    _manifest(tmp_path / "mt.json", {"class": "uneven", "evidence": {
        "description": "lowest mean selection accuracy", "pilot_seeds": [1000],
        "mean_selection_accuracy": {"uneven": 0.7, "blowhole": 0.93}}})
    monkeypatch.setattr(notrun, "SPLITS_DIR", tmp_path)
    monkeypatch.setattr(notrun.rule_choice, "__defaults__", (tmp_path,))
    note = rule_note("mt", "blowhole", "fixed by config: SCARCE Table 1")
    assert "**uneven** instead of blowhole" in note and "uneven 70 %, blowhole 93 %" in note
    assert rule_note("mt", "uneven", "lowest mean selection accuracy") is None  # chosen by the rule itself
    assert "run `scarce split other`" in rule_note("other", "crack", "fixed by config")
