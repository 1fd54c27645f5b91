"""`demo_oracle`, the positive control: new draws of the demo's own renderer, from streams no demo image uses.

Checked here: it renders what the demo renders (grey 64x64, masks for defects), deterministically; its seed
material and generator states are disjoint from every demo image's, and no output is byte-identical to or
within the audit's hash threshold of any demo image; it refuses other datasets; and a tiny feature-bank study
(real / placebo / synthetic) runs through the protocol with its set passing the run-time audit."""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark import PROJECT_ROOT
from benchmark.audit.contamination import cached_hashes
from benchmark.audit.hashing import min_distances
from benchmark.cli import compose_config
from benchmark.cli import main as scarce_main
from benchmark.data import create_dataset
from benchmark.data.base import DatasetError
from benchmark.data.demo import DEMO_COUNTS, SIZE, render_image
from benchmark.generators import GenRequest, create_generator, list_generators
from benchmark.generators.demo_oracle import NAMESPACE, demo_entropy, oracle_entropy
from benchmark.run import config_error_line

COUNTS = {"pit": 40, "hole": 8, "good": 8}


@pytest.fixture(scope="module")
def demo():
    return create_dataset("demo")


def request(ds, counts: dict[str, int], seed: int = 0) -> GenRequest:
    return GenRequest(ds, list(ds.items), {}, counts, seed)


@pytest.fixture(scope="module")
def oracle_set(demo, tmp_path_factory):
    return create_generator("demo_oracle").materialize(request(demo, COUNTS), tmp_path_factory.mktemp("oracle"))


def pixels_sha(path) -> str:
    return hashlib.sha256(np.asarray(Image.open(path)).tobytes()).hexdigest()


def test_registered_with_its_config():
    assert "demo_oracle" in list_generators()
    cfg = compose_config(["generator=demo_oracle"]).generator
    assert dict(cfg) == {"name": "demo_oracle", "seed": 0}
    lines = (PROJECT_ROOT / "conf" / "generator" / "demo_oracle.yaml").read_text().splitlines()
    assert lines[0].startswith("# scarce-run -m ") and "generator=demo_oracle" in lines[0]  # its example command
    keys = [ln for ln in lines if ln[:1].isalpha() and not ln.startswith("name:")]
    assert keys and all(" # " in ln for ln in keys)  # every default has its comment


