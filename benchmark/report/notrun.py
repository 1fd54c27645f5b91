"""What a study did *not* run, and what our own selection rule would have chosen.

Multi-dataset experiments (`skip_unavailable=true`, e.g. SCARCE Table 1) write a note per absent dataset
to ``<study>/skipped/<dataset>.json``; the report lists them so a missing row reads "absent", not
"forgotten". When a study ran on a *fixed* hardest class (a published one), the dataset's own
pre-registered split (``datasets/splits/<dataset>.json``, hardest class chosen by pilots on the
selection split) says which class our rule would have chosen instead; the report shows both.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from benchmark import PROJECT_ROOT
from benchmark.report.published import load_table1, match_dataset
from benchmark.report.table_formats import write_table_formats

NOT_RUN_COLUMNS = ["dataset", "status", "published_hardest_class", "reason"]
NOT_RUN_HEADERS = {"dataset": "Dataset", "status": "Status", "published_hardest_class": "Published hardest class",
                   "reason": "Why, and what to do"}
SPLITS_DIR = PROJECT_ROOT / "datasets" / "splits"


def load_skipped(study_dir: str | Path) -> list[dict]:
    """The skip notes of a study, one per dataset (the newest note wins); unreadable notes are reported."""
    notes: dict[str, dict] = {}
    for p in sorted((Path(study_dir) / "skipped").glob("*.json")):
        try:
            note = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as e:
            note = {"dataset": p.stem, "status": "skipped", "reason": f"{p}: unreadable skip note ({e})"}
        name = str(note.get("dataset") or p.stem)
        if name not in notes or str(note.get("time", "")) >= str(notes[name].get("time", "")):
            notes[name] = note
    return [notes[k] for k in sorted(notes)]


def not_run_frame(skipped: list[dict], ran: set[str]) -> pd.DataFrame:
    """One row per absent dataset (a dataset with records is not absent, whatever an old note says)."""
    table1 = load_table1()
    rows = []
    for note in skipped:
        name = str(note.get("dataset"))
        if name in ran:
            continue
        pub = match_dataset(table1, name)
        rows.append({"dataset": name, "status": "absent (not run)",
                     "published_hardest_class": pub["hardest_class"].iloc[0] if len(pub) else None,
                     "reason": note.get("reason", "")})
    return pd.DataFrame(rows, columns=NOT_RUN_COLUMNS)


def rule_choice(dataset: str, splits_dir: Path = SPLITS_DIR) -> dict | None:
    """Our pre-registered rule's hardest class for `dataset` (from its own frozen split), or None when that
    split is absent or its class was fixed by hand rather than chosen by pilot runs."""
    path = Path(splits_dir) / f"{dataset}.json"
    if not path.is_file():
        return None
    try:
        hardest = json.loads(path.read_text()).get("hardest") or {}
    except (OSError, json.JSONDecodeError):
        return None
    ev = hardest.get("evidence") or {}
    if not ev.get("pilot_seeds"):
        return None
    shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
    return {"class": hardest.get("class"), "manifest": str(shown), "description": ev.get("description"),
            "mean_selection_accuracy": ev.get("mean_selection_accuracy") or {},
            "engine": ((ev.get("pilot_config") or {}).get("trainer") or {}).get("engine")}


def rule_note(dataset: str, used: str, rule: str | None) -> str | None:
    """A sentence when the study used a fixed class and our rule (pilots on the selection split) differs."""
    if rule and not str(rule).startswith("fixed"):
        return None
    choice = rule_choice(dataset)
    if choice is None:
        return (f"{dataset}: the hardest class {used} was fixed, not chosen; run `scarce split {dataset}` to see "
                f"which class our selection rule would choose")
    accs = choice["mean_selection_accuracy"]
    acc = ", ".join(f"{c} {100 * a:.0f} %" for c, a in sorted(accs.items(), key=lambda kv: kv[1]))
    same = "the same class" if choice["class"] == used else f"**{choice['class']}** instead of {used}"
    return (f"{dataset}: our pre-registered rule ({choice['description']}; {choice['engine'] or 'pilot'} pilots, "
            f"{choice['manifest']}) chose {same}. Mean selection-split accuracy: {acc}.")


def ran_datasets(frame: pd.DataFrame) -> set[str]:
    return set(frame["dataset"].dropna().astype(str)) if len(frame) and "dataset" in frame else set()


def write_not_run(ctx, out_dir: Path) -> dict[str, Path]:
    """`not_run.{csv,md,tex}` when the study has skip notes for datasets without records."""
    table = not_run_frame(ctx.data.skipped, ran_datasets(ctx.frame))
    if table.empty:
        return {}
    return write_table_formats(table, out_dir, "not_run", NOT_RUN_HEADERS,
                               caption="Datasets of the study that were not run")
