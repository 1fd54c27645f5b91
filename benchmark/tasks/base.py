"""The `Task` interface: what differs between classification, detection, ... behind one protocol core.

The core (`benchmark/protocol/`) owns everything every task shares: seeds, the frozen-manifest and pilot-seed
guards, the cell and its run ID, locks / claim / reuse, failure capture, the base record, the audit. A task
says what its data is, how an arm is built, how a model is fitted and scored, and what its record adds.
"""
from __future__ import annotations

import abc
from pathlib import Path

from benchmark.arms import ArmData
from benchmark.registry import Registry


class Task(abc.ABC):
    name: str = "base"
    dataset_task: str = "classification"  # the `dataset.task` this task consumes (conf/dataset/*.yaml)
    arms: tuple[str, ...] = ("real", "synthetic", "placebo")
    engines: tuple[str, ...] = ()  # trainer.engine values this task trains with
    verify_splits: tuple[str, ...] = ("train", "test")  # manifest splits every run re-hashes
    vectorised: bool = True  # True: the engine fits a block of seeds in one call; False: one seed per call
    cross_fitted: bool = False  # True: runs on a manifest of K cross-fitted folds (benchmark/split/folds.py)

    @property
    @abc.abstractmethod
    def generators(self) -> Registry:
        """The generators this task's synthetic arm may name (`generator.name`)."""

    def check_config(self, cfg: dict) -> None:
        """Refuse, before any data is read, what this task can only fail on (the core checked the rest)."""

    @abc.abstractmethod
    def load_dataset(self, dcfg: dict):
        """The dataset named by `dataset` (a `Dataset`-like object: name, root, classes, items, counts)."""

    def seed_groups(self, cfg: dict, seeds: list[int]) -> list[tuple[int | None, list[int]]]:
        """[(subset seed or None, seeds sharing one training set)]: one arm is built per group."""
        return [(None, list(seeds))]

    @abc.abstractmethod
    def build_arm(self, cfg: dict, dataset, manifest: dict, subset_seed: int | None, cache: Path) -> ArmData:
        """The arm's training items (real train + added) and its part of the cell."""

    @abc.abstractmethod
    def cell(self, cfg: dict, arm: ArmData) -> dict:
        """The task's fields of the cell (besides dataset, manifest, arm, seed, threads): model, trainer, ..."""

    @abc.abstractmethod
    def fit(self, cfg: dict, dataset, arm: ArmData, manifest: dict, seeds: list[int],
            run_ids: dict[int, str]) -> dict[int, dict]:
        """{seed: record fields} (metrics, predictions, fit log) for `seeds`; raise on failure (the core records it)."""

    def record_fields(self, cfg: dict, dataset, arm: ArmData) -> dict:
        """Fields the task adds to every record of an arm (e.g. object counts)."""
        return {}

    def frame_columns(self, record: dict) -> dict:
        """Columns the task adds to the report's one-row-per-record frame (benchmark/report/columns.py)."""
        return {}

    def write_report(self, data, out_dir: Path, rule, html: bool) -> dict[str, Path] | None:
        """The task's own report artefacts for its rows of `data`, or None: the shared pipeline (comparisons,
        Holm families, verdicts, tables, figures, index.html) reports them, as it does classification."""
        return None

    def summary(self, record: dict) -> str:
        """One log line of a finished record's headline numbers."""
        acc = (record.get("metrics") or {}).get("hardest_class_accuracy")
        return f"hardest {record['hardest_class']} acc={acc}"

    @abc.abstractmethod
    def make_split(self, cfg: dict, seed: int, pilot_seeds: list[int], hardest: str | None, reason: str,
                   out: Path | None, force: bool) -> tuple[Path, dict]:
        """`scarce split`: freeze the dataset's split and choose its hardest class on the selection split."""
