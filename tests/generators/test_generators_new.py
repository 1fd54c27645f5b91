"""New generators: augment (real images, classical augmentation), noise (a negative control) and diffusion
(a tiny DDPM trained here; a tiny local diffusers pipeline built here). Counts exactly as requested, sizes
and modes like the real images, masks consistent, deterministic given (inputs, config, seed), offline."""
from __future__ import annotations

import csv
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.cli import compose_config
from benchmark.data.base import Dataset, DatasetError, Item
from benchmark.generators import GenRequest, create_generator, list_generators
from benchmark.generators.base import sha256_file

CLASSES = ["good", "hole", "scratch"]
SIZES = {"good": [(40, 48), (48, 40), (44, 44), (40, 40)], "hole": [(40, 48), (52, 36), (36, 36)],
         "scratch": [(48, 48), (32, 56)]}  # (H, W): the real images differ in size, like Magnetic Tile's
TINY_DDPM = dict(resolution=16, block_out_channels=[8, 16], train_steps=3, batch_size=4, inference_steps=2,
                 sample_batch=4, num_train_timesteps=50, device="cpu")


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    """Grey PNGs; every defect image has a square bright defect exactly under its mask."""
    root, items = tmp_path / "ds", []
    for ci, (c, sizes) in enumerate(SIZES.items()):
        (root / c).mkdir(parents=True)
        for i, (h, w) in enumerate(sizes):
            rng = np.random.default_rng([ci, i])
            img = rng.integers(40, 90, (h, w), dtype=np.uint8)
            rel, rel_mask = f"{c}/{c}{i}.png", None
            if c != "good":
                m = np.zeros((h, w), bool)
                m[h // 3:h // 3 + 10, w // 2 - 5:w // 2 + 5] = True
                img[m] = 250
                rel_mask = f"{c}/{c}{i}_mask.png"
                Image.fromarray(m.astype(np.uint8) * 255).save(root / rel_mask)
            Image.fromarray(img).save(root / rel)
            items.append(Item(rel, c, rel_mask))
    return Dataset("tiny", root, CLASSES, "good", items)


def request(ds: Dataset, counts: dict[str, int], seed: int = 0) -> GenRequest:
    sha = {p: sha256_file(ds.abspath(p)) for it in ds.items for p in (it.path, it.mask) if p}
    return GenRequest(ds, list(ds.items), sha, counts, seed)


def provenance(s) -> dict[str, dict]:
    with open(s.root / "provenance.csv", newline="") as f:
        return {str(s.root / r["path"]): r for r in csv.DictReader(f)}


def test_registered():
    assert {"augment", "noise", "diffusion", "folder", "cutpaste"} <= set(list_generators())


def test_every_generator_has_a_commented_config():
    for name in ("augment", "noise", "diffusion"):
        cfg = compose_config([f"generator={name}"])["generator"]
        assert cfg["name"] == name and cfg["seed"] == 0
        text = (Path(__file__).parents[2] / "conf" / "generator" / f"{name}.yaml").read_text()
        assert all("#" in line for line in text.splitlines() if line and not line.startswith(("name:", " ")))


# ---------------------------------------------------------------- augment

def test_augment_counts_sizes_masks(dataset, tmp_path):
    s = create_generator("augment").materialize(request(dataset, {"hole": 7, "scratch": 3}), tmp_path / "c")
    assert s.counts() == {"hole": 7, "scratch": 3}
    prov = provenance(s)
    used = [prov[it.path]["source"] for it in s.items if it.label == "hole"]
    assert sorted(used.count(p) for p in set(used)) == [2, 2, 3]  # round-robin: 7 over 3 sources
    for it in s.items:
        src = dataset.abspath(prov[it.path]["source"])
        img, mask = Image.open(it.path), np.asarray(Image.open(it.mask))
        assert img.mode == "L" and img.size == Image.open(src).size == mask.shape[::-1]
        assert set(np.unique(mask)) <= {0, 255} and mask.any()  # crops keep the defect


def test_augment_mask_follows_the_geometry(dataset, tmp_path):
    """Photometric changes off: the bright defect must sit under the transformed mask."""
    gen = create_generator("augment", brightness=0, contrast=0, gamma=0, blur_p=0, crop_min_area=0.5)
    s = gen.materialize(request(dataset, {"hole": 12}), tmp_path / "c")
    flips = {k: 0 for k in ("hflip", "vflip")}
    for it in s.items:
        bright, mask = np.asarray(Image.open(it.path)) > 160, np.asarray(Image.open(it.mask)) > 127
        iou = (bright & mask).sum() / (bright | mask).sum()
        assert iou > 0.7, (it.path, iou)
        for k in flips:
            flips[k] += int(provenance(s)[it.path][k])
    assert 0 < flips["hflip"] < 12 and 0 < flips["vflip"] < 12  # both ways drawn


def test_augment_deterministic_and_seeded(dataset, tmp_path):
    a = create_generator("augment").materialize(request(dataset, {"hole": 5}), tmp_path / "a")
    b = create_generator("augment").materialize(request(dataset, {"hole": 5}), tmp_path / "b")
    c = create_generator("augment").materialize(request(dataset, {"hole": 5}, seed=1), tmp_path / "a")
    assert a.content_sha256 == b.content_sha256 and a.key == b.key
    assert c.content_sha256 != a.content_sha256 and c.key != a.key


def test_augment_refuses_bad_config_and_nominal(dataset, tmp_path):
    with pytest.raises(ValueError, match=r"augment: crop_min_area=0.01; expected a number in \[0.05, 1.0\]"):
        create_generator("augment", crop_min_area=0.01)
    with pytest.raises(DatasetError, match=r"augment: cannot generate class 'good'; expected one of"):
        create_generator("augment").materialize(request(dataset, {"good": 2}), tmp_path)
    assert not list(tmp_path.glob("augment-*"))  # nothing half-written is left as a cache entry


# ---------------------------------------------------------------- noise

def test_noise_texture_carries_no_class_pixels(dataset, tmp_path):
    s = create_generator("noise").materialize(request(dataset, {"hole": 6}), tmp_path / "c")
    assert s.counts() == {"hole": 6} and all(it.mask is None for it in s.items)
    train = [np.asarray(Image.open(dataset.abspath(it.path)), float) for it in dataset.items]
    sizes = {a.shape[::-1] for a in train}
    pooled = np.concatenate([a.ravel() for a in train])
    for it in s.items:
        img = Image.open(it.path)
        a = np.asarray(img, float)
        assert img.mode == "L" and img.size in sizes
        assert abs(a.mean() - pooled.mean()) < 0.25 * pooled.std()  # scaled to the pooled statistics
        assert not (a >= 250).sum() > 0.2 * a.size  # no pasted bright defect
    b = create_generator("noise").materialize(request(dataset, {"hole": 6}), tmp_path / "d")
    assert b.content_sha256 == s.content_sha256


def test_noise_relabel_uses_only_other_classes(dataset, tmp_path):
    s = create_generator("noise", mode="relabel").materialize(request(dataset, {"scratch": 8}), tmp_path / "c")
    assert s.counts() == {"scratch": 8}
    prov = provenance(s)
    for it in s.items:
        row = prov[it.path]
        assert row["source_label"] in ("good", "hole") and it.label == "scratch" and it.mask is None
        src = np.asarray(Image.open(dataset.abspath(row["source"])))
        assert np.array_equal(np.asarray(Image.open(it.path)), src)  # an unchanged other-class image
    with pytest.raises(ValueError, match=r"noise: mode='blur'; expected one of \['texture', 'relabel'\]"):
        create_generator("noise", mode="blur")


# ---------------------------------------------------------------- diffusion (a tiny DDPM)

@pytest.fixture
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError(f"network access attempted: {a}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_diffusion_ddpm_counts_sizes_determinism(dataset, tmp_path, no_network, monkeypatch):
    req = request(dataset, {"hole": 5, "scratch": 2})
    a = create_generator("diffusion", **TINY_DDPM).materialize(req, tmp_path / "a")
    assert a.counts() == {"hole": 5, "scratch": 2} and all(it.mask is None for it in a.items)
    prov = provenance(a)
    for it in a.items:
        img = Image.open(it.path)
        assert img.mode == "L" and img.size == Image.open(dataset.abspath(prov[it.path]["size_of"])).size
    units = list((tmp_path / "a").glob("diffusion-unet-*"))
    assert len(units) == 1 and (units[0] / "diffusion_pytorch_model.safetensors").is_file()
    b = create_generator("diffusion", **TINY_DDPM).materialize(req, tmp_path / "b")
    assert b.content_sha256 == a.content_sha256  # same inputs + config + seed, another cache root
    # another N (same classes) or another sampler reuses the trained UNet: no training
    import benchmark.generators.diffusion as diffusion

    monkeypatch.setattr(diffusion, "train_ddpm", lambda *a, **k: pytest.fail("UNet should be reused"))
    c = create_generator("diffusion", **TINY_DDPM).materialize(request(dataset, {"hole": 3, "scratch": 1}),
                                                                tmp_path / "a")
    assert c.counts() == {"hole": 3, "scratch": 1} and c.key != a.key
    d = create_generator("diffusion", **{**TINY_DDPM, "out_size": [20, 12], "sampler": "ddpm"}).materialize(
        request(dataset, {"hole": 2, "scratch": 2}), tmp_path / "a")
    assert {Image.open(it.path).size for it in d.items} == {(20, 12)}


def test_diffusion_config_errors(dataset, tmp_path):
    with pytest.raises(ValueError, match=r"resolution=18 must be divisible by 2\^\(len\(block_out_channels\)-1\)"):
        create_generator("diffusion", resolution=18, block_out_channels=[8, 16, 16])
    with pytest.raises(ValueError, match=r"diffusion: mode='gan'; expected one of \['ddpm', 'pipeline'\]"):
        create_generator("diffusion", mode="gan")
    with pytest.raises(ValueError, match="diffusion: mode=pipeline needs pipeline_dir="):
        create_generator("diffusion", mode="pipeline")
    with pytest.raises(FileNotFoundError, match=rf"pipeline_dir {tmp_path / 'nope'} does not exist; expected a "
                                                r"local diffusers pipeline directory containing model_index.json"):
        create_generator("diffusion", mode="pipeline", pipeline_dir=str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty has no model_index.json; expected a local diffusers"):
        create_generator("diffusion", mode="pipeline", pipeline_dir=str(tmp_path / "empty"))


# ---------------------------------------------------------------- diffusion (a local pipeline directory)

def tiny_sd_pipeline(out: Path, safetensors: bool = True) -> Path:
    """A randomly initialised, tiny Stable Diffusion pipeline (UNet 8/16 ch, 1-level VAE, 1-layer CLIP text
    encoder, a 5-token BPE vocabulary written here), saved like a user's local pipeline. Nothing downloaded."""
    import json

    import torch
    transformers = pytest.importorskip("transformers")
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2, "a</w>": 3, "a": 4}
    (out / "tok").mkdir(parents=True)
    (out / "tok" / "vocab.json").write_text(json.dumps(vocab))
    (out / "tok" / "merges.txt").write_text("#version: 0.2\n")
    tok = transformers.CLIPTokenizer(str(out / "tok" / "vocab.json"), str(out / "tok" / "merges.txt"),
                                     model_max_length=8)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=4,
                                out_channels=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=8,
                                norm_num_groups=4, attention_head_dim=2)
    vae = AutoencoderKL(block_out_channels=(8,), down_block_types=("DownEncoderBlock2D",),
                        up_block_types=("UpDecoderBlock2D",), latent_channels=4, norm_num_groups=4)
    text = transformers.CLIPTextModel(transformers.CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=8, intermediate_size=16, num_attention_heads=2,
        num_hidden_layers=1, vocab_size=len(vocab), max_position_embeddings=8))
    sched = DDIMScheduler(clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text, tokenizer=tok, scheduler=sched,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(out / "pipe", safe_serialization=safetensors)
    return out / "pipe"


def test_diffusion_local_pipeline(dataset, tmp_path, no_network):
    pipe_dir = tiny_sd_pipeline(tmp_path / "model")
    cfg = dict(mode="pipeline", pipeline_dir=str(pipe_dir), resolution=16, inference_steps=2, strength=0.5,
               prompt="a {label}", device="cpu")
    # hole: inpainted inside its masks; scratch with use_masks=false: img2img, no mask emitted
    gen = create_generator("diffusion", **cfg)
    a = gen.materialize(request(dataset, {"hole": 3}), tmp_path / "a")
    assert a.counts() == {"hole": 3}
    prov = provenance(a)
    for it in a.items:
        src = dataset.abspath(prov[it.path]["source"])
        assert prov[it.path]["pipeline"] == "inpaint" and Image.open(it.path).mode == "L"
        assert Image.open(it.path).size == Image.open(src).size == Image.open(it.mask).size
    b = create_generator("diffusion", **cfg).materialize(request(dataset, {"hole": 3}), tmp_path / "b")
    assert b.content_sha256 == a.content_sha256
    c = create_generator("diffusion", **cfg, use_masks=False).materialize(request(dataset, {"scratch": 2}),
                                                                          tmp_path / "a")
    assert c.counts() == {"scratch": 2} and all(it.mask is None for it in c.items)
    assert {r["pipeline"] for r in provenance(c).values()} == {"img2img"}
    # the directory's content is in the key: changed weights are another set
    (pipe_dir / "scheduler" / "scheduler_config.json").write_text(
        (pipe_dir / "scheduler" / "scheduler_config.json").read_text().replace("1000", "999"))
    assert create_generator("diffusion", **cfg).cache_key(request(dataset, {"hole": 3})) != a.key


def test_diffusion_pipeline_with_pickled_weights_is_refused(dataset, tmp_path, no_network):
    pipe_dir = tiny_sd_pipeline(tmp_path / "model", safetensors=False)  # .bin = pickle: never loaded
    gen = create_generator("diffusion", mode="pipeline", pipeline_dir=str(pipe_dir), resolution=16,
                           inference_steps=2, device="cpu")
    with pytest.raises(DatasetError, match=rf"diffusion: {pipe_dir}: cannot load it with AutoPipelineFor"
                                           r"Inpainting .*weights as safetensors"):
        gen.materialize(request(dataset, {"hole": 1}), tmp_path / "c")
    assert not any((tmp_path / "c").iterdir())  # no set, no half-written temp dir


# ---------------------------------------------------------------- end to end: scarce-run on the demo dataset

E2E = {"augment": [], "noise": [], "noise-relabel": ["generator.mode=relabel"],
       "diffusion": [f"generator.{k}={v}" for k, v in TINY_DDPM.items()]}
FAST = ["dataset=demo", "trainer=featurebank", "model=timm", "model.name=resnet10t", "model.image_size=32",
        "trainer.views=1", "trainer.max_steps=5", "synthetic.volume=4", "threads=1", "seed=0"]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e-cache")  # demo features are extracted once for all generators


@pytest.mark.parametrize("case", list(E2E))
def test_synthetic_arm_runs_with_generator(case, tmp_path, shared_cache):
    from benchmark.run import run

    name = case.split("-")[0]
    rec = run(compose_config([*FAST, "arm=synthetic", f"generator={name}", *E2E[case],
                              f"cache_root={shared_cache}", f"results_root={tmp_path}", "study=e2e"]))
    assert rec["status"] == "ok", rec.get("error")
    assert rec["cell"]["generator"] == name and rec["added_counts"]["pit"] == 4  # demo's hardest class
    assert sum(rec["added_counts"].values()) == 4 and rec["synthetic"]["content_sha256"]
    assert (tmp_path / "e2e" / "records" / f"{rec['run_id']}.json").is_file()
