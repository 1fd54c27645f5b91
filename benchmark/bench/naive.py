"""The naive baseline a user would write: timm + torchvision ImageFolder + DataLoader, decoding and
transforming every image with PIL at every step, one run per process.

Two protocols, each the one an engine runs, so the benchmark compares speed, not protocol (same frozen
split, model, offline weights, image size, step budget, class-balanced sampling, optimizer, schedule):
- `--protocol finetune` (the fine-tune engine's): the whole network trained, warm-up then cosine.
- `--protocol linear_probe` (the feature-bank engine's): the backbone frozen in eval mode, features
  standardised by the train set's plain-resize statistics, one linear head trained at a constant rate.
  Naively, the frozen backbone re-embeds freshly decoded, freshly augmented images at every step.
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
    test_ds = ImageFolder(symlink_tree(manifest, root, "test", tmp), transforms(args.image_size, mean, std, False))
    if args.protocol == "linear_probe":
        model = probe_model(model, ImageFolder(train_ds.root, test_ds.transform))
    train_ds.transform = transforms(args.image_size, mean, std, train=True)
    counts = torch.bincount(torch.tensor(train_ds.targets))
    weights = (1.0 / counts.float())[train_ds.targets]  # class-balanced, like the engines
    sampler = WeightedRandomSampler(weights, args.steps * args.batch_size, replacement=True)
    loader = DataLoader(train_ds, batch_size=args.batch_size, sampler=sampler, num_workers=args.workers)
    trained = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, lr=args.lr, weight_decay=1e-4)
    warm = 10 if args.protocol == "finetune" else 0
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warm if s < warm else
                                              0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, args.steps - warm))))
    t0 = time.perf_counter()
    model.train()
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    train_s = time.perf_counter() - t0
    return {"train_s": train_s, **_hardest_acc(model, test_ds, manifest), "images": len(sampler)}


def probe_model(model, plain_train):
    """Frozen backbone (eval mode, no grads) -> standardisation by the train set's plain-resize features
    -> a fresh linear head: the feature-bank engine's protocol, written the obvious way."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader

    head = model.get_classifier()
    model.reset_classifier(0)  # the backbone now returns pooled features (B, D)
    for p in model.parameters():
        p.requires_grad = False
    model.eval()
    with torch.no_grad():
        f = torch.cat([model(x) for x, _ in DataLoader(plain_train, batch_size=128)])  # (N, D)
    std = f.std(0, unbiased=False)
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    head = nn.Linear(f.shape[1], head.out_features)  # nn.Linear's default init, as the engine's heads

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.head = model, head
            self.register_buffer("mean", f.mean(0))
            self.register_buffer("std", std)

        def train(self, mode: bool = True):  # the backbone stays in eval mode (frozen BN statistics)
            self.head.train(mode)
            return self

        def forward(self, x):
            with torch.no_grad():
                z = (self.backbone(x) - self.mean) / self.std
            return self.head(z)

    return Probe()


def _hardest_acc(model, test_ds, manifest: dict) -> dict:
    """Hardest-class and overall test accuracy (the overall one is the less noisy protocol check)."""
    import torch
    from torch.utils.data import DataLoader

    model.eval()
    hardest = test_ds.class_to_idx[manifest["hardest"]["class"]]
    pred, true = [], []
    with torch.no_grad():
        for x, y in DataLoader(test_ds, batch_size=128):
            pred.append(model(x).argmax(1))
            true.append(y)
    pred, true = torch.cat(pred), torch.cat(true)
    on = true == hardest
    return {"hardest_acc": float((pred[on] == hardest).float().mean()), "acc": float((pred == true).float().mean())}


def main() -> None:
    t0 = time.perf_counter()
    p = argparse.ArgumentParser()
    for name, typ, default in [("manifest", str, None), ("root", str, None), ("seed", int, 0),
                               ("model", str, "tf_efficientnet_lite0"), ("image_size", int, 96),
                               ("steps", int, 150), ("batch_size", int, 32), ("lr", float, 1e-3),
                               ("threads", int, 2), ("workers", int, 0), ("protocol", str, "finetune")]:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=typ, default=default)
    out = train_and_eval(p.parse_args())
    out.update(wall_s=time.perf_counter() - t0,
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
