"""The task-neutral protocol core (see core.py); tasks plug in through `benchmark.tasks`."""
from benchmark.protocol.core import run_cells, study_dir, task_of
from benchmark.protocol.guards import frozen_manifest, requested_seeds

__all__ = ["run_cells", "study_dir", "task_of", "frozen_manifest", "requested_seeds"]
