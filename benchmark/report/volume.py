"""Volume curves of classification and detection studies: one curve per generator over the `synthetic.volume`
values of a group, with the count-matched placebo at every volume, and the declared fit (benchmark/stats/volume.py).

A volume study is a group (:data:`benchmark.report.design.GROUP_KEYS`) where one generator delivered sets of at
least two sizes: each size is its own arm ``synthetic[g#key]`` and its placebo is the one whose duplicated counts
equal that delivery (``placebo[g#key]``, :func:`benchmark.report.design.matched_placebo`); the real arm is volume 0
of every curve. Detection's groups (:data:`benchmark.report.detection.GROUP`) feed the same tables and the same
fit on the hardest class's AP@.5:.95, against its placebo or, without one, its real_plus (N + M real) arm.

Tables: ``volume_curve`` (per generator and volume: real, synthetic, reference arm means with 95 % t CIs over
seeds, and synthetic − reference paired by seed with its t CI, in pp) and ``volume_fit`` (per curve: the model,
its parameters with seed-bootstrap CIs, the fitted gain per image at the largest volume, the diminishing-returns
volume V with its CI and in words). Everything is in percentage points (pp) of the endpoint; volumes in images.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from benchmark.report.collect import StudyData, endpoint_column
from benchmark.report.design import GROUP_KEYS, MixedDesignError, seed_series
from benchmark.stats import mean_ci, paired_summary
from benchmark.stats.volume import PARAMS, VOLUME_N_BOOT, describe_v, marginal_gain, n_params, volume_fit

__all__ = ["volume_curves", "detection_volume_curves", "volume_tables", "declared_fit", "CURVE_HEADERS",
           "FIT_HEADERS", "FORMULAS"]

FORMULAS = {"saturating": "a + b (1 − exp(−v / c))", "log": "a + b ln(1 + v / c)",
            "peak": "a + b (v / c) exp(1 − v / c)", "saturating_linear": "a + b (1 − exp(−v / c)) − d v"}
CURVE_HEADERS = {"generator": "generator", "share": "share of the class's draws", "sets": "generated sets",
                 "volume": "added images", "n_seeds": "seeds", "reference": "reference arm",
                 "reference_added": "reference added", **{f"{a}_{s}": f"{a} {t}" for a in ("real", "synthetic", "ref")
                                                          for s, t in (("mean", "mean (%)"), ("lo", "CI low"),
                                                                       ("hi", "CI high"))},
                 "gain_pp": "synthetic − reference (pp)", "gain_lo": "gain CI low", "gain_hi": "gain CI high"}
FIT_HEADERS = {"generator": "generator", "curve": "curve", "fit": "fit", "formula": "f(v)", "n_seeds": "seeds",
               "volumes": "volumes", **{f"{p}{s}": f"{p}{t}" for p in PARAMS for s, t in (("", ""), ("_lo", " CI low"),
                                                                                        ("_hi", " CI high"))},
               "slope_at_max": "gain per image at max (pp)", "threshold_pp": "threshold (pp/image)",
               "diminishing_v": "V (images)", "diminishing_v_lo": "V CI low", "diminishing_v_hi": "V CI high",
               "lof_F": "lack-of-fit F", "lof_p": "lack-of-fit p", "c_at_bound": "c at its bound (a line)",
               "optimum_v": "fitted optimum (images)", "optimum_v_lo": "optimum CI low",
               "optimum_v_hi": "optimum CI high", "best_volume": "best measured volume", "best_mean": "its mean (%)", "diminishing": "diminishing returns"}


def declared_fit(data: StudyData) -> tuple[str, float]:
    """(model, threshold in pp per image) the records declared (config ``volume_curve``), else the defaults."""
    d = data.volume_curve or {}
    return str(d.get("fit", "saturating")), float(d.get("threshold_pp", 0.1))


def _series(rows: pd.DataFrame, label: str, metric: str) -> dict[int, float]:
    return seed_series(rows, label, metric) if len(rows) else {}


def volume_curves(data: StudyData) -> list[dict]:
    """One dict per (classification group, generator with >= 2 delivered volumes): ``key``, ``generator``,
    ``real`` {seed: value}, ``points`` {volume: {"synthetic": {seed: v}, "reference": {seed: v}, "reference_added": n}},
    ``reference`` ("placebo"). The volume is what the generator delivered (added images), not what was asked."""
    from benchmark.report.comparisons import iter_arm_groups, placebo_of

    metric, out = endpoint_column(data.primary), []
    frame = data.frame
    if "task" in frame:
        frame = frame[frame["task"].fillna("classification") == "classification"]
    for key, arms in iter_arm_groups(frame):
        syn = {lab: rows for lab, rows in arms.items() if lab.startswith("synthetic[")}
        for gen in sorted({lab[len("synthetic["):-1].split("#")[0] for lab in syn}):
            points = {}
            for lab, rows in syn.items():
                if lab[len("synthetic["):-1].split("#")[0] != gen or rows[rows["status"] == "ok"].empty:
                    continue
                ok = rows[rows["status"] == "ok"]
                plc = placebo_of(lab, arms)
                prow = arms[plc] if plc else ok.iloc[0:0]
                pok = prow[prow["status"] == "ok"]
                v = int(ok["n_added"].iloc[0])
                if v in points:  # e.g. two generator seeds at one volume: which one is the curve's point?
                    raise MixedDesignError(f"{gen}: two synthetic sets deliver {v} images in one group ({lab} and "
                                           "another); expected one set per volume in a volume curve")
                points[v] = {
                    "synthetic": _series(rows, lab, metric), "reference": _series(prow, plc or "", metric),
                    "reference_added": int(pok["n_added"].iloc[0]) if len(pok) else math.nan}
            mine = [r for lab, r in syn.items() if lab.startswith(f"synthetic[{gen}")]
            if len(points) >= 2:
                out.append({"key": {c: key[c] for c in GROUP_KEYS}, "generator": gen, "reference": "placebo",
                            "share": _one_share(gen, mine), "sets": _sets(mine),
                            "real": _series(arms.get("real", frame.iloc[0:0]), "real", metric), "points": points})
    return out


def _one_share(gen: str, frames: list[pd.DataFrame]) -> float | None:
    """The `synthetic.share` of a curve's synthetic runs: one dose per curve, or the points are not comparable."""
    shares = {None if pd.isna(v) else float(v) for f in frames if "share" in f for v in f["share"]}
    if len(shares) > 1:
        raise MixedDesignError(f"{gen}: synthetic runs under synthetic.share values {sorted(shares, key=str)} in one "
                               "volume curve; expected one share per curve (one study per share)")
    return shares.pop() if shares else None


