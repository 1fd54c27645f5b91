"""The curation-selector registry leaf (timm's ``_registry.py`` pattern): selector modules import this module,
never the package ``benchmark.curation``, whose ``__init__`` imports them so that they register.

A selector is a pure function ``(pool (P, D), real (R, D), real_labels (R,), target, n, rng, **config) -> (n,)``
indices into the pool of one target class (:mod:`benchmark.curation.selectors`). ``create_curator(name,
**config)`` returns it with its config bound; an unknown name raises KeyError listing the known ones."""
from __future__ import annotations

from functools import partial

from benchmark.registry import Registry

__all__ = ["CURATORS", "create_curator", "list_curators", "register_curator"]

CURATORS = Registry("curation selector")
register_curator, list_curators = CURATORS.register, CURATORS.list


def create_curator(name: str, **config):
    """The selector `name` with its config bound: ``fn(pool, real, real_labels, target, n, rng) -> indices``."""
    return partial(CURATORS.get(name), **config)
