"""Cross-fitted frozen folds: one selection split, and K disjoint test folds over every other image.

`scarce split --folds K` keeps the selection split of the single split with the same seed (so the hardest
class is chosen on the same images) and deals the remaining images — today's train and test together —
into K folds, stratified by class and, when the split is grouped, by group (one tile never straddles
folds), with scikit-learn's StratifiedGroupKFold. For fold f a run trains on the other K − 1 folds and
tests on fold f, so every non-selection image is tested exactly once.

Stored form: an ordinary manifest whose train / test are the view of fold 0 (train = folds 1..K−1), every
train and test entry carrying its `fold`, and a top-level `folds` = K. Code that knows nothing of folds
reads it as a valid single split; `fold_view(manifest, f)` re-deals train / test for fold f. The manifest
hash (in every run ID) is that of the stored file, and each cell adds its `fold`.
"""
from __future__ import annotations

import numpy as np

from benchmark.split.manifest import SPLITS, ManifestError, manifest_sha256

MAX_FOLDS = 20


def n_folds(manifest: dict) -> int:
    """K of a cross-fitted manifest; 1 for a single split."""
    return int(manifest.get("folds") or 1)


def deal_folds(labels: list[str], groups: np.ndarray | None, pool: list[int], k: int, seed: int) -> list[int]:
    """(len(pool),) fold of each index of `pool` (indices into `labels`): stratified by class, whole groups."""
    from sklearn.model_selection import StratifiedGroupKFold

    if not 2 <= k <= MAX_FOLDS:
        raise ValueError(f"split.folds={k}; expected 1 (a single split) or 2..{MAX_FOLDS} folds")
    y = [labels[i] for i in pool]
    g = np.asarray(pool) if groups is None else np.asarray(groups)[pool]
    if len(np.unique(g)) < k:
        raise ValueError(f"split.folds={k}: only {len(np.unique(g))} independent groups outside the selection "
                         f"split; expected at least {k}, one per fold")
    fold = np.full(len(pool), -1)
    for f, (_, test) in enumerate(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(
            np.zeros(len(pool)), y, g)):
        fold[test] = f
    return fold.tolist()


def fold_view(manifest: dict, f: int, reserve: bool = True) -> dict:
    """The manifest as fold `f` sees it: test = fold f, train = every other fold, selection unchanged, and
    (`reserve`) the fold's oracle reserve taken out of train into `reserve_files` (benchmark/split/reserve.py).
    `frozen_sha256` is the stored manifest's identity (run IDs), `fold` / `folds` say which view this is
    (a single split has no `fold`: its run IDs stay what they were)."""
    k = n_folds(manifest)
    if not (isinstance(f, int) and 0 <= f < k):
        raise ValueError(f"split.fold={f!r}: the manifest has {k} folds; expected null (all) or 0..{k - 1}")
    reserved = (manifest.get("reserve") or {}).get("folds", {}).get(str(f), []) if reserve else []
    held = set(reserved)
    if k == 1 and not held:
        return manifest
    pool = manifest["files"]["train"] + manifest["files"]["test"]
    if k > 1:  # a single split keeps its stored order (its runs' numbers depend on it)
        pool.sort(key=lambda e: (manifest["classes"].index(e["label"]), e["path"]))
    test = [e for e in pool if e.get("fold") == f] if k > 1 else manifest["files"]["test"]
    tested = {e["path"] for e in test}
    files = {"train": [e for e in pool if e["path"] not in tested and e["path"] not in held],
             "selection": manifest["files"]["selection"], "test": test}
    counts = {s: {c: sum(e["label"] == c for e in files[s]) for c in manifest["classes"]} for s in SPLITS}
    by_path = {e["path"]: e for e in pool}
    return {**manifest, "files": files, "counts": counts, **({"fold": f} if k > 1 else {}),
            "reserve_files": [by_path[p] for p in reserved],
            "frozen_sha256": manifest.get("frozen_sha256") or manifest_sha256(manifest)}


def frozen_sha256(manifest: dict) -> str:
    """The identity of the frozen split a (view of a) manifest comes from."""
    return manifest.get("frozen_sha256") or manifest_sha256(manifest)


def fold_counts(manifest: dict) -> dict[str, dict[str, int]]:
    """{fold: {class: test images}} of a cross-fitted manifest."""
    return {str(f): fold_view(manifest, f)["counts"]["test"] for f in range(n_folds(manifest))}


def check_folds(m: dict, where: str) -> None:
    """A cross-fitted manifest as a whole: K in range, every train / test entry in one fold (test = fold 0,
    train = the others), no group in two folds, the hardest class tested in every fold; each refusal names
    the manifest and the field."""
    k = m.get("folds")
    if k is None:
        return
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= MAX_FOLDS:
        raise ManifestError(f"{where}: field 'folds': {k!r}; expected an integer in 2..{MAX_FOLDS} (or no field)")
    group_fold: dict[int, int] = {}
    for s, ok in (("train", range(1, k)), ("test", range(0, 1))):
        for i, e in enumerate(m["files"][s]):
            fold = e.get("fold")
            if isinstance(fold, bool) or fold not in ok:
                raise ManifestError(f"{where}: field files.{s}[{i}].fold: {fold!r} ({e['path']}); expected "
                                    f"{'0 (the stored test split is fold 0)' if s == 'test' else f'1..{k - 1}'}")
            if "group" in e and group_fold.setdefault(e["group"], fold) != fold:
                raise ManifestError(f"{where}: field files.{s}[{i}].fold: {e['path']} is in fold {fold} but its "
                                    f"group {e['group']} is also in fold {group_fold[e['group']]}; expected every "
                                    f"group in one fold")
    if m.get("hardest"):
        cls = m["hardest"]["class"]
        empty = [f for f, c in fold_counts(m).items() if not c.get(cls)]
        if empty:
            raise ManifestError(f"{where}: field 'folds': fold(s) {empty} have no {cls!r} (hardest) test image; "
                                f"expected the hardest class in every fold")
