"""Checks every task passes before data is read or a record can be written: seeds, config, frozen manifest.

A config mistake is not a training failure: a failed record would be skipped (not retried) by later sweeps,
so whatever can only fail is refused here, with the field and what was expected.
"""
from __future__ import annotations

from pathlib import Path

from benchmark.data.ident import split_command
from benchmark.split.manifest import default_manifest_path, load_manifest, verify
from benchmark.split.pilots import sidecar_pilot_seeds
from benchmark.train import check_threads


def requested_seeds(cfg: dict) -> list[int]:
    """`seeds=[...]` trains a block of seeds in one job (vectorised by engines that can); else `seed`."""
    raw = cfg.get("seeds") or [cfg["seed"]]
    not_int = [s for s in raw if not isinstance(s, int) or isinstance(s, bool)]
    if not_int:
        raise ValueError(f"seed(s) {not_int} are not integers; expected integers >= 0")
    seeds = [int(s) for s in raw]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds={seeds}: duplicated seed; expected distinct seeds")
    bad = [s for s in seeds if s < 0]
    if bad:
        raise ValueError(f"seed(s) {bad} are negative; expected integers >= 0")
    return seeds


def check_common(cfg: dict, task) -> None:
    """What every task refuses: a bad thread count, a dataset of another task, an arm, engine or generator
    the task does not have (each KeyError / ValueError lists the known ones)."""
    check_threads(cfg.get("threads", 1))  # an int >= 1 or "auto"; part of the cell
    kind = cfg["dataset"].get("task") or "classification"
    if kind != task.dataset_task:
        raise ValueError(f"dataset={cfg['dataset']['name']!r} is a {kind} dataset (dataset.task={kind}) but "
                         f"task={task.name!r} trains on {task.dataset_task} datasets; add task={kind} "
                         f"(conf/task/{kind}.yaml picks its model, trainer and generator)")
    arm = cfg["arm"]["name"]
    if arm not in task.arms:
        raise ValueError(f"unknown arm {arm!r}; known arms: {', '.join(task.arms)} (arms of task {task.name!r})")
    engine = cfg["trainer"].get("engine")
    if engine not in task.engines:
        raise KeyError(f"unknown engine {engine!r}; known engines: {', '.join(sorted(task.engines))} (trainer.engine "
                       f"of task {task.name!r}: conf/trainer/*.yaml; conf/task/{task.name}.yaml sets the default)")
    if arm in ("synthetic", "placebo"):  # placebo is count-matched to the generator's delivery
        gen_kind = cfg["generator"].get("task") or "classification"  # conf/generator/det_*.yaml say detection
        if gen_kind != task.dataset_task:
            raise ValueError(f"generator.task={gen_kind}: generator config {cfg['generator']['name']!r} is for "
                             f"{gen_kind} datasets, task {task.name!r} needs a {task.dataset_task} generator; known: "
                             f"{', '.join(task.generators.list())}")
        task.generators.get(cfg["generator"]["name"])  # KeyError listing this task's generators


def frozen_manifest(cfg: dict, dataset, seeds: list[int], splits: tuple[str, ...]) -> dict:
    """The manifest of `dataset` (`split.manifest` or its default), verified on `splits`, with a hardest class,
    and no reported seed among the pilot seeds that chose it."""
    from benchmark.split.folds import check_folds
    from benchmark.split.reserve import check_reserve
    from benchmark.split.manifest import ManifestError, verify_identity
    from benchmark.split.seal import check_seal
    from benchmark.split.validate import check_against_dataset, check_hardest_objects, check_structure

    mpath = Path(cfg["split"]["manifest"] or default_manifest_path(dataset.name))
    manifest = load_manifest(mpath)
    if manifest["hardest"] is None:
        raise ValueError(f"{mpath}: field 'hardest' is empty; run `{split_command(cfg['dataset'])}` to choose it")
    # the manifest as a whole, before any file is hashed (benchmark/split/validate.py, benchmark/split/seal.py)
    check_seal(manifest, str(mpath), ManifestError)
    verify_identity(manifest, dataset)
    check_structure(manifest, str(mpath))
    check_folds(manifest, str(mpath))
    check_reserve(manifest, str(mpath))
    check_against_dataset(manifest, dataset, str(mpath))
    verify(manifest, dataset, splits)
    check_hardest_objects(manifest, dataset, str(mpath))
    pilots = [*manifest["hardest"].get("evidence", {}).get("pilot_seeds", []), *sidecar_pilot_seeds(mpath)]
    if set(seeds) & set(pilots):
        raise ValueError(f"seed(s) {sorted(set(seeds) & set(pilots))} are pilot seeds {sorted(set(pilots))} "
                         f"({mpath}: hardest.evidence.pilot_seeds, or pilot_seeds of its pilots sidecar); "
                         f"reported seeds must be disjoint from pilot seeds")
    return manifest
