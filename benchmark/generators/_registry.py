"""The generator registry leaf (timm's ``_registry.py`` pattern): generators import this module, never the
package ``benchmark.generators``, whose ``__init__`` imports the generators so that they register."""
from __future__ import annotations

from benchmark.generators.base import Generator
from benchmark.registry import Registry

__all__ = ["GENERATORS", "create_generator", "list_generators", "register_generator"]

GENERATORS = Registry("generator")
register_generator = GENERATORS.register
list_generators = GENERATORS.list


def create_generator(name: str, **config) -> Generator:
    """The generator registered as ``name``; an unknown name raises KeyError listing the known ones."""
    return GENERATORS.create(name, **config)
