"""Every comparison of a study, with all statistics and a verdict: records → one row per comparison.

Groups are (dataset, hardest class, model, k). Within a group the arms are ``real``, ``placebo``
(``placebo[g]`` when count-matched to generator g) and ``synthetic[g]`` per generator; compared are
each synthetic vs real, each synthetic vs its placebo (own placebo if it has one, else the shared
one, as in :mod:`benchmark.report.table`), each placebo vs real, and each pair of generators.
Arms are enumerated from all runs, failed ones included, so a comparison whose arm failed entirely
still appears (with n = 0) instead of vanishing. Only ok runs enter the numbers; seeds where one arm
has no ok run are listed as dropped.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from benchmark.report.collect import StudyData
from benchmark.report.table import seed_series
from benchmark.stats import DecisionRule, adjust_study, compare_arms
from benchmark.stats.bootstrap import DEFAULT_N_BOOT

__all__ = ["prepared_frame", "arm_label", "iter_arm_groups", "comparison_pairs", "comparisons_frame",
           "COMPARISON_COLUMNS", "COMPARISON_HEADERS", "GROUP_KEYS", "ok_runs", "shared_images",
           "compare_group_arms"]

GROUP_KEYS = ["dataset", "hardest_class", "model", "k"]
PP = ["mean", "sd", "ci_low", "ci_high", "boot_ci_low", "boot_ci_high", "hier_ci_low", "hier_ci_high"]
COMPARISON_COLUMNS = [
    "dataset", "hardest_class", "model", "k", "comparison", "arm_a", "arm_b", "n", "dropped_seeds",
    "mean_pp", "sd_pp", "z", "p", "ci_low_pp", "ci_high_pp", "wilcoxon_p", "cohens_dz",
    "boot_ci_low_pp", "boot_ci_high_pp", "n_test_images", "hier_ci_low_pp", "hier_ci_high_pp", "wider_ci",
    "resolution_pp", "seeds_needed", "p_holm", "wilcoxon_p_holm", "verdict",
]
COMPARISON_HEADERS = {
    "dataset": "Dataset", "hardest_class": "Hardest class", "model": "Model", "k": "k",
    "comparison": "Comparison (A − B)", "arm_a": "A", "arm_b": "B", "n": "n seeds", "dropped_seeds": "Dropped seeds",
    "mean_pp": "Mean diff (pp)", "sd_pp": "SD (pp)", "z": "z (SCARCE)", "p": "t-test p",
    "ci_low_pp": "t CI low", "ci_high_pp": "t CI high", "wilcoxon_p": "Wilcoxon p", "cohens_dz": "d_z",
    "boot_ci_low_pp": "Seed boot CI low", "boot_ci_high_pp": "Seed boot CI high",
    "n_test_images": "Hardest test images", "hier_ci_low_pp": "Seeds×images CI low",
    "hier_ci_high_pp": "Seeds×images CI high", "wider_ci": "Wider CI", "resolution_pp": "1 image (pp)",
    "seeds_needed": "Seeds for |z|≥target", "p_holm": "Holm p (t)", "wilcoxon_p_holm": "Holm p (Wilcoxon)",
    "verdict": "Verdict",
}


def arm_label(arm: str, generator: Any) -> str:
    """``real``, ``placebo``, ``placebo[g]``, ``synthetic[g]`` (``synthetic`` without a generator)."""
    if arm == "real" or generator is None or (isinstance(generator, float) and math.isnan(generator)):
        return str(arm)
    return f"{arm}[{generator}]"


def _k(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def prepared_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Frame with ``arm_label``, ``k`` as int/None, and a failed run's missing hardest class taken from
    its dataset's ok runs (when they agree on one), so failed runs land in the right group."""
    if frame.empty:
        return frame.assign(arm_label=pd.Series(dtype=object))
    f = frame.copy()
    f["generator"] = f["generator"].astype(object).where(f["generator"].notna(), None)
    f["hardest_class"] = f["hardest_class"].astype(object).where(f["hardest_class"].notna(), None)
    f["k"] = pd.Series([_k(v) for v in f["k"]], index=f.index, dtype=object)
    for ds, rows in f.groupby("dataset"):
        known = rows["hardest_class"].dropna().unique()
        if len(known) == 1:
            f.loc[rows.index[rows["hardest_class"].isna()], "hardest_class"] = known[0]
    f["arm_label"] = [arm_label(a, g) for a, g in zip(f["arm"], f["generator"])]
    return f


def _arm_order(label: str) -> tuple[int, str]:
    """real, then placebo(s), then synthetic arms, alphabetically within each."""
    return ({"real": 0, "placebo": 1, "synthetic": 2}.get(label.split("[")[0], 3), label)


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
        arms = {lab: r for lab, r in rows.groupby("arm_label", sort=True)}
        yield key, {lab: arms[lab] for lab in sorted(arms, key=_arm_order)}


