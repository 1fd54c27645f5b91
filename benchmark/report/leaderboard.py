"""The multi-generator leaderboard: per generator, gain vs real and vs its count-matched placebo, with CI,
Holm-adjusted p and verdict; and every generator against every other.

It is a view of the report's comparisons (:func:`benchmark.report.comparisons.comparisons_frame`), not
a second computation: the same rows, the same pre-registered families (primary: each generator vs its
count-matched placebo; secondary: vs real and pairwise), the same Holm p and verdicts. Placebo matching
is :func:`benchmark.report.design.matched_placebo`'s (placebo runs whose duplicated class counts equal
what the generator delivered), the one rule Table 1 uses too. CI and p columns are those the verdict
rule reads.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from benchmark.report.collect import StudyData
from benchmark.report.comparisons import comparisons_frame, iter_arm_groups, ok_runs
from benchmark.report.design import GROUP_KEYS, key_text
from benchmark.report.exchange import EXCHANGE_COLUMNS, EXCHANGE_HEADERS, EXCHANGE_NOTE, exchange_of
from benchmark.stats import DecisionRule
from benchmark.stats.bootstrap import DEFAULT_N_BOOT

__all__ = ["write_leaderboard", "plot_leaderboard", "leaderboard_of", "leaderboard_comparisons", "leaderboard_table",
           "pairwise_table", "LEADERBOARD_HEADERS", "PAIRWISE_HEADERS"]

GROUP = list(GROUP_KEYS)
STAT_COLUMNS = ["family", "n", "mean_pp", "ci_low_pp", "ci_high_pp", "hier_ci_low_pp", "hier_ci_high_pp", "z", "p",
                "p_holm", "verdict", "dropped_seeds"]
LEADERBOARD_HEADERS = {
    "rank": "Rank", "generator": "Generator", "n_added": "Images added", "placebo_runs": "Placebo runs",
    "vs_real_mean_pp": "Gain vs real (pp)", "vs_real_ci_low_pp": "CI low (real)", "vs_real_ci_high_pp": "CI high (real)",
    "vs_real_p_holm": "Holm p (real, secondary)", "vs_real_verdict": "Verdict vs real (secondary)",
    "vs_placebo_mean_pp": "Gain vs placebo (pp)", "vs_placebo_ci_low_pp": "CI low (placebo)",
    "vs_placebo_ci_high_pp": "CI high (placebo)", "vs_placebo_p_holm": "Holm p (placebo, primary)",
    "vs_placebo_verdict": "Verdict vs placebo (primary)", "n": "n seeds", **EXCHANGE_HEADERS,
    "vs_random_mean_pp": "Gain vs random pick (pp)", "vs_random_ci_low_pp": "CI low (random)",  # curation arms only
    "vs_random_ci_high_pp": "CI high (random)", "vs_random_verdict": "Verdict vs random (curation)",
}
PAIRWISE_HEADERS = {"generator_a": "A", "generator_b": "B", "n": "n seeds", "mean_pp": "A − B (pp)",
                    "ci_low_pp": "CI low", "ci_high_pp": "CI high", "z": "z", "p": "seed t-test p",
                    "p_holm": "Holm p (secondary)", "verdict": "Verdict"}


def _gen(label: str) -> str:
    return label[label.index("[") + 1:-1]


def _kind(arm_a: str, arm_b: str) -> str | None:
    if not arm_a.startswith("synthetic["):
        return None
    if arm_b.startswith("placebo["):
        return "vs placebo"
    return "vs real" if arm_b == "real" else ("pairwise" if arm_b.startswith("synthetic[") else None)


def _sizes(data: StudyData) -> dict[tuple, tuple[int | None, int]]:
    """(group values, synthetic label) → (images the generator added, runs of its matched placebo)."""
    out = {}
    for key, arms in iter_arm_groups(data.frame):
        for lab, rows in arms.items():
            if lab.startswith("synthetic["):
                keys = set(ok_runs(rows)["added_key"])
                n_added = sum(json.loads(keys.pop()).values()) if len(keys) == 1 else None
                plc = next((r for l, r in arms.items() if l.startswith("placebo[")
                            and _gen(lab) in _gen(l).split("+")), None)
                out[(*key.values(), lab)] = (n_added, 0 if plc is None else len(plc))
    return out


def leaderboard_comparisons(data: StudyData, rule: DecisionRule = DecisionRule(), seed: int = 0,
                            n_boot: int = DEFAULT_N_BOOT, comparisons: pd.DataFrame | None = None) -> pd.DataFrame:
    """Long frame: one row per (group, generator, comparison) — the generator rows of the report's
    comparisons (computed here unless ``comparisons`` is given), with their families' Holm p and verdicts."""
    comp = comparisons_frame(data, rule, seed, n_boot) if comparisons is None else comparisons
    cols = [*GROUP, "kind", "generator", "against", "n_added", "placebo_runs", *STAT_COLUMNS]
    if comp.empty:
        return pd.DataFrame(columns=cols)
    sizes = _sizes(data)
    rows = []
    for r in comp.to_dict("records"):
        kind = "vs random" if r["family"] == "curation" else _kind(r["arm_a"], r["arm_b"])
        if kind is None:
            continue
        n_added, n_plc = sizes.get((*[r[c] for c in GROUP], r["arm_a"]), (None, 0))
        rows.append({**{c: r[c] for c in GROUP}, "kind": kind, "generator": _gen(r["arm_a"]),
                     "against": _gen(r["arm_b"]) if kind in ("pairwise", "vs random") else r["arm_b"].split("[")[0],
                     "n_added": n_added if kind != "pairwise" else None,
                     "placebo_runs": n_plc if kind != "pairwise" else None,
                     **{c: r[c] for c in ("family", "n", "mean_pp", "hier_ci_low_pp", "hier_ci_high_pp", "z", "p",
                                          "verdict", "dropped_seeds")},
                     "ci_low_pp": r["rule_ci_low_pp"], "ci_high_pp": r["rule_ci_high_pp"], "p_holm": r["rule_p"]})
    return pd.DataFrame(rows, columns=cols)


