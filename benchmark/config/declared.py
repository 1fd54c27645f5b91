"""Schemas of what a study declares before it runs and its report reads back from the records: the primary
endpoint (benchmark/endpoints.py) and the volume curve's fit and threshold (benchmark/stats/volume.py). Neither is
part of a cell: they decide what the report tests and fits, never what trains."""
from __future__ import annotations

from dataclasses import dataclass

from benchmark.config.checks import nums, one_of, spec
from benchmark.endpoints import PRIMARY_CHOICES


@dataclass
class Endpoints:
    """The primary endpoint (benchmark/endpoints.py), declared before running; the others are secondary."""
    primary: str = spec("hardest_accuracy", one_of(*PRIMARY_CHOICES), "one of " + ", ".join(PRIMARY_CHOICES))


@dataclass
class VolumeCurve:  # the volume curve's fit and threshold (benchmark/stats/volume.py), declared before running
    fit: str = spec("saturating", one_of("saturating", "log", "peak", "saturating_linear"),
                    "saturating, log, peak or saturating_linear")
    threshold_pp: float = spec(0.1, nums(0, lo_open=True), "a finite number > 0 (pp per added image)")
