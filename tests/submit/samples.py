"""Output of Slurm 22.05.8's clients, captured from a local cluster (scripts/slurm_local.sh) on 2026-12-07:
an array `sbatch --array=0-3%1 --wrap 'sleep 20'` (job 1, task 3 cancelled while pending), `exit 3` (job 2),
`-t 1 sleep 200` (job 6, timed out), `sleep 200` cancelled (job 7), and a 2-job slurm_submit sweep (job 8)."""

SQUEUE_PENDING = "1_0|PENDING|None\n1_1|PENDING|None\n1_2|PENDING|None\n1_3|PENDING|None\n"  # -r
SQUEUE_PENDING_NO_R = "1_[0-3%1]|PENDING|None\n"  # without -r: the pending array as one line
SQUEUE_MIXED = "1_1|PENDING|JobArrayTaskLimit\n1_2|PENDING|JobArrayTaskLimit\n1_0|RUNNING|None\n"  # 1_3 cancelled
SQUEUE_ALL = """7|CANCELLED|None
1_2|COMPLETED|None
1_1|COMPLETED|None
1_0|COMPLETED|None
3|COMPLETED|None
8_0|RUNNING|None
8_1|RUNNING|None
2|FAILED|NonZeroExitCode
6|TIMEOUT|TimeLimit
"""
SQUEUE_INVALID = "slurm_load_jobs error: Invalid job id specified"  # stderr, exit 1: `-j 99999` alone
SACCT_DISABLED = "Slurm accounting storage is disabled"  # stderr, exit 1: no slurmdbd
# sacct -n -X -P -o JobID,State,ExitCode: the documented `--parsable2` layout (a cluster with slurmdbd; not
# captured here, the local cluster has no accounting): "CANCELLED by <uid>", pending tasks as a range
SACCT_DOC = "8_0|COMPLETED|0:0\n8_1|CANCELLED by 0|0:15\n8_[2-4%2]|PENDING|0:0\n9|TIMEOUT|0:0\n10|NODE_FAIL|0:0\n"
