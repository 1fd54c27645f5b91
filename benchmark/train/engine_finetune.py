"""`trainer.engine=finetune`: train a timm backbone end to end (or its head) per run."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from benchmark.data.base import Dataset, Item
from benchmark.train._registry import register_engine
from benchmark.train.bank import image_bank
from benchmark.train.determinism import seed_everything
from benchmark.train.loop import predict_probs, train_classifier
from benchmark.train.models import create_backbone, normalization


def _bank(dataset: Dataset, items: list[Item], size: int, desc: str, cache_dir: Path | None) -> torch.Tensor:
    """Decode each distinct file once (placebo duplicates share a decode), then index. With `cache_dir`
    the decoded arrays persist on disk across runs (identical values, no PIL decoding on a hit)."""
    paths = [str(dataset.abspath(it.path)) for it in items]
    uniq = sorted(set(paths))
    bank = image_bank(uniq, size, desc=desc, cache_dir=cache_dir)
    pos = {p: i for i, p in enumerate(uniq)}
    return bank[torch.tensor([pos[p] for p in paths], dtype=torch.long)]


@register_engine("finetune")
def fit_predict(dataset: Dataset, train: list[Item], evaluate: list[Item], cfg: dict,
                seeds: list[int], weights=None) -> list[tuple[np.ndarray, dict]]:
    """Per seed, in order: (len(evaluate), C) probabilities in dataset.classes order and a fit log.
    Images are decoded once for all seeds; each seed then trains its own model from scratch.
    weights: (len(train),) within-class draw weights (synthetic.share) or None."""
    t0 = time.perf_counter()
    model_cfg, trainer_cfg = cfg["model"], cfg["trainer"]
    size = int(model_cfg["image_size"])
    index = {c: i for i, c in enumerate(dataset.classes)}
    decoded = Path(cfg["cache_root"]) / "decoded" if cfg.get("cache_root") else None
    x_train = _bank(dataset, train, size, "decode train", decoded)
    y_train = torch.tensor([index[it.label] for it in train], dtype=torch.long)
    x_eval = _bank(dataset, evaluate, size, "decode eval", decoded)
    t_data = time.perf_counter() - t0
    return [_fit_one(x_train, y_train, x_eval, len(dataset.classes), model_cfg, trainer_cfg, s, t_data, weights)
            for s in seeds]


def _fit_one(x_train, y_train, x_eval, n_classes: int, model_cfg: dict, trainer_cfg: dict, seed: int,
             t_data: float, weights=None) -> tuple[np.ndarray, dict]:
    seed_everything(seed)  # head init, batch order and augmentation all follow from the seed
    model = create_backbone(model_cfg["name"], n_classes, pretrained=model_cfg.get("pretrained", True),
                            checkpoint=model_cfg.get("checkpoint"), drop_rate=model_cfg.get("drop_rate", 0.0))
    norm = normalization(model)
    log = train_classifier(model, x_train, y_train, trainer_cfg, seed, norm, weights)
    t1 = time.perf_counter()
    probs = predict_probs(model, x_eval, norm, trainer_cfg.get("eval_batch_size", 128),
                          channels_last=bool(trainer_cfg.get("channels_last", False))).numpy()
    log.update(data_s=t_data, eval_s=time.perf_counter() - t1, n_train=len(y_train), n_eval=len(x_eval))
    return probs, log
