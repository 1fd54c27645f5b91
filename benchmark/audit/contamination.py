"""Contamination: is a synthetic image a near-copy of a test image (leak) or of a train image (adds nothing)?

For every synthetic image: its nearest test and nearest train image by perceptual hash (pHash + dHash
bits, min over dihedral views x crops, see :mod:`.hashing`) and by backbone-feature cosine (max over the
8 dihedral views, see :mod:`.embeddings`). A near-copy is `hash_dist <= t_hash` OR `cos >= t_cos`.
Thresholds come from config (`audit.thresholds`); :func:`calibrate` proposes them from the *train* split
alone (near-copies made from train images vs distinct train images), never from test.
"""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from benchmark.audit.embeddings import query_features, reference_features, unit
from benchmark.audit.hashing import N_DIHEDRAL, min_distances, query_hashes, reference_hashes
from benchmark.data.base import load_rgb
from benchmark.generators.base import sha256_file
from benchmark.progress.bars import tqdm
from benchmark.train.bank import load_npy, save_npy_atomic

HASH_VERSION = "phash8+dhash8-v1"
TRANSFORMS = ("exact", "resize0.5", "resize1.5", "jpeg70", "jpeg50", "hflip", "rot90", "crop90")


def cached_hashes(paths: list[str], kind: str, cache_root: Path) -> np.ndarray:
    """(N, V, 2) uint64 hashes; kind 'query' (V = 8 dihedral views) or 'reference' (V = 19 crops)."""
    fn, v = (query_hashes, N_DIHEDRAL) if kind == "query" else (reference_hashes, 19)
    d = Path(cache_root) / "audit_hashes" / f"{HASH_VERSION}-{kind}"
    out = []
    for p in tqdm(paths, desc=f"hash {kind}", leave=False, disable=len(paths) < 500):
        sha = sha256_file(p)
        f = d / sha[:2] / f"{sha}.npy"
        arr = load_npy(f, (v, 2), np.uint64)
        if arr is None:
            arr = fn(load_rgb(p))
            save_npy_atomic(f, arr)
        out.append(np.asarray(arr))
    return np.stack(out) if out else np.empty((0, v, 2), np.uint64)


def nearest(qh: np.ndarray, rh: np.ndarray, qf: np.ndarray, rf: np.ndarray) -> dict[str, np.ndarray]:
    """Per query: nearest reference by hash (distance, index) and by cosine (value, index).
    qh (N, 8, 2), rh (M, 19, 2), qf (N, 8, D), rf (M, D)."""
    dist = np.stack([min_distances(q, rh) for q in qh]) if len(qh) else np.empty((0, len(rh)), np.int64)  # (N, M)
    cos = np.einsum("nvd,md->nvm", unit(qf), unit(rf)).max(axis=1) if len(qf) else np.empty((0, len(rf)))
    return {"hash_dist": dist.min(axis=1), "hash_idx": dist.argmin(axis=1),
            "cos": cos.max(axis=1), "cos_idx": cos.argmax(axis=1)}


def flags(near: dict[str, np.ndarray], thresholds: dict) -> np.ndarray:
    """(N,) bool: hash distance <= t_hash or cosine >= t_cos."""
    return (near["hash_dist"] <= int(thresholds["hash"])) | (near["cos"] >= float(thresholds["cosine"]))


def _jpeg(img: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def near_copy(img: Image.Image, how: str, rng: np.random.Generator) -> Image.Image:
    """One near-copy of an RGB image: one of TRANSFORMS (crop90 keeps 90 % of each side at a random offset)."""
    w, h = img.size
    if how == "exact":
        return img.copy()
    if how.startswith("resize"):
        f = float(how[len("resize"):])
        return img.resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BILINEAR)
    if how.startswith("jpeg"):
        return _jpeg(img, int(how[len("jpeg"):]))
    if how == "hflip":
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if how == "rot90":
        return img.rotate(90, expand=True)
    if how == "crop90":
        cw, ch = round(0.9 * w), round(0.9 * h)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        return img.crop((x, y, x + cw, y + ch))
    raise ValueError(f"near_copy: unknown transform {how!r}; expected one of {TRANSFORMS}")


def write_near_copy(src: str, how: str, out: Path, rng: np.random.Generator) -> Path:
    """Save a near-copy of `src` as `out`.png, or `out`.jpg for JPEG transforms (the re-encoded bytes
    themselves, so the artefacts on disk are the ones the audit sees)."""
    img = load_rgb(src)
    if how.startswith("jpeg"):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(how[len("jpeg"):]))
        out = out.with_suffix(".jpg")
        out.write_bytes(buf.getvalue())
        return out
    out = out.with_suffix(".png")
    near_copy(img, how, rng).save(out)
    return out


def _sorted_unique(train_paths: list, masks: list | None, groups: list | None) -> tuple[list[str], list | None, list | None]:
    """Sorted, de-duplicated paths, with masks / groups kept aligned to them."""
    first: dict[str, int] = {}
    for k, p in enumerate(map(str, train_paths)):
        first.setdefault(p, k)
    paths = sorted(first)
    return (paths, [masks[first[p]] for p in paths] if masks is not None else None,
            [groups[first[p]] for p in paths] if groups is not None else None)


