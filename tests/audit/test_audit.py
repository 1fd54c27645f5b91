"""Synthetic-set audit: FID/KID against hand-computed values, and acceptance 2 (planted test-image copies in
a vendor folder among >= 100 honest cut-paste images on the embedded demo: all copies flagged, <= 1 % of
honest images flagged), the run-time refusal and the cached audit."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark.audit import AuditRefused, audit_set, ensure_audited
from benchmark.audit.contamination import TRANSFORMS, write_near_copy
from benchmark.audit.fidelity import fid, kid, mean_cosine
from benchmark.data import create_dataset
from benchmark.generators import GenRequest, create_generator
from benchmark.split.manifest import file_hashes, load_manifest, split_items

DEMO_MANIFEST = Path(__file__).resolve().parents[2] / "datasets" / "splits" / "demo.json"
AUDIT = {"enabled": True, "allow_contamination": False, "refuse_inherited": False, "gallery_rows": 6,
         "model": {"name": "tf_efficientnet_lite0", "image_size": 64, "pretrained": True},  # demo images are 64 px
         "thresholds": {"hash": 21, "cosine": 0.99}}


def exact_moments(rng, n: int, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """n samples whose sample mean is `mean` and sample covariance (ddof 1) is diag(var), exactly."""
    z = rng.standard_normal((n, len(mean)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False)).T)  # sample covariance -> identity
    return z * np.sqrt(var) + mean


def test_fid_closed_form_and_identical_sets():
    rng = np.random.default_rng(0)
    m1, m2, v1, v2 = np.array([0.0, 1, 2]), np.array([1.0, -1, 2]), np.array([1.0, 4, 0.25]), np.array([4.0, 1, 1])
    a, b = exact_moments(rng, 50, m1, v1), exact_moments(rng, 70, m2, v2)
    expected = np.sum((m1 - m2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))  # diagonal covariances
    assert fid(a, b) == pytest.approx(expected, rel=1e-6)
    assert fid(a, a) == pytest.approx(0.0, abs=1e-6)
    assert np.isnan(fid(a[:1], b))


def test_trace_sqrt_product_gram_form_matches_direct_root():
    from scipy import linalg

    from benchmark.audit.fidelity import trace_sqrt_product

    rng = np.random.default_rng(2)
    xa, xb = rng.standard_normal((5, 12)), rng.standard_normal((7, 12))  # n < D: the n x n Gram form
    xa, xb = xa - xa.mean(axis=0), xb - xb.mean(axis=0)
    direct = np.real(np.trace(linalg.sqrtm((xa.T @ xa / 4) @ (xb.T @ xb / 6))))
    assert trace_sqrt_product(xa, xb) == pytest.approx(direct, rel=1e-5)


def test_kid_hand_computed_and_unbiased_near_zero():
    a, b = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    # k(x, y) = (x y / 1 + 1)^3: within a: k(0,1) = 1; within b: k(2,3) = 343; across: (1 + 1 + 27 + 64) / 4
    assert kid(a, b) == pytest.approx(1 + 343 - 2 * 93 / 4)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((400, 8)), rng.standard_normal((400, 8))
    assert abs(kid(x, y)) < 0.02 < kid(x, y + 1.0)
    assert mean_cosine(np.ones((2, 3)), np.ones((4, 3))) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def demo():
    ds = create_dataset("demo")
    return ds, load_manifest(DEMO_MANIFEST)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One feature/hash cache for the module: train and test are hashed and embedded once."""
    return tmp_path_factory.mktemp("audit-cache")


def _vendor_folder(root: Path, ds, manifest, cache: Path) -> tuple[Path, dict[str, str]]:
    """>= 100 honest cut-paste images (pit + crack, pasted on nominal *train* images) plus planted near-copies
    of test images (every TRANSFORMS entry, 2 test images each). Returns the folder and {planted: test path}."""
    train = split_items(manifest, "train")
    req = GenRequest(ds, train, file_hashes(manifest, "train"), {"pit": 60, "crack": 60}, 0)
    honest = create_generator("cutpaste").materialize(req, cache)
    root.mkdir()
    rows, planted = [], {}
    for it in honest.items:
        rel = f"honest/{Path(it.path).name}"
        (root / "honest").mkdir(exist_ok=True)
        shutil.copyfile(it.path, root / rel)
        rows.append((rel, it.label))
    test = split_items(manifest, "test")
    rng = np.random.default_rng(0)
    victims = [test[i] for i in rng.choice(len(test), size=2 * len(TRANSFORMS), replace=False)]
    (root / "planted").mkdir()
    for k, (how, victim) in enumerate(zip([t for t in TRANSFORMS for _ in range(2)], victims)):
        out = write_near_copy(str(ds.abspath(victim.path)), how, root / "planted" / f"p{k:02d}_{how}", rng)
        rel = out.relative_to(root).as_posix()
        rows.append((rel, victim.label))
        planted[rel] = victim.path
    with open(root / "manifest.csv", "w", newline="") as f:
        csv.writer(f).writerows([("path", "label"), *rows])
    return root, planted


