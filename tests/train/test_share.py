"""synthetic.share: a fixed part of a target class's draws for its added images (benchmark/train/share.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from scipy import stats

from benchmark.cli import compose_config
from benchmark.config.checks import ConfigError
from benchmark.config.schema import validate
from benchmark.train.engine_featurebank import FastBalancedSampler
from benchmark.train.loop import BalancedSampler
from benchmark.train.share import share_weights, synthetic_cell
from tests.train.test_engines import study  # noqa: F401  (fixture: a tiny split, featurebank-ready)

# 12 good, 4 real crack, then 10 added crack: the arm layout benchmark/arms.py builds (real train + added)
LABELS = ["good"] * 12 + ["crack"] * 4 + ["crack"] * 10
Y = torch.tensor([0 if c == "good" else 1 for c in LABELS])


def test_weights_give_the_added_items_their_share_of_the_class():
    w = share_weights(LABELS, 10, 0.25)
    crack = np.array(LABELS) == "crack"
    added = np.arange(len(LABELS)) >= 16
    assert w[added].sum() / w[crack].sum() == pytest.approx(0.25)  # the class's added items: s of its draws
    assert np.allclose(w[crack & ~added], 0.75 / 4) and np.allclose(w[added], 0.25 / 10)
    assert np.all(w[~crack] == 1)  # a class with no added item stays uniform
    assert share_weights(LABELS, 10, None) is None and share_weights(LABELS[:16], 0, 0.5) is None
    with pytest.raises(ValueError, match="synthetic.share"):
        share_weights(LABELS, 10, 1.0)


@pytest.mark.parametrize("sampler", [BalancedSampler, FastBalancedSampler])
def test_sampler_draws_match_the_share_by_an_exact_binomial_test(sampler):
    """20 000 draws; the added items' count among crack draws against Binomial(n_crack, s) (scipy), and every
    crack item's frequency against its weight by a chi-square goodness of fit."""
    s = 0.3
    smp = sampler(Y, torch.Generator().manual_seed(0), "sampler", share_weights(LABELS, 10, s))
    idx = torch.cat([smp.draw(500) for _ in range(40)]).numpy()
    crack = idx[idx >= 12]
    assert 0.45 < len(crack) / len(idx) < 0.55  # classes still balanced
    assert stats.binomtest(int((crack >= 16).sum()), len(crack), s).pvalue > 1e-3
    expected = np.r_[[0.7 / 4] * 4, [0.3 / 10] * 10] * len(crack)
    observed = np.bincount(crack - 12, minlength=14)
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    uniform = sampler(Y, torch.Generator().manual_seed(0), "sampler").draw(20000).numpy()
    assert ((uniform >= 16).sum() / (uniform >= 12).sum()) == pytest.approx(10 / 14, abs=0.02)  # no share: 10 of 14


def test_fast_weighted_draws_equal_the_reference_sampler():
    y = torch.tensor([0] * 12 + [1] * 7 + [2] * 3 + [4] * 5)  # class 3 absent
    w = np.random.default_rng(0).uniform(0.1, 3.0, len(y))
    slow = BalancedSampler(y, torch.Generator().manual_seed(7), "sampler", w)
    fast = FastBalancedSampler(y, torch.Generator().manual_seed(7), "sampler", w)
    for _ in range(20):
        a, b = slow.draw(64), fast.draw(64)
        assert torch.equal(a, b) and torch.equal(y[a], y[b])


def test_config_refuses_a_share_outside_0_1_and_where_no_sampler_honours_it():
    ok = validate(OmegaConf.to_container(compose_config(["trainer=featurebank", "synthetic.share=0.5"]), resolve=True))
    assert ok["synthetic"]["share"] == 0.5
    for over, field in ((["synthetic.share=1.5"], "synthetic.share"), (["synthetic.share=0"], "synthetic.share"),
                        (["trainer=featurebank", "trainer.balance=none", "synthetic.share=0.5"], "balance=none")):
        with pytest.raises(ConfigError, match=field):
            validate(OmegaConf.to_container(compose_config(over), resolve=True))
    with pytest.raises(ConfigError, match="synthetic.share.*yolo"):
        validate(OmegaConf.to_container(compose_config(["experiment=demo_det", "synthetic.share=0.5"]), resolve=True))


def test_cell_keeps_run_ids_without_a_share_and_a_share_trains_differently(study):  # noqa: F811
    from benchmark.run import run

    assert synthetic_cell({"volume": 5, "classes": None, "share": None}) == {"volume": 5, "classes": None}
    over, _ = study
    fb = [*over, "trainer=featurebank", "trainer.max_steps=60", "seed=1"]
    plain = run(compose_config([*fb, "arm=synthetic"]))
    shared = run(compose_config([*fb, "arm=synthetic", "synthetic.share=0.9"]))
    real = run(compose_config([*fb, "arm=real", "synthetic.share=0.9"]))
    assert plain["status"] == shared["status"] == real["status"] == "ok"
    assert "share" not in plain["cell"]["synthetic"] and shared["cell"]["synthetic"]["share"] == 0.9
    assert real["cell"]["synthetic"] is None  # the real arm has nothing to share: the same cell as without one
    assert real["run_id"] == run(compose_config([*fb, "arm=real"]))["run_id"]
    assert plain["run_id"] != shared["run_id"] and plain["predictions"]["probs"] != shared["predictions"]["probs"]
