"""Pre-registered choice of the hardest class, made on the selection split, never on test.

Default rule: among defect classes, the lowest real-only accuracy on the selection split averaged
over pilot seeds (disjoint from reported seeds); ties broken by fewest training labels.
"""
from __future__ import annotations

import numpy as np

RULE = ("lowest mean real-only accuracy on the selection split over the pilot seeds "
        "(defect classes only); ties broken by fewest training labels")


def choose_hardest(per_seed: dict[int, dict[str, float]], train_counts: dict[str, int],
                   candidates: list[str]) -> tuple[str, dict]:
    """per_seed: {pilot seed: {class: selection accuracy}} -> (class, evidence for the manifest)."""
    if not per_seed:
        raise ValueError("choose_hardest: no pilot results")
    mean = {c: float(np.mean([acc[c] for acc in per_seed.values()])) for c in candidates}
    # Sort key: accuracy rounded to 1e-9 (float noise is not a difference), then fewest labels, then name.
    ranked = sorted(candidates, key=lambda c: (round(mean[c], 9), train_counts[c], c))
    evidence = {
        "rule": "selection",
        "description": RULE,
        "pilot_seeds": sorted(per_seed),
        "selection_accuracy": {str(s): per_seed[s] for s in sorted(per_seed)},
        "mean_selection_accuracy": mean,
        "train_counts": {c: train_counts[c] for c in candidates},
        "ranking": ranked,
    }
    return ranked[0], evidence


def fixed_hardest(cls: str, classes: list[str], reason: str) -> tuple[str, dict]:
    """Hardest class fixed by config (e.g. to reproduce a published choice)."""
    if cls not in classes:
        raise ValueError(f"hardest class {cls!r} is not in the taxonomy {classes}")
    return cls, {"rule": "fixed", "description": f"fixed by config: {reason}"}
