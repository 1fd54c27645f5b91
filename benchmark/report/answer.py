"""The answer a report opens with, for every task: one line per primary comparison (mean difference, the
rule's interval, its Holm-adjusted p and the verdict, with the reason in words), read back from the tables the
report wrote. A number that cannot exist (no interval with one seed, an infinite bound) prints "—"."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from benchmark.stats import DecisionRule


def fmt_num(x, fmt: str) -> str:
    """`x` formatted, or "—" for a number that does not exist (None, NaN, ±inf: never printed as 'nan' / 'inf')."""
    try:
        return format(x, fmt) if x is not None and math.isfinite(float(x)) else "—"
    except (TypeError, ValueError):
        return "—"


def finite(*xs) -> bool:
    """True when every x is a finite number (not None, NaN, ±inf or text)."""
    try:
        return all(x is not None and math.isfinite(float(x)) for x in xs)
    except (TypeError, ValueError):
        return False


def verdict_words(verdict: str, lo, hi, p, n, rule: DecisionRule) -> str:
    """Why the rule gave `verdict` (decide() in benchmark.stats.decision, read back in words)."""
    level = f"{100 * rule.confidence:g} % interval"
    if verdict in ("gain", "harm"):
        side = "above" if verdict == "gain" else "below"
        return f"the {level} lies {side} 0 and {rule.p} < {rule.alpha:g}"
    if verdict == "not tested":
        few = not finite(n) or n < rule.min_seeds
        return f"{fmt_num(n, '.0f')} seeds, fewer than the rule's {rule.min_seeds}" if few else \
            f"fewer than {rule.min_units} independent test units: no verdict is given"
    if rule.ci is not None and not finite(lo, hi):
        return f"no {level} could be computed"
    if rule.ci is not None and lo <= 0 <= hi:
        return f"the {level} includes 0"
    if not finite(p) or p >= rule.alpha:
        return f"{rule.p} is not below {rule.alpha:g}"
    return f"smaller than the rule's minimum effect of {rule.min_effect_pp:g} pp"


def classification_lines(table: pd.DataFrame, rule: DecisionRule) -> list[str]:
    """comparisons.csv: differences in pp; the rule's p is Holm-adjusted within the family."""
    level = f"{100 * rule.confidence:g} %"

    def line(r) -> str:
        share = getattr(r, "oracle_share", math.nan)
        why = verdict_words(r.verdict, r.rule_ci_low_pp, r.rule_ci_high_pp, r.rule_p, r.n, rule)
        return (f"{r.dataset} [{r.hardest_class}] {r.comparison}: {fmt_num(r.mean_pp, '+.1f')} pp, {level} CI "
                f"[{fmt_num(r.rule_ci_low_pp, '+.1f')}, {fmt_num(r.rule_ci_high_pp, '+.1f')}], {rule.p} "
                f"{fmt_num(r.rule_p, '.3g')}, {fmt_num(r.n, '.0f')} seeds"
                + ("" if not finite(share) else f", {share:.2f} of the oracle's gain")
                + f" -> {r.verdict} ({why})")
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
    return [f"{r.dataset} [{r.hardest_class}] {r.comparison} (+{fmt_num(r.n_added, '.0f')} images, {r.metric}): "
            f"{fmt_num(r.mean, '+.4f')}, {level} CI [{fmt_num(r.ci_low, '+.4f')}, {fmt_num(r.ci_high, '+.4f')}], "
            f"{seed.p} {fmt_num(getattr(r, seed.p), '.3g')}, {fmt_num(r.n, '.0f')} seeds -> {r.verdict} "
            f"({verdict_words(r.verdict, r.ci_low, r.ci_high, getattr(r, seed.p), r.n, seed)})"
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