def _sets(frames: list[pd.DataFrame]) -> str:
    """``per_seed`` where every point's sets are their seed's own, else ``shared``: one set per volume, whose CIs
    miss set-to-set variation (docs/volume.md). Declared (``synthetic.sets``) is not enough: a generator that
    ignores its seed (a vendor's fixed folder) gives every seed the same set, so each point must hold as many
    distinct sets as seeds."""
    sets = {str(v) for f in frames if "sets" in f for v in f["sets"]}
    distinct = all(f["synthetic_key"].nunique() == f["seed"].nunique() for f in frames)
    return "per_seed" if sets == {"per_seed"} and distinct else "shared"


def detection_volume_curves(frame: pd.DataFrame, metric: str = "hardest_ap50_95") -> list[dict]:
    """Detection's curves in the same form: per group of :data:`benchmark.report.detection.GROUP` with >= 2
    synthetic volumes, the reference arm is the placebo at each volume, or real_plus where there is no placebo."""
    from benchmark.report.detection import GROUP, _by_seed, detection_rows

    out = []
    for key, g in detection_rows(frame).groupby(GROUP, sort=True):
        syn = g[g["arm"] == "synthetic"]
        if syn["n_added"].nunique() < 2:
            continue
        ref = "placebo" if (g["arm"] == "placebo").any() else "real_plus"
        points = {}
        for v, rows in syn.groupby("n_added", sort=True):
            r = g[(g["arm"] == ref) & (g["n_added"] == v)]
            points[int(v)] = {"synthetic": _by_seed(rows, metric).to_dict(), "reference": _by_seed(r, metric).to_dict(),
                              "reference_added": int(v) if len(r) else math.nan}
        real = g[g["arm"] == "real"]
        out.append({"key": dict(zip(GROUP, key)), "generator": str(syn["generator"].dropna().iloc[0])
                    if syn["generator"].notna().any() else "synthetic", "reference": ref,
                    "real": _by_seed(real, metric).to_dict() if len(real) else {}, "points": points})
    return out


def _ci_pp(values) -> tuple[float, float, float]:
    return tuple(100.0 * x for x in mean_ci(list(values)))


