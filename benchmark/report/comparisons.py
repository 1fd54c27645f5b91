"""Every comparison of a study, with all statistics and a verdict: records → one row per comparison.

Groups are :data:`benchmark.report.design.GROUP_KEYS` (dataset, hardest class, model, engine, k and the
design key: runs of different designs are never paired). Within a group the arms are labelled by
:func:`benchmark.report.design.label_arms` (``real``, ``synthetic[g]``, ``placebo[g]`` count-matched to
g's delivery). The **primary family**, pre-registered, is each ``synthetic[g] − placebo[g]`` (does g add
information beyond volume?); everything else — synthetic − real, placebo − real, generator vs
generator — is **secondary**. Holm runs once per family (:func:`benchmark.stats.adjust_study`), and the
leaderboard reads these same rows, so a comparison has one Holm p and one verdict in a report.
Arms are enumerated from all runs, failed ones included, so a comparison whose arm failed entirely
still appears (with n = 0, its p counted as 1 in its family) instead of vanishing.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from benchmark.endpoints import DEFAULT_PRIMARY, ENDPOINTS
from benchmark.progress.bars import tqdm
from benchmark.report.collect import StudyData, endpoint_column
from benchmark.report.curation import curation_pairs
from benchmark.report.design import GROUP_KEYS, label_arms, seed_series
from benchmark.stats import DecisionRule, adjust_study, compare_arms
from benchmark.stats.bootstrap import DEFAULT_N_BOOT
from benchmark.stats.decision import CI_KEYS

__all__ = ["prepared_frame", "iter_arm_groups", "comparison_pairs", "comparisons_frame", "placebo_of",
           "COMPARISON_COLUMNS", "COMPARISON_HEADERS", "GROUP_KEYS", "ok_runs", "shared_images",
           "compare_group_arms", "per_seed_correct", "endpoint_rule"]

PP = ["mean", "sd", "ci_low", "ci_high", "boot_ci_low", "boot_ci_high", "hier_ci_low", "hier_ci_high",
      "cross_ci_low", "cross_ci_high", "worst_mean", "rule_ci_low", "rule_ci_high"]
COMPARISON_COLUMNS = [
    *GROUP_KEYS, "family", "comparison", "arm_a", "arm_b", "n", "dropped_seeds",
    "mean_pp", "rule_ci_low_pp", "rule_ci_high_pp", "rule_p", "verdict", "population",
    "sd_pp", "z", "p", "ci_low_pp", "ci_high_pp", "p_holm", "wilcoxon_p", "wilcoxon_p_holm", "cohens_dz",
    "cross_p", "cross_ci_low_pp", "cross_ci_high_pp", "cross_df", "cross_p_holm",
    "boot_ci_low_pp", "boot_ci_high_pp", "hier_ci_low_pp", "hier_ci_high_pp", "wider_ci",
    "n_test_images", "n_units", "resolution_pp", "seeds_needed", "worst_mean_pp", "worst_p", "family_size",
    "endpoint", "oracle_share",
]
COMPARISON_HEADERS = {
    "dataset": "Dataset", "hardest_class": "Hardest class", "model": "Model", "engine": "Engine", "k": "k",
    "design": "Design", "family": "Family", "comparison": "Comparison (A − B)", "arm_a": "A", "arm_b": "B",
    "n": "n seeds", "dropped_seeds": "Dropped seeds", "mean_pp": "Mean diff (pp)",
    "rule_ci_low_pp": "Rule CI low", "rule_ci_high_pp": "Rule CI high", "rule_p": "Rule p",
    "verdict": "Verdict", "population": "Verdict is about",
    "sd_pp": "SD (pp)", "z": "z (SCARCE)", "p": "Seed t-test p", "ci_low_pp": "Seed t CI low",
    "ci_high_pp": "Seed t CI high", "p_holm": "Holm p (seed t)", "wilcoxon_p": "Wilcoxon p",
    "wilcoxon_p_holm": "Holm p (Wilcoxon)", "cohens_dz": "d_z",
    "cross_p": "Seeds×units p", "cross_ci_low_pp": "Seeds×units CI low", "cross_ci_high_pp": "Seeds×units CI high",
    "cross_df": "Seeds×units df", "cross_p_holm": "Holm p (seeds×units)",
    "boot_ci_low_pp": "Seed boot CI low", "boot_ci_high_pp": "Seed boot CI high",
    "hier_ci_low_pp": "Seeds×units boot CI low", "hier_ci_high_pp": "Seeds×units boot CI high",
    "wider_ci": "Wider boot CI", "n_test_images": "Hardest test images", "n_units": "Independent units",
    "resolution_pp": "1 image (pp)", "seeds_needed": "Seeds for 80 % power", "worst_mean_pp": "Worst-case mean (pp)",
    "worst_p": "Worst-case p", "family_size": "Family size", "endpoint": "Endpoint (primary)",
    "oracle_share": "Share of oracle gain",
}


def _k(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def prepared_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Frame with ``k`` as int/None, missing generators as None, and a failed run's missing hardest class
    taken from its dataset's ok runs (when they agree on one), so failed runs land in the right group."""
    if frame.empty:
        return frame
    f = frame.copy()
    for c in ("generator", "hardest_class", "synthetic_key"):
        if c in f:
            f[c] = f[c].astype(object).where(f[c].notna(), None)
    f["k"] = pd.Series([_k(v) for v in f["k"]], index=f.index, dtype=object)
    for ds, rows in f.groupby("dataset"):
        known = rows["hardest_class"].dropna().unique()
        if len(known) == 1:
            f.loc[rows.index[rows["hardest_class"].isna()], "hardest_class"] = known[0]
    return f


