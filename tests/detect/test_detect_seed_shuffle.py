"""Detection seeds vary the batch order (issue 15, item 10), whatever the ultralytics release does.

Some ultralytics releases seed the train loader's shuffle with a constant (`6148914691236517205 + RANK`), so
YOLO seeds varied only init and augmentation and arms of equal size shared one batch order. These tests take
the trainer class and arguments `fit_and_score` hands to `YOLO.train` (intercepted: nothing is trained), build
that trainer's train loader on a tiny demo_det set and read one epoch's image order. Seconds on 2 cores."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from benchmark.cli import compose_config
from tests.detect_fixtures import tiny_demo_det, tiny_overrides


class _Intercepted(Exception):
    pass


@pytest.fixture(scope="module")
def det(tmp_path_factory):
    from benchmark.detect.data import create_det_dataset
    from benchmark.detect.offline import ultralytics
    from benchmark.detect.data import det_split_items

    tmp = tmp_path_factory.mktemp("shuffle")
    root, manifest = tiny_demo_det(tmp)
    cfg = OmegaConf.to_container(compose_config(tiny_overrides(tmp, root, manifest) + ["arm=real"]), resolve=True)
    ultralytics(cfg["cache_root"])
    m = json.loads(Path(manifest).read_text())
    return {"cfg": cfg, "ds": create_det_dataset(cfg["dataset"]), "tmp": tmp,
            **{s: det_split_items(m, s) for s in ("train", "selection", "test")}}


def epoch_order(det, seed: int, monkeypatch) -> list[str]:
    """The train images of the first epoch, in batch order, for the trainer `fit_and_score` would train with."""
    from ultralytics.engine.model import Model
    from ultralytics.models.yolo.detect import DetectionTrainer

    from benchmark.detect.yolo import fit_and_score

    seen = {}

    def intercept(self, trainer=None, **kwargs):
        seen.update(trainer=trainer, args=kwargs)
        raise _Intercepted

    with monkeypatch.context() as m:
        m.setattr(Model, "train", intercept)
        with pytest.raises(_Intercepted):
            fit_and_score(det["cfg"], det["ds"], det["train"], det["selection"], det["test"], seed, "speck",
                          det["tmp"] / f"work-{seed}")
    trainer = (seen["trainer"] or DetectionTrainer)(overrides={**seen["args"], "model": det["cfg"]["model"]["name"]})
    trainer._setup_train()  # model, optimizer and loaders, as train() builds them; no step is taken
    loader = trainer.train_loader
    it = iter(loader)
    order = [Path(f).name for _ in range(len(loader)) for f in next(it)["im_file"]]
    assert sorted(order) == sorted(Path(f).name for f in loader.dataset.im_files)  # one epoch = every image once
    return order


def constant_shuffle_seed(monkeypatch):
    """Make this ultralytics behave like the releases that seed the shuffle with a constant."""
    import ultralytics.models.yolo.detect.train as det_train
    from ultralytics.utils import RANK

    original = det_train.build_dataloader

    def build(*args, **kwargs):
        loader = original(*args, **kwargs)
        loader.generator.manual_seed(6148914691236517205 + RANK)
        return loader

    monkeypatch.setattr(det_train, "build_dataloader", build)


def test_seed_reaches_the_batch_order(det, monkeypatch):
    a, b, c, again = (epoch_order(det, s, monkeypatch) for s in (0, 1, 2, 0))
    assert again == a  # same seed, same order
    assert a != b and a != c and b != c  # another seed, another order


def test_seed_reaches_the_batch_order_where_ultralytics_seeds_a_constant(det, monkeypatch):
    from ultralytics.models.yolo.detect import DetectionTrainer

    constant_shuffle_seed(monkeypatch)
    # the emulated release really has the defect: its own trainer gives every seed one order
    plain = []
    for s in (0, 1):
        t = DetectionTrainer(overrides={**_args(det, s), "model": det["cfg"]["model"]["name"]})
        t._setup_train()
        plain.append([Path(f).name for f in next(iter(t.train_loader))["im_file"]])
    assert plain[0] == plain[1]
    a, b, again = (epoch_order(det, s, monkeypatch) for s in (0, 1, 0))
    assert again == a and a != b


def _args(det, seed: int) -> dict:
    from benchmark.detect.yolo import data_yaml, layout, train_args

    sets, work = det["tmp"] / "cache" / "detect" / "sets", det["tmp"] / f"plain-{seed}"
    work.mkdir(parents=True, exist_ok=True)
    tr, sel = layout(det["ds"], det["train"], sets), layout(det["ds"], det["selection"][:4], sets)
    return train_args(det["cfg"], data_yaml(work / "train.yaml", tr, sel, det["ds"].classes), seed, work)
