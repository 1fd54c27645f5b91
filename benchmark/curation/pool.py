"""Curation: over-generate a pool of r·N per target class with the arm's own generator, then keep N of it.

    GenRequest(counts N) → the generator's pool GenRequest(counts r·N) (its own cache entry)
      → backbone features of the pool and of the REAL TRAIN images only (the audit's backbone and cache)
      → per target class the selector picks N → a SyntheticSet of those N, cached by (pool key, selector, N, config)

Selection and test images are never read here: the only real images are `req.train` (the train split, or the
seed's k-shot subset of it). `curation=none` never comes here (the arm asks the generator for N, as before).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.curation._registry import create_curator
from benchmark.generators.base import GenRequest, Generator, SyntheticSet, content_hash
from benchmark.io import atomic_dir

CODE_VERSION = "curation-v1"
RESERVED = ("name", "pool_factor", "seed")  # the other keys of a curation config are the selector's options


@dataclass(frozen=True)
class Curation:
    """A curation config (conf/curation/) resolved for one run: the selector, the pool factor r, the selection
    seed, the selector's options, and the backbone (`audit.model`) and cache root its features come from."""

    name: str = "none"
    pool_factor: int = 4
    seed: int = 0
    options: dict = field(default_factory=dict)
    model: dict | None = None
    feature_cache: str = ".cache"

    @classmethod
    def of(cls, cfg: dict | None, model: dict | None = None, feature_cache: str | Path = ".cache") -> "Curation":
        cfg = dict(cfg or {"name": "none"})
        return cls(str(cfg.get("name", "none")), int(cfg.get("pool_factor", 4)), int(cfg.get("seed", 0)),
                   {k: v for k, v in cfg.items() if k not in RESERVED}, model, str(feature_cache))

    @property
    def active(self) -> bool:
        return self.name != "none"

    def cell(self) -> dict:
        """The part of a synthetic arm's cell (and run ID) that names the curation."""
        return {"name": self.name, "pool_factor": self.pool_factor, "seed": self.seed, **self.options}


def features_of(paths: list[str], model: dict, cache_root: str | Path) -> np.ndarray:
    """(len(paths), D) view-0 backbone features, through the feature-bank cache the audit uses."""
    from benchmark.audit.embeddings import reference_features

    return reference_features(paths, {"model": model}, Path(cache_root), "curation features")


def curated_key(pool: SyntheticSet, cur: Curation, counts: dict[str, int]) -> str:
    blob = json.dumps({"pool": pool.key, "pool_content": pool.content_sha256, "curation": cur.cell(),
                       "counts": counts, "model": cur.model, "code": CODE_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def select(pool_items: list, pool_feats: np.ndarray, real_feats: np.ndarray, real_labels: list[str],
           counts: dict[str, int], cur: Curation) -> list:
    """The picked pool items: per target class (in `counts` order) the selector's N, in pool order. Each class
    draws from its own stream ``default_rng([seed, class index])``, so adding a class moves no other pick."""
    fn = create_curator(cur.name, **cur.options)
    out = []
    for i, (c, n) in enumerate(counts.items()):
        idx = [j for j, it in enumerate(pool_items) if it.label == c]  # (P_c,) this class's pool, in order
        pick = fn(pool_feats[idx], real_feats, real_labels, c, n, np.random.default_rng([cur.seed, i]))
        if len(pick) != n or len(set(map(int, pick))) != n:
            raise ValueError(f"curation={cur.name}: picked {len(pick)} images ({len(set(map(int, pick)))} distinct) "
                             f"of class {c!r}; expected {n} distinct ones")
        out += [pool_items[idx[int(k)]] for k in pick]
    return out


def curated_set(gen: Generator, req: GenRequest, cur: Curation, cache_root: Path) -> SyntheticSet:
    """N per class of the generator's r·N pool, chosen by `cur` (cached: the index lists the pool's files)."""
    if cur.pool_factor < 1:
        raise ValueError(f"curation.pool_factor={cur.pool_factor}: expected an int >= 1 (the pool is r·N images)")
    if cur.model is None:
        raise ValueError("curation: no backbone given; expected audit.model (name, image_size) for its features")
    pool = gen.materialize(dataclasses.replace(req, counts={c: n * cur.pool_factor for c, n in req.counts.items()}),
                           cache_root)
    key = curated_key(pool, cur, req.counts)
    final = Path(cache_root).resolve() / f"{gen.dir_prefix}curated-{gen.name}-{key}"

    def write(tmp: Path) -> None:
        real_paths = [str(req.dataset.abspath(it.path)) for it in req.train]  # train split only
        feats = features_of([str(it.path) for it in pool.items] + real_paths, cur.model, cur.feature_cache)
        picked = select(pool.items, feats[:len(pool.items)], feats[len(pool.items):],
                        [it.label for it in req.train], req.counts, cur)
        gen.write_index(tmp / "index.csv", picked)  # absolute paths into the pool's cache entry
        (tmp / "curation.json").write_text(json.dumps({"pool_key": pool.key, "pool_counts": pool.counts(),
                                                       "curation": cur.cell(), "counts": req.counts}, indent=1))

    atomic_dir(final, "index.csv", write)
    items = gen.read_index(final / "index.csv")
    return SyntheticSet(gen.name, key, content_hash(items, gen.companion), items, final,
                        {"curation": cur.cell(), "pool_key": pool.key, "pool_counts": pool.counts()})
