"""The checks the config schema is made of: `ConfigError` (one line, `key=value: expected ...`), the type
and range predicates a schema field carries, and the `study` guard Hydra's run directory resolves through.
"""
from __future__ import annotations

import math
from dataclasses import field
from pathlib import PurePath
from typing import Any



class ConfigError(ValueError):
    """A config value outside its schema: one line, `key=value: expected ...`. Never a training failure."""

    def __init__(self, key: str, value: Any, expected: str, message: str | None = None):
        self.key, self.value, self.expected = key, value, expected
        super().__init__(message or f"{key}={value!r}: expected {expected}")


# ---- checks ----------------------------------------------------------------------------------------------

def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def ints(lo: int | None = None, hi: int | None = None, null: bool = False):
    return lambda v: (null and v is None) or (is_int(v) and (lo is None or v >= lo) and (hi is None or v <= hi))


def nums(lo: float | None = None, hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
         null: bool = False):
    def ok(v):
        if null and v is None:
            return True
        if not is_num(v):
            return False
        if lo is not None and (v <= lo if lo_open else v < lo):
            return False
        return hi is None or (v < hi if hi_open else v <= hi)
    return ok


def one_of(*values, null: bool = False):
    return lambda v: (null and v is None) or (isinstance(v, str) and v in values)


def is_bool(v) -> bool:
    return isinstance(v, bool)


def text(null: bool = False):
    return lambda v: (null and v is None) or (isinstance(v, str) and v != "")


def path_like(null: bool = True):
    return lambda v: (null and v is None) or (isinstance(v, str) and v != "")


def spec(default, check, expected):
    """A schema field: its default (as in conf/), its check and the words for what it allows (a str, or a
    function of the value)."""
    kw = {"default_factory": (lambda d=default: list(d))} if isinstance(default, list) else {"default": default}
    return field(metadata={"check": check, "expected": expected}, **kw)


SEED_MAX = 2 ** 63 - 1  # torch.manual_seed and int64 tensors take at most this
POS_INT = "an integer >= 1"
THREADS_ALLOWED = 'an integer >= 1, or "auto" (= cores / launcher workers)'  # benchmark.train.determinism


def plain_study(v) -> bool:
    """A study is a plain relative name under results_root: no absolute path, no '..', not empty."""
    if not isinstance(v, str) or v.strip() in ("", "."):
        return False
    p = PurePath(v)
    return not p.is_absolute() and ".." not in p.parts and not v.startswith("~")


STUDY_EXPECTED = "a plain relative name under results_root (e.g. mt or mt/fewshot), without '..' and not absolute"


def safe_study(study, *, _root_=None):
    """Hydra resolver `${scarce_study:${study}}` of hydra.run.dir / sweep.dir. Hydra makes those folders (and
    writes .hydra/config.yaml there) before the app runs, so the whole config is validated here, first: a config
    mistake writes nothing at all, not even Hydra's run folder."""
    if not plain_study(study):
        raise ConfigError("study", study, STUDY_EXPECTED)
    if _root_ is not None:
        from benchmark.protocol.core import checked_config  # the same checks run_cells makes first

        checked_config(_plain(_root_))
    return study


def _plain(root) -> dict:
    """The resolved config less its `hydra` node (whose run.dir is what is being resolved)."""
    from omegaconf import OmegaConf

    return {k: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
            for k in root if k != "hydra" for v in [root[k]]}
