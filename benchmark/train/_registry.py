"""The engine registry, a leaf module (timm's `models/_registry.py` pattern).

Engine modules register themselves with `register_engine` from here, never from the package
`benchmark.train`, so importing one engine module never runs (or needs) the package's `__init__`.
This module imports nothing from `benchmark.train`.
"""
from __future__ import annotations

from collections.abc import Callable

from benchmark.registry import Registry

__all__ = ["ENGINES", "register_engine", "create_engine"]

ENGINES = Registry("engine")
register_engine = ENGINES.register


def create_engine(name: str) -> Callable:
    """The engine's `fit_predict`; an unknown name raises KeyError listing the known engines."""
    return ENGINES.get(name)
