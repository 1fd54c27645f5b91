"""`scarce split <detection dataset>`: freeze the split (same manifest code as classification, box label
files hashed too), then choose the hardest class on the selection split: the lowest mean real-only
AP@.5:.95 over pilot seeds (disjoint from reported seeds), ties by fewest train objects."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from benchmark.data.ident import manifest_options
from benchmark.detect.data import create_det_dataset, det_split_items
from benchmark.split.hardest import choose_hardest, fixed_hardest
from benchmark.split.manifest import build_split, default_manifest_path, write_manifest

log = logging.getLogger("scarce.split")
RULE = ("lowest mean real-only AP@.5:.95 on the selection split over the pilot seeds (all classes); "
        "ties broken by fewest train objects")


def pilot_aps(cfg: dict, ds, manifest: dict, seeds: list[int]) -> dict[int, dict[str, float]]:
    """{pilot seed: {class: selection AP@.5:.95}} from real-only runs on the train split."""
    from benchmark.detect.yolo import fit_and_score
    from benchmark.train import set_threads

    train, sel = det_split_items(manifest, "train"), det_split_items(manifest, "selection")
    out = {}
    for s in seeds:
        set_threads(cfg.get("threads", 1))
        work = Path(cfg["cache_root"]).resolve() / "detect" / "pilots" / f"{ds.name}-{s}"
        try:
            res = fit_and_score(cfg, ds, train, sel, sel, s, ds.classes[0], work)
        finally:
            if not cfg["trainer"].get("keep_runs", False):
                shutil.rmtree(work, ignore_errors=True)
        per = res["metrics"]["per_class_ap50_95"]
        out[s] = {c: float(per.get(c, 0.0)) for c in ds.classes}  # no selection object: AP 0 (cannot be found)
        log.info("pilot seed %d: selection AP50-95 %s", s, {c: round(a, 4) for c, a in out[s].items()})
    return out


def make_det_split(cfg: dict, seed: int, pilot_seeds: list[int], hardest: str | None = None, reason: str = "",
                   out: Path | None = None, force: bool = False) -> tuple[Path, dict]:
    ds = create_det_dataset(cfg["dataset"])
    out = out or default_manifest_path(ds.name)
    if out.exists() and not force:
        raise FileExistsError(f"{out}: the split is frozen; pass --force to rebuild it (invalidates all runs)")
    manifest = build_split(ds, seed=seed, options=manifest_options(cfg["dataset"]),
                           dedupe=bool((cfg.get("split") or {}).get("dedupe")))
    if hardest:
        cls, evidence = fixed_hardest(hardest, ds.classes, reason)
    else:
    
        objects = ds.object_counts(det_split_items(manifest, "train"))
        per_seed = pilot_aps(cfg, ds, manifest, pilot_seeds)
        cls, evidence = choose_hardest(per_seed, objects, ds.classes)
        evidence.update(description=RULE, metric="AP@.5:.95 (ultralytics validator)",
                        mean_selection_ap50_95=evidence.pop("mean_selection_accuracy"),
                        selection_ap50_95=evidence.pop("selection_accuracy"),
                        train_objects=evidence.pop("train_counts"),
                        pilot_config={"model": cfg["model"], "trainer": cfg["trainer"]})
    manifest["hardest"] = {"class": cls, "rule": evidence["rule"], "evidence": evidence}
    return write_manifest(manifest, out), manifest
