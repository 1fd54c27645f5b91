"""The dataset registry leaf (timm's ``_registry.py`` pattern): adapters import this module, never the
package ``benchmark.data``, whose ``__init__`` imports the adapters so that they register.

``create_dataset(name, **options)`` raises KeyError on an unknown name, listing the known ones."""
from __future__ import annotations

from benchmark.registry import Registry

__all__ = ["DATASETS", "create_dataset", "list_datasets", "register_dataset"]

DATASETS = Registry("dataset")
register_dataset, create_dataset, list_datasets = DATASETS.register, DATASETS.create, DATASETS.list
