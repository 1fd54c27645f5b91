"""The generator interface: a plugin turns real train data into N labelled synthetic images.

A generator never sees the selection or test split. Its output is written once into a cache
directory keyed by a hash of (generator name, its config, the train files' sha256, the request),
and reused by every run that asks for the same set.
"""
from __future__ import annotations

import abc
import csv
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.data.base import Dataset, Item


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


def content_hash(items: list[Item]) -> str:
    """sha256 over (label, image bytes hash, mask bytes hash) of every item, in order."""
    h = hashlib.sha256()
    for it in items:
        h.update(it.label.encode())
        h.update(sha256_file(it.path).encode())
        h.update((sha256_file(it.mask) if it.mask else "-").encode())
    return h.hexdigest()


class Generator(abc.ABC):
    """Subclasses implement `generate`; `materialize` handles caching. Config kwargs go to __init__."""

    name: str = "base"
    cached: bool = True  # False for generators that point at existing files (e.g. a vendor folder)

    def __init__(self, **config):
        self.config = dict(config)

    def cache_key(self, req: GenRequest) -> str:
        blob = json.dumps(
            {
                "generator": self.name,
                "config": self.config,
                "dataset": req.dataset.name,
                "train": sorted((it.path, it.label, req.train_sha256.get(it.path, ""),
                                 req.train_sha256.get(it.mask or "", "")) for it in req.train),
                "counts": req.counts,
                "seed": req.seed,
                "version": self.version,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    version: str = "1"  # bump when the algorithm changes, so old caches are not reused

    @abc.abstractmethod
    def generate(self, req: GenRequest, out_dir: Path) -> list[Item]:
        """Write images (and masks) into `out_dir`; return items with paths relative to out_dir."""

    def materialize(self, req: GenRequest, cache_root: Path) -> SyntheticSet:
        key = self.cache_key(req)
        final = Path(cache_root).resolve() / f"{self.name}-{key}"  # absolute: items outlive the cwd
        index = final / "index.csv"
        if not index.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{self.name}-{key}-", dir=final.parent))
            try:
                items = self.generate(req, tmp)
                write_index(tmp / "index.csv", items)
                try:
                    os.rename(tmp, final)  # atomic: a half-written set is never seen as a cache hit
                except OSError:
                    if not index.exists():  # lost a race to a concurrent writer: theirs is identical
                        raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        items = [Item(str(final / it.path), it.label, str(final / it.mask) if it.mask else None)
                 for it in read_index(index)]
        return SyntheticSet(self.name, key, content_hash(items), items, final)


def write_index(path: Path, items: list[Item]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "mask"])
        for it in items:
            w.writerow([it.path, it.label, it.mask or ""])


def read_index(path: Path) -> list[Item]:
    with open(path, newline="") as f:
        return [Item(r["path"], r["label"], r.get("mask") or None) for r in csv.DictReader(f)]
