"""`scarce plan`: what a design can resolve on the hardest class, before any compute is spent on it.

For a frozen split manifest: the hardest class's effective test size (images, independent groups) and
the minimum detectable effect (pp, at the rule's power, under :class:`benchmark.stats.DecisionRule`) per
design × seeds × endpoint, simulated by :mod:`benchmark.stats.plan` on the real-only pilot runs of the
pilots sidecar (:mod:`benchmark.split.pilots`; the pilots are run and the sidecar written when absent).

Designs: ``folds=1`` is the manifest's own single split (its hardest-class test images and groups);
``folds=K`` is K cross-fitted folds, where every non-selection image is tested once, so the hardest
class's test set is all its train + test images with their groups (selection is never tested). The
pilots do not model the K-fold designs' smaller training sets ((K − 1)/K of train + test for each fold
model) nor that each fold has its own model: K = 3 and K = 5 have the same test set here.
"""
from __future__ import annotations

import logging
import math
from collections import Counter
from pathlib import Path

import pandas as pd

from benchmark.data.ident import dataset_id
from benchmark.split.folds import n_folds
from benchmark.split.manifest import default_manifest_path, load_manifest, verify
from benchmark.split.pilots import hardest_values, load_pilots, pilot_config, pilots_path, write_pilots
from benchmark.stats.decision import DecisionRule
from benchmark.stats.plan import detection_rate, mde, pairs_available

__all__ = ["PLAN_ENDPOINTS", "resolve_manifest", "design_sizes", "ensure_pilots", "plan_table", "format_plan",
           "sweep_warning", "DEFAULT_PILOT_SEED", "pilots_needed"]

log = logging.getLogger("scarce.plan")

PLAN_ENDPOINTS = ("hardest_accuracy", "hardest_prob")  # per-image, in pp, higher is better (log-loss is nats)
DEFAULT_PILOT_SEED = 900                                 # plan's own pilots: 900, 901, ... (never reported)
MIN_PILOTS = 10


def resolve_manifest(target: str) -> Path:
    """A manifest path as given, or ``datasets/splits/<dataset>.json`` for a dataset name."""
    p = Path(target)
    return p if p.suffix == ".json" or p.is_file() else default_manifest_path(target)


def dataset_overrides(manifest: dict) -> list[str]:
    """The overrides that compose a manifest's dataset config: `dataset=<name>`, or for a custom dataset its
    adapter and id (`config.options.adapter`, benchmark/data/ident.py; its root is the user's to pass)."""
    opts = (manifest.get("config") or {}).get("options") or {}
    if opts.get("adapter"):
        return [f"dataset={opts['adapter']}", f"dataset.id={manifest['dataset']}"]
    return [f"dataset={manifest['dataset']}"]


def design_sizes(manifest: dict, folds: int) -> tuple[int, list[int]]:
    """``(images, sizes)``: the hardest class's test images under a design and its units' sizes (images per
    near-duplicate group; one per image where the split is not grouped)."""
    if int(folds) != folds or folds < 1:
        raise ValueError(f"--folds {folds}: expected 1 (the single split) or K >= 2 cross-fitted folds")
    hardest = manifest["hardest"]["class"]
    splits = ("test",) if folds == 1 else ("train", "test")
    units = [e.get("group", f"{s}:{i}") for s in splits for i, e in enumerate(manifest["files"][s])
             if e["label"] == hardest]
    return len(units), sorted(Counter(units).values(), reverse=True)


def pilots_needed(seeds: list[int]) -> int:
    """Pilot runs whose A/A pairs cover the largest study of ``seeds`` (and at least :data:`MIN_PILOTS`)."""
    n = MIN_PILOTS
    while pairs_available(n) < max(seeds):
        n += 1
    return n


