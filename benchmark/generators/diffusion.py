"""Diffusion (diffusers), fully offline. Two modes:

- `mode: ddpm`: train a small class-conditional DDPM (`UNet2DModel` built from this config, random init,
  nothing downloaded) on the real train images of the target class(es) at `resolution` px, then sample N
  images per class with a DDIM (or DDPM) scheduler in `inference_steps` steps and upsample them to the size
  of a real train image of that class (round-robin over a seeded shuffle) or `out_size`.
  ONE model, conditioned on the class (`num_class_embeds` = number of training classes), rather than one
  model per class: with `train_classes: all` the scarce class shares every other class's texture statistics
  (the point of conditioning when a class has ~20-60 images); with the default (the requested classes only)
  a single class is simply an unconditional model with one learned embedding. The trained UNet is saved
  (`save_pretrained`, safetensors) in its own cache entry `diffusion-unet-<key>` beside the set, keyed by
  the training inputs only, so a request for another N (or another sampler) reuses it.
- `mode: pipeline`: a local diffusers pipeline directory (`pipeline_dir`), see `diffusion_local.py`.

Everything is seeded (weights via torch.manual_seed inside fork_rng, batches / noise via explicit
generators). The resolved device is part of the cache key: CUDA and CPU sets differ in their last bits.
Outputs carry no masks (a sampled image has no known defect region).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

# Never reach a model hub: these must be set before huggingface_hub / diffusers read them.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DIFFUSERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from benchmark.data.base import Item  # noqa: E402
from benchmark.generators._registry import register_generator  # noqa: E402
from benchmark.generators.base import GenRequest, Generator  # noqa: E402
from benchmark.io import atomic_dir  # noqa: E402
from benchmark.progress.bars import tqdm  # noqa: E402
from benchmark.generators.sources import class_rng, is_grey, load_source, round_robin, save_output, \
    train_pool, wanted_counts, write_rows  # noqa: E402

MODES = ("ddpm", "pipeline")
SAMPLERS = ("ddim", "ddpm")
# what the UNet cache entry depends on (sampling keys are left out so another N / sampler reuses it)
TRAIN_KEYS = ("resolution", "block_out_channels", "layers_per_block", "train_steps", "batch_size", "lr",
              "num_train_timesteps", "flip", "train_classes", "device")


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda") or (device == "cuda" and not torch.cuda.is_available()):
        raise ValueError(f"diffusion: device={device!r}; expected auto, cpu or cuda (with a GPU present)")
    return device


@register_generator("diffusion")
class Diffusion(Generator):
    name = "diffusion"
    version = "1"

    def __init__(self, mode: str = "ddpm", resolution: int = 32, block_out_channels=(16, 32, 64),
                 layers_per_block: int = 1, train_steps: int = 1000, batch_size: int = 16, lr: float = 1e-3,
                 num_train_timesteps: int = 1000, flip: bool = True, train_classes=None, sampler: str = "ddim",
                 inference_steps: int = 50, sample_batch: int = 32, out_size=None, device: str = "auto",
                 pipeline_dir=None, prompt: str = "", strength: float = 0.5, guidance_scale: float = 1.0,
                 use_masks: bool = True):
        if mode not in MODES:
            raise ValueError(f"diffusion: mode={mode!r}; expected one of {list(MODES)}")
        if sampler not in SAMPLERS:
            raise ValueError(f"diffusion: sampler={sampler!r}; expected one of {list(SAMPLERS)}")
        blocks = [int(b) for b in block_out_channels]
        if int(resolution) % (2 ** (len(blocks) - 1)) or any(b % 8 for b in blocks):
            raise ValueError(f"diffusion: resolution={resolution} must be divisible by 2^(len(block_out_channels)-1)"
                             f" and every block_out_channels {blocks} by 8 (group norm)")
        if min(int(train_steps), int(batch_size), int(inference_steps), int(sample_batch)) < 1:
            raise ValueError("diffusion: train_steps, batch_size, inference_steps and sample_batch must be >= 1")
        if train_classes not in (None, "all") and not isinstance(train_classes, (list, tuple)):
            raise ValueError(f"diffusion: train_classes={train_classes!r}; expected null, 'all' or a list")
        cfg = dict(mode=mode, resolution=int(resolution), block_out_channels=blocks,
                   layers_per_block=int(layers_per_block), train_steps=int(train_steps), batch_size=int(batch_size),
                   lr=float(lr), num_train_timesteps=int(num_train_timesteps), flip=bool(flip),
                   train_classes=list(train_classes) if isinstance(train_classes, (list, tuple)) else train_classes,
                   sampler=sampler, inference_steps=int(inference_steps), sample_batch=int(sample_batch),
                   out_size=[int(v) for v in out_size] if out_size else None, device=resolve_device(device))
        if mode == "pipeline":
            from benchmark.generators.diffusion_local import pipeline_config

            cfg = {k: cfg[k] for k in ("mode", "inference_steps", "out_size", "device")}
            cfg.update(pipeline_config(pipeline_dir, prompt, strength, guidance_scale, use_masks, resolution))
        super().__init__(**cfg)

    def generate(self, req: GenRequest, out_dir: Path) -> list[Item]:
        if self.config["mode"] == "pipeline":
            from benchmark.generators.diffusion_local import generate_with_pipeline

            return generate_with_pipeline(self.config, req, Path(out_dir))
        return self._generate_ddpm(req, Path(out_dir))

    # ---------------------------------------------------------------- ddpm
    def _train_classes(self, req: GenRequest, wanted: dict[str, int]) -> list[str]:
        tc = self.config["train_classes"]
        classes = sorted(req.dataset.classes if tc == "all" else (tc or wanted))
        missing = [c for c in wanted if c not in classes]
        if missing:
            raise ValueError(f"diffusion: train_classes={tc} lacks requested class(es) {missing}")
        return classes

    def _unet_key(self, req: GenRequest, classes: list[str]) -> str:
        train = sorted((it.path, it.label, req.train_sha256.get(it.path, "")) for it in req.train
                       if it.label in classes)
        blob = json.dumps({"train": train, "classes": classes, "seed": req.seed, "version": self.version,
                           **{k: self.config[k] for k in TRAIN_KEYS}}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def _generate_ddpm(self, req: GenRequest, out_dir: Path) -> list[Item]:
        from diffusers import UNet2DModel

        wanted = wanted_counts(req, self.name)
        classes = self._train_classes(req, wanted)
        pools = {c: train_pool(req, c, self.name) for c in classes}
        grey = all(is_grey(req.dataset.abspath(it.path)) for c in classes for it in pools[c])
        model_dir = out_dir.parent / f"diffusion-unet-{self._unet_key(req, classes)}"  # beside the set's entry
        if not (model_dir / "config.json").is_file():
            data, labels = self._load_training(req, pools, classes, grey)
            unet = train_ddpm(self.config, data, labels, len(classes), req.seed)
            save_model(unet, model_dir, {"classes": classes, "grey": grey, "n_train": int(len(labels))})
        unet = UNet2DModel.from_pretrained(model_dir, local_files_only=True, use_safetensors=True,
                                           low_cpu_mem_usage=False)  # False: no `accelerate` needed
        unet = unet.to(self.config["device"]).eval()
        items, rows = [], []
        for c, n in wanted.items():
            rng = class_rng(req.seed, c, "diffusion")
            samples = sample_ddpm(self.config, unet, classes.index(c), n, int(rng.integers(2 ** 63)), c)
            for i, (x, src) in enumerate(zip(samples, round_robin(pools[c], n, rng))):
                size = tuple(self.config["out_size"]) if self.config["out_size"] else _size(req, src)
                img = to_image(x, grey).resize(size, Image.Resampling.BICUBIC)
                items.append(save_output(out_dir, c, i, img, None))
                rows.append({"path": items[-1].path, "label": c, "size_of": src.path, "unet": model_dir.name})
        write_rows(out_dir / "provenance.csv", rows)
        return items

    def _load_training(self, req, pools, classes, grey) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, C, r, r) float in [-1, 1] and (N,) class indices; every image squashed to r x r."""
        r, xs, ys = self.config["resolution"], [], []
        for ci, c in enumerate(classes):
            for it in tqdm(pools[c], desc=f"diffusion: load {c}", unit="img", leave=False):
                img = load_source(req, it)[0].convert("L" if grey else "RGB").resize((r, r), Image.Resampling.BICUBIC)
                a = np.asarray(img, np.float32).reshape(r, r, -1)  # (r, r, C)
                xs.append(torch.from_numpy(a).permute(2, 0, 1) / 127.5 - 1.0)
                ys.append(ci)
        return torch.stack(xs), torch.tensor(ys)


