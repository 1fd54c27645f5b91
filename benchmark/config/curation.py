"""Schema of the `curation` group (conf/curation/): the selector by name, the pool factor, the selection seed, and
the selector's own options, each refused by name when the selector has no such option (its function's keywords)."""
from __future__ import annotations

import inspect
from dataclasses import dataclass

from benchmark.config.checks import POS_INT, SEED_MAX, ConfigError, ints, spec, text

SELECTOR_ARGS = 6  # (pool, real, real_labels, target, n, rng): what follows are the selector's options


@dataclass
class CurationSchema:
    name: str = spec("none", text(), "a curation selector name")
    pool_factor: int = spec(4, ints(1, 100), "an integer in [1, 100] (the pool holds pool_factor x N images)")
    seed: int = spec(0, ints(0, SEED_MAX), f"an integer in [0, {SEED_MAX}]")


def check_curation(cfg: dict) -> None:
    """An unknown selector lists the known ones; an option the selector does not take names the ones it does."""
    from benchmark.curation import CURATORS

    cur = cfg.get("curation")
    if cur is None:
        return
    name = cur.get("name", "none")
    if name not in CURATORS.list():
        raise ConfigError("curation.name", name, "one of " + ", ".join(CURATORS.list()))
    params = list(inspect.signature(CURATORS.get(name)).parameters.values())[SELECTOR_ARGS:]
    known = {p.name for p in params}
    for key in set(cur) - {"name", "pool_factor", "seed"} - known:
        raise ConfigError(f"curation.{key}", cur[key], f"no such option of curation={name} (its options: "
                          f"{', '.join(sorted(known)) or 'none'})")
    task = (cfg.get("task") or {}).get("name") or "classification"
    if name != "none" and task == "detection":
        raise ConfigError("curation.name", name, "none: curation is built for the classification tasks only")
