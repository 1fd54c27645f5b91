"""Submit a sweep and go home: the SLURM launchers that record what they submitted
(`<study>/.submissions/<job_id>.json`), the SLURM queries (`squeue` / `sacct`) and the join that
`scarce status` shows per cell: queued / running / done / failed."""
