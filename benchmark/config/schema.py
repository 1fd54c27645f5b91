"""Schemas of the config groups whose values define a run (top level, trainer, model, synthetic, split, audit).

Each field carries its type and range as a check (`metadata["check"]`) and the words for what is allowed
(`metadata["expected"]`). Hydra/OmegaConf check types only, never ranges, and a run ID is the JSON of the
trainer / model / synthetic groups as written, so the YAML files keep their values exactly (no coercion: an
int stays an int) and `validate` walks the resolved plain config against these dataclasses instead. The
dataclasses are also stored in Hydra's ConfigStore (group `schema`), so `--cfg`/tools can list them.

No field here adds a key to a group: the schemas type what conf/ already holds (new keys in trainer, model or
synthetic would change every run ID). The only new keys are the caps under the top-level `limits`.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from benchmark.config.checks import POS_INT, SEED_MAX, STUDY_EXPECTED, THREADS_ALLOWED, ConfigError, ints, is_bool, \
    is_int, is_num, nums, one_of, path_like, plain_study, safe_study, spec, text
from benchmark.config.curation import CurationSchema, check_curation
from benchmark.config.declared import Endpoints, VolumeCurve
from benchmark.config.share import check_share
from benchmark.data.ident import dataset_id


# ---- schemas ---------------------------------------------------------------------------------------------

@dataclass
class Limits:
    """Caps on synthetic.volume (a typo such as volume=1e12 must not start writing 10^13 images)."""
    max_volume_count: int = spec(100_000, ints(1), POS_INT)
    max_volume_fraction: float = spec(100.0, nums(0, lo_open=True), "a finite number > 0")


@dataclass
class Augment:
    hflip: bool = spec(True, is_bool, "true or false")
    vflip: bool = spec(True, is_bool, "true or false")
    rot90: bool = spec(True, is_bool, "true or false")
    crop_scale: list = spec([0.8, 1.0], lambda v: isinstance(v, list) and len(v) == 2 and all(
        nums(0, 1, lo_open=True)(x) for x in v) and v[0] <= v[1], "[lo, hi] with 0 < lo <= hi <= 1")
    brightness: float = spec(0.1, nums(0, 1), "a number in [0, 1]")
    contrast: float = spec(0.1, nums(0, 1), "a number in [0, 1]")


MAX_STEPS = "an integer >= 1, or null with trainer.epochs set"
EPOCHS = "an integer >= 1, or null with trainer.max_steps set"


@dataclass
class StepTrainer:
    """What trainer/finetune.yaml and trainer/featurebank.yaml share (the step-budget engines)."""
    engine: str = spec("finetune", text(), "an engine name")
    max_steps: Any = spec(150, ints(1, null=True), MAX_STEPS)
    epochs: Any = spec(None, ints(1, null=True), EPOCHS)
    batch_size: int = spec(32, ints(1), POS_INT)
    optimizer: str = spec("adamw", one_of("adamw", "sgd"), "adamw or sgd")
    lr: float = spec(0.001, nums(0, lo_open=True), "a finite number > 0")
    weight_decay: float = spec(0.0001, nums(0), "a finite number >= 0")
    warmup_steps: int = spec(10, ints(0), "an integer >= 0")
    label_smoothing: float = spec(0.0, nums(0, 1, hi_open=True), "a number in [0, 1)")
    balance: str = spec("sampler", one_of("sampler", "none"), "sampler or none")
    augment: Augment = field(default_factory=Augment)


@dataclass
class FinetuneTrainer(StepTrainer):
    freeze_backbone: bool = spec(False, is_bool, "true or false")
    eval_batch_size: int = spec(128, ints(1), POS_INT)
    channels_last: bool = spec(False, is_bool, "true or false")
    select: str = spec("last", one_of("last"), "last (the model after the last step; never selected on test)")


@dataclass
class FeaturebankTrainer(StepTrainer):
    engine: str = spec("featurebank", text(), "an engine name")
    views: int = spec(8, ints(1), POS_INT)
    max_steps: Any = spec(600, ints(1, null=True), MAX_STEPS)
    lr: float = spec(0.003, nums(0, lo_open=True), "a finite number > 0")
    warmup_steps: int = spec(0, ints(0), "an integer >= 0")


@dataclass
class YoloEval:
    batch: int = spec(32, ints(1), POS_INT)
    conf: float = spec(0.001, nums(0, 1), "a number in [0, 1]")
    iou: float = spec(0.7, nums(0, 1, lo_open=True), "a number in (0, 1]")
    pred_conf: float = spec(0.01, nums(0, 1), "a number in [0, 1]")
    max_det: int = spec(50, ints(1), POS_INT)


@dataclass
class YoloTrainer:
    engine: str = spec("yolo", text(), "an engine name")
    epochs: int = spec(3, ints(1), POS_INT)
    batch: int = spec(16, ints(1), POS_INT)
    nbs: int = spec(16, ints(1), POS_INT)
    optimizer: str = spec("AdamW", text(), "an ultralytics optimizer name (e.g. AdamW, SGD)")
    lr0: float = spec(0.002, nums(0, lo_open=True), "a finite number > 0")
    lrf: float = spec(0.1, nums(0, lo_open=True), "a finite number > 0")
    warmup_epochs: float = spec(0, nums(0), "a finite number >= 0")
    close_mosaic: int = spec(0, ints(0), "an integer >= 0")
    mosaic: float = spec(1.0, nums(0, 1), "a number in [0, 1]")
    deterministic: bool = spec(True, is_bool, "true or false")
    cache: Any = spec(False, lambda v: is_bool(v) or v in ("ram", "disk"), "false, true, ram or disk")
    workers: int = spec(0, ints(0), "an integer >= 0")
    keep_runs: bool = spec(False, is_bool, "true or false")
    eval: YoloEval = field(default_factory=YoloEval)


IMAGE_SIZE = "an integer in [8, 4096] (pixels)"


@dataclass
class TimmModel:
    name: str = spec("tf_efficientnet_lite0", text(), "a timm model name")
    pretrained: bool = spec(True, is_bool, "true or false")
    checkpoint: Any = spec(None, path_like(), "null or a local .pth/.pt path")
    image_size: int = spec(96, ints(8, 4096), IMAGE_SIZE)
    drop_rate: float = spec(0.0, nums(0, 1, hi_open=True), "a number in [0, 1)")


@dataclass
class YoloModel:
    name: str = spec("yolov8n.yaml", text(), "an ultralytics model YAML name")
    checkpoint: Any = spec(None, path_like(), "null or a local .pt path")
    image_size: int = spec(160, ints(32, 4096), "an integer in [32, 4096] (pixels)")


def class_list(v) -> bool:
    return v is None or v == "all" or (isinstance(v, list) and len(v) > 0 and all(
        isinstance(c, str) and c for c in v))


def CLASSES_EXPECTED(v) -> str:  # noqa: N802  (an `expected` may name the value: [pit] for classes=pit)
    example = v if isinstance(v, str) and v and "," not in v else "pit"
    return f"null (the hardest class), all, or a list of class names such as [{example}]"


@dataclass
class Synthetic:
    """volume: an int is a count of images per target class, a float a fraction of that class's real train
    count (the unit is the type: 64 = 64 images, 0.5 = half as many as the class has real). Both capped."""
    volume: Any = spec(64, lambda v: is_num(v), "an image count per target class (int) or a fraction of its "
                       "real train count (float), finite")
    classes: Any = spec(None, class_list, CLASSES_EXPECTED)
    share: Any = spec(None, lambda v: v is None or (is_num(v) and 0 < v < 1), "null or a number in (0, 1): the "
                      "part of a target class's draws its added images get")
    sets: Any = spec("shared", lambda v: v in ("shared", "per_seed"), "shared (one generated set for every seed) "
                     "or per_seed (each training seed its own set: benchmark/protocol/sets.py)")


SPLIT_NAMES = ("train", "selection", "test")
FRACTIONS_EXPECTED = "null (train 0.6 / selection 0.2 / test 0.2) or {train, selection, test}: numbers in (0, 1) summing to 1"


def split_fractions(v) -> bool:
    return v is None or (isinstance(v, dict) and set(v) == set(SPLIT_NAMES) and all(
        is_num(x) and 0 < x < 1 for x in v.values()) and abs(sum(v.values()) - 1) <= 1e-6)


@dataclass
class Split:
    manifest: Any = spec(None, path_like(), "null or a manifest path")
    fractions: Any = spec(None, split_fractions, FRACTIONS_EXPECTED)
    group: Any = spec(None, one_of("near_duplicate", null=True), "null or near_duplicate")
    group_max_bits: int = spec(8, ints(0, 128), "an integer in [0, 128]")
    dedupe: bool = spec(False, is_bool, "true or false")
    folds: int = spec(1, ints(1, 20), "an integer in [1, 20] (1 = a single split)")
    fold: Any = spec(None, ints(0, 19, null=True), "null (every fold) or a fold number 0..K-1")
    reserve: Any = spec(None, lambda v: v is None or (is_int(v) and v >= 1) or (is_num(v) and not is_int(v) and
                        0 < v < 1), "null, an image count >= 1 (int) or a fraction in (0, 1) (float)")


@dataclass
class AuditThresholds:
    hash: int = spec(21, ints(0, 128), "an integer in [0, 128] (bits)")
    cosine: float = spec(0.99, nums(-1, 1), "a number in [-1, 1]")
    keypoint_inliers: Any = spec(4, ints(1, null=True), "an integer >= 1 (RANSAC inliers), or null (off)")
    patch_inliers: Any = spec(4, ints(1, null=True), "an integer >= 1 (RANSAC inliers), or null (off)")
    transplant_ncc: Any = spec(0.981, nums(-1, 1, null=True), "a number in [-1, 1] (NCC), or null (off)")


@dataclass
class Audit:
    enabled: bool = spec(True, is_bool, "true or false")
    allow_contamination: bool = spec(False, is_bool, "true or false")
    refuse_inherited: bool = spec(False, is_bool, "true or false")
    model: TimmModel = field(default_factory=lambda: TimmModel(image_size=128))
    keypoints: bool = spec(True, is_bool, "true or false")
    thresholds: AuditThresholds = field(default_factory=AuditThresholds)
    dataset_thresholds: Any = spec(None, lambda v: v is None or isinstance(v, dict) and all(
        isinstance(t, dict) and set(t) <= {f.name for f in fields(AuditThresholds)} for t in v.values()),
        "a mapping dataset name -> {hash, cosine, keypoint_inliers, patch_inliers, transplant_ncc}")
    gallery_rows: int = spec(12, ints(1), POS_INT)


def seed_ok(v) -> bool:  # requested_seeds already refused non-integers and negatives with its own words
    return not is_int(v) or v <= SEED_MAX


@dataclass
class TopLevel:
    study: str = spec("default", plain_study, STUDY_EXPECTED)
    results_root: str = spec("results", text(), "a directory path")
    cache_root: str = spec(".cache", text(), "a directory path")
    seed: int = spec(0, seed_ok, f"an integer in [0, {SEED_MAX}] (2**63-1)")
    seeds: Any = spec(None, lambda v: v is None or (isinstance(v, list) and all(map(seed_ok, v))),
                      f"null or a list of integers in [0, {SEED_MAX}]")
    k: Any = spec(None, ints(1, null=True), "at least 1 real label per class (an integer >= 1, or null for all)")
    threads: Any = spec(1, lambda v: v == "auto" or ints(1)(v), THREADS_ALLOWED + "; part of the cell")
    force: bool = spec(False, is_bool, "true or false")
    retry_failed: bool = spec(False, is_bool, "true or false")
    skip_unavailable: bool = spec(False, is_bool, "true or false")
    split: Split = field(default_factory=Split)
    synthetic: Synthetic = field(default_factory=Synthetic)
    audit: Audit = field(default_factory=Audit)
    limits: Limits = field(default_factory=Limits)
    endpoints: Endpoints = field(default_factory=Endpoints)
    curation: CurationSchema = field(default_factory=CurationSchema)
    volume_curve: VolumeCurve = field(default_factory=VolumeCurve)


TRAINERS = {"finetune": FinetuneTrainer, "featurebank": FeaturebankTrainer, "yolo": YoloTrainer}


# ---- validation ------------------------------------------------------------------------------------------

def _walk(schema, node, prefix: str) -> None:
    """Check every key of `schema` present in `node` (absent keys are left to their code's default)."""
    if not isinstance(node, dict):
        raise ConfigError(prefix.rstrip("."), node, "a mapping")
    for f in fields(schema):
        if f.name not in node:
            continue
        value, key = node[f.name], prefix + f.name
        if "check" in f.metadata:
            if not f.metadata["check"](value):
                expected = f.metadata["expected"]
                raise ConfigError(key, value, expected(value) if callable(expected) else expected)
        elif f.default_factory is not MISSING:  # a nested schema
            _walk(f.default_factory().__class__, value, key + ".")


def _volume(cfg: dict) -> None:
    lim, vol = cfg.get("limits") or {}, (cfg.get("synthetic") or {}).get("volume")
    max_n, max_f = lim.get("max_volume_count", 100_000), lim.get("max_volume_fraction", 100.0)
    if is_int(vol) and vol > max_n:
        raise ConfigError("synthetic.volume", vol, f"an image count per target class <= {max_n} "
                          f"(limits.max_volume_count), or a float fraction of its real train count")
    if isinstance(vol, float) and vol > max_f:
        raise ConfigError("synthetic.volume", vol, f"a fraction of the class's real train count <= {max_f:g} "
                          f"(a float; limits.max_volume_fraction), or an image count per target class as an int "
                          f"<= {max_n} (e.g. 64)")


def validate(cfg: dict) -> dict:
    """Refuse (ConfigError, one line) a value outside the schema; return `cfg` unchanged."""
    _walk(TopLevel, cfg, "")
    engine = (cfg.get("trainer") or {}).get("engine")
    if engine in TRAINERS:  # an unknown engine is refused with the list of known ones (check_common)
        _walk(TRAINERS[engine], cfg["trainer"], "trainer.")
    model = cfg.get("model")
    if model is not None:
        _walk(YoloModel if engine == "yolo" else TimmModel, model, "model.")
    if engine in ("finetune", "featurebank"):
        _budget(cfg["trainer"])
    _volume(cfg)
    check_share(cfg)
    if isinstance(cfg.get("dataset"), dict):
        dataset_id(cfg["dataset"])  # a custom dataset's dataset.id: present, well formed, not another's name
    check_curation(cfg)
    return cfg


def _budget(trainer: dict) -> None:
    steps, epochs = trainer.get("max_steps"), trainer.get("epochs")
    if steps is not None and epochs is not None:
        raise ConfigError("trainer.epochs", epochs, "null when trainer.max_steps is set", message=(
            f"trainer: set either max_steps (a step budget) or epochs, not both (trainer.max_steps={steps!r}, "
            f"trainer.epochs={epochs!r}; null one of them)"))
    if steps is None and epochs is None:
        raise ConfigError("trainer.max_steps", None, "a step budget", message=(
            "trainer: expected max_steps (> 0) or epochs (> 0); both are null"))


def register_schemas() -> None:
    """Store the schemas in Hydra's ConfigStore (group `schema`): they describe conf/ for tools and docs."""
    try:
        from hydra.core.config_store import ConfigStore
        from omegaconf import OmegaConf
    except ImportError:  # pragma: no cover
        return
    if not OmegaConf.has_resolver("scarce_study"):
        OmegaConf.register_new_resolver("scarce_study", safe_study)
    cs = ConfigStore.instance()
    for name, node in {"top": TopLevel, "trainer_finetune": FinetuneTrainer, "trainer_featurebank":
                       FeaturebankTrainer, "trainer_yolo": YoloTrainer, "model_timm": TimmModel,
                       "model_yolo": YoloModel, "synthetic": Synthetic, "split": Split, "audit": Audit,
                       "limits": Limits, "endpoints": Endpoints, "volume_curve": VolumeCurve}.items():
        cs.store(group="schema", name=name, node=node)
