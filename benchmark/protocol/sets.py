"""`synthetic.sets`: one generated set for every training seed (`shared`, the default) or one per seed (`per_seed`).

Why: with a shared set every seed trains on the same images, so a CI over seeds (and a volume curve's
lack-of-fit test) sees seed-to-seed noise only. Two cut-paste sets of one generator at one volume differed by
up to 21 pp on Magnetic Tile crack with the same training seeds (docs/volume.md): the set is a random draw too,
and a claim about the generator has to average over it. With `per_seed`, training seed s trains on the set drawn
with generator seed :func:`set_seed` (generator.seed, s): set-to-set variation is inside the spread every
statistic already uses, and the pairing is unchanged (seed s's synthetic run and its placebo, whose duplicates
are drawn with the same derived seed and count-matched to seed s's set, and its real run).

Each such set is audited like any other; one the audit refuses fails only its own seed's cell (a record with the
refusal), where a refused shared set stops the job (every seed would train on it).
"""
from __future__ import annotations

import logging

import numpy as np

from benchmark.audit.hook import AuditRefused, ensure_audited

log = logging.getLogger("scarce")

__all__ = ["GENERATED_ARMS", "per_seed", "set_seed", "seed_generator", "arm_groups", "audit_gate"]

GENERATED_ARMS = ("synthetic", "placebo")  # the arms whose training data a generator's set decides


def per_seed(cfg: dict) -> bool:
    """True for a generated arm under `synthetic.sets=per_seed` (the real arm has no set to draw)."""
    sets = (cfg.get("synthetic") or {}).get("sets") or "shared"
    return sets == "per_seed" and (cfg.get("arm") or {}).get("name") in GENERATED_ARMS


def set_seed(base: int, seed: int) -> int:
    """The generator seed of training seed `seed`'s set, in [0, 2**31): numpy's SeedSequence of (base, seed), so
    every pair gets its own stream (a sum would give base 4 / seed 31 and base 5 / seed 30 the same set)."""
    return int(np.random.SeedSequence([int(base), int(seed)]).generate_state(1)[0] >> 1)


def seed_generator(gen_cfg: dict, seed: int) -> dict:
    """`generator` config of training seed `seed`'s own set: the declared seed is the base of :func:`set_seed`."""
    return {**gen_cfg, "seed": set_seed(int(gen_cfg.get("seed") or 0), seed)}


def arm_groups(cfg: dict, task, seeds: list[int]) -> list[tuple[dict, int | None, list[int]]]:
    """[(config the arm is built from, subset seed, seeds trained on that arm)]: the task's seed groups, split
    into one group per seed with its own generator seed under `per_seed`. The config given to build the arm
    differs from `cfg` only in `generator.seed`; records keep `cfg` (the base seed and `sets`)."""
    groups = task.seed_groups(cfg, seeds)
    if not per_seed(cfg):
        return [(cfg, sub, list(g)) for sub, g in groups]
    return [({**cfg, "generator": seed_generator(cfg["generator"], s)}, sub, [s]) for sub, g in groups for s in g]


def audit_gate(cfg: dict, dataset, manifest: dict, syn, seeds: list[int]) -> AuditRefused | None:
    """Audit the arm's set (benchmark/audit/hook.py). A refused per-seed set is returned, to be recorded as its
    seed's failure; a refused shared set raises (the whole job would train on it)."""
    try:
        ensure_audited(cfg, dataset, manifest, syn)
    except AuditRefused as e:
        if not per_seed(cfg):
            raise
        log.warning("seed %s: its own synthetic set is refused; the cell records the refusal: %s", seeds[0], e)
        return e
    return None