def curve_rows(c: dict) -> list[dict]:
    """The ``volume_curve`` rows of one curve: arm means with t CIs, and synthetic − reference paired by seed."""
    rows = []
    real = _ci_pp(c["real"].values())
    for v in sorted(c["points"]):
        p = c["points"][v]
        seeds = sorted(set(p["synthetic"]) & set(p["reference"]))
        s = paired_summary([p["synthetic"][k] - p["reference"][k] for k in seeds])
        row = {**c["key"], "generator": c["generator"], "share": c.get("share"), "sets": c.get("sets", "shared"),
               "volume": v, "n_seeds": len(seeds),
               "reference": c["reference"], "reference_added": p["reference_added"]}
        for name, vals in (("real", real), ("synthetic", _ci_pp(p["synthetic"].values())),
                           ("ref", _ci_pp(p["reference"].values()))):
            row[f"{name}_mean"], row[f"{name}_lo"], row[f"{name}_hi"] = vals
        row["gain_pp"], row["gain_lo"], row["gain_hi"] = (100 * s["mean"], 100 * s["ci_low"], 100 * s["ci_high"])
        rows.append(row)
    return rows


def curve_matrix(c: dict, arm: str) -> tuple[np.ndarray, np.ndarray]:
    """(volumes (V,), values (S, V)) of one arm's curve on the seeds measured at every volume, the real arm as
    volume 0 where it ran on those seeds (a seed missing anywhere is left out: the bootstrap keeps seeds whole)."""
    cols = ({0: c["real"]} if c["real"] else {}) | {v: p[arm] for v, p in sorted(c["points"].items())}
    cols = {v: s for v, s in cols.items() if s}
    seeds = sorted(set.intersection(*(set(s) for s in cols.values()))) if cols else []
    vols = np.array(sorted(cols), dtype=float)
    return vols, np.array([[cols[int(v)][k] for v in vols] for k in seeds], dtype=float).reshape(len(seeds), len(vols))


def fit_row(c: dict, arm: str, model: str, threshold_pp: float, rng: np.random.Generator, n_boot: int) -> dict:
    """One ``volume_fit`` row (and, under ``_fit``, the fit itself for the figure)."""
    vols, vals = curve_matrix(c, arm)
    name = c["reference"] if arm == "reference" else arm
    row = {**c["key"], "generator": c["generator"], "curve": name, "fit": model, "formula": FORMULAS[model],
           "n_seeds": int(vals.shape[0]), "volumes": ", ".join(f"{int(v)}" for v in vols)}
    k = n_params(model)
    if vals.shape[0] < 2 or vols.size < k:
        return row | {"diminishing": f"no fit: fewer than {k} volumes or 2 seeds with every volume", "_fit": None}
    f = volume_fit(vols, vals, model, threshold_pp / 100.0, rng, n_boot)
    for p in PARAMS[:k]:  # a and b in pp of the endpoint, c in images, d in pp per image
        scale = 1.0 if p == "c" else 100.0
        row |= {p: scale * f[p], f"{p}_lo": scale * f[f"{p}_lo"], f"{p}_hi": scale * f[f"{p}_hi"]}
    row["slope_at_max"] = 100.0 * float(marginal_gain(f["v_max"], [f[p] for p in PARAMS[:k]], model))
    row |= {"threshold_pp": threshold_pp, "diminishing_v": f["diminishing_v"],
            "diminishing_v_lo": f["diminishing_v_lo"], "diminishing_v_hi": f["diminishing_v_hi"],
            "lof_F": f["lof_F"], "lof_p": f["lof_p"], "c_at_bound": f["c_at_bound"],
            "optimum_v": f["optimum_v"], "optimum_v_lo": f["optimum_v_lo"], "optimum_v_hi": f["optimum_v_hi"],
            "diminishing": describe_v(f), "n_boot_failed": f["n_boot_failed"], "_fit": f}
    means = vals.mean(axis=0)  # descriptive: where the measured curve peaks (never used to choose anything)
    row |= {"best_volume": int(vols[int(np.argmax(means))]), "best_mean": 100.0 * float(means.max())}
    return row


def volume_tables(curves: list[dict], model: str, threshold_pp: float, seed: int = 0,
                  n_boot: int = VOLUME_N_BOOT) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """(volume_curve, volume_fit, the fit rows with their ``_fit`` for the figure); curve i's arm j (synthetic,
    reference) draws its bootstrap from ``np.random.default_rng([seed, i, j])``."""
    table = pd.DataFrame([r for c in curves for r in curve_rows(c)])
    fits = [fit_row(c, arm, model, threshold_pp, np.random.default_rng([seed, i, j]), n_boot)
            for i, c in enumerate(curves) for j, arm in enumerate(("synthetic", "reference"))]
    return table, pd.DataFrame([{k: v for k, v in r.items() if k != "_fit"} for r in fits]), fits
