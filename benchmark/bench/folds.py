"""`scarce bench --parts folds`: a K-fold feature-bank study against the single-split one, side by side.

Both studies run the same arms and seeds on the same dataset, each from its own cold feature cache, in one
invocation: the single split on the dataset's frozen manifest, the K-fold one on a K-fold manifest frozen
here with the same seed, grouping and hardest class (so the selection split, and the class, are the same).
The K-fold study trains K times as many heads and builds K synthetic sets (each audited), but embeds every
image once for all folds; the row reports both wall times, their ratio (target <= 2x), and what each design
tests: hardest-class test images and independent units, and the primary comparison's CI width.
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from benchmark.bench import BIN, common_overrides, timed

__all__ = ["folds_frame"]


def _freeze_folds(p: dict, root: Path, k: int) -> tuple[Path, dict]:
    """A K-fold manifest with the default manifest's seed, grouping and hardest class (its pilots not rerun)."""
    from benchmark.split.manifest import default_manifest_path, load_manifest

    single = load_manifest(default_manifest_path(p["dataset"]))
    group = (single["config"] or {}).get("group") or {}
    out = root / f"{p['dataset']}_k{k}.json"
    over = [f"split.group={group['method']}", f"split.group_max_bits={group['max_bits']}"] if group else []
    data_root = [f"dataset.root={Path(p['root']).resolve()}"] if p.get("root") else []
    timed([BIN / "scarce", "split", p["dataset"], *data_root, *over, "--folds", str(k), "--seed",
           str(single["config"]["seed"]), "--hardest",
           single["hardest"]["class"], "--reason", "bench: the default manifest's hardest class", "--out", out])
    return out, single


def _study(p: dict, root: Path, name: str, manifest: Path | None, cache: str) -> tuple[float, pd.DataFrame]:
    seeds = ",".join(str(s) for s in range(p["study_seeds"]))
    split = [f"split.manifest={manifest}"] if manifest else []
    t0 = time.perf_counter()
    timed([BIN / "scarce-run", "-m", *common_overrides(p, root, cache), f"study={name}", "trainer=featurebank",
           *split, "arm=real,placebo,synthetic", f"seeds=[{seeds}]", "threads=1"])
    timed([BIN / "scarce", "report", root / name])
    wall = time.perf_counter() - t0
    return wall, pd.read_csv(root / name / "report" / "comparisons.csv")


def _design(comp: pd.DataFrame) -> dict:
    row = comp[comp["family"] == "primary"].iloc[0]
    return {"test_images": int(row["n_test_images"]), "units": int(row["n_units"]),
            "ci_width_pp": round(float(row["rule_ci_high_pp"] - row["rule_ci_low_pp"]), 1),
            "mean_pp": round(float(row["mean_pp"]), 1), "verdict": row["verdict"]}


def folds_frame(p: dict, root: Path) -> pd.DataFrame:
    """Two rows (single split, K = `p["folds"]` folds) and the wall-time ratio on the K-fold row."""
    k = int(p["folds"])
    kpath, _ = _freeze_folds(p, root, k)
    one_s, one = _study(p, root, "bench_single", None, "single_cache")
    k_s, kf = _study(p, root, f"bench_k{k}", kpath, "folds_cache")
    rows = [{"design": "single split", "wall_s": round(one_s, 1), **_design(one), "wall_vs_single": 1.0},
            {"design": f"{k} folds", "wall_s": round(k_s, 1), **_design(kf), "wall_vs_single": round(k_s / one_s, 2)}]
    return pd.DataFrame(rows).assign(study=f"{p['dataset']} 3 arms x {p['study_seeds']} seeds, featurebank, "
                                           "each from a cold feature cache -> report")
