"""Keep near-duplicate images in one split.

Some datasets photograph one physical part several times: Magnetic Tile images each tile under
several exposures (`exp1_num_3504.jpg` and `exp2_num_3524.jpg` are the same tile). A split drawn per
image then puts one exposure in train and another in test, so test accuracy measures recall of a
seen tile, and an audit cannot tell a generator's copy of a test image from a copy of its train twin.

`near_duplicate_groups` links images whose perceptual hashes (pHash + dHash, 128 bits, the audit's
hashes) differ by at most `max_bits` and takes connected components as groups; `group_split` then
assigns whole groups to train / selection / test, stratified by class, with scikit-learn's
StratifiedGroupKFold. `cross_split_near_duplicates` counts what a split leaks.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist

from benchmark.progress.bars import tqdm

DEFAULT_MAX_BITS = 8  # Magnetic Tile: exposures of one tile are 0..8 bits apart; 12+ chains tiles together


def image_hashes(paths: list[str]) -> np.ndarray:
    """(N, 128) uint8 bits: pHash and dHash of each image's grey thumbnail."""
    from benchmark.audit.hashing import hash_pair, thumbnail
    from benchmark.data.base import load_rgb  # an unreadable file raises DatasetError naming it

    out = [hash_pair(thumbnail(load_rgb(p))) for p in tqdm(paths, desc="hash images", leave=False, mininterval=2)]
    h = np.stack(out)  # (N, 2) uint64
    return np.unpackbits(h.view(np.uint8).reshape(len(h), -1), axis=1)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, B) and (M, B) 0/1 bits -> (N, M) Hamming distances (numbers of differing bits)."""
    d = cdist(np.asarray(a, bool), np.asarray(b, bool), "hamming")  # the fraction of the B bits that differ
    d *= np.shape(a)[1]
    return np.rint(d, out=d).astype(np.int32)


def near_duplicate_groups(bits: np.ndarray, max_bits: int = DEFAULT_MAX_BITS, parts: list | None = None) -> np.ndarray:
    """(N,) group id per image: connected components of the graph 'Hamming distance <= max_bits, or the same
    physical part' (`parts[i]`: the dataset's own part id of image i, e.g. a Magnetic Tile tile; None: none)."""
    linked = hamming(bits, bits) <= max_bits
    if parts is not None:
        ids = np.unique(np.asarray(parts, dtype=object).astype(str), return_inverse=True)[1]
        linked |= ids[:, None] == ids[None, :]
    _, comp = connected_components(linked, directed=False)
    return comp


def same_part_across(parts: list, split_of: list[str]) -> dict[str, int]:
    """How many selection / test images share a physical part with a train image."""
    train = {p for p, s in zip(parts, split_of) if s == "train"}
    return {s: sum(p in train for p, t in zip(parts, split_of) if t == s) for s in ("selection", "test")}


def group_split(labels: list[str], groups: np.ndarray, fractions: dict[str, float], seed: int) -> dict[str, list[int]]:
    """Indices per split; every group lies in one split. Folds of size `test` fraction: one fold is the
    test split, the next the selection split, the rest train (so selection and test must be equal)."""
    from sklearn.model_selection import StratifiedGroupKFold

    if abs(fractions["selection"] - fractions["test"]) > 1e-9:
        raise ValueError(f"split.group: fractions {fractions}; grouped splits need selection == test "
                         f"(both are one fold of StratifiedGroupKFold)")
    k = round(1 / fractions["test"])
    if len(np.unique(groups)) < k:
        raise ValueError(f"split.group: {len(np.unique(groups))} groups (parts) in the whole dataset; a grouped split "
                         f"with test fraction {fractions['test']} needs at least {k}, and every class in every split")
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    parts = [test for _, test in folds.split(np.zeros(len(labels)), labels, groups)]
    out = {"test": sorted(parts[0].tolist()), "selection": sorted(parts[1].tolist()),
           "train": sorted(np.concatenate(parts[2:]).tolist())}
    for split, idx in out.items():
        missing = sorted(set(labels) - {labels[i] for i in idx})
        if missing:
            raise ValueError(f"split.group: the {split} split got no image of class(es) {missing} (too few groups); "
                             f"expected every class in every split: lower split.group_max_bits or split per image")
    return out


def cross_split_near_duplicates(bits: np.ndarray, split_of: list[str], max_bits: int) -> dict[str, int]:
    """How many selection / test images have a near-duplicate (<= max_bits) in train."""
    split_of = np.asarray(split_of)
    train = bits[split_of == "train"]
    out = {}
    for s in ("selection", "test"):
        held = bits[split_of == s]
        out[s] = int((hamming(held, train).min(1) <= max_bits).sum()) if len(held) and len(train) else 0
    return out
