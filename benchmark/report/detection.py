"""Detection studies (records with `task: detection`): the volume curve, the parity table, paired
statistics of the hardest class's AP, and the published automotive (OEM) points when the study asks
for them (`published: oem_detection` in its config).

Tables: `det_curve` (mean and 95 % t CI over seeds per arm and synthetic volume), `det_parity`
("N real + M synthetic" vs "N + M real": TOST equivalence with margin δ, and a two-sided superiority
test — each one-sided direction at α/2 — Holm-adjusted over the parity family), `det_paired` (per-seed
paired differences of hardest-class AP@.5:.95 and of mAP@.5:.95, with Holm p and verdicts).

Detection has the classification report's rule and families: the **primary** family is each
synthetic − placebo on the hardest class's AP@.5:.95 (per volume), everything else is secondary, Holm
once per family (:func:`benchmark.stats.adjust_study`). AP is not a per-image quantity, so there is no
seeds × test-units test: detection verdicts use the seed-level rule (``DETECTION_RULE``) and say that
they speak for these test images only. Runs are paired on common seeds only; two runs of one arm,
volume and seed are refused (:class:`benchmark.report.design.MixedDesignError`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.report.design import MixedDesignError
from benchmark.report.published import load_oem
from benchmark.stats import DecisionRule, adjust_study, mean_ci, paired_summary, wilcoxon_p
from benchmark.stats.bootstrap import DEFAULT_N_BOOT
from benchmark.stats.equivalence import superiority_paired, tost_paired
from benchmark.stats.exchange import parity_exchange
from benchmark.stats.multiple import holm

__all__ = ["detection_rows", "curve_table", "parity_table", "paired_table", "published_oem",
           "DEFAULT_MARGIN", "CURVE_HEADERS", "PARITY_HEADERS", "PAIRED_HEADERS"]

DETECTION_RULE = DecisionRule().seed_level()  # the default rule; AP has no per-image decomposition: seed-level, said so
DEFAULT_MARGIN = 0.01  # mAP points (0..1 scale): "equivalent" means |mean difference| < 0.01 mAP
# the design key (records.design_key: manifest, model, trainer budget, ...) and the engine are part of the group: runs
# at 5 and 200 steps, or under two split manifests, are separate rows, never averaged or paired (issue 17 item 4)
GROUP = ["dataset", "model", "hardest_class", "n_real", "engine", "design"]
METRICS = {"map50_95": "mAP@.5:.95", "map50": "mAP@.5", "hardest_ap50_95": "hardest AP@.5:.95"}
CURVE_HEADERS = {"n_added": "added images", "ratio": "added / real", "n_seeds": "seeds",
                 **{f"{k}_{s}": f"{v} {s}" for k, v in METRICS.items() for s in ("mean", "lo", "hi")}}
PARITY_HEADERS = {"n_added": "M", "mean_a": "A mAP", "mean_b": "B mAP", "mean_diff": "A − B", "ci90_low": "90 % CI low",
                  "ci90_high": "90 % CI high", "margin": "margin δ", "p_tost": "TOST p", "p_tost_holm": "Holm TOST p",
                  "p_differ": "p(A ≠ B)", "p_differ_holm": "Holm p(A ≠ B)", "verdict": "verdict",
                  "worth": "worth (real images)", "worth_low": "worth CI low", "worth_high": "worth CI high",
                  "worth_at_least": "worth at least", "worth_per_image": "worth per synthetic image",
                  "worth_status": "worth status"}
PAIRED_HEADERS = {"n_added": "added", "family": "family", "metric": "metric", "n": "seeds", "mean": "mean d",
                  "ci_low": "95 % CI low", "ci_high": "95 % CI high", "p": "t-test p", "p_holm": "Holm p",
                  "wilcoxon_p": "Wilcoxon p", "verdict": "verdict"}


def detection_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Ok detection runs; the real arm has no synthetic volume (n_added 0)."""
    f = frame[(frame["task"] == "detection") & (frame["status"] == "ok")].copy()
    f["n_added"] = f["n_added"].fillna(0).astype(int)
    f["n_real"] = f["n_real"].astype(int)
    return f