def _keypoint_thresholds(paths: list[str], masks: list, groups, qi: list[int], excluded: np.ndarray,
                         cache_root: Path) -> dict:
    """The keypoint / defect-patch detector's thresholds on the same distinct queries `qi`; `excluded[k]`:
    the train images that are not distinct from query k (its own bytes, and the hash's near-copies of it)."""
    from benchmark.audit.keypoints import calibrate_keypoints
    from benchmark.data.base import load_mask

    return calibrate_keypoints(paths, [load_mask(m) if m else None for m in masks], qi,
                               [set(np.flatnonzero(excluded[k]).tolist()) | {i} for k, i in enumerate(qi)],
                               groups, cache_root)


def calibrate(train_paths: list[str], audit_cfg: dict, cache_root: Path, n_copies: int = 60,
              n_distinct: int = 200, seed: int = 0, masks: list[str | None] | None = None,
              groups: list | None = None) -> dict:
    """Propose thresholds from the train split only.

    near-copies: `n_copies` train images, each through every TRANSFORMS entry, vs their own original;
    distinct: `n_distinct` train images vs their nearest *other* train image (different bytes). t_hash is the
    midpoint of the gap between the largest near-copy and the smallest distinct distance (if they
    overlap, the largest near-copy distance, and `hash_overlap` says so: the split holds near-duplicates of
    its own, e.g. one object photographed twice). t_cos is the midpoint between the most similar distinct
    pair and the least similar near-copy when they separate, else halfway from that distinct pair to 1,
    so that cosine only adds flags where distinct train images never reach. With `masks` (and `groups`,
    aligned with `train_paths`) also the keypoint thresholds (:func:`.keypoints.calibrate_keypoints`)."""
    rng = np.random.default_rng(seed)
    paths, masks, groups = _sorted_unique(train_paths, masks, groups)
    pick = sorted(rng.choice(len(paths), size=min(n_copies, len(paths)), replace=False))
    rh, rf = cached_hashes(paths, "reference", cache_root), reference_features(paths, audit_cfg, cache_root, "train")
    shas = np.array([sha256_file(p) for p in paths])
    with tempfile.TemporaryDirectory(prefix="scarce-calib-") as tmp:
        copies, owner = [], []
        for i in pick:
            for how in TRANSFORMS:
                copies.append(str(write_near_copy(paths[i], how, Path(tmp) / f"{i}_{how}", rng)))
                owner.append(i)
        dup_d = np.array([min_distances(q, rh[[o]])[0]
                          for q, o in zip(cached_hashes(copies, "query", Path(tmp)), owner)])
        qf = query_features(copies, audit_cfg, Path(tmp), "calibrate copies")  # (n_copies * T, 8, D)
        dup_c = np.array([float((unit(f) @ unit(rf[o])).max()) for f, o in zip(qf, owner)])
    qi = sorted(rng.choice(len(paths), size=min(n_distinct, len(paths)), replace=False))
    qp = [paths[i] for i in qi]
    tq, tf = cached_hashes(qp, "query", cache_root), query_features(qp, audit_cfg, cache_root, "calibrate train")
    dist = np.stack([min_distances(q, rh) for q in tq]).astype(float)  # (n_distinct, M)
    cos = np.einsum("nvd,md->nvm", unit(tf), unit(rf)).max(axis=1)
    same = shas[qi][:, None] == shas[None, :]
    dist[same], cos[same] = np.inf, -np.inf
    d_min, c_max = float(dist.min(axis=1).min()), float(cos.max(axis=1).max())
    dup_max, dup_cmin = int(dup_d.max()), float(dup_c.min())
    t_hash = int((dup_max + d_min) // 2) if dup_max < d_min else dup_max
    t_cos = (dup_cmin + c_max) / 2 if dup_cmin > c_max else (1.0 + c_max) / 2
    kp = {} if masks is None else _keypoint_thresholds(paths, masks, groups, qi, same | (dist <= t_hash), cache_root)
    return {"hash": t_hash, "cosine": round(min(t_cos, 1.0), 4), **{k: v for k, v in kp.items() if k != "evidence"},
            "keypoint_evidence": kp.get("evidence"), "evidence": {
        "n_train": len(paths), "n_distinct_queries": len(qp), "n_near_copies": len(dup_d), "near_copy_hash_max": dup_max,
        "distinct_hash_min": d_min, "distinct_hash_quantiles": {
            q: float(np.quantile(dist.min(axis=1), q / 100)) for q in (1, 5, 50)}, "near_copy_cos_min": dup_cmin, "distinct_cos_max": c_max,
        "near_copy_hash_by_transform": {t: int(dup_d[i::len(TRANSFORMS)].max()) for i, t in enumerate(TRANSFORMS)},
        "near_copy_cos_by_transform": {t: float(dup_c[i::len(TRANSFORMS)].min()) for i, t in enumerate(TRANSFORMS)},
        "hash_overlap": dup_max >= d_min}}
