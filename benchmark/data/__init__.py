"""Dataset registry: `create_dataset(name, root=..., **options)`, `list_datasets()`."""
from __future__ import annotations

from benchmark.data.base import Dataset, DatasetError, Item, load_mask, load_rgb
from benchmark.registry import Registry

DATASETS = Registry("dataset")
register_dataset = DATASETS.register
list_datasets = DATASETS.list


def create_dataset(name: str, **kwargs) -> Dataset:
    return DATASETS.create(name, **kwargs)


# Adapters register themselves on import.
from benchmark.data import demo, imagefolder, kolektorsdd, magnetic_tile, marble, mvtec_ad, neu_cls, \
    plantvillage, riawelc  # noqa: E402,F401

__all__ = ["Dataset", "DatasetError", "Item", "create_dataset", "list_datasets", "load_mask", "load_rgb",
           "register_dataset"]