def _arm_order(label: str) -> tuple[int, str]:
    """real, then placebo(s), then synthetic arms, then the oracle, alphabetically within each."""
    return ({"real": 0, "placebo": 1, "synthetic": 2, "oracle": 3}.get(label.split("[")[0], 4), label)


def iter_arm_groups(frame: pd.DataFrame) -> Iterator[tuple[dict[str, Any], dict[str, pd.DataFrame]]]:
    """``(key, {arm label: rows})`` per group of :data:`GROUP_KEYS`, rows of every status."""
    f = prepared_frame(frame)
    if f.empty:
        return
    keys = pd.Series(["\x1f".join(str(v) for v in row) for row in f[GROUP_KEYS].itertuples(index=False)],
                     index=f.index)
    for _, rows in sorted(f.groupby(keys, sort=False), key=lambda kv: kv[0]):
        first = rows.iloc[0]
        key = {c: first[c] for c in GROUP_KEYS}
        rows = rows.assign(arm_label=label_arms(rows))
        arms = {lab: r for lab, r in rows.groupby("arm_label", sort=True)}
        yield key, {lab: arms[lab] for lab in sorted(arms, key=_arm_order)}


def placebo_of(synthetic_label: str, labels) -> str | None:
    """The placebo label count-matched to ``synthetic[g]`` (``placebo[g]`` or ``placebo[…+g+…]``)."""
    g = synthetic_label[len("synthetic["):-1]
    hits = [lab for lab in labels if lab.startswith("placebo[") and g in lab[len("placebo["):-1].split("+")]
    return hits[0] if hits else None


