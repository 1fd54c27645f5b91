"""`scarce split`: freeze the split, then run real-only pilots on the selection split to choose the
hardest class. Pilot seeds are recorded so studies can refuse to report them."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from benchmark.data.ident import manifest_options
from benchmark.metrics import classification_metrics
from benchmark.split.hardest import choose_hardest, fixed_hardest
from benchmark.split.manifest import build_split, default_manifest_path, split_items, write_manifest
from benchmark.split.pilots import pilot_config, write_pilots
from benchmark.split.reserve import draw_reserve
from benchmark.train import check_threads, create_engine, set_threads

log = logging.getLogger("scarce.split")


def pilot_probabilities(dataset, manifest: dict, cfg: dict, seeds: list[int]) -> dict[int, np.ndarray]:
    """Real-only runs (train split) evaluated on the selection split: {pilot seed: (N_selection, C) probs}."""
    train, sel = split_items(manifest, "train"), split_items(manifest, "selection")
    engine = create_engine(cfg["trainer"]["engine"])
    out = {}
    for i, (s, (probs, _)) in enumerate(zip(seeds, engine(dataset, train, sel, cfg, seeds))):
        out[s] = np.asarray(probs, dtype=float)
        log.info("pilot run %d/%d (seed %d) done", i + 1, len(seeds), s)
    return out


def pilot_accuracies(dataset, manifest: dict, cfg: dict, seeds: list[int],
                     probs: dict[int, np.ndarray] | None = None) -> dict[int, dict[str, float]]:
    """Per pilot seed, the per-class accuracy on the selection split (of ``probs`` when given, else of new runs)."""
    probs = probs if probs is not None else pilot_probabilities(dataset, manifest, cfg, seeds)
    y = np.array([dataset.classes.index(it.label) for it in split_items(manifest, "selection")])
    out = {}
    for s in seeds:
        out[s] = classification_metrics(y, probs[s], dataset.classes)["per_class_accuracy"]
        log.info("pilot seed %d: selection accuracy %s", s, {c: round(a, 3) for c, a in out[s].items()})
    return out


def make_split(cfg: dict, seed: int, pilot_seeds: list[int], hardest: str | None = None, reason: str = "",
               out: Path | None = None, force: bool = False) -> tuple[Path, dict]:
    """Freeze the split of `cfg.dataset` and choose its hardest class, by the task of that dataset
    (`dataset.task`, classification unless the dataset config says otherwise)."""
    from benchmark.tasks import create_task

    from benchmark.config import validate

    check_threads(cfg.get("threads", 1))  # before any data is read
    validate(cfg)  # the schema (split.dedupe, dataset.id, the pilots' trainer / model), before any data is read
    task = create_task(cfg["dataset"].get("task") or "classification")
    folds = (cfg.get("split") or {}).get("folds") or 1
    if folds != 1 and not task.cross_fitted:
        raise ValueError(f"split.folds={folds}: the {task.name} task has no cross-fitted folds yet; expected 1")
    return task.make_split(cfg, seed, pilot_seeds, hardest, reason, out, force)


def make_classification_split(task, cfg: dict, seed: int, pilot_seeds: list[int], hardest: str | None,
                              reason: str, out: Path | None, force: bool) -> tuple[Path, dict]:
    """Classification: stratified (optionally grouped) split, real-only pilots on the selection split."""
    dataset = task.load_dataset(cfg["dataset"])
    out = out or default_manifest_path(dataset.name)
    if out.exists() and not force:
        raise FileExistsError(f"{out}: the split is frozen; pass --force to rebuild it (invalidates all runs)")
    set_threads(cfg.get("threads", 1))
    # the dataset's default fractions reach build_split as split.fractions (conf/config.yaml), not as an option
    options = manifest_options(cfg["dataset"], "split_fractions")
    split_cfg = cfg.get("split") or {}
    group = {"method": split_cfg["group"], "max_bits": split_cfg.get("group_max_bits", 8)} \
        if split_cfg.get("group") else None
    manifest = build_split(dataset, seed=seed, fractions=split_cfg.get("fractions"), options=options, group=group,
                           folds=split_cfg.get("folds") or 1, dedupe=bool(split_cfg.get("dedupe")))
    probs = None
    if hardest:
        cls, evidence = fixed_hardest(hardest, dataset.classes, reason)
    else:
        probs = pilot_probabilities(dataset, manifest, cfg, pilot_seeds)
        per_seed = pilot_accuracies(dataset, manifest, cfg, pilot_seeds, probs)
        cls, evidence = choose_hardest(per_seed, manifest["counts"]["train"], dataset.defect_classes)
        evidence["pilot_config"] = pilot_config(cfg)
    manifest["hardest"] = {"class": cls, "rule": evidence["rule"], "evidence": evidence}
    if split_cfg.get("reserve") is not None:  # the oracle's withheld real images, drawn once the class is known
        manifest["reserve"] = draw_reserve(manifest, split_cfg["reserve"], seed)
    path = write_manifest(manifest, out)
    if probs is not None:  # the pilots' per-image outputs: evidence beside the manifest, not in it (its hash)
        write_pilots(path, manifest, dataset.classes, probs, pilot_config(cfg))
    return path, manifest
