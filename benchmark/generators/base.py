"""The generator interface: a plugin turns real train data into N labelled synthetic images.

A generator never sees the selection or test split. Its output is written once into a cache
directory keyed by a hash of (generator name, its config, the train files' sha256, the request),
and reused by every run that asks for the same set.
"""
from __future__ import annotations

import abc
import csv
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.data.base import Dataset, Item
from benchmark.io import atomic_dir


@dataclass(frozen=True)
class GenRequest:
    """What a synthetic arm asks for. Everything a generator may look at is in here."""

    dataset: Dataset
    train: list[Item]  # real train items only (paths relative to dataset.root)
    train_sha256: dict[str, str]  # image or mask path -> sha256 from the frozen manifest
    counts: dict[str, int]  # class -> number of images to generate
    seed: int  # generator seed (fixed per study, not the run seed: one set shared by all seeds)


@dataclass
class SyntheticSet:
    """A materialised set. Item paths are absolute; masks optional."""

    generator: str
    key: str  # cache key: hash of inputs + config (known before generating)
    content_sha256: str  # hash of the bytes of every image, in order
    items: list[Item]
    root: Path
    meta: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for it in self.items:
            out[it.label] = out.get(it.label, 0) + 1
        return out


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def content_hash(items: list[Item], companion: str = "mask") -> str:
    """sha256 over (label, image bytes hash, companion bytes hash) of every item, in order. The companion is
    the file that is part of an item's label: its mask (classification) or its box file (detection)."""
    h = hashlib.sha256()
    for it in items:
        other = getattr(it, companion, None)
        h.update(it.label.encode())
        h.update(sha256_file(it.path).encode())
        h.update((sha256_file(other) if other else "-").encode())
    return h.hexdigest()


class Generator(abc.ABC):
    """Subclasses implement `generate`; `materialize` handles caching. Config kwargs go to __init__.

    One base for every task: a task's item type differs only in its companion file (`companion`: "mask" for
    classification items, "boxes" for detection items), which is hashed into the cache key, the content hash
    and the set's index.csv."""

    name: str = "base"
    version: str = "1"  # bump when the algorithm changes, so old caches are not reused
    item_type: type = Item
    companion: str = "mask"
    dir_prefix: str = ""  # cache directory <prefix><name>-<key>
    key_extra: dict = {}  # task-specific fields of the cache key

    def __init__(self, **config):
        self.config = dict(config)

    def cache_key(self, req: GenRequest) -> str:
        train = sorted((it.path, it.label, req.train_sha256.get(it.path, ""),
                        req.train_sha256.get(getattr(it, self.companion, None) or "", "")) for it in req.train)
        blob = json.dumps({"generator": self.name, "config": self.config, "dataset": req.dataset.name,
                           "train": train, "counts": req.counts, "seed": req.seed, "version": self.version,
                           **self.key_extra}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    @abc.abstractmethod
    def generate(self, req: GenRequest, out_dir: Path) -> list[Item]:
        """Write images (and masks / box files) into `out_dir`; return items with paths relative to out_dir."""

    def materialize(self, req: GenRequest, cache_root: Path) -> SyntheticSet:
        key = self.cache_key(req)
        final = Path(cache_root).resolve() / f"{self.dir_prefix}{self.name}-{key}"  # absolute: items outlive the cwd
        atomic_dir(final, "index.csv", lambda tmp: self.write_index(tmp / "index.csv", self.generate(req, tmp)))
        items = [self.rebase(it, final) for it in self.read_index(final / "index.csv")]
        return SyntheticSet(self.name, key, content_hash(items, self.companion), items, final)

    def rebase(self, it: Item, root: Path) -> Item:
        """`it` with its image and companion paths made absolute under `root`."""
        other = getattr(it, self.companion)
        return dataclasses.replace(it, path=str(root / it.path), **{self.companion: str(root / other) if other else None})

    def write_index(self, path: Path, items: list[Item]) -> None:
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["path", "label", self.companion])
            w.writerows([it.path, it.label, getattr(it, self.companion) or ""] for it in items)

    def read_index(self, path: Path) -> list[Item]:
        with open(path, newline="") as f:
            return [self.item_type(path=r["path"], label=r["label"], **{self.companion: r.get(self.companion) or None})
                    for r in csv.DictReader(f)]
