"""What is comparable to what: the design key of a run, arm labels, the count-matched placebo, seeds.

Two runs may be paired only if everything that defines their numbers — dataset and frozen manifest,
model, trainer (engine, budget, every setting), threads, k — is the same and they differ only in the
arm's training data. ``design`` (a column of :func:`benchmark.report.columns.records_frame`,
:func:`benchmark.records.design_key`) hashes exactly that part of the cell, so runs of different designs
land in different groups (separate rows), never averaged into one seed. Within a group an arm label is
one design of training data:

- ``synthetic[g]`` — generator g's set; ``synthetic[g#key]`` when g delivered several different sets
  (another volume, another generator seed) in the same group; ``synthetic[g@s]`` — g's set curated by
  selector s (N kept of an r·N pool: benchmark/curation), each selector its own arm; under
  ``synthetic.sets=per_seed`` (each seed its own set: benchmark/protocol/sets.py) one label is every seed's set
  of one delivered size, ``synthetic[g#n=8]`` where g delivered several sizes;
- ``placebo[g]`` — the placebo runs whose duplicated class counts equal what g's set delivered (the
  placebo is count-matched to the delivery: :func:`matched_placebo`, the one rule used by Table 1, the
  comparisons and the leaderboard); ``placebo[g+h]`` when g and h delivered the same counts (one
  placebo cell serves both); ``placebo[n=…]`` for placebo runs no generator of the group matches.

:func:`seed_series` refuses two runs of one label at one seed: that would be a mixed design.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd


__all__ = ["GROUP_KEYS", "key_text", "matched_placebo", "label_arms", "seed_series", "MixedDesignError"]

GROUP_KEYS = ["dataset", "hardest_class", "model", "engine", "k", "design"]


class MixedDesignError(ValueError):
    """Runs that cannot be paired were about to be averaged."""


def key_text(v: Any) -> str:
    """A group-key value as text that compares equal across frames, whatever pandas made of it: None, NaN and
    pd.NA all become '', and a whole float the int it stands for (k = 2.0 in one frame, 2 in another)."""
    if v is None or (not isinstance(v, (list, tuple)) and pd.isna(v)):
        return ""
    return str(int(v)) if isinstance(v, (float, np.floating)) and float(v).is_integer() else str(v)


def _is_none(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _delivered(rows: pd.DataFrame) -> str | None:
    """The one added-counts key of a synthetic label's runs (ok runs first), or None if they disagree."""
    ok = rows[rows["status"] == "ok"]
    keys = set((ok if len(ok) else rows)["added_key"])
    return keys.pop() if len(keys) == 1 else None


def matched_placebo(placebo: pd.DataFrame, synthetic: pd.DataFrame) -> pd.DataFrame:
    """Placebo runs (any status) whose added class counts equal what ``synthetic``'s runs delivered."""
    want = _delivered(synthetic) if len(synthetic) else None
    if want is None or placebo.empty:
        return placebo.iloc[0:0]
    return placebo[placebo["added_key"] == want]


def source_of(rows: pd.DataFrame) -> pd.Series:
    """Per synthetic run, what made its set: ``g``, or ``g@s`` for g's pool curated by selector s."""
    cur = rows["curation"] if "curation" in rows else pd.Series(None, index=rows.index, dtype=object)
    return pd.Series([g if _is_none(c) else f"{g}@{c}" for g, c in zip(rows["generator"], cur)], index=rows.index)


def _one_set_per_seed(rows: pd.DataFrame) -> pd.Series:
    """Per generator: True in a few-shot group (k set) where each of its sets was used by one seed only. There
    the generator saw that seed's own k-shot draw (:func:`benchmark.arms.few_shot_subset`), so a set per seed
    is one design — regenerated per seed by construction — not several."""
    if "k" not in rows or not rows["k"].notna().all():
        return pd.Series(dtype=bool)
    return rows.groupby(["source", "synthetic_key"])["seed"].nunique().groupby(level=0).max() == 1


def _per_seed(rows: pd.DataFrame) -> pd.Series:
    """Per run: True where its set is its seed's own by declaration (``synthetic.sets=per_seed``)."""
    return rows["sets"].eq("per_seed") if "sets" in rows else pd.Series(False, index=rows.index)


def count_text(added_key: str) -> str:
    """An added-counts key as a label: ``8`` for one class, ``crack:8+free:4`` for several."""
    counts = json.loads(added_key)
    return str(sum(counts.values())) if len(counts) == 1 else "+".join(f"{c}:{n}" for c, n in counts.items())


def _synthetic_labels(rows: pd.DataFrame) -> pd.Series:
    """``synthetic[g]``, or ``synthetic[g#key6]`` where one generator delivered several sets (per-seed sets of a
    few-shot group are one set: :func:`_one_set_per_seed`), or ``synthetic[g#n=…]`` per delivered size of
    declared per-seed sets; g is :func:`source_of` (``g@s`` when curated)."""
    rows = rows.assign(source=source_of(rows))
    declared = _per_seed(rows)
    shared, own = rows[~declared], rows[declared]
    keys_per_gen = shared.groupby("source")["synthetic_key"].nunique().add(
        own.groupby("source")["added_key"].nunique(), fill_value=0)
    per_seed = _one_set_per_seed(shared)
    def label(g, key, added, mine):
        several = keys_per_gen.get(g, 1) > 1 and not per_seed.get(g, False)
        tag = f"n={count_text(added)}" if mine else str(key)[:6]
        return f"synthetic[{g}#{tag}]" if several else f"synthetic[{g}]"
    return pd.Series([label(*t) for t in zip(rows["source"], rows["synthetic_key"], rows["added_key"], declared)],
                     index=rows.index)


def label_arms(rows: pd.DataFrame) -> pd.Series:
    """Arm label per run of one group (all statuses), as described in the module docstring."""
    out = pd.Series([str(a) for a in rows["arm"]], index=rows.index, dtype=object)
    syn = rows[(rows["arm"] == "synthetic") & rows["generator"].map(lambda g: not _is_none(g))]
    out.loc[syn.index] = _synthetic_labels(syn)
    placebo = rows[rows["arm"] == "placebo"]
    if placebo.empty:
        return out
    owners: dict[tuple[str, bool], list[str]] = {}  # (delivered counts, per-seed sets) -> the labels delivering them
    for lab, srows in syn.groupby(out.loc[syn.index], sort=True):
        key = _delivered(srows)
        if key is not None:
            owners.setdefault((key, bool(_per_seed(srows).any())), []).append(lab[len("synthetic["):-1])
    for (key, mine), prow in placebo.groupby([placebo["added_key"], _per_seed(placebo)], sort=True):
        gens = owners.get((key, bool(mine)))
        out.loc[prow.index] = (f"placebo[{'+'.join(gens)}]" if gens else
                               f"placebo[n={sum(json.loads(key).values())}{';per_seed' if mine else ''}]")
    return out


def seed_series(rows: pd.DataFrame, label: str = "", metric: str = "hardest_acc") -> dict[int, float]:
    """``{seed: metric}`` over one arm label's ok runs; two ok runs at one seed raise :class:`MixedDesignError`."""
    ok = rows[(rows["status"] == "ok") & rows[metric].notna()] if len(rows) else rows
    if ok.empty:
        return {}
    dup = ok[ok["seed"].duplicated(keep=False)]
    if len(dup):
        raise MixedDesignError(
            f"{label}: runs {sorted(dup['run_id'])} are all seed(s) {sorted(set(dup['seed']))} of one arm and "
            "design; expected one run per seed (they differ in something the design key does not cover)")
    return {int(s): float(v) for s, v in zip(ok["seed"], ok[metric])}