def test_acceptance_planted_test_copies_flagged_honest_not(demo, cache, tmp_path):
    ds, manifest = demo
    folder, planted = _vendor_folder(tmp_path / "vendor", ds, manifest, tmp_path / "gen")
    req = GenRequest(ds, split_items(manifest, "train"), file_hashes(manifest, "train"), {}, 0)
    syn = create_generator("folder", root=str(folder)).materialize(req, tmp_path / "gen")
    out = audit_set(syn.items, ds, manifest, AUDIT, cache, tmp_path / "audit")
    rows = {Path(r["path"]).relative_to(folder).as_posix(): r for r in out["images"]}
    honest = [r for k, r in rows.items() if k.startswith("honest/")]
    assert len(honest) >= 100 and len(planted) == 2 * len(TRANSFORMS)
    missed = [k for k in planted if not rows[k]["test_copy"]]
    assert not missed, f"planted test copies not flagged: {[(k, rows[k]['test_hash_dist']) for k in missed]}"
    for k, victim in planted.items():  # and each is matched to the test image it was made from
        assert victim in (rows[k]["test_hash_match"], rows[k]["test_cos_match"]), k
    false_pos = [r["path"] for r in honest if r["test_copy"]]
    assert len(false_pos) <= 0.01 * len(honest), false_pos
    s = out["summary"]
    assert s["contaminated"] and s["n_test_copies_new"] == len(planted) + len(false_pos)
    assert s["split_leak"]["n_test_with_train_copy"] == 0  # the demo split has no train twins of test images
    # cut-paste pastes onto nominal train images: it legitimately sits near train, which the fraction reports
    assert 0.0 <= s["train_copy_fraction"] <= 1.0 and s["n_images"] == len(rows)
    fid_pit = out["fidelity"]["per_class"]["pit"]
    assert 0.0 < fid_pit["mean_cosine_to_real"] <= 1.0 and fid_pit["fid"] > 0
    assert out["fidelity"]["class_share"]["synthetic"]["crack"] > 0
    assert (tmp_path / "audit" / "audit.json").is_file() and (tmp_path / "audit" / "audit_gallery.png").is_file()


def test_run_hook_refuses_contaminated_set_unless_allowed(demo, cache, tmp_path):
    ds, manifest = demo
    test = split_items(manifest, "test")
    folder = tmp_path / "vendor"
    folder.mkdir()
    rng = np.random.default_rng(3)
    out = write_near_copy(str(ds.abspath(test[0].path)), "jpeg70", folder / "leak", rng)
    honest = write_near_copy(str(ds.abspath(split_items(manifest, "train")[0].path)), "exact", folder / "ok", rng)
    (folder / "manifest.csv").write_text(f"path,label\n{out.name},{test[0].label}\n{honest.name},good\n")
    req = GenRequest(ds, split_items(manifest, "train"), file_hashes(manifest, "train"), {}, 0)
    syn = create_generator("folder", root=str(folder)).materialize(req, tmp_path / "gen")
    cfg = {"audit": AUDIT, "cache_root": str(cache)}
    with pytest.raises(AuditRefused, match=r"leak\.jpg ~ test .*allow_contamination=true"):
        ensure_audited(cfg, ds, manifest, syn)
    cached = sorted(cache.glob(f"synthetic/demo/audit-folder-{syn.key}/*/audit.json"))
    assert len(cached) == 1  # audited once, next to the set's cache entries
    summary = ensure_audited({**cfg, "audit": {**AUDIT, "allow_contamination": True}}, ds, manifest, syn)
    assert summary["n_test_copies"] == 1 and summary["flagged"] == [str(folder / out.name)]
    assert summary["n_train_copies"] >= 1  # the exact train copy: adds nothing
    assert syn.meta["audit"] is summary and summary["audit_json"] == str(cached[0])
    assert ensure_audited({**cfg, "audit": {**AUDIT, "enabled": False}}, ds, manifest, syn) is None
    # the same folder by hand: `scarce audit DIR --dataset demo` prints the flag and exits 1
    from benchmark.cli import main

    over = [f"cache_root={cache}", "audit.model.image_size=64"]
    assert main(["audit", str(folder), *over, "--dataset", "demo", "--out", str(tmp_path / "cli")]) == 1
    assert (tmp_path / "cli" / "audit.json").is_file() and (tmp_path / "cli" / "audit_gallery.svg").is_file()


@pytest.mark.shared_data
def test_magnetic_tile_planted_copies_flagged_and_split_leak_reported(cache, tmp_path):
    """On the real Magnetic Tile split (grouped: the exposures of one tile share a split) every planted test
    copy is flagged too, and no honest cut-paste image is a new test copy."""
    from tests.conftest import needs_shared

    root = needs_shared("magnetic_tile")
    ds = create_dataset("magnetic_tile", root=str(root))
    manifest = load_manifest(DEMO_MANIFEST.parent / "magnetic_tile.json")
    train, test = split_items(manifest, "train"), split_items(manifest, "test")
    req = GenRequest(ds, train, file_hashes(manifest, "train"), {manifest["hardest"]["class"]: 32}, 0)
    honest = create_generator("cutpaste").materialize(req, tmp_path / "gen").items
    rng = np.random.default_rng(1)
    victims = [test[i] for i in rng.choice(len(test), size=len(TRANSFORMS), replace=False)]
    (tmp_path / "planted").mkdir()
    planted = [write_near_copy(str(ds.abspath(v.path)), how, tmp_path / "planted" / how, rng)
               for how, v in zip(TRANSFORMS, victims)]
    from benchmark.data.base import Item

    items = honest + [Item(str(p), v.label) for p, v in zip(planted, victims)]
    out = audit_set(items, ds, manifest, AUDIT, cache)
    rows = {r["path"]: r for r in out["images"]}
    assert all(rows[str(p)]["test_copy"] for p in planted), [(p.name, rows[str(p)]["test_hash_dist"]) for p in planted]
    assert not any(rows[it.path]["test_copy"] and not rows[it.path]["inherited"] for it in honest)
    assert out["summary"]["split_leak"]["n_test"] == len(test)
    assert manifest["leak_check"]["test_with_train_near_duplicate"] == 0  # the split itself keeps tiles whole
