"""Backbone features for the audit: the project's frozen backbone (`benchmark.train.models.create_backbone`,
offline ImageNet weights), images resized as the feature bank does (`decode_cached`, plain resize).

- reference images (train / test): view 0 only, through the feature-bank cache
  (`benchmark.train.features.extract_features` with one view, so cached per file sha256);
- query (synthetic) images: their 8 dihedral views (rot90 x mirror of the resized tensor), one forward
  per image, cached per file sha256 under `<cache_root>/audit_features/<key>/`.

max over the query's views of cos(view, reference) equals "max over the reference's dihedral views": the
transforms are exact pixel permutations of the square resized image, and g(q) = r iff q = g^-1(r).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from benchmark.generators.base import sha256_file
from benchmark.progress.bars import tqdm
from benchmark.train.bank import decode_cached, load_npy, save_npy_atomic
from benchmark.train.features import build_extractor, embed, extract_features, feature_path, weights_identity

CODE_VERSION = "audit-dihedral-v2"  # v2: NHWC extractor
REFERENCE_TRAINER = {"views": 1, "augment": {}}  # view 0 = plain resize, nothing drawn at random


def model_cfg_of(audit_cfg: dict) -> dict:
    """The backbone the audit uses: `audit.model` (name, image_size, pretrained, checkpoint)."""
    m = dict(audit_cfg.get("model") or {})
    if "name" not in m or "image_size" not in m:
        raise ValueError(f"audit.model={m}: expected keys 'name' (a timm model) and 'image_size' (pixels)")
    return m


def reference_features(paths: list[str], audit_cfg: dict, cache_root: Path, desc: str) -> np.ndarray:
    """(N, D) float32 view-0 features of `paths` (feature-bank cache)."""
    feats, _ = extract_features(paths, model_cfg_of(audit_cfg), REFERENCE_TRAINER, cache_root, desc=desc)
    return np.asarray(feats[:, 0], dtype=np.float32)


def dihedral_views(x: torch.Tensor) -> torch.Tensor:
    """(3, S, S) -> (8, 3, S, S): rot90 by k = 0..3, each plain and mirrored (last axis)."""
    views = []
    for k in range(4):
        r = torch.rot90(x, k, dims=(1, 2))
        views += [r, torch.flip(r, dims=(2,))]
    return torch.stack(views)


def _key(model_cfg: dict) -> str:
    blob = json.dumps({"model": model_cfg["name"], "weights": weights_identity(model_cfg),
                       "image_size": int(model_cfg["image_size"]), "code": CODE_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def query_features(paths: list[str], audit_cfg: dict, cache_root: Path, desc: str = "audit features") -> np.ndarray:
    """(N, 8, D) float32 features of the 8 dihedral views of each image (view 0 = plain resize)."""
    model_cfg = model_cfg_of(audit_cfg)
    size, cache_root = int(model_cfg["image_size"]), Path(cache_root)
    key_dir = cache_root / "audit_features" / _key(model_cfg)
    shas = [sha256_file(p) for p in paths]
    found = {s: a for s in set(shas) if (a := load_npy(feature_path(key_dir, s), None, np.float32)) is not None
             and a.ndim == 2 and a.shape[0] == 8}
    todo = sorted({s: p for s, p in zip(shas, paths) if s not in found}.items())
    if todo:
        model, norm = build_extractor(model_cfg)
        for sha, p in tqdm(todo, desc=desc, leave=False, mininterval=2):
            img = torch.from_numpy(np.array(decode_cached(p, size, cache_root / "decoded", sha))).permute(2, 0, 1)
            found[sha] = embed(model, dihedral_views(img).float().div(255), norm).float().numpy()  # (8, D)
            save_npy_atomic(feature_path(key_dir, sha), found[sha])
    return np.stack([np.asarray(found[s], dtype=np.float32) for s in shas])


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (last axis)."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
