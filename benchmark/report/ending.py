"""What `scarce report` prints, in the order a reader wants it, the answer last:

    (--verbose) every file written · curation / volume / published-vs-reproduced summaries ·
    the answer: one line per primary comparison (mean difference, interval, verdict in words) and the rule ·
    the caveats that decide how far to trust it (under-powered, dropped seeds, failed runs, contaminated sets,
    cells without a record) · the page to open (index.html)

Everything is read back from the tables the report wrote (and the study's declared cells), so the printout
and the files cannot disagree.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.report.answer import answer_lines, finite, fmt_num
from benchmark.stats import DecisionRule

__all__ = ["report_ending", "caveat_lines"]


def _table(paths: dict[str, Path], key: str) -> pd.DataFrame:
    p = paths.get(key)
    if p is None or not Path(p).is_file() or Path(p).stat().st_size == 0:
        return pd.DataFrame()
    try:
        return pd.read_csv(p)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _seeds(v) -> list[int]:
    """Dropped seeds as the CSV holds them (csv_ready): '3 5', a lone 3 (read back as a number) or empty."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return []
    return [int(float(tok)) for tok in str(v).replace(",", " ").strip("[] ").split()]


def power_lines(c: pd.DataFrame, rule: DecisionRule) -> list[str]:
    """Primary comparisons whose design cannot reach the rule's power at its target effect (comparisons.csv
    `seeds_needed`, the seeds for `rule.power` to detect `rule.target_effect_pp`: its MDE is above the target);
    one line per dataset and reason, naming the comparisons (or "all N")."""
    target = f"{100 * rule.power:g} % power to detect {rule.target_effect_pp:g} pp"
    primary = c[c["family"] == "primary"] if "seeds_needed" in c else c.iloc[:0]
    groups: dict[tuple[str, str], list[str]] = {}
    for r in primary.itertuples():
        need = str(r.seeds_needed)
        if need == "not reachable":
            why = (f"{target} is not reachable with more seeds (the test images' own variance dominates: more "
                   "independent test images are needed)")
        elif need.isdigit() and finite(r.n) and int(need) > int(r.n):
            why = f"{target} needs about {need} seeds; this study has {int(r.n)}"
        else:
            continue
        groups.setdefault((str(r.dataset), why), []).append(str(r.comparison))
    out = []
    for (dataset, why), names in groups.items():
        n_all = int((primary["dataset"].astype(str) == dataset).sum())
        which = f"(all {n_all} primary comparisons)" if len(names) == n_all > 1 else "; ".join(names)
        out.append(f"{dataset} {which}: under-powered: {why}")
    return out


def dropped_lines(c: pd.DataFrame) -> list[str]:
    """Primary comparisons that lost seeds, with the worst case the report computes for them."""
    out = []
    for r in c[c["family"] == "primary"].itertuples() if "dropped_seeds" in c else ():
        if seeds := _seeds(r.dropped_seeds):
            worst = "" if "worst_mean_pp" not in c else (
                f"; imputed against the observed sign the mean would be {fmt_num(r.worst_mean_pp, '+.1f')} pp "
                f"(seed-level p {fmt_num(r.worst_p, '.3g')})")
            out.append(f"{r.dataset} {r.comparison}: seed(s) {', '.join(map(str, seeds))} dropped (a run failed or "
                       f"is missing in one arm){worst}")
    return out


def study_lines(paths: dict[str, Path], study_dir: Path | None) -> list[str]:
    """Failed runs, synthetic sets run despite test near-copies, declared cells without a record."""
    out = []
    if n := len(_table(paths, "failures_csv")):
        out.append(f"{n} run(s) failed and are left out of every number (failures.csv; rerun them with "
                   "retry_failed=true)")
    audit = _table(paths, "audit_csv")
    if len(audit) and "allowed" in audit:
        for r in audit[audit["allowed"].astype(str) == "True"].drop_duplicates("set").itertuples():
            out.append(f"synthetic set {r.generator}-{r.set} holds {fmt_num(r.n_test_copies, '.0f')} near-copies of "
                       "test images and was run anyway (audit.allow_contamination=true)")
    if study_dir is not None and (Path(study_dir) / "records").is_dir():
        from benchmark.status import cell_states

        cells = cell_states(study_dir)
        if n := int((cells["state"] == "missing").sum()) if len(cells) else 0:
            out.append(f"{n} declared cell(s) have no record (a job killed or still running): "
                       f"`scarce status {study_dir}`")
    return out


def caveat_lines(paths: dict[str, Path], study_dir: Path | None = None,
                 rule: DecisionRule = DecisionRule()) -> list[str]:
    """Every caveat that decides how far to trust the answer, one line each (empty: none found)."""
    c = _table(paths, "comparisons_csv")
    primary = [*power_lines(c, rule), *dropped_lines(c)] if "family" in c else []
    d = _table(paths, "det_paired_csv")
    primary += dropped_lines(d) if "family" in d else []
    return primary + study_lines(paths, study_dir)


def report_ending(paths: dict[str, Path], study_dir: Path | None = None, verbose: bool = False,
                  rule: DecisionRule = DecisionRule()) -> list[str]:
    """The lines `scarce report` prints (module doc); the answer, its caveats and index.html come last."""
    from benchmark.report.curation import curation_lines
    from benchmark.report.replication import replication_summary
    from benchmark.report.volume_artefacts import volume_lines

    blocks = [["files:", *(f"  {name}: {p}" for name, p in paths.items())]] if verbose else []
    blocks += [found for more in (curation_lines, volume_lines, replication_summary) if (found := more(paths))]
    caveats = caveat_lines(paths, study_dir, rule)
    index = paths.get("index_html")
    where = "" if verbose else f"  ({len(paths)} files beside it; --verbose lists them)"
    blocks.append(["answer (primary comparisons, one rule, Holm within the family):", *answer_lines(paths, rule),
                   *(["caveats:", *(f"  - {x}" for x in caveats)] if caveats else
                     ["caveats: none found (power, dropped seeds, failed runs, audit, missing cells checked)"]),
                   f"report: {index}{where}" if index else f"report: no index.html ({len(paths)} files written)"])
    return [line for i, block in enumerate(blocks) for line in ([""] if i else []) + block]
