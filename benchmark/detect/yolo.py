"""Training and scoring with ultralytics YOLO: one arm's images -> a model -> test metrics + predictions.

The train/test image lists are laid out as ultralytics folders (`images/` symlinks + `labels/` YOLO txt,
written from the parsed boxes, so VOC and YOLO sources look the same), keyed by content and reused.
ultralytics validates on the data YAML's `val` at the last epoch and keeps `best.pt`: we point `val` at a
few *selection* images (never test), ignore it, and always score `last.pt` (the EMA weights after the last
step, as ultralytics saves them), so nothing is selected on test. mAP comes from ultralytics' own validator.

Two things ultralytics would otherwise decide for itself are pinned here, so the cell says what a run did:
- batch order: the train loader's shuffle generator is seeded from the run seed (`SeededDetectionTrainer`);
  some ultralytics releases seed it with a constant, which gives every seed (and every arm of equal size) one order;
- torch threads: `select_device` resets them to ultralytics' own count (cores - 1, at most 8) in the trainer,
  validator and predictor; callbacks put back the count the caller set (`threads`, part of the cell).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from benchmark.detect.data import DetDataset, DetItem
from benchmark.detect.labels import yolo_lines
from benchmark.detect.offline import ultralytics
from benchmark.detect.positional import keep_weights
from benchmark.io import atomic_dir
from benchmark.train._registry import register_engine

SHUFFLE_BASE = 6148914691236517205  # ultralytics' base for its train loader's generator (build_dataloader)
VAL_IMAGES = 16  # selection images ultralytics' own end-of-training validation sees (unused, see fit_and_score)
# trainer keys passed to ultralytics as they are (everything else in conf/trainer/yolo.yaml is ours)
YOLO_TRAIN_KEYS = ("epochs", "batch", "optimizer", "lr0", "lrf", "momentum", "weight_decay", "warmup_epochs",
                   "nbs", "mosaic", "close_mosaic", "hsv_h", "hsv_s", "hsv_v", "degrees", "translate", "scale",
                   "fliplr", "flipud", "mixup", "cos_lr", "deterministic", "rect", "cache")


def layout(ds: DetDataset, items: list[DetItem], root: Path) -> Path:
    """An ultralytics folder for `items` under root/<key>/ (images/ symlinks, labels/ txt); returns it.
    Duplicated items (placebo) get distinct names, so each copy counts once more."""
    rows = []
    for i, it in enumerate(items):
        wh, boxes = ds.boxes_of(it)
        rows.append((f"{i:06d}_{Path(it.path).stem}{Path(it.path).suffix.lower()}", str(ds.abspath(it.path)),
                     yolo_lines(boxes, wh)))
    key = hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:20]
    final = root / key

    def build(tmp: Path) -> None:
        (tmp / "images").mkdir()
        (tmp / "labels").mkdir()
        for name, src, text in rows:
            os.symlink(src, tmp / "images" / name)
            (tmp / "labels" / name).with_suffix(".txt").write_text(text)
        (tmp / "done").write_text(str(len(rows)))

    atomic_dir(final, "done", build)
    return final


def data_yaml(path: Path, train: Path, val: Path, classes: list[str]) -> Path:
    names = "\n".join(f"  {i}: {json.dumps(c)}" for i, c in enumerate(classes))
    path.write_text(f"train: {train / 'images'}\nval: {val / 'images'}\nnames:\n{names}\n")
    return path


def build_model(model_cfg: dict):
    """A YOLO model from a model YAML (from scratch) or a local .pt; never a hub name."""
    from ultralytics import YOLO

    ckpt = model_cfg.get("checkpoint")
    if ckpt:
        if not Path(ckpt).is_file() or Path(ckpt).suffix != ".pt":
            raise ValueError(f"model.checkpoint={ckpt!r}: expected a local .pt file (nothing is downloaded)")
        return YOLO(str(ckpt))
    name = str(model_cfg["name"])
    if not name.endswith((".yaml", ".yml")):
        raise ValueError(f"model.name={name!r}: expected a model YAML such as yolov8n.yaml (or set "
                         f"model.checkpoint=<local .pt>); a bare name would make ultralytics download weights")
    return YOLO(name, task="detect")


def shuffle_seed(seed: int) -> int:
    """The train loader's shuffle seed for run seed `seed`: ultralytics 8.4.190's own derivation (base + RANK + seed,
    RANK = -1 in a single-process run), so on releases that already follow the seed the order is unchanged."""
    return (SHUFFLE_BASE - 1 + int(seed)) % (1 << 64)


def seed_shuffle(loader, seed: int) -> int:
    """Seed the generator(s) that order `loader`'s batches from the run seed (the DataLoader's, used for the
    workers' base seed, and its sampler's, used for the permutation); returns the shuffle seed."""
    import torch

    value = shuffle_seed(seed)
    sampler = getattr(loader, "sampler", None)
    gens = [g for g in (getattr(loader, "generator", None), getattr(sampler, "generator", None)) if g is not None]
    if sampler is not None and hasattr(sampler, "generator") and sampler.generator is None:
        sampler.generator = torch.Generator()  # a RandomSampler without one would draw from the global RNG
        gens.append(sampler.generator)
    if not gens:
        raise RuntimeError(f"{type(loader).__name__} has no generator to seed; cannot make its shuffle follow the seed")
    for g in {id(g): g for g in gens}.values():
        g.manual_seed(value)
    return value


_TRAINER = None


def seeded_trainer():
    """ultralytics' DetectionTrainer whose train loader is shuffled by the run seed (`args.seed`); passed to
    `YOLO.train(trainer=...)`, ultralytics' own hook for a custom trainer. Built on first use (after the
    offline import)."""
    global _TRAINER
    if _TRAINER is None:
        from ultralytics.models.yolo.detect import DetectionTrainer

        class SeededDetectionTrainer(DetectionTrainer):
            shuffle_seed = None

            def get_dataloader(self, dataset_path, batch_size=16, rank=0, mode="train"):
                loader = super().get_dataloader(dataset_path, batch_size=batch_size, rank=rank, mode=mode)
                if mode == "train":
                    self.shuffle_seed = seed_shuffle(loader, int(self.args.seed))
                return loader

        _TRAINER = SeededDetectionTrainer
    return _TRAINER


def pin_threads(model, n: int) -> dict:
    """Keep torch at `n` threads through `model`'s training, validation and prediction: ultralytics'
    select_device resets the count when a trainer, validator or predictor starts, before these events.
    Returns {event: threads seen when training's first epoch started}, for the record."""
    import torch

    seen: dict = {}

    def pin(_):
        torch.set_num_threads(n)

    def check(trainer):
        seen.setdefault("train", torch.get_num_threads())

    for event in ("on_pretrain_routine_start", "on_val_start", "on_predict_start"):
        model.add_callback(event, pin)
    model.add_callback("on_train_epoch_start", check)
    return seen


def train_args(cfg: dict, data: Path, seed: int, run_dir: Path) -> dict:
    t = cfg["trainer"]
    args = {k: t[k] for k in YOLO_TRAIN_KEYS if t.get(k) is not None}
    args.update(data=str(data), imgsz=int(cfg["model"]["image_size"]), seed=int(seed), device="cpu",
                workers=int(t.get("workers", 0)), amp=False, plots=False, val=False, verbose=False,
                project=str(run_dir), name="train", exist_ok=True, pretrained=False)
    return args


@register_engine("yolo")  # the detection task's engine (benchmark/tasks/detection.py)
def fit_and_score(cfg: dict, ds: DetDataset, train: list[DetItem], selection: list[DetItem], test: list[DetItem],
                  seed: int, hardest: str, work: Path) -> dict:
    """Train one seed on `train`, score `last.pt` on `test`; returns record fields (metrics, predictions...)."""
    ultralytics(cfg.get("cache_root"))
    import torch
    from ultralytics import YOLO

    threads = torch.get_num_threads()  # what the caller set from `threads` (benchmark.train.set_threads)

    sets = Path(cfg["cache_root"]).resolve() / "detect" / "sets"
    # ultralytics validates `val` after the last epoch whatever `val=False` says; we never use that result
    # (last.pt is scored on test below), so it only gets the first few selection images, to save time.
    tr, sel, te = layout(ds, train, sets), layout(ds, selection[:VAL_IMAGES], sets), layout(ds, test, sets)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model = build_model(cfg["model"])
    seen = pin_threads(model, threads)
    model.train(trainer=seeded_trainer(), **train_args(cfg, data_yaml(work / "train.yaml", tr, sel, ds.classes), seed,
                                                       work))
    trainer = model.trainer
    if trainer.shuffle_seed is None or seen.get("train") != threads:
        raise RuntimeError(f"ultralytics ran without the pinned shuffle seed or threads (shuffle seed "
                           f"{trainer.shuffle_seed}, threads {seen.get('train')} instead of {threads})")
    t_train = time.perf_counter() - t0
    last = YOLO(str(trainer.last))
    pin_threads(last, threads)
    t1 = time.perf_counter()
    ev = cfg["trainer"].get("eval", {})
    common = dict(imgsz=int(cfg["model"]["image_size"]), device="cpu", verbose=False)
    val = last.val(data=str(data_yaml(work / "test.yaml", tr, te, ds.classes)), split="val", plots=False,
                   batch=int(ev.get("batch", 32)), workers=0, project=str(work), name="test", exist_ok=True,
                   conf=float(ev.get("conf", 0.001)), iou=float(ev.get("iou", 0.7)), **common)
    metrics = detection_metrics(val, ds.classes, hardest, len(test))
    preds = predictions(last, ds, test, ev, common)
    fit = {"epochs": int(trainer.epochs), "iterations_per_epoch": int(len(trainer.train_loader)),
           "batches": int(len(trainer.train_loader) * trainer.epochs), "train_images": len(train),
           "final_epoch_loss": _losses(trainer), "shuffle_seed": int(trainer.shuffle_seed), "threads": threads,
           "weights": "last.pt (EMA after the last step)"}
    if (cfg.get("arm") or {}).get("name") == "real":  # the real-only detector of positional fidelity (detect/positional.py)
        fit["kept_weights"] = keep_weights(trainer.last, cfg["cache_root"], work.name, int(cfg["model"]["image_size"]))
    return {"metrics": metrics, "predictions": preds, "fit": fit,
            "timings": {"train_s": t_train, "eval_s": time.perf_counter() - t1}}


def _losses(trainer) -> dict[str, float]:
    """Mean train losses of the last epoch by name (a dict in ultralytics 8.4, a tensor before)."""
    t = trainer.tloss
    if t is None:
        return {}
    if isinstance(t, dict):
        return {k: round(float(v), 6) for k, v in t.items()}
    return {k: round(float(v), 6) for k, v in zip(trainer.loss_names, np.atleast_1d(t.cpu().numpy()))}


def detection_metrics(val, classes: list[str], hardest: str, n_images: int) -> dict:
    """Study metrics from ultralytics' DetMetrics: mAP@.5:.95, mAP@.5, per-class AP (NaN-free: a class
    without test objects is absent from the per-class dicts, never averaged in as 0)."""
    box = val.box
    idx = [int(i) for i in val.ap_class_index]
    ap, ap50 = np.asarray(box.ap, dtype=float), np.asarray(box.ap50, dtype=float)
    per = {classes[c]: float(ap[j]) for j, c in enumerate(idx)}
    per50 = {classes[c]: float(ap50[j]) for j, c in enumerate(idx)}
    return {"task": "detection", "classes": classes, "map50_95": float(box.map), "map50": float(box.map50),
            "precision": float(box.mp), "recall": float(box.mr), "per_class_ap50_95": per,
            "per_class_ap50": per50, "hardest_class": hardest,
            "hardest_class_ap50_95": per.get(hardest), "hardest_class_ap50": per50.get(hardest),
            "n_test_images": n_images}


def predictions(model, ds: DetDataset, test: list[DetItem], ev: dict, common: dict) -> dict:
    """Per test image: boxes [x0, y0, x1, y1] (pixels, 1 decimal), scores and classes, for later bootstraps."""
    out = {"paths": [], "boxes": [], "scores": [], "classes": [], "conf": float(ev.get("pred_conf", 0.01)),
           "max_det": int(ev.get("max_det", 50))}
    paths = [str(ds.abspath(it.path)) for it in test]
    for it, r in zip(test, model.predict(paths, conf=out["conf"], iou=float(ev.get("iou", 0.7)),
                                         max_det=out["max_det"], stream=True, **common)):
        b = r.boxes
        out["paths"].append(it.path)
        out["boxes"].append(np.round(b.xyxy.numpy(), 1).tolist())
        out["scores"].append(np.round(b.conf.numpy(), 4).tolist())
        out["classes"].append(b.cls.numpy().astype(int).tolist())
    return out
