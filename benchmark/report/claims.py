"""The published claims checked on their own numbers (``scarce published``): no study needed.

What a reader can verify from the published figures alone, with the same code a study's report uses:

- SCARCE Table 1: each row's gain against its two accuracies (rounding of two one-decimal figures allows
  ±0.1 pp), the stated |z| ≥ 3.4, and the paired SD each (gain, z) implies at the ends of the stated seed
  range (:func:`benchmark.stats.plausibility.implied_sd`; the per-row n is not given);
- SCARCE §5.2: the label-efficiency claim, recomputed by :func:`benchmark.stats.label_efficiency` from the
  six published points (read off the grid, as SCARCE did, and interpolated);
- the OEM note: its absolute and relative mAP gain against its two mAP values.

One row per check: ``claim``, ``published`` (what the source says), ``recomputed``, ``agrees`` (True / False,
None where there is nothing to recompute) and ``source``. Neutral words only: a disagreement is reported as
a number, not a judgement.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from benchmark.report.published import load_fewshot, load_oem, load_table1
from benchmark.stats import label_efficiency
from benchmark.stats.plausibility import implied_sd

__all__ = ["claims_frame", "claim_lines", "CLAIM_COLUMNS", "ROUNDING_PP"]

CLAIM_COLUMNS = ["source", "claim", "published", "recomputed", "agrees"]
ROUNDING_PP = 0.1 + 1e-9   # a difference of two figures rounded to 0.1 may be off by up to 0.1


def _row(source: str, claim: str, published: str, recomputed: str, agrees: bool | None) -> dict:
    return dict(zip(CLAIM_COLUMNS, (source, claim, published, recomputed, agrees)))


def table1_claims(t1: pd.DataFrame) -> list[dict]:
    """Per Table 1 row: gain = +synthetic − real-only up to rounding, and the SD its (gain, z) implies."""
    rows = []
    for r in t1.dropna(subset=["gain_pp", "z"]).itertuples():
        src, diff = str(r.source), float(r.synthetic_acc_pct) - float(r.real_only_acc_pct)
        rows.append(_row(src, f"{r.dataset} [{r.hardest_class}]: gain = +synthetic − real-only",
                         f"{r.gain_pp:+.1f} pp", f"{r.synthetic_acc_pct} − {r.real_only_acc_pct} = {diff:+.1f} pp",
                         abs(diff - float(r.gain_pp)) <= ROUNDING_PP))
        lo, hi = int(r.n_seeds_min), int(r.n_seeds_max)
        rows.append(_row(src, f"{r.dataset} [{r.hardest_class}]: paired SD implied by gain and z",
                         f"gain {r.gain_pp:+.1f} pp, z {r.z}, n {lo}–{hi}",
                         f"{implied_sd(r.gain_pp, r.z, lo):.2f} pp at n = {lo}, {implied_sd(r.gain_pp, r.z, hi):.2f} "
                         f"pp at n = {hi}", None))
    if len(t1.dropna(subset=["z"])):
        zmin = float(t1["z"].abs().min())
        rows.append(_row(str(t1["source"].iloc[0]), "all |z| ≥ 3.4", "all |z| ≥ 3.4", f"smallest |z| = {zmin}",
                         zmin >= 3.4))
    return rows


def fewshot_claims(fs: pd.DataFrame) -> list[dict]:
    """§5.2's "k = 2 + synthetic matches real-only at k = 5: 60 % fewer real labels", recomputed."""
    rows = []
    for (ds, hc), g in fs.groupby(["dataset", "hardest_class"], sort=False):
        real, syn = g[g["arm"] == "real"], g[g["arm"] == "synthetic"]
        eff = label_efficiency(real["k"], real["hardest_acc_pct"], syn["k"], syn["hardest_acc_pct"])
        claim = g["claim"].dropna().iloc[0] if "claim" in g and g["claim"].notna().any() else "label efficiency"
        rows.append(_row(str(g["source"].iloc[0]), f"{ds} [{hc}]: {claim}",
                         "k = 2 + synthetic ≈ k = 5 real, 60 % fewer real labels",
                         f"+synthetic at k = {eff['k_synthetic']:g} ({eff['acc_synthetic']:.1f} %) is reached by "
                         f"real-only at k = {eff['k_real_grid']:g} on the grid ({eff['fewer_labels_pct_grid']:.0f} % "
                         f"fewer) and k = {eff['k_real_interp']:.2f} interpolated "
                         f"({eff['fewer_labels_pct_interp']:.1f} % fewer)",
                         eff["status"] == "interpolated" and round(eff["fewer_labels_pct_grid"]) == 60))
    return rows


def oem_claims(oem: pd.DataFrame) -> list[dict]:
    """The OEM note's "+0.099 (+35.5 % relative)" against its two mAP values."""
    base = oem[(oem["synthetic_images"] == 0) & (oem["real_images"] == 24000)]["value"].dropna()
    top = oem[(oem["synthetic_images"] == 36000)]["value"].dropna()
    if base.empty or top.empty:
        return []
    b, t = float(base.iloc[0]), float(top.iloc[0])
    return [_row(str(oem["source"].iloc[0]), "24k real + ~36k synthetic vs 24k real (mAP@0.50:0.95)",
                 "+0.099, +35.5 % relative", f"{t} − {b} = {t - b:+.3f}, {100 * (t - b) / b:+.1f} % relative",
                 math.isclose(t - b, 0.099, abs_tol=5e-4) and round(100 * (t - b) / b, 1) == 35.5)]


def claims_frame(directory: Path | None = None) -> pd.DataFrame:
    """Every check above, from the CSVs in ``directory`` (default ``results/published``)."""
    rows = table1_claims(load_table1(directory)) + fewshot_claims(load_fewshot(directory)) + \
        oem_claims(load_oem(directory))
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def claim_lines(frame: pd.DataFrame) -> list[str]:
    """The checks in words, one per line, grouped by source."""
    mark = {True: "agrees", False: "differs", None: "computed"}
    out = []
    for src, g in frame.groupby("source", sort=False):
        out.append(f"{src}:")
        out += [f"  [{mark[r.agrees if r.agrees in (True, False) else None]}] {r.claim}: published {r.published}; "
                f"recomputed {r.recomputed}" for r in g.itertuples()]
    return out
