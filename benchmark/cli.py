"""`scarce`: the plain CLI (split, report, status, calibrate, plan, audit, export). Runs themselves go through the Hydra app `scarce-run`."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from benchmark import PROJECT_ROOT, export


def compose_config(overrides: list[str]):
    """The same config `scarce-run` would see, for commands that train (pilot runs) outside Hydra."""
    from hydra import compose, initialize_config_dir

    import benchmark.config  # noqa: F401  the schemas and the `scarce_study` resolver of hydra.run.dir
    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def cmd_split(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from benchmark.split.pilot import make_split

    folds = [f"split.folds={args.folds}"] if args.folds is not None else []
    cfg = OmegaConf.to_container(compose_config([f"dataset={args.dataset}", *folds, *args.overrides]), resolve=True)
    out = Path(args.out) if args.out else None
    path, manifest = make_split(cfg, seed=args.seed, pilot_seeds=args.pilot_seeds, hardest=args.hardest,
                                reason=args.reason, out=out, force=args.force)
    h = manifest["hardest"]
    print(f"wrote {path}")
    print(f"counts: {manifest['counts']}")
    if manifest.get("folds"):
        from benchmark.split.folds import fold_counts

        print(f"{manifest['folds']} cross-fitted test folds (train + test above = every non-selection image): "
              f"{fold_counts(manifest)}")
    print(f"hardest class: {h['class']} ({h['evidence']['description']})")
    leak = manifest.get("leak_check") or {}
    if leak.get("test_with_train_near_duplicate") or leak.get("selection_with_train_near_duplicate"):
        print(f"WARNING: {leak['test_with_train_near_duplicate']} test and {leak['selection_with_train_near_duplicate']} "
              f"selection images have a near-duplicate in train (perceptual hash distance <= {leak['max_bits']}); "
              f"if they are shots of one part, split again with split.group=near_duplicate --force")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from benchmark.report import write_report
    from benchmark.report.ending import report_ending

    paths = write_report(Path(args.study_dir), Path(args.out) if args.out else None)
    print("\n".join(report_ending(paths, Path(args.study_dir), verbose=args.verbose)))  # the answer last
    return 0


def cmd_published(args: argparse.Namespace) -> int:
    from benchmark.report.claims import CLAIM_COLUMNS, claim_lines, claims_frame
    from benchmark.report.table_formats import write_table_formats

    frame = claims_frame(Path(args.dir) if args.dir else None)
    print("\n".join(claim_lines(frame)))
    if args.out:
        heads = {c: c.capitalize() for c in CLAIM_COLUMNS}
        Path(args.out).mkdir(parents=True, exist_ok=True)
        for name, p in write_table_formats(frame, Path(args.out), "claims", heads, caption="Published claims").items():
            print(f"{name}: {p}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from benchmark.status import format_status

    print(format_status(Path(args.study_dir)))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from benchmark.bench import run_bench
    from benchmark.data import DatasetError

    p = {"dataset": args.dataset, "root": args.root}
    if args.quick:  # a smoke run of the same code paths (minutes, not tens of minutes)
        p.update(steps=20, seeds=1, lp_steps=20, lp_seeds=1, fb_seeds=3, study_seeds=3, joblib_steps=5,
                 joblib_runs=2, joblib_fb_seeds=2, ceiling_s=2, image_size=64, audit_quick=True,
                 folds=2)
    try:
        run_bench(p, Path(args.out), tuple(args.parts))
    except DatasetError as e:  # the adapter speaks of dataset.root; here the flag is --root
        raise DatasetError(f"{e}\n(scarce bench: pass the dataset's folder as --root DIR)") from e
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from benchmark.report.calibrate import format_summary, run_calibration
    from benchmark.stats import DecisionRule

    rule = DecisionRule(alpha=args.alpha, p=args.p, ci=None if args.ci == "none" else args.ci)
    arms = tuple(a.strip() for a in args.arms.split(","))
    if len(arms) != 2:
        raise ValueError(f"--arms {args.arms!r}: expected two arm labels separated by a comma, e.g. real,placebo")
    summary, paths = run_calibration(Path(args.study_dir), Path(args.out) if args.out else None, arms=arms,
                                     n_sims=args.sims, n_seeds=args.seeds, planted_pp=args.planted_pp, rule=rule,
                                     target_z=args.z, seed=args.rng_seed)
    print(format_summary(summary, summary.attrs.get("refused")))
    for name, p in paths.items():
        print(f"{name}: {p}")
    return 0 if paths else 1


def cmd_plan(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from benchmark.report.plan import dataset_overrides, design_sizes, ensure_pilots, format_plan, pilots_needed, \
        plan_table, resolve_manifest, write_plan
    from benchmark.split.manifest import load_manifest
    from benchmark.stats import DecisionRule

    path = resolve_manifest(args.target)
    manifest = load_manifest(path)
    if not manifest["hardest"]:
        raise ValueError(f"{path}: field 'hardest' is empty; expected a split whose hardest class is chosen")
    over = [*dataset_overrides(manifest), f"split.manifest={path.resolve()}", *args.overrides]
    cfg = OmegaConf.to_container(compose_config(over), resolve=True)
    if (cfg["dataset"].get("task") or "classification") != "classification":
        raise ValueError(f"{path}: dataset.task is {cfg['dataset']['task']!r}; expected a classification split "
                         "(the plan simulates per-image outcomes of the hardest class)")
    for k in args.folds:  # a design that cannot be is refused before any pilot trains
        design_sizes(manifest, k)
    if min(args.seeds) < 2:
        raise ValueError(f"--seeds {args.seeds}: expected seeds per study >= 2")
    rule = DecisionRule(target_effect_pp=args.target_pp)
    side = ensure_pilots(path, manifest, cfg, args.pilots or pilots_needed(args.seeds), args.pilot_seed)
    table = plan_table(side, manifest, args.seeds, args.folds, args.endpoints, rule=rule, n_sims=args.sims,
                       seed=args.rng_seed)
    print(format_plan(table, path, manifest, side, rule, args.sims))
    for name, p in (write_plan(table, Path(args.out)) if args.out else {}).items():
        print(f"{name}: {p}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from benchmark.data.fetch import fetch

    return fetch(args.dataset, args.to, sha256=args.sha256, archive=args.archive, force=args.force)


def cmd_audit(args: argparse.Namespace) -> int:
    from benchmark.audit.command import run_audit

    return run_audit(args.target, args.dataset, args.overrides, args.out, args.calibrate, args.detector)


def _add_split(sub) -> None:
    s = sub.add_parser("split", help="freeze train/selection/test for a dataset and choose its hardest class")
    s.add_argument("dataset", help="registered dataset name (e.g. demo, magnetic_tile, imagefolder)")
    s.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. dataset.id=welds dataset.root=DIR")
    s.add_argument("--seed", type=int, default=0, help="split seed")
    s.add_argument("--pilot-seeds", type=int, nargs="+", default=[1000, 1001, 1002],
                   help="seeds of the real-only pilot runs on the selection split (not to be reported)")
    s.add_argument("--hardest", help="fix the hardest class instead of choosing it (e.g. a published choice)")
    s.add_argument("--reason", default="given on the command line", help="why the hardest class is fixed")
    s.add_argument("--out", help="manifest path (default datasets/splits/<dataset id>.json)")
    s.add_argument("--force", action="store_true", help="overwrite an existing (frozen!) manifest")
    s.add_argument("--folds", type=int, help="K cross-fitted test folds over every non-selection image "
                   "(same as split.folds=K; 1 = train / selection / test)")
    s.set_defaults(func=cmd_split)


def _study_command(sub, name: str, what: str, out_help: str | None = None) -> argparse.ArgumentParser:
    """A subcommand on one study directory (positional `study_dir`), with `--out DIR` when it writes."""
    p = sub.add_parser(name, help=what)
    p.add_argument("study_dir")
    if out_help:
        p.add_argument("--out", help=out_help)
    return p


def _add_report(sub) -> None:
    p = _study_command(sub, "report", "tables and figures from a study directory of run records",
                       "output directory (default <study_dir>/report)")
    p.add_argument("--verbose", action="store_true", help="also list every file written")
    p.set_defaults(func=cmd_report)


def _add_published(sub) -> None:
    p = sub.add_parser("published", help="the published claims (results/published/) checked on their own numbers")
    p.add_argument("--dir", help="folder of the published CSVs (default results/published)")
    p.add_argument("--out", help="also write claims.{csv,md,tex} here")
    p.set_defaults(func=cmd_published)


def _add_status(sub) -> None:
    _study_command(sub, "status", "done / failed / missing cells per arm and seed; states of submitted SLURM jobs"
                   ).set_defaults(func=cmd_status)


def _add_bench(sub) -> None:
    b = sub.add_parser("bench", help="engines side by side (naive / finetune / featurebank), study and joblib")
    b.add_argument("--dataset", default="magnetic_tile")
    b.add_argument("--root", default=None, help="the dataset's folder (default: its adapter's, e.g. "
                   "../shared/data/magnetic_tile beside the project)")
    b.add_argument("--out", default="results/bench")
    b.add_argument("--parts", nargs="+", default=["engines", "study", "joblib", "ceiling", "folds"],
                   choices=["engines", "study", "joblib", "ceiling", "folds", "audit"],
                   help="folds: a 5-fold feature-bank study vs the single-split one (wall time ratio, test size, CI); "
                   "audit (not in the default): the contamination audit's catch / false-flag rates and time")
    b.add_argument("--quick", action="store_true", help="tiny budgets: checks the benchmark runs, not speed")
    b.set_defaults(func=cmd_bench)


def _add_calibrate(sub) -> None:
    from benchmark.stats.decision import CI_KEYS, P_KEYS, DecisionRule

    c = _study_command(sub, "calibrate", "A/A simulations: false-positive and detection rates of the verdict rule",
                       "output directory (default <study_dir>/report, where `scarce report` finds it)")
    c.add_argument("--arms", default="real,placebo", help="the two arms whose runs at the same seeds form the "
                   "pool (default real,placebo: a placebo label's first match; one arm alone pairs its seeds)")
    c.add_argument("--sims", type=int, default=2000, help="simulated studies per scenario")
    c.add_argument("--seeds", type=int, help="seeds per simulated study (default: the study's own)")
    c.add_argument("--planted-pp", type=float, default=10.0, help="effect planted for the detection rate (pp)")
    c.add_argument("--z", type=float, default=3.4, help="SCARCE's |z| bar")
    c.add_argument("--alpha", type=float, default=0.05, help="rule: significance level")
    c.add_argument("--p", default=DecisionRule.p, choices=sorted(P_KEYS), help="rule: which p value "
                   "(default: the seeds × test-units t-test, Holm)")
    c.add_argument("--ci", default=DecisionRule.ci, choices=[*sorted(CI_KEYS), "none"],
                   help="rule: which CI must exclude 0 (default: the seeds × test-units t interval)")
    c.add_argument("--rng-seed", type=int, default=0, help="seed of the simulations")
    c.set_defaults(func=cmd_calibrate)


def _add_plan(sub) -> None:
    from benchmark.report.plan import DEFAULT_PILOT_SEED, PLAN_ENDPOINTS

    p = sub.add_parser("plan", help="hardest-class test size and minimum detectable effect per design, from pilots")
    p.add_argument("target", help="a dataset name (its datasets/splits/<dataset>.json) or a manifest path")
    p.add_argument("overrides", nargs="*", help="Hydra overrides for pilot runs, e.g. trainer=featurebank")
    p.add_argument("--seeds", type=int, nargs="+", default=[5, 10, 15, 30], help="seeds per study")
    p.add_argument("--folds", type=int, nargs="+", default=[1, 3, 5], help="1 = the single split, K = K-fold")
    p.add_argument("--target-pp", type=float, default=10.0, help="warn when the MDE exceeds this (pp)")
    p.add_argument("--endpoints", nargs="+", default=list(PLAN_ENDPOINTS), choices=PLAN_ENDPOINTS)
    p.add_argument("--pilots", type=int, help="pilot runs at least (default: enough A/A pairs, >= 10)")
    p.add_argument("--pilot-seed", type=int, default=DEFAULT_PILOT_SEED, help="first seed of new pilot runs")
    p.add_argument("--sims", type=int, default=1000, help="simulated studies per detection rate")
    p.add_argument("--rng-seed", type=int, default=0, help="seed of the simulations")
    p.add_argument("--out", help="directory for plan.csv / plan.md / plan.tex")
    p.set_defaults(func=cmd_plan)


def _add_audit(sub) -> None:
    a = sub.add_parser("audit", help="synthetic-set audit: near-copies of test/train images, fidelity, gallery")
    a.add_argument("target", nargs="?", help="a delivery folder (manifest.csv) or a generator name / YAML file")
    a.add_argument("overrides", nargs="*", help="Hydra overrides before the options, e.g. synthetic.volume=40 "
                   "audit.model.image_size=64")
    a.add_argument("--dataset", required=True, help="dataset whose frozen split the set is audited against")
    a.add_argument("--out", help="output directory (default results/audit/<dataset>-<generator>-<set key>)")
    a.add_argument("--calibrate", action="store_true", help="propose thresholds from the train split and exit")
    a.add_argument("--detector", help="detection: a real-only detector (.pt, e.g. a real arm's fit.kept_weights) that "
                   "scores the generator's set against its own boxes, beside a shifted-box control")
    a.set_defaults(func=cmd_audit)


def _add_fetch(sub) -> None:
    from benchmark.data.fetch import add_arguments as fetch_arguments

    f = fetch_arguments(sub.add_parser("fetch", help="download (or say how to get), verify and unpack a dataset"))
    f.set_defaults(func=cmd_fetch)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scarce", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for add in (_add_split, _add_report, _add_published, _add_status, _add_bench, _add_calibrate, _add_plan, _add_audit,
                _add_fetch, export.add_export_parser):
        add(sub)  # each adds one subcommand (its arguments and its cmd_* function), in this order
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        print(f"scarce {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
