"""The answer a report opens with, for every task: one line per primary comparison (mean difference, the
rule's interval, its Holm-adjusted p and the verdict), read back from the tables the report wrote."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from benchmark.stats import DecisionRule


def _num(x, fmt: str) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def classification_lines(table: pd.DataFrame, rule: DecisionRule) -> list[str]:
    """comparisons.csv: differences in pp; the rule's p is Holm-adjusted within the family."""
    level = f"{100 * rule.confidence:g} %"

    def line(r) -> str:
        share = getattr(r, "oracle_share", math.nan)
        return (f"{r.dataset} [{r.hardest_class}] {r.comparison}: {_num(r.mean_pp, '+.1f')} pp, {level} CI "
                f"[{_num(r.rule_ci_low_pp, '+.1f')}, {_num(r.rule_ci_high_pp, '+.1f')}], {rule.p} "
                f"{_num(r.rule_p, '.3g')}, {int(r.n)} seeds -> {r.verdict}"
                + ("" if pd.isna(share) else f" ({share:.2f} of the oracle's gain)"))
    out = [line(r) for r in table[table["family"] == "primary"].itertuples()]
    for r in table[table["family"] == "control"].itertuples():  # the known-answer control: is the design powered?
        out.append(f"control: {line(r)}" + ("; even the oracle (withheld real images) is not resolved: this design "
                                             "cannot resolve real information at this size" if r.verdict != "gain"
                                             else ""))
    return out


def detection_lines(table: pd.DataFrame, rule: DecisionRule) -> list[str]:
    """det_paired.csv: differences in AP points (0..1); seed-level Holm p (AP is not a per-image quantity)."""
    seed = rule.seed_level()
    level = f"{100 * seed.confidence:g} %"
    return [f"{r.dataset} [{r.hardest_class}] {r.comparison} (+{int(r.n_added)} images, {r.metric}): "
            f"{_num(r.mean, '+.4f')}, {level} CI [{_num(r.ci_low, '+.4f')}, {_num(r.ci_high, '+.4f')}], "
            f"{seed.p} {_num(getattr(r, seed.p), '.3g')}, {int(r.n)} seeds -> {r.verdict}"
            for r in table[table["family"] == "primary"].itertuples()]


def answer_lines(paths: dict[str, Path], rule: DecisionRule = DecisionRule()) -> list[str]:
    """The primary comparisons of a written report (classification and detection), then the rule."""
    lines: list[str] = []
    sources = (("comparisons_csv", classification_lines, rule), ("det_paired_csv", detection_lines, rule.seed_level()))
    for key, fmt, used in sources:
        p = paths.get(key)
        if p is None or not Path(p).is_file() or Path(p).stat().st_size == 0:
            continue
        try:
            table = pd.read_csv(p)
        except pd.errors.EmptyDataError:
            continue
        if "family" in table and len(table):
            found = fmt(table, rule)
            lines += found + ([f"  verdict rule: {used.describe()}; about {used.population()}"] if found else [])
    return lines or ["no primary comparison (a study needs the synthetic and placebo arms on common seeds)"]
