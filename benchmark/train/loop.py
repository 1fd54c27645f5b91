"""The training loop both engines share: a fixed optimizer-step budget, class-balanced batches.

`trainer.engine=finetune` (:mod:`.engine_finetune`) trains a whole model with `train_classifier`;
`trainer.engine=featurebank` (:mod:`.engine_featurebank`) reuses the sampler, budget, optimizer and step.

The schedule is identical across arms: the budget is counted in optimizer steps (so adding
images adds no updates), the seed fixes head init, batch order and augmentation, and the model
kept is the one after the last step (no selection, so the test split is never looked at).
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from benchmark.progress.bars import tqdm
from benchmark.train.transforms import augment_batch


class BalancedSampler:
    """Draws batches whose classes are uniform (then items uniform within class, or by `weights`).

    Without balancing a short run collapses onto the majority class (0 % on the rare ones).
    `weights` (N,) > 0: relative draw weights within each class (`synthetic.share`, benchmark/train/share.py);
    None = every item of a class equally likely, the draws of every study recorded before weights existed."""

    def __init__(self, y: torch.Tensor, g: torch.Generator, balance: str = "sampler", weights=None):
        self.y, self.g, self.balance = y, g, balance
        self.by_class = [torch.nonzero(y == c).flatten() for c in torch.unique(y)]
        if weights is not None and balance == "none":
            raise ValueError("trainer.balance=none: expected balance=sampler with synthetic.share (a share of a "
                             "class's draws needs class-balanced draws)")
        # per class k: k + the cumulative weights of its items, normalised so that the last is exactly k + 1
        self.cum = None if weights is None else [k + _unit_cumsum(torch.as_tensor(weights, dtype=torch.float64)[i])
                                                  for k, i in enumerate(self.by_class)]

    def draw(self, batch_size: int) -> torch.Tensor:
        if self.balance == "none":
            return torch.randint(0, len(self.y), (batch_size,), generator=self.g)
        cls = torch.randint(0, len(self.by_class), (batch_size,), generator=self.g)
        u = torch.rand(batch_size, generator=self.g)
        if self.cum is not None:  # the item whose cumulative-weight interval holds k + u
            return torch.stack([self.by_class[c][torch.searchsorted(self.cum[c], c + ui.double(), right=True)]
                                for c, ui in zip(cls.tolist(), u)])
        return torch.stack([self.by_class[c][int(ui * len(self.by_class[c]))] for c, ui in zip(cls.tolist(), u)])


def _unit_cumsum(w: torch.Tensor) -> torch.Tensor:
    """(n,) positive weights -> (n,) float64 cumulative shares ending exactly at 1 (no draw falls past the end)."""
    if len(w) and not bool((w > 0).all()):
        raise ValueError("sampler weights: expected every weight > 0")
    cum = torch.cumsum(w, 0) / w.sum()
    cum[-1] = 1.0
    return cum


def total_steps(cfg: dict, n_train: int) -> int:
    """The optimizer-step budget: `max_steps`, or `epochs` x batches per epoch (never both, never < 1)."""
    steps, epochs = cfg.get("max_steps"), cfg.get("epochs")
    if steps is not None and epochs is not None:
        raise ValueError("trainer: set either max_steps (a step budget) or epochs, not both")
    for key, v in (("max_steps", steps), ("epochs", epochs), ("batch_size", cfg.get("batch_size", 1))):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"trainer.{key}={v!r}: expected an integer >= 1")
    if steps is not None:
        return steps
    if epochs is not None:
        return epochs * math.ceil(n_train / cfg["batch_size"])
    raise ValueError("trainer: expected max_steps (> 0) or epochs (> 0)")


def make_optimizer(model: nn.Module, cfg: dict, steps: int):
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.get("optimizer", "adamw") == "sgd":
        opt = torch.optim.SGD(params, lr=cfg["lr"], momentum=0.9, weight_decay=cfg.get("weight_decay", 0.0))
    else:
        opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=cfg.get("weight_decay", 0.0))
    warm = int(cfg.get("warmup_steps", 0))

    def lr_at(step: int) -> float:  # linear warm-up then cosine to zero
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_at)


def update(opt, sched, loss: torch.Tensor, step: int) -> None:
    """One optimizer step; a non-finite loss fails the run (recorded as failed, never silently kept)."""
    if not torch.isfinite(loss):
        raise FloatingPointError(f"non-finite training loss ({loss.item()}) at step {step}")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()


def _freeze_backbone(model: nn.Module) -> None:
    head = set(map(id, model.get_classifier().parameters()))
    for p in model.parameters():
        p.requires_grad = id(p) in head


def to_input(x_uint8: torch.Tensor, mean, std, channels_last: bool = False) -> torch.Tensor:
    """(B, 3, S, S) uint8 -> normalised float (NHWC in memory when `channels_last`)."""
    x = x_uint8.float().div_(255)
    return _layout((x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1), channels_last)


def _layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    # NHWC lets oneDNN run the depthwise and 1x1 convs without layout reorders: ~1.4x fwd+bwd for
    # EfficientNet-Lite0 on CPU. Same math, but the float summation order differs (~1e-5 on the logits)
    # and AdamW's first steps amplify that, so a seed's trajectory differs as with another thread count.
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def use_channels_last(model: nn.Module, cfg: dict) -> bool:
    """Puts the model in NHWC memory format when `trainer.channels_last` (default off); returns the flag."""
    on = bool(cfg.get("channels_last", False))
    if on:
        model.to(memory_format=torch.channels_last)
    return on


def train_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: dict, seed: int,
                     norm: tuple, weights=None) -> dict:
    """x: (N, 3, S, S) uint8, y: (N,) long, weights: (N,) within-class draw weights or None. Trains in place;
    returns a small training log."""
    g = torch.Generator().manual_seed(seed)
    steps = total_steps(cfg, len(y))
    if cfg.get("freeze_backbone"):
        _freeze_backbone(model)
    cl = use_channels_last(model, cfg)  # before the optimizer: .to() must not re-create parameters
    opt, sched = make_optimizer(model, cfg, steps)
    sampler = BalancedSampler(y, g, cfg.get("balance", "sampler"), weights)
    model.train()
    if cfg.get("freeze_backbone"):
        model.eval()  # frozen BN statistics stay the pretrained ones
    losses, t0 = [], time.perf_counter()
    for step in tqdm(range(steps), desc="train", leave=False, mininterval=2):
        idx = sampler.draw(cfg["batch_size"])
        xb = augment_batch(x[idx].float().div_(255), g, cfg.get("augment", {}))
        xb = _layout((xb - torch.tensor(norm[0]).view(1, 3, 1, 1)) / torch.tensor(norm[1]).view(1, 3, 1, 1), cl)
        loss = F.cross_entropy(model(xb), y[idx], label_smoothing=cfg.get("label_smoothing", 0.0))
        update(opt, sched, loss, step)
        losses.append(loss.item())
    tail = losses[-max(1, steps // 10):]
    return {"steps": steps, "final_loss": sum(tail) / len(tail), "train_s": time.perf_counter() - t0}


@torch.no_grad()
def predict_probs(model: nn.Module, x: torch.Tensor, norm: tuple, batch_size: int = 128,
                  channels_last: bool = False) -> torch.Tensor:
    """x: (N, 3, S, S) uint8 -> (N, C) softmax probabilities (float64 for stable metrics)."""
    model.eval()
    out = [model(to_input(x[i:i + batch_size], *norm, channels_last)).double().softmax(1)
           for i in range(0, len(x), batch_size)]
    return torch.cat(out) if out else torch.empty(0, 0)
