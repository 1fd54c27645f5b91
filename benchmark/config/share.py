"""The config check of `synthetic.share` (what it does: benchmark/train/share.py). Imports nothing heavy:
`scarce-run`'s whole-config check runs before anything is submitted."""
from __future__ import annotations

from benchmark.config.checks import ConfigError

__all__ = ["check_share"]


def check_share(cfg: dict) -> None:
    """synthetic.share weights the class-balanced sampler of the step-budget engines (benchmark/train/share.py)."""
    share, trainer = (cfg.get("synthetic") or {}).get("share"), cfg.get("trainer") or {}
    if share is not None and trainer.get("engine") not in ("finetune", "featurebank"):
        raise ConfigError("synthetic.share", share, f"null with trainer.engine={trainer.get('engine')!r} (a share "
                          "weights the finetune and featurebank engines' class-balanced sampler)")
    if share is not None and trainer.get("balance", "sampler") != "sampler":
        raise ConfigError("synthetic.share", share, "null with trainer.balance=none (a share of a class's draws "
                          "needs class-balanced draws: trainer.balance=sampler)")