def _size(req: GenRequest, it: Item) -> tuple[int, int]:
    with Image.open(req.dataset.abspath(it.path)) as im:  # header only
        return im.size


def build_unet(cfg: dict, channels: int, n_classes: int):
    from diffusers import UNet2DModel

    blocks = cfg["block_out_channels"]
    return UNet2DModel(sample_size=cfg["resolution"], in_channels=channels, out_channels=channels,
                       layers_per_block=cfg["layers_per_block"], block_out_channels=tuple(blocks),
                       down_block_types=("DownBlock2D",) * len(blocks), up_block_types=("UpBlock2D",) * len(blocks),
                       norm_num_groups=8, class_embed_type=None, num_class_embeds=n_classes)


def train_ddpm(cfg: dict, data: torch.Tensor, labels: torch.Tensor, n_classes: int, seed: int):
    """Epsilon-prediction MSE for `train_steps` AdamW steps on random batches; data (N, C, r, r) in [-1, 1]."""
    from diffusers import DDPMScheduler

    device = cfg["device"]
    with torch.random.fork_rng(devices=[]):  # seeded init without disturbing the caller's global stream
        torch.manual_seed(seed)
        unet = build_unet(cfg, data.shape[1], n_classes).to(device).train()
    sched = DDPMScheduler(num_train_timesteps=cfg["num_train_timesteps"])
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg["lr"], weight_decay=0.0)
    g = torch.Generator().manual_seed(seed)  # batches, flips, timesteps and noise: all from this stream
    bs = min(cfg["batch_size"], len(data))
    for _ in tqdm(range(cfg["train_steps"]), desc="diffusion: train DDPM", unit="step"):
        idx = torch.randint(len(data), (bs,), generator=g)
        x = data[idx]  # (B, C, r, r)
        if cfg["flip"]:  # surfaces have no preferred orientation
            x = torch.where(torch.rand(bs, 1, 1, 1, generator=g) < 0.5, x.flip(3), x)
            x = torch.where(torch.rand(bs, 1, 1, 1, generator=g) < 0.5, x.flip(2), x)
        t = torch.randint(cfg["num_train_timesteps"], (bs,), generator=g)
        noise = torch.randn(x.shape, generator=g)
        noisy = sched.add_noise(x, noise, t)
        pred = unet(noisy.to(device), t.to(device), class_labels=labels[idx].to(device)).sample
        loss = torch.nn.functional.mse_loss(pred, noise.to(device))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"diffusion: DDPM training loss is {loss.item()}; lower lr={cfg['lr']}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return unet.eval()


