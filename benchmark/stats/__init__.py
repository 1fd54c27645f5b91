"""Statistics for paired, seed-matched arm comparisons. Pure functions; no I/O."""
from benchmark.stats.paired import paired_differences, paired_summary, scarce_z, ttest_paired

__all__ = ["paired_differences", "paired_summary", "scarce_z", "ttest_paired"]
