"""The multi-generator leaderboard: per generator, gain vs real and vs its count-matched placebo, with CI,
Holm-adjusted p and verdict; and every generator against every other.

A multi-generator study holds, per group (dataset, hardest class, model, k), one `real` arm, one
`synthetic[g]` arm per generator g and `placebo` runs. A placebo run carries no generator: its cell has
`placebo_counts`, the class counts it duplicated. Generator g's placebo is the placebo runs whose added
counts equal what g's set delivered (the same rule that made the placebo cell), so two generators with
equal volumes share one placebo cell (one run ID) and generators with different volumes get their own.
Statistics come from :func:`benchmark.report.comparisons.compare_group_arms` (the report's comparison
machinery); Holm runs over the leaderboard's own comparisons (vs real, vs placebo, pairwise).
"""
from __future__ import annotations

import json
import math
from itertools import combinations

import numpy as np
import pandas as pd

from benchmark.report.collect import StudyData
from benchmark.report.comparisons import compare_group_arms, iter_arm_groups, ok_runs
from benchmark.stats import DecisionRule, adjust_study
from benchmark.stats.bootstrap import DEFAULT_N_BOOT

__all__ = ["write_leaderboard", "plot_leaderboard", "leaderboard_of", "leaderboard_comparisons", "leaderboard_table", "pairwise_table", "delivered_counts",
           "LEADERBOARD_HEADERS", "PAIRWISE_HEADERS"]

GROUP = ["dataset", "hardest_class", "model", "k"]
STAT_COLUMNS = ["n", "mean_pp", "ci_low_pp", "ci_high_pp", "hier_ci_low_pp", "hier_ci_high_pp", "z", "p",
                "p_holm", "verdict", "dropped_seeds"]
LEADERBOARD_HEADERS = {
    "rank": "Rank", "generator": "Generator", "n_added": "Images added", "placebo_runs": "Placebo runs",
    "vs_real_mean_pp": "Gain vs real (pp)", "vs_real_ci_low_pp": "CI low (real)", "vs_real_ci_high_pp": "CI high (real)",
    "vs_real_p_holm": "Holm p (real)", "vs_real_verdict": "Verdict vs real",
    "vs_placebo_mean_pp": "Gain vs placebo (pp)", "vs_placebo_ci_low_pp": "CI low (placebo)",
    "vs_placebo_ci_high_pp": "CI high (placebo)", "vs_placebo_p_holm": "Holm p (placebo)",
    "vs_placebo_verdict": "Verdict vs placebo", "n": "n seeds",
}
PAIRWISE_HEADERS = {"generator_a": "A", "generator_b": "B", "n": "n seeds", "mean_pp": "A − B (pp)",
                    "ci_low_pp": "CI low", "ci_high_pp": "CI high", "z": "z", "p": "t-test p",
                    "p_holm": "Holm p", "verdict": "Verdict"}


def _counts_key(counts: dict | None) -> str:
    return json.dumps({c: int(n) for c, n in sorted((counts or {}).items()) if n}, sort_keys=True)


def delivered_counts(rows: pd.DataFrame, data: StudyData) -> dict[str, int] | None:
    """The class counts a generator's ok synthetic runs added (None if they disagree or there are none)."""
    keys = {_counts_key(data.runs.get(r, {}).get("added_counts")) for r in ok_runs(rows)["run_id"]}
    return json.loads(keys.pop()) if len(keys) == 1 else None


def matched_placebo(placebo: pd.DataFrame | None, counts: dict | None, data: StudyData) -> pd.DataFrame:
    """Placebo runs (any status) whose added counts equal `counts` (placebo_counts == delivered counts)."""
    if placebo is None or counts is None:
        return pd.DataFrame(columns=[] if placebo is None else placebo.columns)
    want = _counts_key(counts)
    keep = [_counts_key(data.runs.get(r, {}).get("added_counts")) == want for r in placebo["run_id"]]
    return placebo[np.asarray(keep, dtype=bool)] if len(placebo) else placebo


