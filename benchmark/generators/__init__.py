"""Generator registry: `create_generator(name, **config)`, `list_generators()`."""
from __future__ import annotations

from benchmark.generators.base import GenRequest, Generator, SyntheticSet
from benchmark.registry import Registry

GENERATORS = Registry("generator")
register_generator = GENERATORS.register
list_generators = GENERATORS.list


def create_generator(name: str, **config) -> Generator:
    return GENERATORS.create(name, **config)


from benchmark.generators import augment, cutpaste, diffusion, folder, noise  # noqa: E402,F401

__all__ = ["GenRequest", "Generator", "SyntheticSet", "create_generator", "list_generators", "register_generator"]