def test_renders_like_the_demo_with_masks(oracle_set):
    assert oracle_set.counts() == COUNTS and oracle_set.generator == "demo_oracle"
    for it in oracle_set.items:
        im = Image.open(it.path)
        assert (im.mode, im.size) == ("L", (SIZE, SIZE))
        if it.label == "good":
            assert it.mask is None
        else:
            m = np.asarray(Image.open(it.mask))
            assert m.shape == (SIZE, SIZE) and set(np.unique(m)) <= {0, 255} and m.any()
    with open(oracle_set.root / "provenance.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(oracle_set.items)
    assert {r["entropy"].split()[-1] for r in rows} == {str(NAMESPACE)}


def test_same_config_and_seed_give_byte_identical_images(demo, oracle_set, tmp_path):
    again = create_generator("demo_oracle").materialize(request(demo, COUNTS), tmp_path / "b")
    assert again.key == oracle_set.key and again.content_sha256 == oracle_set.content_sha256
    for a, b in zip(oracle_set.items, again.items):
        assert Path(a.path).read_bytes() == Path(b.path).read_bytes()
        assert (a.mask is None and b.mask is None) or Path(a.mask).read_bytes() == Path(b.mask).read_bytes()
    other = create_generator("demo_oracle").materialize(request(demo, COUNTS, seed=1), tmp_path / "c")
    assert other.content_sha256 != oracle_set.content_sha256


def test_demo_entropy_is_the_stream_the_committed_images_came_from(demo):
    """So that disjointness from `demo_entropy` is disjointness from the dataset on disk."""
    for label in ("pit", "good"):
        img, _ = render_image(label, np.random.default_rng(demo_entropy(0, label, 3)))
        assert np.array_equal(img, np.asarray(Image.open(demo.abspath(f"images/{label}/{label}_003.png"))))


def test_seed_streams_are_disjoint_from_every_demo_image():
    def padded(words):  # SeedSequence zero-pads entropy to its 4-word pool: [a, b, c] is [a, b, c, 0]
        return tuple(words) + (0,) * (4 - len(words))

    def state(words):
        return tuple(np.random.default_rng(words).bit_generator.state["state"].values())

    demo_words = [demo_entropy(s, c, i) for s in (0, 1, 2) for c, n in DEMO_COUNTS.items() for i in range(n)]
    oracle_words = [oracle_entropy(s, c, j) for s in (0, 1, 2) for c in DEMO_COUNTS for j in range(200)]
    assert NAMESPACE != 0 and all(len(w) == 4 and w[-1] == NAMESPACE for w in oracle_words)
    assert not {padded(w) for w in demo_words} & {padded(w) for w in oracle_words}
    assert not {state(w) for w in demo_words} & {state(w) for w in oracle_words}


def test_no_image_is_a_copy_or_hash_near_copy_of_any_demo_image(demo, oracle_set, tmp_path):
    real = [str(demo.abspath(it.path)) for it in demo.items]
    assert len(real) == sum(DEMO_COUNTS.values())
    syn = [it.path for it in oracle_set.items]
    assert not {hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in syn} & \
        {hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in real}
    assert not {pixels_sha(p) for p in syn} & {pixels_sha(p) for p in real}
    refs = cached_hashes(real, "reference", tmp_path)  # the audit's hashes: pHash + dHash, views x crops
    dist = np.array([min_distances(q, refs).min() for q in cached_hashes(syn, "query", tmp_path)])
    threshold = int(compose_config([]).audit.thresholds.hash)
    assert dist.min() > threshold, f"an oracle image is {dist.min()} bits from a demo image (<= {threshold})"


def test_other_datasets_are_refused_in_one_line(tiny_dataset, tmp_path):
    with pytest.raises(DatasetError, match=r"^demo_oracle: dataset 'imagefolder' is not supported; expected "
                                           r"dataset=demo \(.*\)$") as err:
        create_generator("demo_oracle").materialize(request(tiny_dataset, {"hole": 2}), tmp_path / "c")
    assert not (tmp_path / "c").exists()  # refused before any cache directory is made
    assert config_error_line(err.value) == str(err.value)  # scarce-run: this one line, exit 2, no traceback


def test_seed_outside_one_entropy_word_is_refused(demo, tmp_path):
    with pytest.raises(ValueError, match=r"generator.seed=-1; expected an integer in \[0, 2\*\*32\)"):
        create_generator("demo_oracle").materialize(request(demo, {"pit": 1}, seed=-1), tmp_path)


# ---------------------------------------------------------------- a tiny feature-bank study through the protocol

FAST = ["dataset=demo", "trainer=featurebank", "model=timm", "model.name=resnet10t", "model.image_size=32",
        "trainer.views=1", "trainer.max_steps=5", "synthetic.volume=16", "threads=1", "seeds=[0,1]",
        "generator=demo_oracle", "study=oracle"]


def added(record: dict) -> dict[str, int]:
    return {c: n for c, n in record["added_counts"].items() if n}


def test_featurebank_study_with_the_oracle_passes_the_audit(tmp_path):
    from benchmark.run import run_seeds

    over = [*FAST, f"cache_root={tmp_path / 'cache'}", f"results_root={tmp_path / 'results'}"]
    recs = {arm: run_seeds(compose_config([*over, f"arm={arm}"])) for arm in ("real", "synthetic", "placebo")}
    assert all(r["status"] == "ok" for rs in recs.values() for r in rs), recs
    assert [r["cell"]["seed"] for r in recs["synthetic"]] == [0, 1]
    syn = recs["synthetic"][0]
    assert syn["cell"]["generator"] == "demo_oracle" and added(syn) == {"pit": 16}  # the hardest class
    audit = syn["synthetic"]["audit"]
    assert audit["n_images"] == 16 and not audit["contaminated"]
    assert audit["n_test_copies"] == 0 and audit["n_train_copies"] == 0  # new draws: near nothing real
    assert added(recs["placebo"][0]) == {"pit": 16}  # count-matched duplicates of real pits
    assert len(list((tmp_path / "results" / "oracle" / "records").glob("*.json"))) == 6
    assert scarce_main(["report", str(tmp_path / "results" / "oracle")]) == 0  # paired by seed, one table row
    with open(tmp_path / "results" / "oracle" / "report" / "table.csv", newline="") as f:
        (row,) = csv.DictReader(f)
    assert (row["dataset"], row["hardest_class"], row["n_seeds"]) == ("demo", "pit", "2")