def _jobs(data: StudyData):
    """(key, kind, generator_a, generator_b, rows_a, rows_b, n_added, placebo_runs) per comparison."""
    for key, arms in iter_arm_groups(data.frame):
        gens = {lab[len("synthetic["):-1]: rows for lab, rows in arms.items() if lab.startswith("synthetic[")}
        for g, rows in gens.items():
            counts = delivered_counts(rows, data)
            n_added = sum(counts.values()) if counts else None
            plc = matched_placebo(arms.get("placebo"), counts, data)
            if "real" in arms:
                yield key, "vs real", g, "real", rows, arms["real"], n_added, len(plc)
            if len(plc):
                yield key, "vs placebo", g, "placebo", rows, plc, n_added, len(plc)
        for g1, g2 in combinations(sorted(gens), 2):
            yield key, "pairwise", g1, g2, gens[g1], gens[g2], None, None


def leaderboard_comparisons(data: StudyData, rule: DecisionRule = DecisionRule(), seed: int = 0,
                            n_boot: int = DEFAULT_N_BOOT) -> pd.DataFrame:
    """Long frame: one row per (group, generator, comparison), Holm over all of them, verdict by `rule`.
    Comparison i bootstraps from `np.random.default_rng([seed, 1, i])`."""
    rows = []
    for i, (key, kind, a, b, ra, rb, n_added, n_plc) in enumerate(_jobs(data)):
        label = "/".join(map(str, key.values())) + f"/{a}−{b}"
        st = compare_group_arms(ra, rb, data, np.random.default_rng([seed, 1, i]), n_boot, label)
        rows.append({**key, "kind": kind, "generator": a, "against": b, "n_added": n_added,
                     "placebo_runs": n_plc, **st})
    if not rows:
        return pd.DataFrame(columns=[*GROUP, "kind", "generator", "against", "n_added", "placebo_runs", *STAT_COLUMNS])
    out = pd.DataFrame(adjust_study(rows, rule))
    for c in ("mean", "ci_low", "ci_high", "hier_ci_low", "hier_ci_high"):
        out[f"{c}_pp"] = 100.0 * out[c]
    return out[[*GROUP, "kind", "generator", "against", "n_added", "placebo_runs", *STAT_COLUMNS]]


def leaderboard_table(long: pd.DataFrame) -> pd.DataFrame:
    """Wide: one row per (group, generator), vs real and vs placebo side by side, ranked by gain vs placebo."""
    if long.empty:
        return pd.DataFrame(columns=[*GROUP, *LEADERBOARD_HEADERS])
    parts = []
    for _, g in long[long["kind"] != "pairwise"].groupby(GROUP, dropna=False, sort=True):
        rows = []
        for gen, r in g.groupby("generator", sort=True):
            row = {**{c: r[c].iloc[0] for c in GROUP}, "generator": gen, "n_added": r["n_added"].iloc[0],
                   "placebo_runs": r["placebo_runs"].iloc[0], "n": int(r["n"].max())}
            for kind in ("vs real", "vs placebo"):
                hit = r[r["kind"] == kind]
                for c in ("mean_pp", "ci_low_pp", "ci_high_pp", "p_holm", "verdict"):
                    row[f"{kind.replace(' ', '_')}_{c}"] = hit[c].iloc[0] if len(hit) else (
                        "no placebo" if c == "verdict" else math.nan)
            rows.append(row)
        t = pd.DataFrame(rows)
        score = t["vs_placebo_mean_pp"].fillna(t["vs_real_mean_pp"])  # no matched placebo: ranked by vs real
        t["rank"] = score.rank(ascending=False, method="min").astype("Int64")
        parts.append(t.sort_values("rank", kind="stable"))
    out = pd.concat(parts, ignore_index=True)
    for c in ("n_added", "placebo_runs"):  # counts, not measurements: no decimals in the tables
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    return out[[*GROUP, *LEADERBOARD_HEADERS]]