def _with_exchange(t: pd.DataFrame, exchange: pd.DataFrame | None) -> pd.DataFrame:
    """The exchange-rate columns of :func:`benchmark.report.exchange.exchange_frame`, matched on group and
    generator; a row without one says so (never a silent blank)."""
    key = [*GROUP, "generator"]
    found = {} if exchange is None else {tuple(map(key_text, r[:len(key)])): r[len(key):] for r in
                                         exchange[key + EXCHANGE_COLUMNS].itertuples(index=False)}
    missing = (math.nan,) * 4 + ("—", "not computed" if exchange is None else "no exchange row")
    vals = [found.get(tuple(map(key_text, r)), missing) for r in t[key].itertuples(index=False)]
    return t.assign(**{c: [v[j] for v in vals] for j, c in enumerate(EXCHANGE_COLUMNS)})


def leaderboard_table(long: pd.DataFrame, exchange: pd.DataFrame | None = None) -> pd.DataFrame:
    """Wide: one row per (group, generator), vs real and vs placebo side by side, ranked by gain vs placebo;
    ``exchange`` (:func:`benchmark.report.exchange.exchange_frame`): the exchange rate per generator."""
    if long.empty:
        return pd.DataFrame(columns=[*GROUP, *LEADERBOARD_HEADERS])
    parts = []
    for _, g in long[long["kind"] != "pairwise"].groupby(GROUP, dropna=False, sort=True):
        rows = []
        for gen, r in g.groupby("generator", sort=True):
            row = {**{c: r[c].iloc[0] for c in GROUP}, "generator": gen, "n_added": r["n_added"].iloc[0],
                   "placebo_runs": r["placebo_runs"].iloc[0], "n": int(r["n"].max())}
            for kind in ("vs real", "vs placebo", "vs random"):
                hit = r[r["kind"] == kind]
                for c in ("mean_pp", "ci_low_pp", "ci_high_pp", "p_holm", "verdict"):
                    row[f"{kind.replace(' ', '_')}_{c}"] = hit[c].iloc[0] if len(hit) else (
                        {"vs placebo": "no placebo", "vs random": "—"}.get(kind) if c == "verdict" else math.nan)
            rows.append(row)
        t = pd.DataFrame(rows)
        score = t["vs_placebo_mean_pp"].fillna(t["vs_real_mean_pp"])  # no matched placebo: ranked by vs real
        t["rank"] = score.rank(ascending=False, method="min").astype("Int64")
        parts.append(t.sort_values("rank", kind="stable"))
    out = _with_exchange(pd.concat(parts, ignore_index=True), exchange)
    for c in ("n_added", "placebo_runs"):  # counts, not measurements: no decimals in the tables
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    curated = (long["kind"] == "vs random").any()  # the vs-random columns only where a study has curation arms
    return out[[*GROUP, *(c for c in LEADERBOARD_HEADERS if curated or not c.startswith("vs_random_"))]]


