"""The planted-copy corpus: ordinary augmentations of a real image (what a vendor could deliver as "synthetic").

`COPY_TRANSFORMS` are the attacks of issue 17: each `plant(img, how, rng, mask=, host=)` returns a copy of
`img` (RGB) under one of them. `transplant` cuts the defect (its mask's bounding box, dilated by 3 px: the
defect with the texture around it) out of `img` and pastes it, at a random place, onto `host` (a train image).
Used by the audit benchmark (`python -m benchmark.bench.audit`) and the tests; thresholds never see it.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

COPY_TRANSFORMS = ("exact", "resize0.5", "resize1.5", "jpeg50", "jpeg70", "jpeg95", "hflip", "rot90",
                   "rotate3", "rotate5", "rotate45", "shift4", "zoom1.33", "crop80", "reflect_pad",
                   "colour_jitter", "blur_noise", "transplant")


def _jpeg(img: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _u8(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))


def plant(img: Image.Image, how: str, rng: np.random.Generator, mask: np.ndarray | None = None,
          host: Image.Image | None = None) -> Image.Image:
    """A copy of RGB `img` under `how` (one of COPY_TRANSFORMS). `transplant` needs `mask` and `host`."""
    img = img.convert("RGB")
    w, h = img.size
    if how == "exact":
        return img.copy()
    if how.startswith("resize"):
        f = float(how[len("resize"):])
        return img.resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BILINEAR)
    if how.startswith("jpeg"):
        return _jpeg(img, int(how[len("jpeg"):]))
    if how == "hflip":
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if how == "rot90":
        return img.rotate(90, expand=True)
    if how.startswith("rotate"):  # about the centre, same size, black corners, then JPEG q95 (as delivered)
        return _jpeg(img.rotate(float(how[len("rotate"):]), resample=Image.Resampling.BILINEAR), 95)
    if how == "shift4":  # wrap-around
        return Image.fromarray(np.roll(np.asarray(img), (4, 4), axis=(0, 1)))
    if how.startswith("zoom"):  # centre zoom, back to the original size
        f = float(how[len("zoom"):])
        big = img.resize((round(w * f), round(h * f)), Image.Resampling.BILINEAR)
        x, y = (big.size[0] - w) // 2, (big.size[1] - h) // 2
        return big.crop((x, y, x + w, y + h))
    if how == "crop80":
        cw, ch = round(0.8 * w), round(0.8 * h)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        return img.crop((x, y, x + cw, y + ch))
    if how == "reflect_pad":
        p = max(2, round(0.125 * min(w, h)))
        return Image.fromarray(np.pad(np.asarray(img), ((p, p), (p, p), (0, 0)), mode="reflect"))
    if how == "colour_jitter":  # contrast x1.3, brightness -20, gamma 0.8
        a = np.asarray(img, np.float32)
        a = (a - a.mean()) * 1.3 + a.mean() - 20
        return _u8(255 * (np.clip(a, 0, 255) / 255) ** 0.8)
    if how == "blur_noise":  # Gaussian blur radius 1, then Gaussian noise sigma 6 grey levels
        a = np.asarray(img.filter(ImageFilter.GaussianBlur(1)), np.float32)
        return _u8(a + rng.normal(0, 6, a.shape[:2])[..., None])
    if how == "transplant":
        return _transplant(img, rng, mask, host)
    raise ValueError(f"plant: unknown transform {how!r}; expected one of {COPY_TRANSFORMS}")


def _transplant(img: Image.Image, rng: np.random.Generator, mask: np.ndarray | None, host: Image.Image | None):
    """The defect of `img` (mask box + 3 px) pasted unchanged at a random place on `host` (resized to img)."""
    if mask is None or host is None or not np.any(mask):
        raise ValueError("plant: 'transplant' needs the source's defect mask and a host image")
    w, h = img.size
    ys, xs = np.nonzero(mask)
    patch = img.crop((max(0, xs.min() - 3), max(0, ys.min() - 3), min(w, xs.max() + 4), min(h, ys.max() + 4)))
    host = host.convert("RGB").resize((w, h)) if host.size != (w, h) else host.convert("RGB").copy()
    px, py = int(rng.integers(0, w - patch.size[0] + 1)), int(rng.integers(0, h - patch.size[1] + 1))
    host.paste(patch, (px, py))
    return host
