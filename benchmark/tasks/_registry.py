"""The task registry, a leaf (timm's `_registry.py`): task plugins import this module, never the package.

A task is found by name: `create_task("detection")` returns the registered instance, importing the plugin
module `benchmark.tasks.<name>` first if nothing registered that name yet. So a new task is a new module
(or package) under `benchmark/tasks/` plus `conf/task/<name>.yaml`; nothing in the protocol core changes.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil

from benchmark.registry import Registry

TASKS = Registry("task")
register_task = TASKS.register


def _discover(name: str | None = None) -> None:
    """Import `benchmark.tasks.<name>` (or every task module) so that it registers itself."""
    import benchmark.tasks as pkg

    names = [name] if name else [m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]
    for n in names:
        if n.isidentifier() and importlib.util.find_spec(f"benchmark.tasks.{n}") is not None:
            importlib.import_module(f"benchmark.tasks.{n}")


def create_task(name: str):
    """The task instance registered as `name`; KeyError listing the known tasks otherwise."""
    if not isinstance(name, str) or not name:
        raise KeyError(f"task={name!r}: expected a task name; known tasks: {', '.join(list_tasks())}")
    if name not in TASKS.list():
        _discover(name)
    if name not in TASKS.list():
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(list_tasks())}")
    return TASKS.get(name)()


def list_tasks() -> list[str]:
    """Every task under benchmark/tasks/, imported and registered."""
    _discover()
    return TASKS.list()
