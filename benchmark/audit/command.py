"""`scarce audit`: audit a vendor folder or a generator's set against a dataset's frozen split, by hand.

    scarce audit path/to/delivery --dataset magnetic_tile        # a folder with manifest.csv: every image
    scarce audit cutpaste synthetic.volume=40 --dataset demo     # a generator (name or YAML): the set a run gets
    scarce audit cutpaste synthetic.sets=per_seed seed=3 --dataset demo   # the set of training seed 3
    scarce audit --calibrate --dataset demo                      # propose thresholds from the train split
    scarce audit det_cutpaste --dataset demo_det --detector last.pt   # detection: positional fidelity
"""
from __future__ import annotations

import json
from pathlib import Path

from omegaconf import OmegaConf


def _config(dataset: str, overrides: list[str]) -> dict:
    from benchmark.cli import compose_config

    return OmegaConf.to_container(compose_config([f"dataset={dataset}", *overrides]), resolve=True)


def synthetic_items(target: str, cfg: dict, dataset, manifest: dict):
    """(SyntheticSet, label) for a delivery folder (all its images) or a generator name / YAML file."""
    from benchmark.arms import build_arm
    from benchmark.tasks.classification import curation_of
    from benchmark.generators import GenRequest, create_generator
    from benchmark.split.manifest import file_hashes, split_items

    train, p = split_items(manifest, "train"), Path(target)
    cache = Path(cfg["cache_root"]) / "synthetic" / dataset.name
    if p.is_dir():
        req = GenRequest(dataset, train, file_hashes(manifest, "train"), {}, 0)
        return create_generator("folder", root=str(p)).materialize(req, cache)
    if p.is_file():  # a generator YAML (conf/generator/*.yaml layout)
        gen_cfg = dict(OmegaConf.to_container(OmegaConf.load(p)))
    elif target == cfg["generator"]["name"]:  # keeps generator.* overrides given on the command line
        gen_cfg = cfg["generator"]
    else:
        gen_cfg = _config(dataset.name, [f"generator={target}"])["generator"]
    if (cfg.get("synthetic") or {}).get("sets") == "per_seed":  # the set that training seed `seed` trains on
        from benchmark.protocol.sets import seed_generator

        gen_cfg = seed_generator(gen_cfg, int(cfg["seed"]))
    arm = build_arm("synthetic", dataset, train, file_hashes(manifest, "train"), manifest["hardest"]["class"],
                    gen_cfg, cfg["synthetic"], cache, curation_of(cfg))  # curation=<name>: the curated set
    return arm.synthetic


def format_summary(audit: dict) -> str:
    s, lines = audit["summary"], []
    leak = s["split_leak"]
    lines.append(f"{s['n_images']} synthetic images; near-copies of test images: {s['n_test_copies']} "
                 f"({s['n_test_copies_new']} new, {s['n_test_copies'] - s['n_test_copies_new']} inherited)"
                 f"{' CONTAMINATED' if s['contaminated'] else ''}; near-copies of train images: "
                 f"{s['n_train_copies']} ({100 * s['train_copy_fraction']:.1f} %); thresholds {s['thresholds']}")
    if leak["n_test_with_train_copy"]:
        lines.append(f"  split leak: {leak['n_test_with_train_copy']} of {leak['n_test']} test images have a near-copy "
                     f"in the train split (flags on them are 'inherited')")
    for f in s["flagged"]:
        lines.append(f"  flagged{' (inherited)' if f['inherited'] else ''} {f['path']} ~ test {f['test_hash_match']} "
                     f"(hash {f['test_hash_dist']} bits, cos {f['test_cos']:.3f})")
    for c, v in audit["fidelity"]["per_class"].items():
        lines.append(f"  fidelity {c}: n={v['n_synthetic']} vs {v['n_real']} real train; mean cosine to real "
                     f"{v['mean_cosine_to_real']:.4f} (real-real {v['real_within_cosine']:.4f}); "
                     f"FID {v['fid']:.2f}; KID {v['kid']:.5f}")
        if "discriminator_auc" in v:
            lines.append(format_functional(c, v))
    return "\n".join(lines)


def format_functional(c: str, v: dict) -> str:
    """The functional audit of one class (benchmark/audit/functional.py) in two lines."""
    pred = ", ".join(f"{k} {100 * p:.0f} %" for k, p in sorted(v["predicted"].items(), key=lambda kv: -kv[1])[:3])
    return (f"  coherence {c}: real-vs-synthetic discriminator AUC {v['discriminator_auc']:.3f} "
            f"[{v['auc_ci_low']:.3f}, {v['auc_ci_high']:.3f}] ({v['auc_folds']}-fold logistic probe; 0.5 = "
            f"indistinguishable, 1 = a separate domain); PRDC (k={v['prdc_k']}) precision {v['precision']:.3f}, "
            f"recall {v['recall']:.3f}, density {v['density']:.3f}, coverage {v['coverage']:.3f}\n"
            f"  label fidelity {c}: a real-only probe calls {100 * v['label_fidelity']:.1f} % of them {c} "
            f"(chance {100 * v['label_chance']:.1f} %; real {c} train images, cross-validated: "
            f"{100 * v['real_cv_accuracy']:.1f} %); it calls them: {pred}")


