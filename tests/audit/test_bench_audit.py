"""The audit benchmark's printout (python -m benchmark.bench.audit): the figures it prints are the closing note's."""
from benchmark.bench.audit import print_table


def test_print_table_reports_counts_rates_and_time_per_1000(capsys):
    rows = lambda ok, n: [(i < ok, f"/x/v{i:02d}.png", {}) for i in range(n)]  # noqa: E731
    res = {"dataset": "demo", "thresholds": {"hash": 21}, "image_size": 128, "n_images": 544, "seconds": 93.1,
           "kp_seconds": 56.0, "caught": {"exact": rows(8, 8), "rotate3": rows(7, 8)},
           "flagged": {"cutpaste": [{"inherited": True}], "noise": []}, "n_honest": {"cutpaste": 100, "noise": 50}}
    print_table(res)
    out = capsys.readouterr().out
    assert "| exact | 8 / 8 |" in out and "| rotate3 | 7 / 8  missed: v07.png |" in out
    assert "| **all** | 15 / 16 |" in out
    assert "| cutpaste | 1 / 100 (1.0 %) | 0 (0.0 %) |" in out and "| noise | 0 / 50 (0.0 %) | 0 (0.0 %) |" in out
    assert "93.1 s for 544 synthetic images = 171 s per 1,000" in out and "103 s per 1,000" in out
