"""The generator registry leaf (timm's ``_registry.py`` pattern): generators import this module, never
the package ``benchmark.generators``, whose ``__init__`` imports the generators so that they register.

``create_generator(name, **config)`` raises KeyError on an unknown name, listing the known ones."""
from __future__ import annotations

from benchmark.registry import Registry

__all__ = ["GENERATORS", "create_generator", "list_generators", "register_generator"]

GENERATORS = Registry("generator")
register_generator, create_generator, list_generators = GENERATORS.register, GENERATORS.create, GENERATORS.list
