"""Secondary endpoints: every comparison of the study on each endpoint that is not the primary one.

The study's primary endpoint (``endpoints.primary`` in its config, hardest-class accuracy by default) is
what the comparisons table, Holm's families and the verdicts are about (:mod:`.comparisons`). Every other
endpoint of :data:`benchmark.endpoints.ENDPOINTS` is reported here, marked secondary: the mean paired
difference, its interval and its **unadjusted** p, no Holm and no verdict. An endpoint with a per-image
decomposition (accuracy, true-class probability, log-loss) gets the rule's statistic (the seeds × test-units
t-test for the default rule); AP and balanced accuracy have none and get the seed-level t-test.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.endpoints import ENDPOINTS
from benchmark.report.collect import StudyData, endpoint_column
from benchmark.report.comparisons import (GROUP_KEYS, comparison_pairs, endpoint_rule, iter_arm_groups, ok_runs,
                                          per_seed_correct, shared_images)
from benchmark.report.design import seed_series
from benchmark.stats import DecisionRule
from benchmark.stats.crossed import crossed_test
from benchmark.stats.paired import paired_differences, ttest_paired

__all__ = ["ENDPOINT_COLUMNS", "ENDPOINT_HEADERS", "secondary_frame", "endpoint_note", "endpoint_stats",
           "write_endpoints", "secondary_html"]

ENDPOINT_COLUMNS = [*GROUP_KEYS, "family", "comparison", "arm_a", "arm_b", "endpoint", "role", "n", "mean",
                    "ci_low", "ci_high", "p", "statistic", "unit", "better"]
ENDPOINT_HEADERS = {
    "dataset": "Dataset", "hardest_class": "Hardest class", "model": "Model", "engine": "Engine", "k": "k",
    "design": "Design", "family": "Comparison family", "comparison": "Comparison (A − B)", "arm_a": "A",
    "arm_b": "B", "endpoint": "Endpoint", "role": "Endpoint role", "n": "n seeds", "mean": "Mean diff", "ci_low": "CI low",
    "ci_high": "CI high", "p": "p (unadjusted)", "statistic": "Statistic", "unit": "Unit", "better": "Better",
}


def endpoint_stats(a: dict[int, float], b: dict[int, float], per_image: tuple | None, rule: DecisionRule) -> dict:
    """Mean of ``a − b`` paired by seed, with the interval and unadjusted p of ``rule``'s statistic: the seeds ×
    test-units t-test when ``per_image = (values_a, values_b, units)`` is given (``{seed: per-image values}``
    over the same images) and the rule generalises, else the seed-level t-test. Fractions, not scaled."""
    seeds, d, _ = paired_differences(a, b)
    out = {"n": int(d.size), "mean": float(d.mean()) if d.size else math.nan}
    if per_image is not None and rule.generalises and d.size and all(
            int(s) in per_image[0] and int(s) in per_image[1] for s in seeds):
        diff = np.vstack([per_image[0][int(s)] - per_image[1][int(s)] for s in seeds])
        cross = crossed_test(diff, per_image[2], rule.confidence)
        return {**out, "p": cross["p"], "ci_low": cross["ci_low"], "ci_high": cross["ci_high"],
                "statistic": "seeds × test-units t"}
    t = ttest_paired(d, rule.confidence)
    return {**out, "p": t["p"], "ci_low": t["ci_low"], "ci_high": t["ci_high"], "statistic": "seed-level t"}


def _one(rows_a: pd.DataFrame, rows_b: pd.DataFrame, data: StudyData, name: str, rule: DecisionRule,
         label: str) -> dict:
    """One comparison on one secondary endpoint, in the endpoint's printed unit (pp or nats)."""
    ep, rule = ENDPOINTS[name], endpoint_rule(rule, name)
    a, b = ok_runs(rows_a), ok_runs(rows_b)
    col = endpoint_column(name)
    per_image = None
    if ep.per_image is not None:
        images, units = shared_images(a, b, data)
        if images:
            per_image = (per_seed_correct(a, data, images, name), per_seed_correct(b, data, images, name), units)
    st = endpoint_stats(seed_series(a, f"{label}/A", col) if col in a else {},
                        seed_series(b, f"{label}/B", col) if col in b else {}, per_image, rule)
    scaled = {k: ep.scale * st[k] for k in ("mean", "ci_low", "ci_high")}
    return {**st, **scaled, "endpoint": name, "role": "secondary", "unit": ep.unit,
            "better": "higher" if ep.higher_is_better else "lower"}


def secondary_frame(data: StudyData, rule: DecisionRule = DecisionRule()) -> pd.DataFrame:
    """One row per comparison × endpoint other than ``data.primary`` (:data:`ENDPOINT_COLUMNS`), in the
    comparisons' order; all marked secondary."""
    rows = []
    for key, arms in iter_arm_groups(data.frame):
        for a, b, fam in comparison_pairs(list(arms)):
            label = "/".join(str(v) for v in key.values()) + f"/{a}−{b}"
            for name in ENDPOINTS:
                if name != data.primary:
                    st = _one(arms[a], arms[b], data, name, rule, label)
                    rows.append({**key, "family": fam, "comparison": f"{a} − {b}", "arm_a": a, "arm_b": b, **st})
    return pd.DataFrame(rows).reindex(columns=ENDPOINT_COLUMNS)


def endpoint_note(primary: str) -> str:
    """Which endpoint was primary, in words (the report says so wherever it gives verdicts)."""
    others = ", ".join(ENDPOINTS[n].title for n in ENDPOINTS if n != primary)
    return (f"Primary endpoint: {ENDPOINTS[primary].title} ({primary}), declared before running "
            f"(config endpoints.primary): Holm's families and the verdicts are about it. Secondary endpoints "
            f"(interval and unadjusted p only, no Holm, no verdict): {others}.")


def write_endpoints(ctx, out_dir: Path) -> dict[str, Path]:
    """``endpoints.{csv,md,tex}``: the secondary endpoints of every comparison."""
    from benchmark.report.table_formats import write_table_formats

    table = ctx.secondary
    if table.empty:
        return {}
    note = (f"\n{endpoint_note(ctx.data.primary)} Differences A − B in the unit of each row (pp = percentage "
            "points); for log-loss lower is better, so a gain is a negative difference.\n")
    return write_table_formats(table, out_dir, "endpoints", ENDPOINT_HEADERS, digits=3, md_suffix=note,
                               caption="Secondary endpoints: mean paired difference, interval, unadjusted p")


def secondary_html(ctx) -> str:
    """The secondary-endpoints table for ``index.html`` ("" when there is none)."""
    from html import escape

    from benchmark.report.table_formats import html_table

    if ctx.secondary.empty:
        return ""
    return (f"<p>{escape(endpoint_note(ctx.data.primary))}</p>"
            f"<div class=\"scroll\">{html_table(ctx.secondary, ENDPOINT_HEADERS, 3)}</div>")
