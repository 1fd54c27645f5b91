"""The throw-away local SLURM cluster (scripts/slurm_local.sh) every SLURM test shares: one per pytest session,
started on first use, its daemons (and only they) killed at the end whatever the tests did. Skips with the reason
where the daemons cannot start; SCARCE_REQUIRE_SLURM=1 (scripts/test.sh, root with SLURM installed) fails instead."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from benchmark import PROJECT_ROOT

CLUSTER_SH = PROJECT_ROOT / "scripts" / "slurm_local.sh"


def _cannot_start() -> str | None:
    if os.geteuid() != 0:
        return "not root (slurmd runs jobs as their owner)"
    missing = [b for b in ("munged", "slurmctld", "slurmd", "sbatch") if shutil.which(b) is None]
    return f"{', '.join(missing)} not installed (apt-get install -y slurm-wlm munge)" if missing else None


@pytest.fixture(scope="session")
def slurm_cluster():
    """One fresh cluster for the whole session (tests/test_slurm.py and tests/submit), under a short /tmp dir (the munge socket path must fit 108 bytes); SLURM_CONF set for
    the tests; its daemons, and only they, killed at teardown whatever the tests did."""
    reason = _cannot_start()
    if reason is None:
        d = Path(tempfile.mkdtemp(prefix="scarce-slurm-", dir="/tmp"))
        p = subprocess.run(["bash", str(CLUSTER_SH), "up", str(d)], capture_output=True, text=True, timeout=180)
        if p.returncode != 0:
            subprocess.run(["bash", str(CLUSTER_SH), "down", str(d)], capture_output=True, timeout=120)
            reason = f"the local cluster did not start: {p.stderr.strip()[-800:]}"
    if reason is not None:
        if os.environ.get("SCARCE_REQUIRE_SLURM") == "1":
            pytest.fail(f"SCARCE_REQUIRE_SLURM=1 but {reason}")
        pytest.skip(reason)
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(d / "slurm.conf")
    try:
        yield d
    finally:
        subprocess.run(["bash", str(CLUSTER_SH), "down", str(d)], capture_output=True, timeout=120)
        os.environ.pop("SLURM_CONF") if old is None else os.environ.__setitem__("SLURM_CONF", old)
        shutil.rmtree(d, ignore_errors=True)
