"""The naive baseline a user would write: timm + torchvision ImageFolder + DataLoader, decoding and
transforming every image with PIL at every step, one run per process.

Same protocol as the engines (same frozen split, model, offline weights, image size, step budget,
class-balanced sampling, optimizer and schedule), so the benchmark compares speed, not protocol.
Run as `python -m benchmark.bench.naive --manifest M --root R --seed S ...`; prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import math
import resource
import tempfile
import time
from pathlib import Path


def symlink_tree(manifest: dict, root: Path, split: str, out: Path) -> Path:
    """ImageFolder wants root/<class>/<file>: build it from symlinks to the real files."""
    for i, e in enumerate(manifest["files"][split]):
        d = out / split / e["label"]
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{i:05d}_{Path(e['path']).name}").symlink_to((root / e["path"]).resolve())
    return out / split


def transforms(size: int, mean, std, train: bool):
    from torchvision import transforms as T

    ops = [T.Lambda(lambda im: im.convert("RGB")), T.Resize((size, size))]
    if train:
        ops += [T.RandomHorizontalFlip(), T.RandomVerticalFlip(),
                T.RandomApply([T.RandomRotation((90, 90))], p=0.5),
                T.RandomResizedCrop(size, scale=(0.8, 1.0), ratio=(1.0, 1.0)), T.ColorJitter(0.1, 0.1)]
    return T.Compose(ops + [T.ToTensor(), T.Normalize(mean, std)])


def train_and_eval(args) -> dict:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, WeightedRandomSampler
    from torchvision.datasets import ImageFolder

    from benchmark.train.models import create_backbone, normalization

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    manifest = json.loads(Path(args.manifest).read_text())
    tmp = Path(tempfile.mkdtemp(prefix="naive-"))
    root = Path(args.root)
    train_ds = ImageFolder(symlink_tree(manifest, root, "train", tmp))
    model = create_backbone(args.model, len(train_ds.classes), pretrained=True)
    mean, std = normalization(model)
    train_ds.transform = transforms(args.image_size, mean, std, train=True)
    test_ds = ImageFolder(symlink_tree(manifest, root, "test", tmp), transforms(args.image_size, mean, std, False))
    counts = torch.bincount(torch.tensor(train_ds.targets))
    weights = (1.0 / counts.float())[train_ds.targets]  # class-balanced, like the engines
    sampler = WeightedRandomSampler(weights, args.steps * args.batch_size, replacement=True)
    loader = DataLoader(train_ds, batch_size=args.batch_size, sampler=sampler, num_workers=args.workers)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / 10 if s < 10 else
                                              0.5 * (1 + math.cos(math.pi * (s - 10) / max(1, args.steps - 10))))
    t0 = time.perf_counter()
    model.train()
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    train_s = time.perf_counter() - t0
    return {"train_s": train_s, "hardest_acc": _hardest_acc(model, test_ds, manifest), "images": len(sampler)}


def _hardest_acc(model, test_ds, manifest: dict) -> float:
    import torch
    from torch.utils.data import DataLoader

    model.eval()
    hardest = test_ds.class_to_idx[manifest["hardest"]["class"]]
    hit = n = 0
    with torch.no_grad():
        for x, y in DataLoader(test_ds, batch_size=128):
            pred = model(x).argmax(1)
            hit += int(((pred == y) & (y == hardest)).sum())
            n += int((y == hardest).sum())
    return hit / n


def main() -> None:
    t0 = time.perf_counter()
    p = argparse.ArgumentParser()
    for name, typ, default in [("manifest", str, None), ("root", str, None), ("seed", int, 0),
                               ("model", str, "tf_efficientnet_lite0"), ("image_size", int, 96),
                               ("steps", int, 150), ("batch_size", int, 32), ("lr", float, 1e-3),
                               ("threads", int, 2), ("workers", int, 0)]:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=typ, default=default)
    out = train_and_eval(p.parse_args())
    out.update(wall_s=time.perf_counter() - t0,
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
