"""What a design can resolve: the test split's granularity and the seeds a target z would need."""
from __future__ import annotations

import math

__all__ = ["resolution_pp", "seeds_needed", "DEFAULT_TARGET_Z"]

DEFAULT_TARGET_Z = 3.4  # SCARCE's bar for a "significant" gain


def resolution_pp(n_test_images: int) -> float:
    """Smallest change in one run's hardest-class accuracy the test split can show: one image, 100/m pp.

    With 10 hardest-class test images a run's accuracy moves in steps of 10 pp, so a 4 pp gain is
    something no single run can exhibit; it can only appear as an average over seeds. NaN for m = 0.
    """
    return 100.0 / n_test_images if n_test_images and n_test_images > 0 else math.nan


def seeds_needed(mean: float, sd: float, target_z: float = DEFAULT_TARGET_Z) -> float:
    """Seeds n for which ``|mean| / (sd/√n) ≥ target_z`` if the observed mean and sd held: ⌈(z·sd/mean)²⌉.

    At least 2 (a sample sd needs two seeds). ``inf`` when the mean is 0 (no number of seeds makes
    a zero effect significant); 2 when sd is 0 and the mean is not; NaN when either is missing.
    This plans the *next* study; it is no guarantee (mean and sd are themselves noisy estimates).
    """
    if mean is None or sd is None or math.isnan(mean) or math.isnan(sd):
        return math.nan
    if mean == 0.0:
        return math.inf
    if sd == 0.0:
        return 2.0
    return float(max(2, math.ceil((target_z * sd / abs(mean)) ** 2 - 1e-12)))
