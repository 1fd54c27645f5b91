"""Generator registry: `create_generator(name, **config)`, `list_generators()`.

The registry itself lives in the leaf :mod:`benchmark.generators._registry` (generators import it from
there); this package re-exports it and imports every generator so that each registers itself.
"""
from __future__ import annotations

from benchmark.generators._registry import GENERATORS, create_generator, list_generators, register_generator
from benchmark.generators.base import GenRequest, Generator, SyntheticSet

# Generators register themselves on import.
from benchmark.generators import augment, cutpaste, demo_oracle, diffusion, folder, noise  # noqa: F401

__all__ = ["GENERATORS", "GenRequest", "Generator", "SyntheticSet", "create_generator", "list_generators",
           "register_generator"]
