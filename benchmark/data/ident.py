"""A dataset's id: the one name its manifest (`datasets/splits/<id>.json`), its synthetic-set and audit caches
(`<cache_root>/synthetic/<id>/`), its records' `dataset` field (and so its run IDs), its report rows and the
published-row matching go by.

A built-in dataset's id is its name, as it always was (`dataset=magnetic_tile`: `magnetic_tile`; the adapter's
own name for adapters that derive one, e.g. `mvtec_ad_pill`), and takes no `dataset.id`. The adapters that read
any user folder (`imagefolder`, `yolo`, :data:`CUSTOM`) have no name of their own: every such dataset used to be
called `imagefolder`, so a second folder took the first one's manifest and the report could not tell them apart.
Their id is **required** (`dataset=imagefolder dataset.id=welds`), not derived from the folder name: the id is part
of every run ID, and a derived one would change when the same data is copied to another path (`dataset.root` is
not part of a run's identity, on purpose), and two exports in folders with one name (`.../a/images`,
`.../b/images`) would again share a manifest. `dataset.id=imagefolder` (`yolo` for yolo) stays allowed: it is the
id every such split had before ids, so those manifests, records and run IDs stay valid.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from benchmark import PROJECT_ROOT

CUSTOM = ("imagefolder", "yolo")  # adapters of user folders: their datasets need a dataset.id
# Adapters that name a dataset `<adapter>_<option>` (benchmark/data/mvtec_ad.py, plantvillage.py): an id with
# this prefix could take one of their manifests or caches
DERIVED_PREFIXES = ("mvtec_ad_", "plantvillage_")
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
ID_EXPECTED = ("a name of your own for this data: 1-64 characters, letters, digits, '_', '-' or '.', starting with "
               "a letter or digit (it names datasets/splits/<id>.json, the cache, the records and the report rows)")


def dataset_id(dcfg: dict) -> str:
    """The id of the dataset config `dcfg` (its `name` for built-in datasets); refuses a bad or missing id
    (ConfigError naming `dataset.id` and what is expected)."""
    from benchmark.config.checks import ConfigError  # lazy: benchmark.config imports the training stack

    name, given = dcfg["name"], dcfg.get("id")
    if name not in CUSTOM:  # (an unknown name is left to the registry, whose KeyError lists the known ones)
        if given is not None and given != name and name in known_names():
            raise ConfigError("dataset.id", given, f"null: dataset={name} is a built-in dataset whose id is its "
                                                   f"name; only {' and '.join(CUSTOM)} datasets take a dataset.id")
        return name
    if given is None:
        root = dcfg.get("root")
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(root)).name).strip("_.-") if root else ""
        example = stem if stem and ID_RE.fullmatch(stem) and not _taken(stem, name) else "welds"
        raise ConfigError("dataset.id", None, ID_EXPECTED, message=(
            f"dataset.id: missing; dataset={name} reads any folder, so the data needs a name of its own, e.g. "
            f"dataset.id={example} (1-64 letters, digits, '_', '-' or '.'): it names the manifest "
            f"datasets/splits/<id>.json, the cache, the records and the report rows"))
    if not isinstance(given, str) or not ID_RE.fullmatch(given):
        raise ConfigError("dataset.id", given, ID_EXPECTED)
    if taken := _taken(given, name):
        raise ConfigError("dataset.id", given, f"a name no other dataset has: {given!r} is {taken}, whose "
                                               f"manifest, cache and published figures this data would share")
    return given


def _taken(given: str, adapter: str) -> str | None:
    """What `given` would collide with (a built-in dataset, or a published dataset the report matches by
    normalised name), or None. Its own adapter's name is the legacy id, so it is free."""
    from benchmark.report.published import PUBLISHED_DIR, normalise

    if given == adapter:
        return None
    key = normalise(given)
    for other in known_names():
        if key == normalise(other):
            return f"the built-in dataset {other!r}"
    for prefix in DERIVED_PREFIXES:
        if key.startswith(normalise(prefix)):
            return f"a name the {prefix[:-1]} adapter derives ({prefix}<option>)"
    for path in sorted(PUBLISHED_DIR.glob("*.csv")):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                names = [row.get("dataset") or "", *(row.get("aliases") or "").split("|")]
                if key in {normalise(n) for n in names if n}:
                    return f"the published dataset {row['dataset']!r} ({path.relative_to(PROJECT_ROOT)})"
    return None


def known_names() -> list[str]:
    """Every dataset name the project ships: the config group (conf/dataset/) and the adapter registry."""
    from benchmark.data._registry import list_datasets

    return sorted({p.stem for p in (PROJECT_ROOT / "conf" / "dataset").glob("*.yaml")} | set(list_datasets()))


def named(dataset, dcfg: dict):
    """`dataset` (as its adapter built it) under the id of `dcfg`: custom datasets take their id as their name,
    which every downstream path (manifest, caches, records) reads."""
    if dcfg.get("name") in CUSTOM:
        dataset.name = dataset_id(dcfg)
    return dataset


def adapter_options(dcfg: dict, *skip: str) -> dict:
    """The adapter's keyword options of `dcfg`: without `name` and `id` (the id is applied by :func:`named`)."""
    return {k: v for k, v in dcfg.items() if k not in ("name", "id", *skip)}


def manifest_options(dcfg: dict, *skip: str) -> dict:
    """The dataset options a manifest records (`config.options`): without `name` and `root` (a manifest stays
    valid wherever the data is), with the id and, for a custom dataset, its `adapter` (`scarce plan` composes the
    dataset config back from a manifest)."""
    opts = {k: v for k, v in dcfg.items() if k not in ("name", "root", *skip)}
    return opts | ({"adapter": dcfg["name"]} if dcfg["name"] in CUSTOM else {})


def split_command(dcfg: dict) -> str:
    """`scarce split <dataset>` as a user types it for `dcfg` (a custom dataset's id and root included)."""
    if dcfg["name"] not in CUSTOM:
        return f"scarce split {dcfg['name']}"
    root = f" dataset.root={dcfg['root']}" if dcfg.get("root") else ""
    return f"scarce split {dcfg['name']} dataset.id={dataset_id(dcfg)}{root}"
