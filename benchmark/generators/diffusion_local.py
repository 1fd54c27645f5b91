"""`diffusion` with `mode: pipeline`: a diffusers pipeline a user already has on disk, fully offline.

`pipeline_dir` must be loadable by `AutoPipelineForImage2Image.from_pretrained(dir, local_files_only=True)`
(and by `AutoPipelineForInpainting` when masks are used): e.g. a Stable Diffusion directory written by
`save_pretrained`. Each output starts from a real train image of the target class (round-robin over a
seeded shuffle). When every chosen source of a class has a mask (and `use_masks`), the class is inpainted
inside its masks and the source mask is emitted (that is exactly the regenerated region); otherwise the
whole image goes through img2img at `strength` and no mask is emitted (its pixels no longer line up).

Safety: weights are only read from safetensors (`use_safetensors=True`: a pickled `.bin` is refused, never
unpickled), no remote code, no hub. The cache key covers the sha256 of every file in the directory.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmark.data.base import DatasetError, Item
from benchmark.generators.base import GenRequest, sha256_file
from benchmark.progress.bars import tqdm
from benchmark.generators.sources import class_rng, load_source, round_robin, save_output, train_pool, \
    wanted_counts, write_rows

EXPECTED = "a local diffusers pipeline directory containing model_index.json (as written by save_pretrained)"


def check_pipeline_dir(pipeline_dir) -> Path:
    if not pipeline_dir:
        raise ValueError(f"diffusion: mode=pipeline needs pipeline_dir=<{EXPECTED}>")
    d = Path(pipeline_dir).expanduser().resolve()
    if not d.exists():
        raise FileNotFoundError(f"diffusion: pipeline_dir {d} does not exist; expected {EXPECTED}")
    if not d.is_dir():
        raise NotADirectoryError(f"diffusion: pipeline_dir {d} is a file; expected {EXPECTED}")
    if not (d / "model_index.json").is_file():
        raise FileNotFoundError(f"diffusion: pipeline_dir {d} has no model_index.json; expected {EXPECTED}")
    return d


def dir_sha256(d: Path) -> str:
    """sha256 over (relative path, file sha256) of every file under d, in path order."""
    h = hashlib.sha256()
    files = sorted(p for p in d.rglob("*") if p.is_file())
    for p in tqdm(files, desc="diffusion: hash pipeline", unit="file", leave=False):
        h.update(p.relative_to(d).as_posix().encode())
        h.update(sha256_file(p).encode())
    return h.hexdigest()


def pipeline_config(pipeline_dir, prompt: str, strength: float, guidance_scale: float, use_masks: bool,
                    resolution: int) -> dict:
    """The validated pipeline part of the generator config; its content hash goes into the cache key."""
    d = check_pipeline_dir(pipeline_dir)
    if not 0.0 < float(strength) <= 1.0:
        raise ValueError(f"diffusion: strength={strength!r}; expected a number in (0, 1]")
    if int(resolution) % 8:
        raise ValueError(f"diffusion: resolution={resolution}; a pipeline's VAE needs a multiple of 8")
    return {"pipeline_dir": str(d), "pipeline_sha256": dir_sha256(d), "prompt": str(prompt),
            "strength": float(strength), "guidance_scale": float(guidance_scale), "use_masks": bool(use_masks),
            "resolution": int(resolution)}


def load_pipeline(cfg: dict, inpaint: bool):
    from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting

    auto = AutoPipelineForInpainting if inpaint else AutoPipelineForImage2Image
    try:
        pipe = auto.from_pretrained(cfg["pipeline_dir"], local_files_only=True, use_safetensors=True,
                                    low_cpu_mem_usage=False)  # False: no `accelerate` needed
    except Exception as e:  # diffusers raises many types (ValueError, OSError, EnvironmentError, KeyError)
        raise DatasetError(f"diffusion: {cfg['pipeline_dir']}: cannot load it with {auto.__name__} "
                           f"({type(e).__name__}: {e}); expected {EXPECTED}, weights as safetensors") from None
    pipe.set_progress_bar_config(disable=True)  # one bar over all outputs instead of one per image
    return pipe.to(cfg["device"])


def run_one(pipe, cfg: dict, img: Image.Image, mask: np.ndarray | None, label: str, seed: int) -> Image.Image:
    """One real image (+ mask) through the pipeline at resolution r x r; back to the source size and mode."""
    r = cfg["resolution"]
    kw = dict(prompt=cfg["prompt"].format(label=label),
              image=img.convert("RGB").resize((r, r), Image.Resampling.BICUBIC),
              strength=cfg["strength"], guidance_scale=cfg["guidance_scale"], output_type="pil",
              num_inference_steps=cfg["inference_steps"], generator=torch.Generator().manual_seed(seed))
    if mask is not None:
        m = Image.fromarray(mask.astype(np.uint8) * 255).resize((r, r), Image.Resampling.NEAREST)
        kw.update(mask_image=m, height=r, width=r)
    out = pipe(**kw).images[0]
    size = tuple(cfg["out_size"]) if cfg["out_size"] else img.size
    return out.resize(size, Image.Resampling.BICUBIC).convert(img.mode)


def generate_with_pipeline(cfg: dict, req: GenRequest, out_dir: Path) -> list[Item]:
    wanted = wanted_counts(req, "diffusion")
    plans = {}
    for c, n in wanted.items():  # choose every source first, so an unreadable one fails before any image
        rng = class_rng(req.seed, c, "diffusion-pipeline")
        srcs = round_robin(train_pool(req, c, "diffusion"), n, rng)
        plans[c] = [(s, int(rng.integers(2 ** 63))) for s in srcs]
    pipes: dict[bool, object] = {}
    items, rows = [], []
    with tqdm(total=sum(wanted.values()), desc="diffusion: pipeline", unit="img") as bar:
        for c, plan in plans.items():
            inpaint = cfg["use_masks"] and all(s.mask for s, _ in plan)
            if inpaint not in pipes:
                pipes[inpaint] = load_pipeline(cfg, inpaint)
            for i, (src, seed) in enumerate(plan):
                img, mask = load_source(req, src)
                out = run_one(pipes[inpaint], cfg, img, mask if inpaint else None, c, seed)
                if inpaint and cfg["out_size"]:
                    mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(
                        tuple(cfg["out_size"]), Image.Resampling.NEAREST)) > 127
                items.append(save_output(out_dir, c, i, out, mask if inpaint else None))
                rows.append({"path": items[-1].path, "label": c, "source": src.path, "seed": seed,
                             "pipeline": "inpaint" if inpaint else "img2img"})
                bar.update(1)
    write_rows(out_dir / "provenance.csv", rows)
    return items
