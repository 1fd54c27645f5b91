"""Published vs reproduced: each study row whose dataset and hardest class match a SCARCE Table 1 row, the
published figures beside ours, a replication verdict, and what the published (gain, z) implies.

Ours come from the report's own tables (``ctx.table``: arm means; ``ctx.comparisons``: the verdict rule's
interval, SD, z and verdict), so this page and the others show the same numbers. The generators differ:
Synthgen is a black box, ours is named, and a row says so.

**Replication verdict**, in this order (the first that applies):

1. *smaller* / *larger*: the rule's interval for synthetic[g] − real lies entirely below / above the published
   gain. An interval that excludes the published value is informative whatever our power.
2. *not resolvable here*: the interval contains the published gain, but our minimum detectable effect exceeds
   it, or the interval contains 0 as well (it cannot tell the published gain from none): containing it says
   little. Also when there is no interval.
3. *consistent*: the interval contains the published gain, excludes 0, and the MDE does not exceed the gain.

The MDE (80 % power, two-sided α = 0.05) is that of the **verdict rule's own test** on the null pair
placebo[g] − real (a pair with no information difference), read off its rule interval
(:func:`benchmark.stats.plausibility.mde_from_interval`: the seeds × test-units t with its df for the
default rule), so it counts the test images' noise as the verdict does. The seed-level MDE (test images held
fixed, :func:`~benchmark.stats.plausibility.mde_paired` of the null SD) is shown beside it; it is smaller
wherever a few test units dominate. Without a placebo arm both fall back to synthetic − real, and
``mde_basis`` says so.

**Plausibility** (:mod:`benchmark.stats.plausibility`): the paired SD the published gain and z imply at
the ends of the stated seed range (7 and 15; the per-row n is not given), beside our measured SDs; the seeds
a |z| of the published size would need under our SDs; and a GRIM check of the published means. Table 1
does not give the hardest-class test count m, so that check is off; it is repeated at this study's own m,
labelled as an assumption.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.report.comparisons import GROUP_KEYS, placebo_of
from benchmark.report.design import key_text
from benchmark.report.published import load_table1, match_table1
from benchmark.report.table_formats import count_text, count_value, write_table_formats
from benchmark.stats.plausibility import grim_reachable, implied_sd, mde_from_interval, mde_paired, seeds_for_z

__all__ = ["replication_frame", "replication_verdict", "plausibility_cells", "write_replication",
           "replication_lines", "replication_summary", "REPLICATION_HEADERS", "NOTE"]

PUBLISHED_DECIMALS = 1           # Table 1 reports accuracies with one decimal
SEED_RANGE = (7, 15)             # used where the published row does not state its own
REPLICATION_HEADERS = {
    "dataset": "Dataset", "hardest_class": "Hardest class", "model": "Model", "engine": "Engine",
    "generators": "Generators",
    "published_real_acc_pct": "Published real-only (%)", "published_synthetic_acc_pct": "Published +Synthgen (%)",
    "published_gain_pp": "Published gain (pp)", "published_z": "Published z",
    "real_acc_pct": "Our real-only (%)", "synthetic_acc_pct": "Our +synthetic (%)", "placebo_acc_pct": "Our placebo (%)",
    "gain_pp": "Our gain (pp)", "gain_ci_low_pp": "Our rule CI low", "gain_ci_high_pp": "Our rule CI high",
    "z": "Our z", "verdict": "Our verdict (synthetic − real)", "n_seeds": "Our n seeds",
    "n_test_images": "Our hardest test images", "mde_pp": "Our MDE, rule's test (pp)",
    "mde_seed_pp": "Our MDE, seed-level (pp)", "mde_basis": "MDE from",
    "replication": "Replication", "implied_sd_n_min_pp": "Implied SD at n = 7 (pp)",
    "implied_sd_n_max_pp": "Implied SD at n = 15 (pp)", "null_sd_pp": "Our SD placebo − real (pp)",
    "synthetic_sd_pp": "Our SD synthetic − real (pp)", "seeds_for_z_null": "n for published |z| (null SD)",
    "seeds_for_z_synthetic": "n for published |z| (synthetic SD)", "grim_published": "GRIM (published m)",
    "grim_real_at_our_m": "GRIM real-only, if m were ours", "grim_synthetic_at_our_m": "GRIM +Synthgen, if m were ours",
}


def replication_verdict(published_gain: float, ci_low: float, ci_high: float, mde: float) -> str:
    """The precedence of the module docstring: an excluding interval first, then resolvability."""
    if any(v is None or math.isnan(v) for v in (published_gain, ci_low, ci_high)):
        return "not resolvable here"
    if ci_high < published_gain:
        return "smaller"
    if ci_low > published_gain:
        return "larger"
    if mde is None or math.isnan(mde) or mde > published_gain or ci_low <= 0 <= ci_high:
        return "not resolvable here"
    return "consistent"


def _n_range(pub: dict[str, Any]) -> tuple[int, int]:
    lo, hi = pub.get("n_seeds_min"), pub.get("n_seeds_max")
    ok = all(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in (lo, hi))
    return (int(lo), int(hi)) if ok else SEED_RANGE


def _grim_text(mean_pct: float, n_range: range, m: int | None, label: str) -> str:
    got = grim_reachable(mean_pct, PUBLISHED_DECIMALS, n_range, None if m is None else [m])
    return got["status"] if m is None else f"{label}: {got['status']}"


def plausibility_cells(pub: dict[str, Any], null_sd: float, synthetic_sd: float, our_m: int | None) -> dict:
    """The plausibility columns of one row: published (gain, z, means) against our SDs and our m."""
    gain, z = float(pub["gain_pp"]), float(pub["z"])
    n_lo, n_hi = _n_range(pub)
    ns = range(n_lo, n_hi + 1)
    m_pub = pub.get("test_images")
    m_pub = None if m_pub is None or (isinstance(m_pub, float) and math.isnan(m_pub)) else int(m_pub)
    assume = f"if the test class had our m = {our_m} images" if our_m else ""
    pub_grim = ("; ".join(f"{w} {_grim_text(float(pub[c]), ns, m_pub, f'm = {m_pub}')}"
                          for w, c in (("real-only", "real_only_acc_pct"), ("+Synthgen", "synthetic_acc_pct")))
                if m_pub is not None else _grim_text(math.nan, ns, None, ""))
    at_ours = {c: _grim_text(float(pub[src]), ns, our_m, assume) if our_m else "our m unknown"
               for c, src in (("grim_real_at_our_m", "real_only_acc_pct"),
                              ("grim_synthetic_at_our_m", "synthetic_acc_pct"))}
    return {"implied_sd_n_min_pp": implied_sd(gain, z, n_lo), "implied_sd_n_max_pp": implied_sd(gain, z, n_hi),
            "null_sd_pp": null_sd, "synthetic_sd_pp": synthetic_sd,
            "seeds_for_z_null": seeds_for_z(z, gain, null_sd), "seeds_for_z_synthetic": seeds_for_z(z, gain, synthetic_sd),
            "grim_published": pub_grim, **at_ours}


def _key(row) -> tuple:
    """A group key that compares equal across frames (:func:`benchmark.report.design.key_text`)."""
    return tuple(key_text(row[c]) for c in GROUP_KEYS)


def _comparison(comps: pd.DataFrame, key: tuple, arm_a: str | None, arm_b: str) -> dict | None:
    if arm_a is None or comps.empty:
        return None
    hit = [r for _, r in comps.iterrows() if _key(r) == key and r["arm_a"] == arm_a and r["arm_b"] == arm_b]
    return hit[0].to_dict() if hit else None


def _num(d: dict | None, col: str) -> float:
    v = None if d is None else d.get(col)
    return math.nan if v is None or pd.isna(v) else float(v)


def _rule_mde(pair: dict | None, rule) -> float:
    """MDE of the verdict rule's test on ``pair`` (a comparison row), from its rule interval and that test's df:
    seeds × test units (cross_df) for the default rule, n − 1 for a seed t, the normal for a bootstrap one."""
    if pair is None:
        return math.nan
    ci = getattr(rule, "ci", "cross") if rule is not None else "cross"
    df = {"cross": _num(pair, "cross_df"), "t": _num(pair, "n") - 1, None: _num(pair, "n") - 1}.get(ci, math.inf)
    return mde_from_interval(_num(pair, "rule_ci_low_pp"), _num(pair, "rule_ci_high_pp"), df)


def _row(t: pd.Series, pub: dict[str, Any], comps: pd.DataFrame, rule=None) -> dict[str, Any]:
    key, g = _key(t), t["generator"]
    labels = {lab for _, r in comps.iterrows() if _key(r) == key for lab in (r["arm_a"], r["arm_b"])}
    syn = _comparison(comps, key, f"synthetic[{g}]", "real")
    null = _comparison(comps, key, placebo_of(f"synthetic[{g}]", labels), "real")
    n, null_sd, syn_sd = int(_num(syn, "n")) if syn else 0, _num(null, "sd_pp"), _num(syn, "sd_pp")
    basis, sd, pair = (("placebo − real", null_sd, null) if not math.isnan(null_sd)
                       else ("synthetic − real (no placebo)", syn_sd, syn))
    mde_seed = mde_paired(sd, n)
    mde_rule = _rule_mde(pair, rule)
    mde = mde_rule if not math.isnan(mde_rule) else mde_seed
    m = _num(syn, "n_test_images")
    m = None if math.isnan(m) else int(m)
    lo, hi = _num(syn, "rule_ci_low_pp"), _num(syn, "rule_ci_high_pp")
    return {"dataset": t["dataset"], "hardest_class": t["hardest_class"], "model": t["model"], "engine": t["engine"],
            "generators": f"{g} (ours) vs {pub.get('generator') or 'Synthgen (black box)'}",
            "published_real_acc_pct": float(pub["real_only_acc_pct"]),
            "published_synthetic_acc_pct": float(pub["synthetic_acc_pct"]),
            "published_gain_pp": float(pub["gain_pp"]), "published_z": float(pub["z"]),
            "real_acc_pct": t["real_acc_pct"], "synthetic_acc_pct": t["synthetic_acc_pct"],
            "placebo_acc_pct": t["placebo_acc_pct"], "gain_pp": _num(syn, "mean_pp"), "gain_ci_low_pp": lo,
            "gain_ci_high_pp": hi, "z": _num(syn, "z"), "verdict": syn["verdict"] if syn else "not run",
            "n_seeds": n, "n_test_images": m, "mde_pp": mde, "mde_seed_pp": mde_seed, "mde_basis": basis,
            "replication": replication_verdict(float(pub["gain_pp"]), lo, hi, mde),
            **plausibility_cells(pub, null_sd, syn_sd, m)}


def replication_frame(table: pd.DataFrame, comparisons: pd.DataFrame,
                      table1: pd.DataFrame | None = None, rule=None) -> pd.DataFrame:
    """One row per study row (group × generator) whose dataset and hardest class match a Table 1 row with a
    published gain; empty frame when none does. Few-shot rows (k set) are left out: Table 1 reports training
    on the whole real split, so a row at k labels per class is another design (§5.2 is its published twin)."""
    if table.empty or "generator" not in table:
        return pd.DataFrame(columns=list(REPLICATION_HEADERS))
    try:
        t1 = load_table1() if table1 is None else table1
    except FileNotFoundError:
        return pd.DataFrame(columns=list(REPLICATION_HEADERS))
    rows = []
    for _, t in table.iterrows():
        pub = match_table1(t["dataset"], t["hardest_class"], t1)
        few_shot = "k" in t and t["k"] is not None and not pd.isna(t["k"])
        if pub and pub["comparable"] and t["generator"] is not None and not pd.isna(pub.get("gain_pp")) and not few_shot:
            rows.append(_row(t, pub, comparisons, rule))
    out = pd.DataFrame(rows, columns=list(REPLICATION_HEADERS))
    for c in ("seeds_for_z_null", "seeds_for_z_synthetic"):   # whole seeds; infinite or astronomical: "not reachable"
        out[c] = pd.Series([count_value(v) for v in out[c]], index=out.index, dtype=object)
    return out


NOTE = ("\nReplication: *smaller* / *larger* = our rule interval lies entirely below / above the published gain "
        "(informative whatever our power); *not resolvable here* = it contains the published gain but our MDE "
        "(80 % power, α = 0.05, of the verdict rule's own test on placebo − real: seeds × test units, read off its "
        "interval; the seed-level MDE, test images held fixed, beside it) exceeds it, or it contains 0 too; "
        "*consistent* = it contains the published gain, excludes 0, and the MDE does not exceed the gain. The generators differ (Synthgen is a black "
        "box). Implied SD = published gain·√n/|z| at the ends of the stated 7–15 seeds (per-row n not given). "
        "GRIM: Table 1 does not give the hardest-class test count m, so the check on the published m is off; "
        "the columns 'if m were ours' assume the published test class had this study's m images. "
        "Published figures: SCARCE technical report, Table 1.\n")


def write_replication(ctx, out_dir: Path) -> dict[str, Path]:
    """``replication.{csv,md,tex}`` when any study row matches a published Table 1 row."""
    frame = ctx.replication
    if frame.empty:
        return {}
    paths = write_table_formats(frame, out_dir, "replication", REPLICATION_HEADERS, md_suffix=NOTE,
                                caption="Published (SCARCE technical report, Table 1) vs reproduced")
    md = paths["replication_md"]
    md.write_text("## Published vs reproduced\n\n" + md.read_text())
    return paths


def replication_lines(frame: pd.DataFrame) -> list[str]:
    """The side-by-side rows and plausibility figures in words, for the CLI's closing summary."""
    def f(v, fmt=".1f"):
        return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)

    out = []
    for r in frame.itertuples():
        out += [f"{r.dataset} [{r.hardest_class}] {r.generators}:",
                f"  published (SCARCE technical report, Table 1): real-only {f(r.published_real_acc_pct)} %, "
                f"+Synthgen {f(r.published_synthetic_acc_pct)} %, gain {f(r.published_gain_pp, '+.1f')} pp, "
                f"z {f(r.published_z)}",
                f"  ours: real-only {f(r.real_acc_pct)} %, +synthetic {f(r.synthetic_acc_pct)} %, placebo "
                f"{f(r.placebo_acc_pct)} %, gain {f(r.gain_pp, '+.1f')} pp, rule CI [{f(r.gain_ci_low_pp, '+.1f')}, "
                f"{f(r.gain_ci_high_pp, '+.1f')}], z {f(r.z, '.2f')}, {r.n_seeds} seeds -> {r.verdict}",
                f"  replication: {r.replication} (our MDE {f(r.mde_pp)} pp with the rule's test, {f(r.mde_seed_pp)} pp "
                f"seed-level, from {r.mde_basis})",
                f"  implied SD of d: {f(r.implied_sd_n_min_pp, '.2f')} pp at n = 7, {f(r.implied_sd_n_max_pp, '.2f')}"
                f" pp at n = 15; measured SD placebo − real {f(r.null_sd_pp, '.2f')} pp, synthetic − real "
                f"{f(r.synthetic_sd_pp, '.2f')} pp",
                f"  seeds a |z| of {f(r.published_z)} needs at the published gain: {count_text(r.seeds_for_z_null, missing='–')} "
                f"(our null SD), {count_text(r.seeds_for_z_synthetic, missing='–')} (our synthetic − real SD)",
                f"  GRIM of the published means: {r.grim_published}; real-only, {r.grim_real_at_our_m}; "
                f"+Synthgen, {r.grim_synthetic_at_our_m}"]
    return out


def replication_summary(paths: dict[str, Path]) -> list[str]:
    """:func:`replication_lines` of a written report (read back from ``replication.csv``); [] if there is none."""
    p = paths.get("replication_csv")
    if p is None or not Path(p).is_file():
        return []
    frame = pd.read_csv(p)
    return ["published vs reproduced (SCARCE technical report, Table 1):", *replication_lines(frame)] if len(frame) else []
