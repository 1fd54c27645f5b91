"""scarce-bench's Hydra plugins (see slurm_launcher.py)."""
