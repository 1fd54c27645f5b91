"""Curation as an arm dimension: `curation=<name>` keeps N of an r·N pool from the same generator, so every
curation variant trains on exactly N synthetic images (equal volume). Selectors register by name."""
from benchmark.curation import selectors  # noqa: F401  (registers the built-in selectors)
from benchmark.curation._registry import CURATORS, create_curator, list_curators, register_curator
from benchmark.curation.pool import Curation, curated_set, select

__all__ = ["CURATORS", "Curation", "create_curator", "curated_set", "list_curators", "register_curator", "select"]