def ensure_pilots(manifest_path: Path, manifest: dict, cfg: dict, n_pilots: int,
                  first_seed: int = DEFAULT_PILOT_SEED) -> dict:
    """The manifest's pilots sidecar with at least ``n_pilots`` runs: as found, or with new real-only
    pilot runs (seeds from ``first_seed`` on, the configured model and trainer) added and written."""
    side, why = load_pilots(manifest_path, manifest)
    have = len(side["runs"]) if side else 0
    if have >= n_pilots:
        return side
    config = pilot_config(cfg)
    if side and side["pilot_config"] != config:
        raise ValueError(f"{pilots_path(manifest_path)}: field 'pilot_config' is not the configured model/trainer "
                         f"({config}); expected the same overrides as its {have} pilots to add more (or delete it)")
    from benchmark.split.pilot import pilot_probabilities
    from benchmark.tasks import create_task
    from benchmark.train import check_threads, set_threads

    taken = set((side or {}).get("runs", {})) | {str(s) for s in manifest["hardest"]["evidence"].get("pilot_seeds", [])}
    seeds = [s for s in range(first_seed, first_seed + 10 * n_pilots) if str(s) not in taken][: n_pilots - have]
    log.info("%s; running %d real-only pilot runs (seeds %d..%d, %s engine) on the selection split",
             why or f"{have} pilot runs in the sidecar", len(seeds), seeds[0], seeds[-1], cfg["trainer"]["engine"])
    check_threads(cfg.get("threads", 1))
    dataset = create_task(cfg["dataset"].get("task") or "classification").load_dataset(cfg["dataset"])
    set_threads(cfg.get("threads", 1))
    verify(manifest, dataset, ("train", "selection"))
    probs = pilot_probabilities(dataset, manifest, cfg, seeds)
    log.info("wrote %s", write_pilots(manifest_path, manifest, dataset.classes, probs, config, keep=side))
    return load_pilots(manifest_path, manifest)[0]


def _row(design: str, images: int, sizes: list[int], endpoint: str, n: int, res: dict, target: float) -> dict:
    return {"design": design, "test_images": images, "groups": len(sizes), "endpoint": endpoint, "seeds": n,
            "mde_pp": res["mde_pp"], "rate": res["rate"], "mc_se": res["se"],
            "warning": "" if res["mde_pp"] <= target else (
                res["not_tested"] if res.get("not_tested") else f"MDE > {target:g} pp" + (
                    "" if math.isfinite(res["mde_pp"]) else "; no δ <= 100 pp reaches the power (best rate shown)"))}


