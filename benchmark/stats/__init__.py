"""Statistics for paired, seed-matched arm comparisons. Pure functions; no I/O.

- :mod:`.paired`: pairing by seed, SCARCE's z, Cohen's d_z, t-test, Wilcoxon signed-rank;
- :mod:`.bootstrap`: percentile bootstrap over seeds and over seeds × test images;
- :mod:`.multiple`: Holm's adjustment; :mod:`.power`: test-set resolution, seeds needed;
- :mod:`.decision`: the verdict rule; :mod:`.compare`: every statistic of one comparison;
- :mod:`.fewshot`: label efficiency; :mod:`.calibration`: A/A simulations of the rule;
- :mod:`.plausibility`: the SD a published (gain, z) implies, the seeds a z needs, the MDE, GRIM.
"""
from benchmark.stats.bootstrap import bootstrap_ci, hierarchical_bootstrap_ci
from benchmark.stats.compare import adjust_study, compare_arms
from benchmark.stats.decision import DecisionRule, decide, verdict
from benchmark.stats.fewshot import label_efficiency, mean_ci
from benchmark.stats.multiple import holm
from benchmark.stats.paired import (cohens_dz, paired_differences, paired_summary, scarce_z, ttest_paired,
                                    wilcoxon_p)
from benchmark.stats.plausibility import grim_reachable, implied_sd, mde_paired, seeds_for_z
from benchmark.stats.power import resolution_pp, seeds_needed

__all__ = ["paired_differences", "paired_summary", "scarce_z", "ttest_paired", "cohens_dz", "wilcoxon_p",
           "bootstrap_ci", "hierarchical_bootstrap_ci", "holm", "resolution_pp", "seeds_needed",
           "DecisionRule", "decide", "verdict", "compare_arms", "adjust_study", "label_efficiency", "mean_ci",
           "implied_sd", "seeds_for_z", "mde_paired", "grim_reachable"]