def comparison_pairs(labels: list[str]) -> list[tuple[str, str, str]]:
    """(A, B, family) to compare, in report order: the primary family (each synthetic − its count-matched
    placebo), then the secondary one (synthetic − real, placebo − real, generator vs generator), then the
    curation family (each curation variant − its generator's `random` pick: benchmark/report/curation.py)."""
    syn = sorted(lab for lab in labels if lab.startswith("synthetic"))
    plc = sorted(lab for lab in labels if lab.startswith("placebo"))
    pairs = [(s, m, "primary") for s in syn if (m := placebo_of(s, labels))]
    pairs += [(s, "real", "secondary") for s in syn if "real" in labels]
    pairs += [(p, "real", "secondary") for p in plc if "real" in labels]
    curated = curation_pairs(syn)  # each curation variant vs its generator's random pick: its own family
    done = {frozenset(p[:2]) for p in curated}
    pairs += [(a, b, "secondary") for a, b in combinations(syn, 2) if frozenset((a, b)) not in done] + curated
    if "oracle" in labels:  # the known-answer control: its own family, never in the primary one's Holm
        against = plc or (["real"] if "real" in labels else [])
        pairs += [("oracle", b, "control") for b in against]
        if plc and "real" in labels:
            pairs.append(("oracle", "real", "secondary"))
    return pairs


def oracle_shares(frame: pd.DataFrame) -> pd.Series:
    """Per primary row (synthetic[g] − placebo), its mean gain as a share of the oracle's over the same placebo
    (oracle − placebo, control family) in its group: 1 = as good as that many withheld real images, 0 = no
    better than duplicates. NaN without an oracle row (or where the oracle gain is 0)."""
    key = [*GROUP_KEYS, "arm_b"]
    oracle = frame[(frame["family"] == "control")].set_index(key)["mean_pp"]
    out = pd.Series(np.nan, index=frame.index, dtype=float)
    for i, r in frame[frame["family"] == "primary"].iterrows():
        g = oracle.get(tuple(r[k] for k in key))
        if g is not None and np.isfinite(g) and g != 0:
            out[i] = r["mean_pp"] / g
    return out


