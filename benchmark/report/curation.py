"""Does curation help, beyond volume? Each curation variant of a generator vs its `random` selection at the same N.

Every curated arm ``synthetic[g@s]`` (benchmark/curation: N kept of g's r·N pool by selector s) and the uncurated
``synthetic[g]`` (curation=none: g's own N, no pool) are compared to ``synthetic[g@random]`` — the same N drawn
from the same pool without a criterion, the placebo of curation — paired by seed, within one design group. These
comparisons are their own Holm family (``curation``) in the report's comparisons (:mod:`.comparisons`), with the
verdict of the study's decision rule (:mod:`benchmark.stats.decision`); this table is a view of those rows.
"""
from __future__ import annotations

import pandas as pd

from benchmark.report.design import GROUP_KEYS

__all__ = ["curation_pairs", "curation_table", "curation_lines", "write_curation", "CURATION_HEADERS", "RANDOM"]

RANDOM = "random"
CURATION_HEADERS = {
    "generator": "Generator", "selector": "Selector", "n_added": "N per run", "n": "n seeds",
    "mean_pp": "vs random (pp)", "rule_ci_low_pp": "CI low", "rule_ci_high_pp": "CI high", "rule_p": "Holm p",
    "verdict": "Verdict", "population": "Verdict is about", "dropped_seeds": "Dropped seeds",
}


def _source(label: str) -> tuple[str, str] | None:
    """``synthetic[g@s]`` → (g, s); ``synthetic[g]`` → (g, "none"); a ``#key`` label (several sets) → None."""
    inner = label[len("synthetic["):-1]
    if not label.startswith("synthetic[") or "#" in inner:
        return None
    g, _, s = inner.partition("@")
    return g, s or "none"


def curation_pairs(synthetic_labels: list[str]) -> list[tuple[str, str, str]]:
    """(variant, its generator's random selection, "curation") for every synthetic arm of a generator that has
    a ``synthetic[g@random]`` arm in the group (the uncurated ``synthetic[g]`` included)."""
    out = []
    for lab in sorted(synthetic_labels):
        src = _source(lab)
        if src is None or src[1] == RANDOM:
            continue
        base = f"synthetic[{src[0]}@{RANDOM}]"
        if base in synthetic_labels:
            out.append((lab, base, "curation"))
    return out


def curation_table(comparisons: pd.DataFrame, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (group, generator, selector): the ``curation`` family's rows of the comparisons frame, with
    the synthetic images each run added (``frame``: the records frame, to show N is equal across variants)."""
    cols = [*GROUP_KEYS, *CURATION_HEADERS]
    rows = comparisons[comparisons["family"] == "curation"] if len(comparisons) else comparisons
    if rows is None or rows.empty:
        return pd.DataFrame(columns=cols)
    out = rows.assign(generator=[_source(a)[0] for a in rows["arm_a"]],
                      selector=[_source(a)[1] for a in rows["arm_a"]])
    out["n_added"] = [_n_added(frame, r) for r in out.to_dict("records")] if frame is not None else pd.NA
    out["n_added"] = pd.to_numeric(out["n_added"], errors="coerce").astype("Int64")
    return out.sort_values([*GROUP_KEYS, "generator", "mean_pp"], ascending=[True] * (len(GROUP_KEYS) + 1) + [False],
                           kind="stable")[cols].reset_index(drop=True)


def _n_added(frame: pd.DataFrame, row: dict):
    """The synthetic images per run of the variant's ok runs (one value, else NA)."""
    from benchmark.report.design import source_of

    syn = frame[(frame["arm"] == "synthetic") & (frame["status"] == "ok") & (frame["dataset"] == row["dataset"])]
    want = row["generator"] if row["selector"] == "none" else f"{row['generator']}@{row['selector']}"
    n = set(syn.loc[source_of(syn) == want, "n_added"]) if len(syn) else set()
    return n.pop() if len(n) == 1 else pd.NA


def write_curation(ctx, out_dir) -> dict:
    """curation.{csv,md,tex}: for studies with a `random` curation arm and another variant of its generator."""
    from benchmark.report.artefacts import drop_constant
    from benchmark.report.table_formats import write_table_formats

    table = curation_table(ctx.comparisons, ctx.frame)
    if table.empty:
        return {}
    note = (f"\nEach curation variant vs `random` (the same N drawn from the same r·N pool without a criterion), "
            f"paired by seed; `none` = the generator's own N images, no pool. Holm over the curation family. "
            f"Verdict rule: {ctx.rule.describe()}.\n")
    return write_table_formats(drop_constant(table), out_dir, "curation", CURATION_HEADERS, digits=3,
                               md_suffix=note, caption="Does curation help, beyond volume? (vs random at equal N)")


def curation_lines(paths: dict) -> list[str]:
    """What `scarce report` prints of a written curation table: one line per variant vs random."""
    p = paths.get("curation_csv")
    if p is None:
        return []
    t = pd.read_csv(p)
    return ["curation (each variant vs random at equal N, paired by seed, Holm within the curation family):"] + [
        f"{r.dataset} [{r.hardest_class}] {r.generator}@{r.selector} − {r.generator}@random (N={r.n_added}): "
        f"{r.mean_pp:+.1f} pp, CI [{r.rule_ci_low_pp:+.1f}, {r.rule_ci_high_pp:+.1f}], Holm p {r.rule_p:.3g}, "
        f"{int(r.n)} seeds -> {r.verdict}" for r in t.itertuples()]
