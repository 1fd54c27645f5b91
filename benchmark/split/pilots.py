"""The pilots sidecar: per-image outputs of the real-only pilot runs, kept beside a split manifest.

``datasets/splits/<name>.pilots.json`` next to ``<name>.json``: for every selection image (path, label,
group where the split is grouped) each pilot seed's predicted class and true-class probability, the
``manifest_sha256`` of the manifest they belong to and the pilot config. It is evidence of the split,
not part of it: the manifest's hash (in every run ID) does not change when pilots are added, and a
sidecar whose ``manifest_sha256`` is not the manifest's is stale and ignored. Its pilot seeds, like
the manifest's ``hardest.evidence.pilot_seeds``, are refused as reported seeds
(:func:`benchmark.protocol.guards`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.io import read_json, write_json_atomic
from benchmark.split.manifest import ManifestError, manifest_sha256

__all__ = ["SUFFIX", "KIND", "pilots_path", "pilot_config", "write_pilots", "load_pilots", "sidecar_pilot_seeds",
           "hardest_values"]

SUFFIX = ".pilots.json"
KIND = "scarce-bench pilot outputs"
FIELDS = ("kind", "manifest_sha256", "pilot_config", "pilot_seeds", "images", "runs")


def pilots_path(manifest_path: str | Path) -> Path:
    """``<dir>/<stem>.pilots.json`` for the manifest ``<dir>/<stem>.json``."""
    p = Path(manifest_path)
    return p.with_name(p.stem + SUFFIX)


def pilot_config(cfg: dict) -> dict:
    """What a pilot run's outputs depend on besides its seed: the model and the trainer."""
    return {"model": cfg["model"], "trainer": cfg["trainer"]}


def _run_outputs(probs: np.ndarray, labels: list[str], classes: list[str]) -> dict:
    p = np.asarray(probs, dtype=float)
    true = p[np.arange(len(labels)), [classes.index(c) for c in labels]]
    return {"predicted": [classes[k] for k in p.argmax(1)], "true_class_prob": [round(float(q), 6) for q in true]}


def write_pilots(manifest_path: str | Path, manifest: dict, classes: list[str], probs: dict[int, np.ndarray],
                 config: dict, keep: dict | None = None) -> Path:
    """Write the sidecar of ``manifest`` with the pilot runs ``probs`` ({seed: (N_selection, C)}), adding
    them to the runs of ``keep`` (a loaded sidecar of the same manifest and config)."""
    sel = manifest["files"]["selection"]
    labels = [e["label"] for e in sel]
    runs = dict((keep or {}).get("runs") or {})
    runs.update({str(s): _run_outputs(p, labels, classes) for s, p in probs.items()})
    images = [{"path": e["path"], "label": e["label"], **({"group": e["group"]} if "group" in e else {})} for e in sel]
    obj = {"kind": KIND, "manifest": Path(manifest_path).name, "manifest_sha256": manifest_sha256(manifest),
           "split": "selection", "pilot_config": config, "pilot_seeds": sorted(int(s) for s in runs),
           "images": images, "runs": {s: runs[s] for s in sorted(runs, key=int)}}
    return write_json_atomic(pilots_path(manifest_path), obj)


def load_pilots(manifest_path: str | Path, manifest: dict) -> tuple[dict | None, str]:
    """``(sidecar, why)``: the sidecar when present and of this manifest, else None and the reason."""
    path = pilots_path(manifest_path)
    if not path.is_file():
        return None, f"{path}: no pilots sidecar"
    side = read_json(path, ManifestError, "{path}: not valid JSON ({e}); expected a pilots sidecar")
    missing = [f for f in FIELDS if not isinstance(side, dict) or f not in side]
    if missing or side.get("kind") != KIND:
        raise ManifestError(f"{path}: field {(missing or ['kind'])[0]!r} missing or wrong; expected a "
                            f"{KIND!r} sidecar written by `scarce split` / `scarce plan`")
    if side["manifest_sha256"] != manifest_sha256(manifest):
        return None, (f"{path}: field 'manifest_sha256' is {side['manifest_sha256'][:12]}..., not this manifest's "
                      f"{manifest_sha256(manifest)[:12]}...: the pilots are of another split (stale)")
    paths = [e["path"] for e in manifest["files"]["selection"]]
    if [e["path"] for e in side["images"]] != paths or any(len(r["predicted"]) != len(paths)
                                                          for r in side["runs"].values()):
        raise ManifestError(f"{path}: field 'images' / 'runs' does not list the manifest's {len(paths)} "
                            "selection images in order; expected the sidecar of this manifest")
    return side, ""


def sidecar_pilot_seeds(manifest_path: str | Path) -> list[int]:
    """The pilot seeds recorded in the sidecar of ``manifest_path`` ([] without one): never reported seeds."""
    path = pilots_path(manifest_path)
    if not path.is_file():
        return []
    side = read_json(path, ManifestError, "{path}: not valid JSON ({e}); expected a pilots sidecar")
    return [int(s) for s in (side.get("pilot_seeds") or [])] if isinstance(side, dict) else []


def hardest_values(side: dict, hardest: str, endpoint: str) -> tuple[np.ndarray, np.ndarray]:
    """``(values, units)``: (pilot runs × hardest-class selection images) per-image endpoint values
    (``hardest_accuracy``: 1/0 correct; ``hardest_prob``: true-class probability) and the images' units."""
    cols = [j for j, e in enumerate(side["images"]) if e["label"] == hardest]
    if endpoint == "hardest_accuracy":
        rows = [[float(r["predicted"][j] == hardest) for j in cols] for r in side["runs"].values()]
    elif endpoint == "hardest_prob":
        rows = [[float(r["true_class_prob"][j]) for j in cols] for r in side["runs"].values()]
    else:
        raise ValueError(f"endpoint {endpoint!r}; expected hardest_accuracy or hardest_prob (per-image, in pp)")
    units = [side["images"][j].get("group", j) for j in cols]
    return np.array(rows, dtype=float).reshape(len(rows), len(cols)), np.asarray(units)