def plan_table(side: dict, manifest: dict, seeds: list[int], folds: list[int], endpoints=PLAN_ENDPOINTS, *,
               rule: DecisionRule = DecisionRule(), n_sims: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per design × endpoint × seeds: test images, groups, MDE (pp), its detection rate and MC SE."""
    hardest, rows = manifest["hardest"]["class"], []
    for e_i, endpoint in enumerate(endpoints):
        values, units = hardest_values(side, hardest, endpoint)
        for k in folds:
            images, sizes = design_sizes(manifest, k)
            design = "single split" if k == 1 else f"{k}-fold cross-fit"
            for n in seeds:
                if rule.too_few_units(len(sizes)):
                    res = {"mde_pp": math.inf, "rate": math.nan, "se": math.nan,
                           "not_tested": f"not tested (< {rule.min_units} units)"}
                else:
                    res = mde(values, units, sizes, n, [seed, e_i, k, n], rule=rule, n_sims=n_sims)
                rows.append(_row(design, images, sizes, endpoint, n, res, rule.target_effect_pp))
    return pd.DataFrame(rows)


def format_plan(table: pd.DataFrame, manifest_path: Path, manifest: dict, side: dict, rule: DecisionRule,
                n_sims: int) -> str:
    """The table in words: what the pilots are, the rule, one line per row, the warnings."""
    hardest = manifest["hardest"]["class"]
    _, sel_units = hardest_values(side, hardest, "hardest_accuracy")
    acc = hardest_values(side, hardest, "hardest_accuracy")[0].mean()
    head = [f"{manifest_path}: hardest class {hardest!r}; pilots {pilots_path(manifest_path).name}: "
            f"{len(side['runs'])} real-only runs (seeds {side['pilot_seeds'][0]}..{side['pilot_seeds'][-1]}, "
            f"{side['pilot_config']['trainer']['engine']} / {side['pilot_config']['model']['name']}) on "
            f"{sel_units.size} selection images of it in {len(set(sel_units.tolist()))} unit(s), mean accuracy "
            f"{100 * acc:.1f} %",
            f"rule: {rule.describe()}; MDE = smallest planted δ (0.5 pp grid) detected as a gain in "
            f"{100 * rule.power:g} % of {n_sims} simulated A/A-pilot studies (± Monte Carlo SE)",
            f"{'design':<18} {'images':>6} {'groups':>6}  {'endpoint':<16} {'seeds':>5} {'MDE pp':>8} "
            f"{'rate':>6} {'± SE':>5}  note"]
    for r in table.itertuples():
        mde_txt = f"{r.mde_pp:8.1f}" if math.isfinite(r.mde_pp) else f"{'none' if not r.warning.startswith('not') else '–':>8}"
        rate = f"{100 * r.rate:5.1f}%" if not math.isnan(r.rate) else f"{'–':>6}"
        se = f"{100 * r.mc_se:5.1f}" if not math.isnan(r.mc_se) else f"{'–':>5}"
        head.append(f"{r.design:<18} {r.test_images:>6} {r.groups:>6}  {r.endpoint:<16} {r.seeds:>5} {mde_txt} "
                    f"{rate} {se}  {r.warning}")
    bad = table[table["warning"] != ""]
    if len(bad):
        head.append(f"WARNING: {len(bad)} of {len(table)} designs cannot resolve the target {rule.target_effect_pp:g} pp "
                    f"at {100 * rule.power:g} % power (see note)")
    if (table["design"] != "single split").any():
        head.append("note: a K-fold design tests all train + test images of the class once; the pilots (trained on "
                    "the train split) model neither its fold models' (K − 1)/K training sets nor their differences, "
                    "so its K only changes the Monte Carlo draw")
    if len(set(sel_units.tolist())) < 3:
        head.append(f"note: the selection has only {len(set(sel_units.tolist()))} unit(s) of {hardest!r}, and every "
                    "design unit is drawn from those: the designs' groups differ no more than these do, so where the "
                    "real groups differ more in difficulty the MDEs above are optimistic")
    return "\n".join(head)


def sweep_warning(plain: dict, n_seeds: int, n_sims: int = 400) -> str | None:
    """One line when the study's own design (its manifest, its seeds, its primary endpoint) cannot detect the
    rule's target effect at the rule's power; None when it can or when no pilots sidecar exists (a sweep
    never trains pilots). One simulation at δ = target: MDE > target ⇔ the rate there is below the power."""
    path = Path(plain["split"]["manifest"] or default_manifest_path(dataset_id(plain["dataset"])))
    endpoint = ((plain.get("endpoints") or {}).get("primary")) or PLAN_ENDPOINTS[0]
    if not path.is_file() or not pilots_path(path).is_file() or endpoint not in PLAN_ENDPOINTS:
        return None
    manifest = load_manifest(path)
    side, _ = load_pilots(path, manifest)
    rule = DecisionRule()
    if side is None or n_seeds < 2 or pairs_available(len(side["runs"])) < n_seeds or not manifest["hardest"]:
        return None
    values, units = hardest_values(side, manifest["hardest"]["class"], endpoint)
    images, sizes = design_sizes(manifest, n_folds(manifest))  # a K-fold manifest's study tests the union
    if rule.too_few_units(len(sizes)):  # the rule gives this design no verdict at all (benchmark/stats/decision.py)
        return (f"plan: this design ({images} hardest-class test images in {len(sizes)} groups) has fewer than the "
                f"rule's {rule.min_units} independent test units: every comparison will be 'not tested'; a K-fold "
                f"split tests more of the class's units (docs/folds.md)")
    rate = detection_rate(values, units, sizes, n_seeds, rule.target_effect_pp / 100,
                                                       0, n_sims=n_sims, rule=rule)[0]
    if rate >= rule.power:
        return None
    return (f"plan: this design ({images} hardest-class test images in {len(sizes)} groups, {n_seeds} seeds, "
            f"{endpoint}) detects a {rule.target_effect_pp:g} pp gain in {100 * rate:.0f} % of simulated studies "
            f"(< {100 * rule.power:g} % power): its MDE exceeds the target; see `scarce plan {path}`")


def write_plan(table: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    """``plan.csv`` / ``plan.md`` / ``plan.tex`` into ``out_dir``."""
    from benchmark.report.table_formats import write_table_formats

    out_dir.mkdir(parents=True, exist_ok=True)
    return write_table_formats(table, out_dir, "plan", digits=3)
