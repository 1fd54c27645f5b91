"""The dataset registry leaf (timm's ``_registry.py`` pattern): adapters import this module, never the
package ``benchmark.data``, whose ``__init__`` imports the adapters so that they register."""
from __future__ import annotations

from benchmark.data.base import Dataset
from benchmark.registry import Registry

__all__ = ["DATASETS", "create_dataset", "list_datasets", "register_dataset"]

DATASETS = Registry("dataset")
register_dataset = DATASETS.register
list_datasets = DATASETS.list


def create_dataset(name: str, **kwargs) -> Dataset:
    """The adapter registered as ``name``; an unknown name raises KeyError listing the known ones."""
    return DATASETS.create(name, **kwargs)
