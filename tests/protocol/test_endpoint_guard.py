"""The primary endpoint is declared before running: a sweep that declares another one than the study's
existing records were run under is refused (it would otherwise keep them and report their declaration)."""
from __future__ import annotations

import pytest

from benchmark.config import ConfigError
from benchmark.protocol.cells import reusable
from benchmark.records import run_id, write_record

CELL = {"dataset": "tiles", "manifest_sha256": "sha", "arm": "real", "generator": None, "synthetic_key": None,
        "seed": 0, "k": None, "model": {"name": "m"}, "trainer": {"engine": "torch"}}


def _study(tmp_path, status="ok", primary=None):
    rec = {"schema": 1, "run_id": run_id(CELL), "status": status, "cell": CELL, "study": "unit",
           "config": {"endpoints": {"primary": primary}} if primary else {}}
    write_record(tmp_path, rec)
    return rec["run_id"]


@pytest.mark.parametrize("status", ["ok", "failed"])
def test_a_kept_record_of_another_primary_endpoint_is_refused(tmp_path, status):
    rid = _study(tmp_path, status, "hardest_ap")
    assert reusable({"endpoints": {"primary": "hardest_ap"}}, tmp_path, rid)["run_id"] == rid
    with pytest.raises(ConfigError) as e:
        reusable({"endpoints": {"primary": "hardest_prob"}}, tmp_path, rid)
    msg = str(e.value)
    assert msg.startswith("endpoints.primary='hardest_prob': the study's record ") and "'hardest_ap'" in msg
    assert "\n" not in msg
    # force=true reruns the cell, so nothing of the old declaration is kept
    assert reusable({"endpoints": {"primary": "hardest_prob"}, "force": True}, tmp_path, rid) is None


def test_records_before_the_key_count_as_hardest_accuracy(tmp_path):
    rid = _study(tmp_path)
    assert reusable({}, tmp_path, rid) is not None
    assert reusable({"endpoints": {"primary": "hardest_accuracy"}}, tmp_path, rid) is not None
    with pytest.raises(ConfigError, match="was run declaring 'hardest_accuracy'"):
        reusable({"endpoints": {"primary": "balanced_accuracy"}}, tmp_path, rid)
