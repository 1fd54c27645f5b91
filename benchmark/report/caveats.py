"""The page's caveats: what limits the verdicts (test-set resolution, which interval is wider, how the hardest
class was chosen, Holm families, power, SCARCE's plain |z|, failed runs, calibration), one plain sentence each.
Split from :mod:`.html` so each module stays short; the sentences are HTML-escaped here."""
from __future__ import annotations

import math
from html import escape
from pathlib import Path

import pandas as pd

from benchmark.report.artefacts import CALIBRATION_SUMMARY, ReportContext
from benchmark.report.notrun import rule_note
from benchmark.report.table_formats import fmt_cell
from benchmark.stats.power import DEFAULT_TARGET_Z

__all__ = ["caveats_html", "num"]

def num(v, digits: int = 1, sign: bool = False) -> str:
    """A number for a sentence: fixed decimals, '–' when missing, an explicit sign when asked."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return fmt_cell(float(v), digits) if not sign or math.isinf(v) else f"{float(v):+.{digits}f}"


def _calibration_lines(out_dir: Path) -> list[str]:
    path = out_dir / CALIBRATION_SUMMARY
    if not path.is_file():
        return ["A/A calibration has not been run for this study (<code>scarce calibrate &lt;study dir&gt;</code>): "
                "the false-positive rate of the rule on these data is unknown."]
    lines = []
    for r in pd.read_csv(path).itertuples():
        aa = r.scenario != "planted"
        what = (f"false-positive rate under the {r.scenario} null" if aa
                else f"detection rate of a planted +{r.planted_pp:g} pp")
        zbar = f"|z| ≥ {r.target_z:g}" if aa else f"z ≥ {r.target_z:g}"
        se = r.rate_rule_any_se if aa else r.rate_rule_gain_se
        lines.append(escape(f"Calibration ({r.group}, {r.n_sims} simulated studies of {r.n_seeds} seeds from "
                            f"{r.pool_seeds} seed pairs of {r.pool_a} vs {r.pool_b}, {r.n_units} independent test "
                            f"units): {what}: rule {100 * r.rate_rule:.1f} % (± {100 * se:.1f}), "
                            f"SCARCE {zbar} {100 * r.rate_z:.1f} %."))
    return lines


def _resolution_lines(c: pd.DataFrame) -> list[str]:
    """How far one test image moves a run's hardest-class accuracy, per dataset."""
    lines = []
    for (ds, hc), g in c.groupby(["dataset", "hardest_class"], sort=True):
        m = g["n_test_images"].dropna()
        if len(m):
            m = int(m.max())
            lines.append(escape(f"{ds}: the hardest class ({hc}) has {m} test images, so one image moves a run's "
                                f"accuracy by {100 / m:.1f} pp; effects smaller than that exist only as averages."))
    return lines


def _interval_lines(c: pd.DataFrame) -> list[str]:
    """How often the interval that also resamples test images is the wider one."""
    valid = c[c["wider_ci"].isin(["seeds × images", "seeds only", "equal"])]
    if not len(valid):
        return []
    wider = int((valid["wider_ci"] == "seeds × images").sum())
    return [escape(f"In {wider} of {len(valid)} comparisons the interval that also resamples test images is "
                   "wider than the seeds-only one: seed-level z and p treat the test images as fixed and "
                   "overstate certainty about new images.")]


def _hardest_rule_lines(f: pd.DataFrame) -> list[str]:
    """How each dataset's hardest class was chosen (and its note, where one is known)."""
    lines = []
    for rule in f.dropna(subset=["hardest_class"]).drop_duplicates(["dataset"]).itertuples():
        how = rule.hardest_rule if isinstance(rule.hardest_rule, str) else "(rule not recorded)"
        lines.append(escape(f"{rule.dataset}: hardest class {rule.hardest_class} chosen by: {how}. "
                            "It is recorded in the frozen split manifest; the test split plays no part in "
                            "choosing it."))
        if note := rule_note(rule.dataset, rule.hardest_class, how):
            lines.append(escape(note.replace("**", "")))
    return lines


def _holm_line(c: pd.DataFrame) -> str:
    """Seeds per comparison and the two Holm families."""
    lo, hi = int(c["n"].min()), int(c["n"].max())
    n_primary = int((c["family"] == "primary").sum())
    return escape(f"Seeds per comparison: {lo if lo == hi else f'{lo} to {hi}'}. Holm's adjustment runs "
                  f"once over the {n_primary} pre-registered primary comparisons (each generator vs its "
                  f"count-matched placebo) and once over the {len(c) - n_primary} secondary ones.")


def _primary_lines(c: pd.DataFrame, rule) -> list[str]:
    """Per primary comparison: the seeds its power target needs, and what its dropped seeds could do."""
    lines = []
    for r in c[c["family"] == "primary"].itertuples():
        need = str(r.seeds_needed)
        if need == "not reachable":
            lines.append(escape(f"{r.dataset} {r.comparison}: {rule.power:.0%} power to detect "
                                f"{rule.target_effect_pp:g} pp is not reachable with more seeds alone: the "
                                "test set's own image-to-image variance dominates; more independent test "
                                "images are needed."))
        elif need.isdigit() and int(need) > int(r.n):
            lines.append(escape(f"{r.dataset} {r.comparison}: {rule.power:.0%} power to detect "
                                f"{rule.target_effect_pp:g} pp needs about {need} seeds (this study has {int(r.n)})."))
        if isinstance(r.dropped_seeds, list) and r.dropped_seeds and not pd.isna(r.worst_p):
            lines.append(escape(f"{r.dataset} {r.comparison}: seeds {r.dropped_seeds} were dropped; with them "
                                f"imputed against the observed sign the mean would be {num(r.worst_mean_pp, sign=True)} "
                                f"pp (seed-level p = {num(r.worst_p, 3)})."))
    return lines


def _z_only_lines(c: pd.DataFrame) -> list[str]:
    """Comparisons SCARCE's plain |z| bar would call but this rule does not."""
    z_only = c[(c["z"].astype(float).abs() >= DEFAULT_TARGET_Z) & (c["verdict"] == "no evidence")]
    if not len(z_only):
        return []
    names = "; ".join(f"{r.dataset} {r.comparison} (z = {fmt_cell(float(r.z))})" for r in z_only.itertuples())
    return [escape(f"SCARCE's plain |z| ≥ {DEFAULT_TARGET_Z:g} would call {names}, which this rule "
                   "does not: with few seeds the normal reference, no multiplicity correction and "
                   "fixed test images make z overconfident.")]


def _failed_lines(f: pd.DataFrame) -> list[str]:
    n_failed = int((f["status"] == "failed").sum()) if not f.empty else 0
    if not n_failed:
        return []
    return [escape(f"{n_failed} run(s) failed and are excluded (see the failures table); their seeds "
                   "are dropped from the comparisons they belong to.")]


def caveats_html(ctx: ReportContext, out_dir: Path) -> str:
    c, f = ctx.comparisons, ctx.frame
    lines = [*_resolution_lines(c), *_interval_lines(c), *_hardest_rule_lines(f)]
    if len(c):
        lines += [_holm_line(c), *_primary_lines(c, ctx.rule), *_z_only_lines(c)]
    lines += [*_failed_lines(f), *_calibration_lines(out_dir)]
    return "<ul>" + "".join(f"<li>{x}</li>" for x in lines) + "</ul>"
