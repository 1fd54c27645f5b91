"""The oracle's reserve: real train images of the hardest class withheld, per fold, when the split is frozen.

With `split.reserve=<n or fraction>` `scarce split` draws, for each fold (the single split is fold 0), whole
independent units (groups, or images when the split is per image) of the hardest class from that fold's
train images until at least n images are withheld, and freezes them in the manifest (`reserve`). Every arm
then trains on the base (train minus the reserve): `real`, `placebo` (duplicates the base), `synthetic`
(the generator sees the base only) — and `oracle` adds the withheld real images, count-matched. The oracle
gain is what a perfect generator would give at that count (a known-answer control).
"""
from __future__ import annotations

import numpy as np

from benchmark.split.manifest import ManifestError

__all__ = ["draw_reserve", "reserve_size", "check_reserve"]


def reserve_size(spec, n_train: int) -> int:
    """Images to withhold of a class with `n_train` train images: an int count, or a float fraction of it."""
    if isinstance(spec, bool) or not isinstance(spec, (int, float)) or spec <= 0 or (isinstance(spec, float)
                                                                                       and spec >= 1):
        raise ValueError(f"split.reserve={spec!r}; expected null, an image count >= 1 (int) or a fraction of the "
                         f"hardest class's train images in (0, 1) (float)")
    n = int(spec) if isinstance(spec, int) else int(round(spec * n_train))
    if not 1 <= n < n_train:
        raise ValueError(f"split.reserve={spec!r} withholds {n} of the hardest class's {n_train} train images; "
                         f"expected at least 1 and fewer than all of them (the base keeps at least one)")
    return n


def draw_reserve(manifest: dict, spec, seed: int) -> dict:
    """The manifest's `reserve` block: {class, spec, seed, folds: {fold: [paths, in draw order]}}."""
    from benchmark.split.folds import fold_view, n_folds

    cls = manifest["hardest"]["class"]
    out = {}
    for f in range(n_folds(manifest)):
        pool = [e for e in fold_view(manifest, f)["files"]["train"] if e["label"] == cls]  # the view's order
        n = reserve_size(spec, len(pool))
        units = sorted({e.get("group", e["path"]) for e in pool}, key=str)
        taken: list[str] = []
        for u in np.random.default_rng([seed, f, 31]).permutation(len(units)):
            if len(taken) >= n:
                break
            taken += [e["path"] for e in pool if e.get("group", e["path"]) == units[u]]  # whole units
        if len(taken) >= len(pool):
            raise ValueError(f"split.reserve={spec!r}: fold {f}'s {cls!r} train images form too few independent "
                             f"units to withhold {n} and keep a base; expected a smaller reserve")
        out[str(f)] = taken
    return {"class": cls, "spec": spec, "seed": int(seed), "folds": out}


def check_reserve(m: dict, where: str) -> None:
    """The reserve of each fold: the hardest class's own train images of that fold, each once."""
    r = m.get("reserve")
    if r is None:
        return
    from benchmark.split.folds import fold_view, n_folds

    if not isinstance(r, dict) or r.get("class") != (m.get("hardest") or {}).get("class") or \
            not isinstance(r.get("folds"), dict) or sorted(r["folds"]) != sorted(str(f) for f in range(n_folds(m))):
        raise ManifestError(f"{where}: field 'reserve': expected {{class: the hardest class, folds: one list of "
                            f"train paths per fold 0..{n_folds(m) - 1}}} as written by `scarce split`")
    for f in range(n_folds(m)):
        train = {e["path"]: e["label"] for e in fold_view(m, f, reserve=False)["files"]["train"]}
        paths = r["folds"][str(f)]
        bad = next((p for p in paths if train.get(p) != r["class"]), None)
        if bad is not None or len(set(paths)) != len(paths) or not paths:
            raise ManifestError(f"{where}: field reserve.folds.{f}: {bad!r} is not a {r['class']!r} train image of "
                                f"fold {f} (or the list is empty or repeats one); expected the fold's own train images")
