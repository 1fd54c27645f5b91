"""Published-table experiments: SCARCE Table 1 and which of its datasets can run here.

`dataset_available(dataset_cfg, manifest)` is what a sweep over datasets calls before a run: it says
(False, reason) when the data is not on disk, or when it is but has no frozen split yet, so the run can
be skipped with a note (`write_skip_note`) instead of failing. A dataset that *is* on disk but laid out
wrongly is not "unavailable": its adapter's DatasetError propagates, naming the file.

Table 1's hardest classes are the published ones, fixed with `scarce split --hardest` into manifests
under `datasets/splits/scarce_table1/` (kept apart from `datasets/splits/<dataset>.json`, whose hardest
class may have been chosen by pilot runs on the selection split). `python -m benchmark.experiments`
prints, for each Table 1 dataset, whether it is available and the exact split command.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from benchmark import PROJECT_ROOT
from benchmark.data.fetch import DatasetMissing, default_root, source_name
from benchmark.data.ident import dataset_id
from benchmark.io import write_json_atomic

# SCARCE Table 1: config name (conf/dataset/<name>.yaml) -> published hardest class, in table order.
TABLE1 = {
    "mvtec_ad_pill": "faulty_imprint",
    "magnetic_tile": "blowhole",
    "marble": "crack",
    "mvtec_ad_capsule": "crack",
    "mvtec_ad_zipper": "broken_teeth",
    "riawelc": "porosity",
    "mvtec_ad_metal_nut": "scratch",
    "plantvillage": "late_blight",
    "mvtec_ad_wood": "hole",
}
TABLE1_SPLITS = "datasets/splits/scarce_table1"  # relative to the project root (the working directory)
TABLE1_REASON = "SCARCE Table 1"


def table1_manifest(name: str) -> str:
    return f"{TABLE1_SPLITS}/{name}.json"


def split_command(name: str, root: str | Path | None = None) -> str:
    """The `scarce split` that freezes a Table 1 split with the published hardest class."""
    cmd = (f'scarce split {name} --hardest {TABLE1[name]} --reason "{TABLE1_REASON}" '
           f"--out {table1_manifest(name)}")
    return cmd + (f" dataset.root={root}" if root else "")


def _plain(dataset_cfg) -> dict:
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(dataset_cfg, DictConfig):
            return OmegaConf.to_container(dataset_cfg, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf ships with hydra
        pass
    return dict(dataset_cfg)


def expected_root(dataset_cfg: dict) -> Path | None:
    """The explicit `root`, else the source's default location; None for local datasets (demo ...)."""
    if dataset_cfg.get("root"):
        return Path(dataset_cfg["root"]).expanduser().resolve()
    src = source_name(dataset_cfg["name"])
    return default_root(src) if src else None


def dataset_available(dataset_cfg, manifest: str | Path | None = None) -> tuple[bool, str]:
    """(True, summary) when the dataset is on disk and its frozen split exists; else (False, what to do).

    `manifest` is the run's `split.manifest` (None = datasets/splits/<dataset name>.json). Raises the
    adapter's DatasetError when the data is there but laid out wrongly."""
    from benchmark.split.manifest import default_manifest_path
    from benchmark.tasks import create_task

    dcfg = _plain(dataset_cfg)
    name, root = dcfg["name"], expected_root(dcfg)
    where = "dataset.root" if dcfg.get("root") else "its default location"
    fetch_hint = f"`scarce fetch {source_name(name)} --to <dir>`, then dataset.root=<dir>" \
        if source_name(name) else "dataset.root=<dir>"
    if root is not None and not root.is_dir():
        return False, f"{name}: data not found at {root} ({where}); get it with {fetch_hint}"
    try:
        dataset = create_task(dcfg.get("task") or "classification").load_dataset(dcfg)  # any task's dataset
    except DatasetMissing as e:
        return False, f"{name}: {e}"
    mpath = Path(manifest) if manifest else default_manifest_path(dataset.name)
    if not mpath.is_file():
        return False, (f"{name}: data present at {dataset.root}, but no frozen split at {mpath}; run: "
                       f"{_split_hint(dcfg, manifest)}")
    return True, f"{name}: {len(dataset.items)} images at {dataset.root}; split {mpath}"


def _split_hint(dcfg: dict, manifest: str | Path | None) -> str:
    from benchmark.data.ident import CUSTOM, split_command as user_split

    name, root = dcfg["name"], dcfg.get("root")
    if manifest and name in TABLE1 and Path(manifest).as_posix().endswith(table1_manifest(name)):
        return split_command(name, root)
    out = f" --out {manifest}" if manifest else ""
    if name in CUSTOM:  # its id and root are part of the command (benchmark/data/ident.py)
        return user_split(dcfg) + out
    return f"scarce split {name}{out}" + (f" dataset.root={root}" if root else "")


def skip_note_path(cfg: dict) -> Path:
    return Path(cfg["results_root"]) / cfg["study"] / "skipped" / f"{dataset_id(cfg['dataset'])}.json"


def write_skip_note(cfg: dict, reason: str) -> Path:
    """Record why a dataset of a study was skipped (one note per dataset, rewritten atomically)."""
    path = skip_note_path(cfg)
    note = {"dataset": dataset_id(cfg["dataset"]), "study": cfg["study"], "status": "skipped", "reason": reason,
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    return write_json_atomic(path, note)


def table1_status(roots: dict[str, str] | None = None) -> list[tuple[str, bool, str]]:
    """(dataset, available, reason or split command) for each Table 1 dataset, from its conf/dataset yaml."""
    from omegaconf import OmegaConf

    rows = []
    for name in TABLE1:
        dcfg = OmegaConf.to_container(OmegaConf.load(PROJECT_ROOT / "conf" / "dataset" / f"{name}.yaml"))
        if roots and roots.get(name):
            dcfg["root"] = roots[name]
        ok, reason = dataset_available(dcfg, PROJECT_ROOT / table1_manifest(name))
        rows.append((name, ok, reason))
    return rows


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmark.experiments [name=root ...]`: Table 1 availability and split commands."""
    roots = dict(a.split("=", 1) for a in (sys.argv[1:] if argv is None else argv))
    for name, ok, reason in table1_status(roots):
        print(f"[{'ok' if ok else 'skip'}] {reason}")
        if "run: " not in reason and not (PROJECT_ROOT / table1_manifest(name)).is_file():
            print(f"       freeze its split: {split_command(name, roots.get(name))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
