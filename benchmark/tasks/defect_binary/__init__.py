"""Defect vs good: a binary task over any classification dataset (the third task, and the example of adding one).

Labels collapse to `defect` (every class but the nominal one) and `good`. The protocol is unchanged: the
synthetic arm still generates images of the manifest's hardest defect class (now labelled `defect`), the
placebo duplicates as many real ones, and the headline is the recall of `defect` (the record's hardest
class) on the frozen test split; the recall on the manifest's hardest class's own test images is kept as
`source_class_recall`. Adding this task touched this package and `conf/task/defect_binary.yaml` only.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from benchmark.arms import ArmData
from benchmark.metrics import classification_metrics
from benchmark.split.manifest import split_items, split_units
from benchmark.tasks._registry import register_task
from benchmark.tasks.classification import Classification, weights_of
from benchmark.train import create_engine

BINARY = ["defect", "good"]  # label indices: 0 = defect, 1 = good


def to_binary(item, nominal: str):
    return dataclasses.replace(item, label="good" if item.label == nominal else "defect")


def binary_view(dataset):
    """The same images under the binary taxonomy (same name and root: feature caches are shared)."""
    return dataclasses.replace(dataset, classes=list(BINARY), nominal="good",
                               items=[to_binary(it, dataset.nominal) for it in dataset.items])


@register_task("defect_binary")
class DefectBinary(Classification):
    name = "defect_binary"
    cross_fitted = False  # its records score a binary head: the report's fold merge recomputes multi-class metrics

    def build_arm(self, cfg: dict, dataset, manifest: dict, subset_seed: int | None, cache: Path) -> ArmData:
        if manifest["hardest"]["class"] == dataset.nominal:
            raise ValueError(f"task defect_binary: the manifest's hardest class is the nominal class "
                             f"{dataset.nominal!r}; expected a defect class to generate")
        return super().build_arm(cfg, dataset, manifest, subset_seed, cache)

    def fit(self, cfg: dict, dataset, arm: ArmData, manifest: dict, seeds: list[int],
            run_ids: dict[int, str]) -> dict[int, dict]:
        source, test = manifest["hardest"]["class"], split_items(manifest, "test")
        btest = [to_binary(it, dataset.nominal) for it in test]
        btrain = [to_binary(it, dataset.nominal) for it in arm.train]
        fitted = create_engine(cfg["trainer"]["engine"])(binary_view(dataset), btrain, btest, cfg, seeds,
                                                         **weights_of(cfg, arm, [it.label for it in btrain]))
        y = np.array([BINARY.index(it.label) for it in btest])
        of_source = np.array([it.label == source for it in test])
        units = split_units(manifest, "test")
        out = {}
        for s, (probs, fit_log) in zip(seeds, fitted):
            metrics = classification_metrics(y, probs, BINARY, "defect")
            metrics.update(source_class=source,
                           source_class_recall=float((probs[of_source].argmax(axis=1) == 0).mean()))
            pred = {"paths": [it.path for it in test], "labels": y.tolist(), "probs": np.round(probs, 6).tolist()}
            if units is not None:
                pred["groups"] = units
            out[s] = {"fit": fit_log, "metrics": metrics, "predictions": pred}
        return out

    def record_fields(self, cfg: dict, dataset, arm: ArmData) -> dict:
        return {"hardest_class": "defect"}  # the report's endpoint: defect recall (collect.hardest_correctness)
