"""Dataset registry: `create_dataset(name, root=..., **options)`, `list_datasets()`.

The registry itself lives in the leaf :mod:`benchmark.data._registry` (adapters import it from there);
this package re-exports it and imports every adapter so that each registers itself.
"""
from __future__ import annotations

from benchmark.data._registry import DATASETS, create_dataset, list_datasets, register_dataset
from benchmark.data.base import Dataset, DatasetError, Item, load_mask, load_rgb

# Adapters register themselves on import.
from benchmark.data import demo, imagefolder, kolektorsdd, magnetic_tile, marble, mvtec_ad, neu_cls, \
    plantvillage, riawelc  # noqa: F401

__all__ = ["DATASETS", "Dataset", "DatasetError", "Item", "create_dataset", "list_datasets", "load_mask",
           "load_rgb", "register_dataset"]
