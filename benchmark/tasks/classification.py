"""Image classification: one label per image, hardest-class accuracy from per-image probabilities.

Engines `finetune` and `featurebank` (benchmark/train); generators from `benchmark.generators`; with `k`
each seed first cuts the real train split to k labels per class (so each seed has its own training set).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.arms import ArmData, build_arm, few_shot_subset, oracle_arm
from benchmark.curation import Curation
from benchmark.data import create_dataset
from benchmark.data.ident import adapter_options, named
from benchmark.data.base import Item
from benchmark.generators import GENERATORS
from benchmark.metrics import classification_metrics
from benchmark.split.manifest import file_hashes, split_items, split_units
from benchmark.tasks._registry import register_task
from benchmark.tasks.base import Task
from benchmark.train import create_engine
from benchmark.train.loop import total_steps
from benchmark.train.models import check_model
from benchmark.train.share import share_weights, synthetic_cell


def curation_of(cfg: dict) -> Curation:
    """The run's curation (conf/curation/), its features from the audit's backbone and feature cache."""
    return Curation.of(cfg.get("curation"), (cfg.get("audit") or {}).get("model"), cfg.get("cache_root", ".cache"))


@register_task("classification")
class Classification(Task):
    name = "classification"
    engines = ("finetune", "featurebank")
    cross_fitted = True
    arms = ("real", "synthetic", "placebo", "oracle")

    @property
    def generators(self):
        return GENERATORS

    def check_config(self, cfg: dict) -> None:
        create_engine(cfg["trainer"]["engine"])  # KeyError listing the known engines
        check_model(cfg["model"])
        total_steps(cfg["trainer"], 1)  # max_steps xor epochs

    def load_dataset(self, dcfg: dict):
        # split_fractions is read by `scarce split` (split.fractions), not by the adapter
        # a custom dataset (imagefolder) is named by its dataset.id (benchmark/data/ident.py)
        return named(create_dataset(dcfg["name"], **adapter_options(dcfg, "task", "split_fractions")), dcfg)

    def seed_groups(self, cfg: dict, seeds: list[int]) -> list[tuple[int | None, list[int]]]:
        # Without k all seeds share one training set (one engine call, vectorised where possible);
        # with k each seed has its own k-shot subset.
        return [(None, list(seeds))] if cfg.get("k") is None else [(s, [s]) for s in seeds]

    def build_arm(self, cfg: dict, dataset, manifest: dict, subset_seed: int | None, cache: Path) -> ArmData:
        """With `k`, the real train split is first cut to k labels per class, drawn by the seed, so every arm
        of a seed sees the same k real images (and generators see only them)."""
        train = split_items(manifest, "train")
        if cfg.get("k") is not None:
            train = few_shot_subset(train, int(cfg["k"]), int(subset_seed))
        if cfg["arm"]["name"] == "oracle":  # the withheld real images of the split (benchmark/split/reserve.py)
            reserve = [Item(e["path"], e["label"], e.get("mask")) for e in manifest.get("reserve_files", [])]
            return oracle_arm(dataset, train, reserve, manifest["hardest"]["class"], cfg["synthetic"])
        return build_arm(cfg["arm"]["name"], dataset, train, file_hashes(manifest, "train"),
                         manifest["hardest"]["class"], cfg["generator"], cfg["synthetic"], cache, curation_of(cfg))

    def cell(self, cfg: dict, arm: ArmData) -> dict:
        return {"k": cfg.get("k"), "model": cfg["model"], "trainer": cfg["trainer"],
                "synthetic": synthetic_cell(cfg["synthetic"]) if arm.arm != "real" else None}

    def fit(self, cfg: dict, dataset, arm: ArmData, manifest: dict, seeds: list[int],
            run_ids: dict[int, str]) -> dict[int, dict]:
        test, hardest = split_items(manifest, "test"), manifest["hardest"]["class"]
        fitted = create_engine(cfg["trainer"]["engine"])(dataset, arm.train, test, cfg, seeds, **weights_of(cfg, arm))
        y = np.array([dataset.classes.index(it.label) for it in test])
        units = split_units(manifest, "test")  # independent test units (benchmark/stats/crossed), or None
        out = {}
        for s, (probs, fit_log) in zip(seeds, fitted):
            pred = {"paths": [it.path for it in test], "labels": y.tolist(), "probs": np.round(probs, 6).tolist()}
            if units is not None:
                pred["groups"] = units
            out[s] = {"fit": fit_log, "metrics": classification_metrics(y, probs, dataset.classes, hardest),
                      "predictions": pred}
        return out

    def make_split(self, cfg: dict, seed: int, pilot_seeds: list[int], hardest: str | None, reason: str,
                   out: Path | None, force: bool) -> tuple[Path, dict]:
        from benchmark.split.pilot import make_classification_split

        return make_classification_split(self, cfg, seed, pilot_seeds, hardest, reason, out, force)


def weights_of(cfg: dict, arm: ArmData, labels: list[str] | None = None) -> dict:
    """The engine's `weights` keyword under `synthetic.share` ({} without one: engines draw as they always did).
    labels: the train labels the engine sees (default: the arm's own)."""
    labels = labels if labels is not None else [it.label for it in arm.train]
    w = share_weights(labels, len(arm.added), cfg["synthetic"].get("share"))
    return {} if w is None else {"weights": w}