def comparison_pairs(labels: list[str]) -> list[tuple[str, str]]:
    """(A, B) pairs to compare, in report order: synthetic − real, synthetic − placebo,
    placebo − real, then generator vs generator."""
    syn = sorted(lab for lab in labels if lab.startswith("synthetic"))
    plc = sorted(lab for lab in labels if lab.startswith("placebo"))
    pairs = [(s, "real") for s in syn if "real" in labels]
    for s in syn:
        own = "placebo" + s[len("synthetic"):]
        match = own if own in labels else ("placebo" if "placebo" in labels else None)
        if match:
            pairs.append((s, match))
    pairs += [(p, "real") for p in plc if "real" in labels]
    pairs += list(combinations(syn, 2))
    return pairs


def ok_runs(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[(rows["status"] == "ok") & rows["hardest_acc"].notna()]


def _per_seed_correct(rows: pd.DataFrame, data: StudyData, images: list[str]) -> dict[int, np.ndarray]:
    """{seed: correctness over ``images``}, averaged over a seed's runs; seeds lacking predictions left out."""
    out: dict[int, list[np.ndarray]] = {}
    for rid, seed in zip(rows["run_id"], rows["seed"]):
        if rid not in data.correct:
            continue
        paths, corr = data.correct[rid]
        pos = {p: i for i, p in enumerate(paths)}
        out.setdefault(int(seed), []).append(corr[[pos[p] for p in images]])
    return {s: np.mean(v, axis=0) for s, v in out.items()}


def shared_images(rows_a: pd.DataFrame, rows_b: pd.DataFrame, data: StudyData) -> list[str]:
    """Hardest-class test images every run of both arms was scored on (normally the whole test class)."""
    sets = [set(data.correct[r][0]) for r in pd.concat([rows_a, rows_b])["run_id"] if r in data.correct]
    return sorted(set.intersection(*sets)) if sets else []


def compare_group_arms(rows_a: pd.DataFrame, rows_b: pd.DataFrame, data: StudyData,
                       rng: np.random.Generator, n_boot: int = DEFAULT_N_BOOT, label: str = "") -> dict:
    """:func:`benchmark.stats.compare_arms` on two arms' ok runs, per-image data aligned by path."""
    a, b = ok_runs(rows_a), ok_runs(rows_b)
    images = shared_images(a, b, data)
    ca = _per_seed_correct(a, data, images) if images else None
    cb = _per_seed_correct(b, data, images) if images else None
    return compare_arms(seed_series(a, f"{label}/A"), seed_series(b, f"{label}/B"), rng,
                        correct_a=ca, correct_b=cb, n_boot=n_boot)


def _to_pp(row: dict) -> dict:
    out = dict(row)
    for c in PP:
        out[f"{c}_pp"] = 100.0 * out.pop(c)
    return out


def comparisons_frame(data: StudyData, rule: DecisionRule = DecisionRule(), seed: int = 0,
                      n_boot: int = DEFAULT_N_BOOT, progress: bool | None = None) -> pd.DataFrame:
    """One row per comparison (:data:`COMPARISON_COLUMNS`), Holm across all of them, verdict by ``rule``.

    Comparison i draws its bootstrap from ``np.random.default_rng([seed, i])``: reproducible, and one
    comparison's randomness does not depend on how many draws another made.
    """
    jobs = [(key, arms, a, b) for key, arms in iter_arm_groups(data.frame) for a, b in comparison_pairs(list(arms))]
    show = len(jobs) >= 20 if progress is None else progress
    rows = []
    for i, (key, arms, a, b) in enumerate(tqdm(jobs, desc="comparisons", disable=not show, leave=False)):
        label = "/".join(str(v) for v in key.values()) + f"/{a}−{b}"
        st = compare_group_arms(arms[a], arms[b], data, np.random.default_rng([seed, i]), n_boot, label)
        rows.append({**key, "comparison": f"{a} − {b}", "arm_a": a, "arm_b": b, **st})
    if not rows:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    rows = [_to_pp(r) for r in adjust_study(rows, rule)]  # verdicts on fractions, then pp for humans
    out = pd.DataFrame(rows).reindex(columns=COMPARISON_COLUMNS)
    out["n_test_images"] = out["n_test_images"].astype("Int64")
    # whole seeds read as "22", not "22.000"; inf (a zero mean) and NaN stay as they are
    out["seeds_needed"] = pd.Series([int(v) if math.isfinite(v) else v for v in out["seeds_needed"].astype(float)],
                                    index=out.index, dtype=object)
    return out
