"""Training engines, picked by name (`trainer.engine`).

An engine is `fit_predict(dataset, train_items, eval_items, cfg, seeds) -> [(probs, log), ...]`:
for each seed, in order, (len(eval_items), n_classes) softmax probabilities in dataset.classes order
and a small dict log. `cfg` is the whole resolved run config (model, trainer, cache_root, ...).

The registry lives in the leaf module :mod:`._registry` (engine modules register with its
`register_engine`); seeds and thread counts in :mod:`.determinism`. This package only re-exports them
and imports the engine modules so that they register.
"""
from __future__ import annotations

from benchmark.train._registry import ENGINES, create_engine, register_engine
from benchmark.train.determinism import THREADS_ALLOWED, check_threads, resolve_threads, seed_everything, set_threads
from benchmark.train import engine_featurebank, engine_finetune  # noqa: F401  (register "featurebank", "finetune")

__all__ = ["ENGINES", "create_engine", "register_engine", "THREADS_ALLOWED", "check_threads", "resolve_threads",
           "seed_everything", "set_threads"]
