"""Walk every registry (timm's tests/test_models.py walks list_models): each registered name has its Hydra
config, each config names a registered thing of the task it declares, and unknown names list the known ones."""
from __future__ import annotations

import pytest
import yaml

from benchmark import PROJECT_ROOT
from benchmark.data import DATASETS
from benchmark.detect.data import DET_DATASETS
from benchmark.detect.generators import DET_GENERATORS
from benchmark.generators import GENERATORS
from benchmark.tasks import create_task, list_tasks
from benchmark.train._registry import ENGINES

CONF = PROJECT_ROOT / "conf"


def _group(name: str) -> dict[str, dict]:
    """{file stem: its YAML} of one config group."""
    return {p.stem: yaml.safe_load(p.read_text()) or {} for p in sorted((CONF / name).glob("*.yaml"))}


def _kind(doc: dict) -> str:
    return doc.get("task") or "classification"


def test_every_task_has_its_config_and_each_config_its_task():
    files = _group("task")
    assert set(files) == set(list_tasks())
    for name, doc in files.items():
        assert doc["task"]["name"] == name


@pytest.mark.parametrize("group, registries, every_name_has_a_file", [
    # datasets: every MVTec AD category is registered; conf/dataset/ holds the SCARCE ones and mvtec_ad itself
    ("dataset", {"classification": DATASETS, "detection": DET_DATASETS}, False),
    ("generator", {"classification": GENERATORS, "detection": DET_GENERATORS}, True),
])
def test_configs_and_registries_agree(group, registries, every_name_has_a_file):
    configs = _group(group)
    for stem, doc in configs.items():
        reg = registries[_kind(doc)]
        assert doc["name"] in reg.list(), f"conf/{group}/{stem}.yaml names {doc['name']!r}, not a {reg.kind}"
    for kind, reg in registries.items() if every_name_has_a_file else ():
        named = {doc["name"] for doc in configs.values() if _kind(doc) == kind}
        assert set(reg.list()) <= named, f"{reg.kind}s without a conf/{group}/ file: {set(reg.list()) - named}"


def test_every_engine_has_a_trainer_config_and_exactly_one_task():
    create_task("detection")  # registers the yolo engine
    trainers = {doc["engine"] for doc in _group("trainer").values()}
    assert set(ENGINES.list()) == trainers
    owners = {e: [t for t in list_tasks() if e in create_task(t).engines] for e in ENGINES.list()}
    for engine, tasks in owners.items():
        assert tasks, f"engine {engine!r} belongs to no task"
        assert len({create_task(t).dataset_task for t in tasks}) == 1, (engine, tasks)


@pytest.mark.parametrize("registry", [DATASETS, DET_DATASETS, GENERATORS, DET_GENERATORS, ENGINES])
def test_unknown_names_list_the_known_ones(registry):
    with pytest.raises(KeyError, match=f"unknown {registry.kind} 'nope'; known {registry.kind}s: "
                                       f"{', '.join(registry.list())}"):
        registry.get("nope")


def test_each_task_generator_registry_is_the_one_its_configs_name():
    for name in list_tasks():
        task = create_task(name)
        expected = DET_GENERATORS if task.dataset_task == "detection" else GENERATORS
        assert task.generators is expected