def ok_runs(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[(rows["status"] == "ok") & rows["hardest_acc"].notna()]


def per_seed_correct(rows: pd.DataFrame, data: StudyData, images: list[str],
                     endpoint: str = DEFAULT_PRIMARY) -> dict[int, np.ndarray]:
    """{seed: correctness over ``images``} (one ok run per seed: :func:`seed_series` refuses more), or another
    endpoint's per-image values (:data:`benchmark.endpoints.ENDPOINTS`, e.g. the true-class probability)."""
    out: dict[int, np.ndarray] = {}
    for rid, seed in zip(rows["run_id"], rows["seed"]):
        if rid in data.correct:
            paths, corr, _ = data.correct[rid]
            values = corr if endpoint == DEFAULT_PRIMARY else data.per_image.get(rid, {}).get(endpoint)
            if values is not None:
                pos = {p: i for i, p in enumerate(paths)}
                out[int(seed)] = values[[pos[p] for p in images]]
    return out


def endpoint_rule(rule: DecisionRule, endpoint: str) -> DecisionRule:
    """``rule`` for an endpoint: as stated where it has a per-image decomposition, else its seed-level form."""
    return rule if ENDPOINTS[endpoint].per_image is not None else rule.seed_level()


def shared_images(rows_a: pd.DataFrame, rows_b: pd.DataFrame, data: StudyData) -> tuple[list[str], list | None]:
    """Hardest-class test images every run of both arms was scored on (normally the whole test class),
    and their independent-unit labels (near-duplicate groups) when the records carry them, else None."""
    rids = [r for r in pd.concat([rows_a, rows_b])["run_id"] if r in data.correct]
    if not rids:
        return [], None
    images = sorted(set.intersection(*(set(data.correct[r][0]) for r in rids)))
    paths, _, groups = data.correct[rids[0]]
    if groups is None:
        return images, None
    unit = dict(zip(paths, groups))
    return images, [unit[p] for p in images]


def compare_group_arms(rows_a: pd.DataFrame, rows_b: pd.DataFrame, data: StudyData, rng: np.random.Generator,
                       n_boot: int = DEFAULT_N_BOOT, label: str = "",
                       rule: DecisionRule = DecisionRule(), endpoint: str = DEFAULT_PRIMARY) -> dict:
    """:func:`benchmark.stats.compare_arms` on two arms' ok runs, per-image data aligned by path, units
    from the records, and every seed either arm ran (failed runs too) for the missing-seed sensitivity.
    ``endpoint``: what is compared (default hardest-class accuracy); one without per-image values gets
    seed-level statistics only."""
    a, b = ok_runs(rows_a), ok_runs(rows_b)
    images, units = shared_images(a, b, data)
    images = images if ENDPOINTS[endpoint].per_image is not None else []
    ca = per_seed_correct(a, data, images, endpoint) if images else None
    cb = per_seed_correct(b, data, images, endpoint) if images else None
    design = [int(s) for s in pd.concat([rows_a, rows_b])["seed"]]
    col = endpoint_column(endpoint)
    return compare_arms(seed_series(rows_a, f"{label}/A", col), seed_series(rows_b, f"{label}/B", col), rng,
                        correct_a=ca, correct_b=cb, units=units, design_seeds=design, n_boot=n_boot, rule=rule)


def _to_pp(row: dict) -> dict:
    out = dict(row)
    for c in PP:
        out[f"{c}_pp"] = 100.0 * out.pop(c)
    return out


def _rule_columns(row: dict, rule: DecisionRule) -> dict:
    """What the verdict rule read, under one name whatever the rule: its Holm p and its interval."""
    lo, hi = CI_KEYS[rule.ci] if rule.ci else ("ci_low", "ci_high")
    n_img, n_units = row.get("n_test_images"), row.get("n_units")
    return {**row, "rule_p": row.get(rule.p, math.nan), "rule_ci_low": row.get(lo, math.nan),
            "rule_ci_high": row.get(hi, math.nan), "population": rule.population(n_img, n_units)}


def comparisons_frame(data: StudyData, rule: DecisionRule = DecisionRule(), seed: int = 0,
                      n_boot: int = DEFAULT_N_BOOT, progress: bool | None = None) -> pd.DataFrame:
    """One row per comparison (:data:`COMPARISON_COLUMNS`), Holm once per family, verdict by ``rule``, all on
    the study's **primary endpoint** (``data.primary``, declared in the records' config; hardest-class accuracy
    by default). The other endpoints are secondary: :func:`benchmark.report.endpoints.secondary_frame`.

    Comparison i draws its bootstrap from ``np.random.default_rng([seed, i])``: reproducible, and one
    comparison's randomness does not depend on how many draws another made.
    """
    jobs = [(key, arms, a, b, fam) for key, arms in iter_arm_groups(data.frame)
            for a, b, fam in comparison_pairs(list(arms))]
    show = len(jobs) >= 20 if progress is None else progress
    rows, rule = [], endpoint_rule(rule, data.primary)
    for i, (key, arms, a, b, fam) in enumerate(tqdm(jobs, desc="comparisons", disable=not show, leave=False)):
        label = "/".join(str(v) for v in key.values()) + f"/{a}−{b}"
        st = compare_group_arms(arms[a], arms[b], data, np.random.default_rng([seed, i]), n_boot, label, rule,
                                data.primary)
        rows.append({**key, "family": fam, "comparison": f"{a} − {b}", "arm_a": a, "arm_b": b, **st})
    if not rows:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    rows = [_to_pp(_rule_columns(r, rule)) for r in adjust_study(rows, rule)]  # verdicts on fractions, pp for humans
    out = pd.DataFrame(rows).assign(endpoint=data.primary).reindex(columns=COMPARISON_COLUMNS)
    for c in ("n_test_images", "n_units"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    out["seeds_needed"] = pd.Series([seeds_text(v) for v in out["seeds_needed"]], index=out.index, dtype=object)
    out["oracle_share"] = oracle_shares(out)
    return out


def seeds_text(v) -> str:
    """Seeds needed in words: a whole number, "not reachable" (infinite, or beyond ``MAX_SEEDS``: nobody runs
    it), or "—" when it cannot be computed."""
    from benchmark.report.table_formats import count_text
    from benchmark.stats.power import MAX_SEEDS

    return count_text(v, MAX_SEEDS)