def pairwise_table(long: pd.DataFrame) -> pd.DataFrame:
    p = long[long["kind"] == "pairwise"].rename(columns={"generator": "generator_a", "against": "generator_b"})
    return p[[*GROUP, *PAIRWISE_HEADERS]].reset_index(drop=True)


# ------------------------------------------------------------------------------------------ report
def leaderboard_of(ctx) -> pd.DataFrame:
    """The long leaderboard frame of a ReportContext, computed once (bootstraps are the expensive part)."""
    if "_leaderboard" not in ctx.__dict__:
        ctx.__dict__["_leaderboard"] = leaderboard_comparisons(ctx.data, ctx.rule, ctx.seed, ctx.n_boot)
    return ctx.__dict__["_leaderboard"]


def plot_leaderboard(long: pd.DataFrame, ax):
    """Forest: per (group, generator) the gain vs real (circle) and vs its placebo (square), 95 % t CI,
    coloured by verdict; then the pairwise differences (diamond). Top to bottom in table order."""
    from benchmark.report.figures import VERDICT_COLORS

    marks = {"vs real": "o", "vs placebo": "s", "pairwise": "D"}
    rows = long.reset_index(drop=True)
    y = np.arange(len(rows))[::-1]
    for yi, r in zip(y, rows.itertuples()):
        color = VERDICT_COLORS.get(r.verdict, "black")
        if np.isfinite([r.ci_low_pp, r.ci_high_pp]).all():
            ax.plot([r.ci_low_pp, r.ci_high_pp], [yi, yi], color=color, lw=3, solid_capstyle="butt")
        if np.isfinite(r.mean_pp):
            ax.plot(r.mean_pp, yi, marks[r.kind], color="white", mec=color, mew=2, ms=7)
    labels = [f"{r.dataset}: {r.generator} − {r.against}" for r in rows.itertuples()]
    ax.set_yticks(y, labels, fontsize="small")
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_ylim(-0.7, max(len(rows), 1) - 0.3)
    ax.set_xlabel("difference in hardest-class accuracy (pp), 95 % t CI over seeds")
    ax.set_title("Generator leaderboard: o vs real, s vs count-matched placebo, D generator vs generator",
                 fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    return ax.figure


def write_leaderboard(ctx, out_dir) -> dict:
    """leaderboard.{csv,md,tex}, leaderboard_pairwise.{csv,md,tex}, leaderboard.{png,svg}; only for
    multi-generator studies (some group with >= 2 generators: with one, the comparisons table says it all)."""
    import matplotlib.pyplot as plt

    from benchmark.report.figures import save_figure
    from benchmark.report.tables import write_table_formats

    long = leaderboard_of(ctx)
    if long.empty or not (long["kind"] == "pairwise").any():
        return {}
    note = (f"\nVerdict rule: {ctx.rule.describe()}. Holm adjustment over the {len(long)} leaderboard comparisons "
            "(each generator vs real, vs its count-matched placebo, and every pair of generators). Placebo "
            "matched by counts: the placebo runs whose added counts equal the generator's delivered counts.\n")
    paths = write_table_formats(leaderboard_table(long), out_dir, "leaderboard", LEADERBOARD_HEADERS, digits=3,
                                md_suffix=note, caption="Generator leaderboard (ranked by gain over placebo)")
    pair = pairwise_table(long)
    if len(pair):
        paths |= write_table_formats(pair, out_dir, "leaderboard_pairwise", PAIRWISE_HEADERS, digits=3,
                                     md_suffix=note, caption="Generator vs generator, paired by seed")
    fig, ax = plt.subplots(figsize=(10, 1.5 + 0.45 * len(long)))
    plot_leaderboard(long, ax)
    fig.tight_layout()
    return paths | save_figure(fig, out_dir, "leaderboard")
