"""Tasks (classification, detection, ...) behind one protocol core; `create_task(name)`, `list_tasks()`.

Plugins import `benchmark.tasks._registry` and `benchmark.tasks.base`; a module or package dropped into
this folder is found by its name (see _registry.py).
"""
from benchmark.tasks._registry import TASKS, create_task, list_tasks, register_task
from benchmark.tasks.base import Task

__all__ = ["TASKS", "Task", "create_task", "list_tasks", "register_task"]
