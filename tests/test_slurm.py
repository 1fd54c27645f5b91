"""On a real SLURM cluster (a throw-away single-node one, scripts/slurm_local.sh): the demo study (3 arms x 3
seeds, feature bank) as a SLURM array gives the same records as under the basic launcher, and after real faults
(scancel of a running task, `scontrol requeue`, slurmd SIGKILLed and restarted) resubmitting the same command
completes it with every cell exactly once and identical numbers (scripts/chaos_slurm.py; its full run with
>= 10 faults of 4 kinds is run by hand).

Skipped, with the reason, where the daemons cannot start (not root, slurm-wlm/munge missing); scripts/test.sh
installs them when root and sets SCARCE_REQUIRE_SLURM=1, which turns that skip into a failure.
`pytest -m slurm` selects these; the job IDs they submitted are printed in the summary of plain `pytest -q`."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmark import PROJECT_ROOT
from tests.conftest import SUMMARY_LINES

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def chaos_run(slurm_cluster, tmp_path_factory):
    """One run of scripts/chaos_slurm.py: the basic reference, the uninterrupted SLURM study, then one study
    hit by 3 faults of 3 kinds and resubmitted. Both tests below read its figures."""
    work = tmp_path_factory.mktemp("chaos_slurm")
    out = work / "chaos.json"
    p = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "chaos_slurm.py"), "--faults", "3",
                        "--kinds", "scancel,requeue,slurmd", "--cluster", str(slurm_cluster), "--out",
                        str(work / "w"), "--no-timing", "--json", str(out)],
                       capture_output=True, text=True, timeout=1800)
    res = json.loads(out.read_text()) if out.exists() else {}
    for name, ids in res.get("jobs", {}).items():
        SUMMARY_LINES.append(f"test_slurm ({name}): SLURM job IDs {' '.join(ids)}")
    SUMMARY_LINES.extend(f"test_slurm: {line.strip()}" for line in res.get("fault_log", []))
    return p, res


def test_slurm_array_study_identical_to_basic(chaos_run):
    p, res = chaos_run
    assert res, p.stdout[-3000:] + p.stderr[-3000:]
    jobs = res["jobs"]["slurm"]  # array task folders <array>_<task>: 9 cells, one array
    assert len(jobs) == 9 and len({j.split("_")[0] for j in jobs}) == 1, jobs
    assert res["cells_per_sweep"] == 9
    assert (res["slurm_vs_basic"]["lost"], res["slurm_vs_basic"]["mismatched"]) == (0, 0), res["slurm_vs_basic"]
    assert res["slurm_vs_basic"]["duplicated"] == 0 and res["slurm_vs_basic"]["leftover_tmp"] == 0


def test_slurm_faults_then_resubmit_complete_study_exactly_once(chaos_run):
    p, res = chaos_run
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert res["by_kind"] == {"scancel": 1, "requeue": 1, "slurmd": 1}, res["fault_log"]
    assert (res["lost"], res["duplicated"], res["mismatched"], res["leftover_tmp"]) == (0, 0, 0, 0), res
    assert res["status_missing"] == 0 and res["status_failed"] == 0
    assert "lost: 0  duplicated: 0  mismatched: 0" in p.stdout