@torch.no_grad()
def sample_ddpm(cfg: dict, unet, class_index: int, n: int, seed: int, label: str) -> list[torch.Tensor]:
    """n samples (C, r, r) in [-1, 1] of one class; the initial noise of all n is drawn first, so the
    set does not depend on how it is batched."""
    from diffusers import DDIMScheduler, DDPMScheduler

    kind = DDIMScheduler if cfg["sampler"] == "ddim" else DDPMScheduler
    sched = kind(num_train_timesteps=cfg["num_train_timesteps"])
    sched.set_timesteps(cfg["inference_steps"])
    g = torch.Generator().manual_seed(seed)
    c, r = unet.config.in_channels, cfg["resolution"]
    x_all = torch.randn((n, c, r, r), generator=g)
    out = []
    with tqdm(total=n * len(sched.timesteps), desc=f"diffusion: sample {label}", unit="step") as bar:
        for b0 in range(0, n, cfg["sample_batch"]):
            x = x_all[b0:b0 + cfg["sample_batch"]].to(cfg["device"])
            y = torch.full((len(x),), class_index, dtype=torch.long, device=cfg["device"])
            for t in sched.timesteps:
                eps = unet(x, t, class_labels=y).sample
                x = sched.step(eps, t, x, generator=g).prev_sample  # DDIM (eta 0) ignores g
                bar.update(len(x))
            out += list(x.clamp(-1, 1).cpu())
    return out


def to_image(x: torch.Tensor, grey: bool) -> Image.Image:
    """(C, r, r) in [-1, 1] -> PIL 'L' or 'RGB' uint8."""
    a = ((x.permute(1, 2, 0).numpy() + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)
    return Image.fromarray(a[..., 0] if grey else a)


def save_model(unet, model_dir: Path, meta: dict) -> None:
    """save_pretrained into a temp dir, then rename: a half-written model is never loaded."""
    def build(tmp: Path) -> None:
        unet.save_pretrained(tmp, safe_serialization=True)
        (tmp / "training.json").write_text(json.dumps(meta, indent=1, sort_keys=True))

    atomic_dir(model_dir, "config.json", build)