def pairwise_table(long: pd.DataFrame) -> pd.DataFrame:
    p = long[long["kind"] == "pairwise"].rename(columns={"generator": "generator_a", "against": "generator_b"})
    return p[[*GROUP, *PAIRWISE_HEADERS]].reset_index(drop=True)


# ------------------------------------------------------------------------------------------ report
def leaderboard_of(ctx) -> pd.DataFrame:
    """The long leaderboard frame of a ReportContext, computed once (bootstraps are the expensive part)."""
    if "_leaderboard" not in ctx.__dict__:
        ctx.__dict__["_leaderboard"] = leaderboard_comparisons(ctx.data, ctx.rule, comparisons=ctx.comparisons)
    return ctx.__dict__["_leaderboard"]


def plot_leaderboard(long: pd.DataFrame, ax, endpoint: str = "hardest_accuracy"):
    """Forest: per (group, generator) the gain vs real (circle) and vs its placebo (square), the rule's CI,
    coloured by verdict; then the pairwise differences (diamond). Top to bottom in table order."""
    from benchmark.endpoints import ENDPOINTS
    from benchmark.report.figures import VERDICT_COLORS

    marks = {"vs real": "o", "vs placebo": "s", "pairwise": "D", "vs random": "^"}
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
    ax.set_ylabel("generator − what it is compared with")
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_ylim(-0.7, max(len(rows), 1) - 0.3)
    ax.set_xlabel(f"difference in {ENDPOINTS[endpoint].title} (pp), the verdict rule's interval")
    ax.set_title("Generator leaderboard: o vs real, s vs count-matched placebo, D generator vs generator",
                 fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    return ax.figure


def write_leaderboard(ctx, out_dir) -> dict:
    """leaderboard.{csv,md,tex}, leaderboard_pairwise.{csv,md,tex}, leaderboard.{png,svg}: for multi-generator
    studies (some group with >= 2 generators), and for one generator where an exchange rate has a basis (an
    oracle arm or a few-shot curve): the comparisons table has no column for what its set is worth."""
    import matplotlib.pyplot as plt

    from benchmark.report.figures import save_figure
    from benchmark.report.table_formats import write_table_formats

    long = leaderboard_of(ctx)
    exchange = exchange_of(ctx) if not long.empty else None
    priced = exchange is not None and len(exchange) and \
        exchange["exchange_basis"].astype(str).str.match(r"(oracle|few-shot)").any()
    if long.empty or not ((long["kind"] == "pairwise").any() or priced):
        return {}
    note = (f"\nVerdict rule: {ctx.rule.describe()}. The same rows, Holm p values and verdicts as the comparisons "
            "table: Holm once over the primary family (each generator vs its count-matched placebo) and once over "
            "the secondary one (vs real, pairwise); curation arms (g@selector) once more over the curation family (each "
            "vs g@random, the same N). Placebo matched by counts: the placebo runs whose added counts "
            "equal the generator's delivered counts. CI and p: those the rule reads.\n")
    paths = write_table_formats(leaderboard_table(long, exchange), out_dir, "leaderboard", LEADERBOARD_HEADERS,
                                digits=3,
                                md_suffix=note + "\n" + EXCHANGE_NOTE + "\n",
                                caption="Generator leaderboard (ranked by gain over placebo)")
    pair = pairwise_table(long)
    if len(pair):
        paths |= write_table_formats(pair, out_dir, "leaderboard_pairwise", PAIRWISE_HEADERS, digits=3,
                                     md_suffix=note, caption="Generator vs generator, paired by seed")
    fig, ax = plt.subplots(figsize=(10, 1.5 + 0.45 * len(long)))
    plot_leaderboard(long, ax, ctx.data.primary)
    fig.tight_layout()
    return paths | save_figure(fig, out_dir, "leaderboard")
