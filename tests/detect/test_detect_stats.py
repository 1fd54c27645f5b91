"""TOST equivalence and one-sided superiority, against values computed by hand.

For df = 2 the t distribution has a closed form: F(t) = 1/2 + t / (2 sqrt(2 + t^2)). With d = [1, 2, 3]:
mean 2, sd 1, se = 1/sqrt(3), df 2.
"""
from __future__ import annotations

import math

import pytest

from benchmark.stats.equivalence import parity_verdict, superiority_paired, tost_paired


def F2(t: float) -> float:
    return 0.5 + t / (2 * math.sqrt(2 + t * t))


def test_tost_margin_3_not_equivalent():
    r = tost_paired([1, 2, 3], margin=3)
    se = 1 / math.sqrt(3)
    assert r["t_lower"] == pytest.approx(5 / se) and r["t_upper"] == pytest.approx(-1 / se)
    assert r["p_lower"] == pytest.approx(1 - F2(5 * math.sqrt(3)))  # 0.00654
    assert r["p_upper"] == pytest.approx(F2(-math.sqrt(3)))  # 0.5 - sqrt(3)/(2 sqrt(5)) = 0.11270
    assert r["p_tost"] == pytest.approx(0.112702, abs=1e-6) and not r["equivalent"]
    # 90 % interval: t_{0.95, 2} = 2.919986
    assert r["ci_low"] == pytest.approx(2 - 2.919986 * se, abs=1e-5)
    assert r["ci_high"] == pytest.approx(2 + 2.919986 * se, abs=1e-5)


def test_tost_margin_5_equivalent():
    r = tost_paired([1, 2, 3], margin=5)
    assert r["p_upper"] == pytest.approx(F2(-3 * math.sqrt(3)))  # 0.017549
    assert r["p_lower"] == pytest.approx(1 - F2(7 * math.sqrt(3)))  # 0.003365
    assert r["p_tost"] == pytest.approx(0.017549, abs=1e-6) and r["equivalent"]
    assert parity_verdict(r, {"p": 0.5}, {"p": 0.5}) == "equivalent (±5)"


def test_superiority_one_sided():
    assert superiority_paired([1, 2, 3])["p"] == pytest.approx(1 - F2(2 * math.sqrt(3)))  # 0.037090
    assert superiority_paired([1, 2, 3])["p"] == pytest.approx(0.037090, abs=1e-6)
    assert superiority_paired([-1, -2, -3])["p"] == pytest.approx(F2(2 * math.sqrt(3)))  # 0.962910
    assert parity_verdict({"equivalent": True, "margin": 1}, {"p": 0.01}, {"p": 0.99}) == "A better"


def test_degenerate_inputs():
    assert math.isnan(tost_paired([1.0], 1)["p_tost"]) and not tost_paired([1.0], 1)["equivalent"]
    r = tost_paired([0.2, 0.2, 0.2], 0.5)
    assert r["p_tost"] == 0.0 and r["equivalent"]
    with pytest.raises(ValueError, match="positive equivalence margin"):
        tost_paired([1, 2], 0)
