"""The leaderboard's exchange rate: per generator, how many real images its synthetic set is worth, with a CI.

Basis, in this order (one number per generator, :mod:`benchmark.stats.exchange`):

- ``oracle`` — the group has an ``arm=oracle`` (R withheld real images of the hardest class): worth
  ``R · (synthetic − placebo) / (oracle − placebo)`` real images of that class, CI from one bootstrap draw of
  seeds × test units per replicate shared by the three arms;
- ``few-shot`` — no oracle, but the real-only arm spans ≥ 2 values of k: real labels per class saved at the
  synthetic arm's smallest k (label efficiency, interpolated), CI over seeds × test units. The number sits on
  the row of that k; the generator's rows at larger k point to it;
- otherwise the columns say why there is none ("no oracle arm and no few-shot curve").

All on the study's primary endpoint: per-image values where it has them, per-seed values otherwise. Every
generator of group (or few-shot curve) i draws from ``np.random.default_rng([seed, i])``: reproducible as in
:func:`benchmark.report.comparisons.comparisons_frame`, and the generators of a group share their bootstrap draws.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from benchmark.endpoints import ENDPOINTS
from benchmark.report.collect import StudyData, endpoint_column
from benchmark.report.comparisons import iter_arm_groups, ok_runs, per_seed_correct, placebo_of, shared_images
from benchmark.report.design import GROUP_KEYS, seed_series
from benchmark.stats.bootstrap import DEFAULT_N_BOOT
from benchmark.stats.exchange import fewshot_exchange, oracle_exchange

__all__ = ["exchange_frame", "exchange_of", "EXCHANGE_COLUMNS", "EXCHANGE_HEADERS", "EXCHANGE_NOTE", "NO_BASIS"]

EXCHANGE_HEADERS = {"worth": "Worth (real images)", "worth_ci_low": "Worth CI low", "worth_ci_high": "Worth CI high",
                    "worth_per_image": "Worth per synthetic image", "exchange_basis": "Exchange basis",
                    "exchange_status": "Exchange status"}
EXCHANGE_COLUMNS = list(EXCHANGE_HEADERS)
NO_BASIS = "no oracle arm and no few-shot curve"
EXCHANGE_NOTE = ("Worth (real images): how many real images the generator's set is worth. Basis `oracle`: "
                 "R · (synthetic − placebo) / (oracle − placebo), R = withheld real images of the hardest class "
                 "the oracle arm added, as many as the generator added (linear in the oracle's gain); per "
                 "synthetic image = that / R. Basis `few-shot`: real labels per class saved at the synthetic "
                 "arm's smallest k (the real-only k, interpolated, that matches its accuracy, minus that k). CI: "
                 "percentile bootstrap, one draw of seeds and test units per replicate shared by every arm; NaN "
                 "bounds with a status where the oracle's gain is not resolved (its replicates reach 0) or the "
                 "curve ends first.")


def _gen(label: str) -> str:
    return label[label.index("[") + 1:-1]


def _n_added(rows: pd.DataFrame) -> int | None:
    keys = set(ok_runs(rows)["added_key"])
    return sum(json.loads(keys.pop()).values()) if len(keys) == 1 else None


def _cells(arms: list[pd.DataFrame], data: StudyData) -> tuple[list[np.ndarray], list | None]:
    """One (n seeds × m images) matrix per arm — or (n seeds,) per-seed values where the primary endpoint has
    no per-image values or a run lacks them — on the seeds every arm ran and the images every run was scored on."""
    ok = [ok_runs(r) for r in arms]
    seeds = sorted(set.intersection(*(set(int(s) for s in r["seed"]) for r in ok))) if ok else []
    if not seeds:
        return [np.empty(0) for _ in arms], None
    ok = [r[r["seed"].astype(int).isin(seeds)] for r in ok]
    ep = data.primary
    images, units = shared_images(pd.concat(ok[:-1]), ok[-1], data) if ENDPOINTS[ep].per_image else ([], None)
    per = [per_seed_correct(r, data, images, ep) for r in ok] if images else []
    if images and all(set(p) == set(seeds) for p in per):
        return [np.stack([p[s] for s in seeds]) for p in per], units
    col = endpoint_column(ep)
    return [np.array([seed_series(r, metric=col)[s] for s in seeds], dtype=float) for r in ok], None


def _row(key: dict, label: str, worth, lo, hi, per_image, basis: str, status: str) -> dict:
    return {**key, "generator": _gen(label), "worth": worth, "worth_ci_low": lo, "worth_ci_high": hi,
            "worth_per_image": per_image, "exchange_basis": basis, "exchange_status": status}


def _oracle_row(key, arms, label, data, rng, n_boot) -> dict | None:
    plc = placebo_of(label, list(arms))
    if "oracle" not in arms or plc is None:
        return None
    r_oracle, n_syn = _n_added(arms["oracle"]), _n_added(arms[label])
    if r_oracle != n_syn:  # oracle − placebo is only a volume-free gain over the placebo of the oracle's own count
        return _row(key, label, *[math.nan] * 4, "oracle", f"the oracle adds {r_oracle} images, the generator "
                    f"{n_syn}: no common count-matched placebo")
    cells, units = _cells([arms[label], arms[plc], arms["oracle"]], data)
    if cells[0].shape[0] == 0 or r_oracle is None:
        return _row(key, label, math.nan, math.nan, math.nan, math.nan, "oracle", "no paired seeds")
    e = oracle_exchange(*cells, r_oracle, n_syn, rng, n_boot, units=units)
    basis = f"oracle (R = {r_oracle} withheld real, {e['n_seeds']} seeds × {e['n_units'] or 'no'} units)"
    status = e["status"] if e["status"] != "resolved" else \
        f"resolved (oracle ≤ placebo in {100 * e['share_oracle_unresolved']:.1f} % of replicates)"
    return _row(key, label, e["worth"], e["ci_low"], e["ci_high"], e["per_image"], basis, status)


def _curve_key(key: dict, rows: pd.DataFrame) -> tuple:
    cd = rows["curve_design"].iloc[0] if "curve_design" in rows and len(rows) else None
    return (key["dataset"], key["hardest_class"], key["model"], key["engine"], str(cd))


def _fewshot_rows(curve: list[tuple[dict, dict]], data: StudyData, rng_of, n_boot: int) -> list[dict]:
    """Rows of one few-shot curve (its groups, one per k): per synthetic label, the number on its smallest-k
    row, pointers on the others."""
    real = {key["k"]: arms["real"] for key, arms in curve if "real" in arms and len(ok_runs(arms["real"]))}
    labels = sorted({lab for _, arms in curve for lab in arms if lab.startswith("synthetic[")})
    out = []
    for lab in labels:
        syn = {key["k"]: arms[lab] for key, arms in curve if lab in arms and len(ok_runs(arms[lab]))}
        if not syn:
            continue
        k0 = min(syn)
        cells, units = _cells([*real.values(), *syn.values()], data)
        if cells[0].shape[0] == 0:
            out += [_row(key, lab, *[math.nan] * 4, "few-shot", "no paired seeds")
                    for key, arms in curve if lab in arms]
            continue
        e = fewshot_exchange(dict(zip(real, cells[:len(real)])), dict(zip(syn, cells[len(real):])), rng_of(), n_boot,
                             units=units)
        n_targets = len(json.loads(next(iter(set(ok_runs(syn[k0])["added_key"]))))) or 1
        n_syn = _n_added(syn[k0])
        per = e["labels_saved"] / (n_syn / n_targets) if n_syn else math.nan
        status = (f"{e['status']}: real-only k {e['k_real_interp']:.2f} for k = {k0:g} + synthetic "
                  f"({e['fewer_labels_pct_interp']:.0f} % fewer labels; grid {e['fewer_labels_pct_grid']:.0f} %)"
                  if not math.isnan(e["k_real_interp"]) else
                  f"{e['status']} ({max(real):g}): saves at least {max(real) - k0:g} real labels per class")
        for key, arms in curve:
            if lab not in arms:
                continue
            if key["k"] == k0:
                out.append(_row(key, lab, e["labels_saved"], e["saved_low"], e["saved_high"], per,
                                f"few-shot (real labels per class, {e['n_seeds']} seeds)", status))
            else:
                out.append(_row(key, lab, math.nan, math.nan, math.nan, math.nan, "few-shot",
                                f"one number per curve: on the k = {k0:g} row"))
    return out


def exchange_frame(data: StudyData, seed: int = 0, n_boot: int = DEFAULT_N_BOOT) -> pd.DataFrame:
    """One row per (group, generator): :data:`EXCHANGE_COLUMNS` on the basis the design allows (module doc)."""
    groups = list(iter_arm_groups(data.frame))
    rows, curves = [], {}
    for gi, (key, arms) in enumerate(groups):
        # every generator of group gi draws from default_rng([seed, gi]): the same seed and unit draws, so the
        # oracle's denominator — and whether it is resolved — is one thing per group, not one per row
        labels = [lab for lab in arms if lab.startswith("synthetic[")]
        got = [r for lab in labels
               if (r := _oracle_row(key, arms, lab, data, np.random.default_rng([seed, gi]), n_boot)) is not None]
        if key["k"] is not None and not got:  # a point of a few-shot curve (real-only points too)
            curves.setdefault(_curve_key(key, next(iter(arms.values()))), []).append((key, arms))
        else:
            rows += got + [_row(key, lab, *[math.nan] * 4, "—", NO_BASIS) for lab in labels
                           if lab not in {f"synthetic[{r['generator']}]" for r in got}]
    for ci, curve in enumerate(curves.values(), start=len(groups)):
        if sum("real" in arms and len(ok_runs(arms["real"])) > 0 for _, arms in curve) >= 2:
            rows += _fewshot_rows(curve, data, lambda i=ci: np.random.default_rng([seed, i]), n_boot)
        else:
            rows += [_row(key, lab, *[math.nan] * 4, "—", NO_BASIS + " (fewer than 2 real-only k)")
                     for key, arms in curve for lab in arms if lab.startswith("synthetic[")]
    return pd.DataFrame(rows, columns=[*GROUP_KEYS, "generator", *EXCHANGE_COLUMNS])


def exchange_of(ctx) -> pd.DataFrame:
    """The exchange frame of a ReportContext, computed once (its bootstraps are expensive)."""
    if "_exchange" not in ctx.__dict__:
        ctx.__dict__["_exchange"] = exchange_frame(ctx.data, ctx.seed, ctx.n_boot)
    return ctx.__dict__["_exchange"]
