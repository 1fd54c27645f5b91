"""scarce-bench: does synthetic data help the class where real data is scarcest? Measured honestly."""
from pathlib import Path

__version__ = "0.1.0"

# The repository root (holds conf/, datasets/, results/); relative defaults are resolved from here.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
