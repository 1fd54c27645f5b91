"""The one place that imports ultralytics, after making it fully offline.

ultralytics reads its environment and settings at import time, so `ultralytics()` sets them first:
- `YOLO_OFFLINE=1` (no online check, hub, or update check) and `YOLO_AUTOINSTALL=false` (never pip);
- a project-owned `YOLO_CONFIG_DIR` (`<cache_root>/ultralytics`, unless the user set one) holding
  `Ultralytics/Arial.ttf` and `Arial.Unicode.ttf`, copies of matplotlib's DejaVuSans: ultralytics' font
  fetch ignores YOLO_OFFLINE and would download Arial from its assets server;
- settings `sync=False` and every logger integration off (clearml, comet, dvc, mlflow, wandb, ...).
Training also passes `amp=False` (the AMP check downloads yolo11n.pt) and builds models from `.yaml`
(`benchmark/detect/yolo.py`). `tests/detect/test_detect_offline.py` fails if any of it reaches the network.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from benchmark import PROJECT_ROOT

ENV = {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false", "YOLO_VERBOSE": "false"}
INTEGRATIONS_OFF = {"sync": False, "hub": False, "clearml": False, "comet": False, "dvc": False, "mlflow": False,
                    "neptune": False, "raytune": False, "tensorboard": False, "wandb": False,
                    "vscode_msg": False, "openvino_msg": False}
FONTS = ("Arial.ttf", "Arial.Unicode.ttf")


def prepare(cache_root: str | Path | None = None) -> Path:
    """Set the environment and lay down the fonts; returns the config dir. Idempotent."""
    cdir = Path(os.environ.get("YOLO_CONFIG_DIR") or Path(cache_root or PROJECT_ROOT / ".cache").resolve() / "ultralytics")
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    (cdir / "Ultralytics").mkdir(parents=True, exist_ok=True)
    for name in FONTS:  # plotting code asks for Arial; any .ttf under this name stops the download
        if not (cdir / "Ultralytics" / name).exists():
            shutil.copyfile(font, cdir / "Ultralytics" / name)
    os.environ.update(ENV)
    os.environ["YOLO_CONFIG_DIR"] = str(cdir)
    return cdir


def ultralytics(cache_root: str | Path | None = None):
    """`import ultralytics` with the offline environment in place; returns the module."""
    prepare(cache_root)
    import ultralytics as ul
    from ultralytics.utils import SETTINGS

    off = {k: v for k, v in INTEGRATIONS_OFF.items() if k in SETTINGS and SETTINGS[k] != v}
    if off:
        SETTINGS.update(off)
    _unpatch_pil_open()
    return ul


def _unpatch_pil_open() -> None:
    """ultralytics replaces PIL.Image.open process-wide with a wrapper that, on an unidentifiable file, tries to
    install and import `pi-heif` (HEIF support). Offline that turns our clear "unreadable image" errors into
    ModuleNotFoundError for every later caller in the process, so restore Pillow's own function."""
    from PIL import Image

    try:
        from ultralytics.utils import patches
    except ImportError:  # an ultralytics without the patch
        return
    original = getattr(patches, "_image_open", None)
    if original is not None and Image.open is getattr(patches, "image_open", None):
        Image.open = original