def curve_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (group, arm, n_added): seeds, mean and 95 % t CI of each metric over seeds."""
    rows = []
    for key, g in detection_rows(frame).groupby(GROUP + ["arm", "n_added"], sort=True):
        row = dict(zip(GROUP + ["arm", "n_added"], key))
        row["ratio"] = row["n_added"] / row["n_real"]
        row["n_seeds"] = int(g["seed"].nunique())
        for m in METRICS:
            row[f"{m}_mean"], row[f"{m}_lo"], row[f"{m}_hi"] = mean_ci(g[m].astype(float).tolist())
        rows.append(row)
    return pd.DataFrame(rows)


def _by_seed(g: pd.DataFrame, metric: str) -> pd.Series:
    """{seed: metric} of one arm at one volume; two runs at one seed are a mixed design and refused."""
    dup = g[g["seed"].duplicated(keep=False)]
    if len(dup):
        raise MixedDesignError(f"detection runs {sorted(dup['run_id'])} share arm, volume and seed(s) "
                               f"{sorted(set(dup['seed']))}; expected one run per seed")
    return g.set_index("seed")[metric].astype(float)


def _common(a: pd.Series, b: pd.Series) -> list:
    return sorted(set(a.index) & set(b.index))


def _pair(a: pd.Series, b: pd.Series) -> np.ndarray:
    seeds = _common(a, b)
    return (a.loc[seeds] - b.loc[seeds]).to_numpy(dtype=float)


def parity_worth(g: pd.DataFrame, m: int, rng: np.random.Generator, n_boot: int = DEFAULT_N_BOOT) -> dict:
    """The exchange rate of M synthetic images in one group (:func:`benchmark.stats.exchange.parity_exchange`):
    the real volume curve is the real arm (N) and every real_plus volume (N + M'), mAP@.5:.95 per seed, on the
    seeds all of them and the synthetic arm at M share. Seeds only: AP has no per-image decomposition."""
    n_real = int(g["n_real"].iloc[0])
    plus = g[g["arm"] == "real_plus"].groupby("n_added")
    arms = {n_real: g[g["arm"] == "real"]} | {n_real + int(v): r for v, r in plus}
    syn = _by_seed(g[(g["arm"] == "synthetic") & (g["n_added"] == m)], "map50_95")
    curve = {v: _by_seed(r, "map50_95") for v, r in arms.items() if len(r)}
    seeds = sorted(set(syn.index).intersection(*(set(c.index) for c in curve.values())))
    e = parity_exchange(n_real, {v: c.loc[seeds].to_numpy() for v, c in curve.items()}, syn.loc[seeds].to_numpy(),
                        m, rng, n_boot)
    return {"worth": e["worth"], "worth_low": e["ci_low"], "worth_high": e["ci_high"],
            "worth_at_least": e["worth_at_least"], "worth_per_image": e["per_image"],
            "worth_status": f"{e['status']} ({e['n_seeds']} seeds; no per-image AP: test images fixed)"}


def parity_table(frame: pd.DataFrame, margin: float | None = None, alpha: float = 0.05, seed: int = 0,
                 n_boot: int = DEFAULT_N_BOOT) -> pd.DataFrame:
    """A = synthetic (N real + M generated), B = real_plus (N + M real), per M, on mAP@.5:.95 per seed; and the
    parity exchange rate (:func:`parity_worth`), row i's bootstrap from ``np.random.default_rng([seed, i])``."""
    f, rows = detection_rows(frame), []
    for key, g in f.groupby(GROUP, sort=True):
        delta = margin or _margin(g)
        for m, gm in g[g["arm"].isin(["synthetic", "real_plus"])].groupby("n_added", sort=True):
            a, b = _by_seed(gm[gm["arm"] == "synthetic"], "map50_95"), _by_seed(gm[gm["arm"] == "real_plus"], "map50_95")
            d = _pair(a, b)
            if d.size == 0:
                continue
            tost = tost_paired(d, delta, alpha)
            sa, sb = superiority_paired(d), superiority_paired(-d)
            seeds = _common(a, b)  # arm means over the paired seeds only, as the difference is
            rows.append({**dict(zip(GROUP, key)), "n_added": int(m), "comparison": "synthetic vs real_plus",
                         "n": int(d.size), "mean_a": float(a.loc[seeds].mean()), "mean_b": float(b.loc[seeds].mean()),
                         "mean_diff": float(d.mean()), "ci90_low": tost["ci_low"], "ci90_high": tost["ci_high"],
                         "margin": delta, "p_tost": tost["p_tost"],
                         "p_differ": min(1.0, 2.0 * min(sa["p"], sb["p"])),  # two-sided: each side at α/2
                         **parity_worth(g, int(m), np.random.default_rng([seed, len(rows)]), n_boot)})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p_tost_holm"] = holm(out["p_tost"], count_missing=True)
    out["p_differ_holm"] = holm(out["p_differ"], count_missing=True)
    out["verdict"] = [_verdict(r, alpha) for r in out.to_dict("records")]
    return out


def _verdict(r: dict, alpha: float) -> str:
    """The parity verdict from the Holm-adjusted p values; equivalence is not claimed when both arms score
    below the margin itself (models that found nothing are trivially "equivalent")."""
    delta = r["margin"]
    if r["p_differ_holm"] < alpha:
        return "synthetic better" if r["mean_diff"] > 0 else "real_plus better"
    if r["p_tost_holm"] < alpha:
        if max(abs(r["mean_a"]), abs(r["mean_b"])) < delta:
            return f"uninformative: both mAP < δ = {delta:g}"
        return f"equivalent (±{delta:g})"
    return "inconclusive"


def _margin(g: pd.DataFrame) -> float:
    vals = g["parity_margin"].dropna() if "parity_margin" in g else pd.Series(dtype=float)
    return float(vals.iloc[0]) if len(vals) else DEFAULT_MARGIN


def paired_table(frame: pd.DataFrame, rule: DecisionRule = DETECTION_RULE) -> pd.DataFrame:
    """Per seed d = metric(A) − metric(B) for synthetic−real, placebo−real, synthetic−placebo and
    synthetic−real_plus at each volume; the real arm (no volume) pairs with every volume. `rule` is the
    study's rule (the one classification comparisons use), taken at the seed level."""
    rule = rule.seed_level()
    f, rows = detection_rows(frame), []
    pairs = [("synthetic", "real"), ("placebo", "real"), ("synthetic", "placebo"), ("synthetic", "real_plus")]
    for key, g in f.groupby(GROUP, sort=True):
        real = g[g["arm"] == "real"]
        for m in sorted(set(g.loc[g["arm"] != "real", "n_added"])):
            at = {arm: (real if arm == "real" else g[(g["arm"] == arm) & (g["n_added"] == m)])
                  for arm in ("real", "synthetic", "placebo", "real_plus")}
            for arm_a, arm_b in pairs:
                if at[arm_a].empty or at[arm_b].empty:
                    continue
                for metric in ("hardest_ap50_95", "map50_95"):
                    d = _pair(_by_seed(at[arm_a], metric), _by_seed(at[arm_b], metric))
                    if d.size == 0:
                        continue
                    s = paired_summary(d)
                    primary = (arm_a, arm_b, metric) == ("synthetic", "placebo", "hardest_ap50_95")
                    rows.append({**dict(zip(GROUP, key)), "n_added": int(m), "comparison": f"{arm_a} − {arm_b}",
                                 "family": "primary" if primary else "secondary",
                                 "metric": METRICS[metric], "n": int(s["n"]), "mean": s["mean"],
                                 "ci_low": s["ci_low"], "ci_high": s["ci_high"], "p": s["p"],
                                 "wilcoxon_p": wilcoxon_p(d), "d": [round(float(x), 4) for x in d]})
    if not rows:
        return pd.DataFrame(rows)
    out = pd.DataFrame(adjust_study(rows, rule))
    out["population"] = rule.population()
    return out


def published_oem(frame: pd.DataFrame) -> pd.DataFrame:
    """The OEM curve points (results/published/oem_detection.csv) when any detection record asks for them."""
    f = frame[frame["task"] == "detection"] if "task" in frame else frame.iloc[0:0]
    asked = f["published"].dropna().astype(str) if "published" in f else pd.Series(dtype=str)
    if not asked.str.contains("oem").any():
        return pd.DataFrame()
    try:
        oem = load_oem()
    except FileNotFoundError:
        return pd.DataFrame()
    oem = oem.copy()
    oem["ratio"] = oem["synthetic_images"] / oem["real_images"]
    oem["seeds"] = 1
    return oem[["setting", "real_images", "synthetic_images", "ratio", "metric", "value", "seeds", "source", "note"]]