def run_audit(target: str | None, dataset_name: str, overrides: list[str], out: str | None,
              calibrate: bool = False, detector: str | None = None) -> int:
    """0 = clean (or calibration printed), 1 = the set holds near-copies of test images. With `detector`
    (detection): the set's positional fidelity instead (`run_positional`)."""
    if detector:
        return run_positional(target, dataset_name, overrides, detector, out)
    from benchmark.audit import audit_set
    from benchmark.audit.contamination import calibrate as calibrate_thresholds
    from benchmark.tasks import create_task
    from benchmark.protocol.guards import frozen_manifest
    from benchmark.split.manifest import split_items

    cfg = _config(dataset_name, overrides)
    dataset = create_task(cfg["dataset"].get("task") or "classification").load_dataset(cfg["dataset"])
    # the checks a run makes: seal, structure, labels against the dataset, file hashes (issue 17 item 2)
    manifest = frozen_manifest(cfg, dataset, [], ("train", "test"))
    if calibrate:
        items = split_items(manifest, "train")
        train = [str(dataset.abspath(it.path)) for it in items]
        masks = [str(dataset.abspath(it.mask)) if it.mask else None for it in items]
        groups = [e.get("group", e["path"]) for e in manifest["files"]["train"]]
        print(json.dumps(calibrate_thresholds(train, cfg["audit"], Path(cfg["cache_root"]), masks=masks, groups=groups),
                         indent=1, default=str))
        return 0
    if not target:
        raise ValueError("scarce audit: give a synthetic folder or a generator (name or YAML), or --calibrate")
    syn = synthetic_items(target, cfg, dataset, manifest)
    out_dir = Path(out) if out else Path(cfg["results_root"]) / "audit" / f"{dataset.name}-{syn.generator}-{syn.key}"
    audit = audit_set(syn.items, dataset, manifest, cfg["audit"], cfg["cache_root"], out_dir)
    print(format_summary(audit))
    for name, path in audit["files"].items():
        print(f"{name}: {path}")
    return 1 if audit["summary"]["contaminated"] else 0


def run_positional(target: str | None, dataset_name: str, overrides: list[str], detector: str,
                   out: str | None) -> int:
    """Detection: a generator's set (the one a synthetic run gets) scored against its own boxes by `detector`
    (benchmark/detect/positional.py), beside the same images with every box shifted by half the image (the
    control: what boxes that miss their objects score). Prints both, writes positional.json; 0."""
    from benchmark.detect.positional import positional_fidelity, read_set, shifted_set
    from benchmark.protocol.guards import frozen_manifest
    from benchmark.tasks import create_task

    cfg = _config(dataset_name, overrides + ([f"generator={target}"] if target else []) + ["arm=synthetic"])
    task = create_task(cfg["dataset"].get("task") or "classification")
    if task.name != "detection":
        raise ValueError(f"--detector: dataset {dataset_name!r} is a {task.name} dataset; expected a detection one")
    dataset = task.load_dataset(cfg["dataset"])
    manifest = frozen_manifest(cfg, dataset, [], ("train",))  # only train is read (the generator's source)
    syn = task.build_arm(cfg, dataset, manifest, None, Path(cfg["cache_root"]) / "synthetic" / dataset.name).synthetic
    ds, items = read_set(syn.root, dataset.classes)
    out_dir = Path(out) if out else Path(cfg["results_root"]) / "audit" / f"{dataset.name}-{syn.generator}-{syn.key}"
    hardest, size = manifest["hardest"]["class"], int(cfg["model"]["image_size"])
    work = Path(cfg["cache_root"]) / "detect" / "positional" / "by-hand"
    res = {name: positional_fidelity(detector, ds, its, hardest, work, size, cache_root=cfg["cache_root"])
           for name, its in (("boxes", items), ("shifted", shifted_set(ds, items, out_dir / "shifted")))}
    for name, r in res.items():
        print(f"positional fidelity ({name}, {r['n_images']} images, {size} px): mAP@.5 {r['map50']:.4f}, "
              f"mAP@.5:.95 {r['map50_95']:.4f}, hardest {hardest} AP@.5:.95 {r['hardest_class_ap50_95'] or 0:.4f}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "positional.json").write_text(json.dumps({"set": str(syn.root), "detector": detector, **res}, indent=1))
    print(f"positional_json: {out_dir / 'positional.json'}")
    return 0
