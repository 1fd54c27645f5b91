"""The task plugins behind one protocol core: every registered task is walked (timm's test_models style),
detection deliveries are audited like classification ones, and config mistakes are refused before data."""
from __future__ import annotations

import shutil

import pytest
from PIL import Image

from benchmark.audit.hook import AuditRefused
from benchmark.cli import compose_config
from benchmark.run import run_seeds
from benchmark.split.manifest import load_manifest
from benchmark.tasks import Task, create_task, list_tasks
from tests.detect_fixtures import tiny_demo_det, tiny_overrides


def test_every_task_is_listed_and_created():
    names = list_tasks()
    assert {"classification", "detection"} <= set(names)
    for name in names:
        task = create_task(name)
        assert isinstance(task, Task) and task.name == name
        assert task.arms[:3] == ("real", "synthetic", "placebo")  # the protocol's arms, in every task
        assert task.engines and task.generators.list()
        assert {"train", "test"} <= set(task.verify_splits)


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(KeyError, match="unknown task 'segmentatoin'; known tasks: classification, .*detection"):
        create_task("segmentatoin")
    with pytest.raises(KeyError, match="known tasks"):
        create_task("../evil")  # not a module name: never imported


@pytest.mark.parametrize("overrides, message", [
    (["arm=real_plus"], "unknown arm 'real_plus'; known arms: real, synthetic, placebo, oracle \\(arms of task 'classif"),
    (["dataset=demo_det"], "is a detection dataset .* add task=detection"),
    (["task=detection", "dataset=demo"], "is a classification dataset .* add task=classification"),
    (["trainer=yolo"], "unknown engine 'yolo'; known engines: featurebank, finetune \\(trainer.engine of task 'cl"),
    (["task=detection", "dataset=demo_det", "trainer=finetune"], "known engines: yolo \\(trainer.engine of task 'det"),
    (["arm=synthetic", "generator=det_folder", "generator.root=/nowhere"], "generator.task=detection: generator config 'folder' is for detection datasets, task 'classification' needs"),
    (["task=detection", "dataset=demo_det", "k=2"], "k \\(few-shot\\) is not supported for detection"),
])
def test_config_mistakes_are_refused_before_data_is_read(overrides, message, tmp_path, monkeypatch):
    import benchmark.protocol.core as core

    def no_data(*a, **k):
        pytest.fail("the dataset was loaded before the config was refused")

    monkeypatch.setattr(core, "frozen_manifest", no_data)
    cfg = compose_config([*overrides, f"results_root={tmp_path}", f"cache_root={tmp_path / 'c'}"])
    with pytest.raises((ValueError, KeyError), match=message):
        run_seeds(cfg)


def test_detection_is_chosen_by_task_alone():
    cfg = compose_config(["task=detection", "dataset=demo_det"])
    assert (cfg.task.name, cfg.model.name, cfg.trainer.engine, cfg.generator.name) == \
        ("detection", "yolov8n.yaml", "yolo", "cutpaste")
    assert compose_config(["task=detection", "dataset=demo_det", "trainer.epochs=7"]).trainer.epochs == 7


def _delivery_with_a_test_copy(tmp_path, root, manifest_path):
    """A vendor's YOLO delivery: one honest train-derived image and one JPEG-recompressed test image of the
    hardest class (speck) with its own labels."""
    man = load_manifest(manifest_path)
    test = next(e for e in man["files"]["test"] if e["label"] == "speck")
    train = next(e for e in man["files"]["train"] if e["label"] == "speck")
    out = tmp_path / "vendor"
    (out / "images").mkdir(parents=True)
    (out / "labels").mkdir()
    for name, e in (("honest", train), ("leak", test)):
        img = Image.open(root / e["path"]).convert("L")
        if name == "honest":
            img = img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)  # not a copy of anything in test
            lines = []
            for line in (root / e["boxes"]).read_text().split("\n"):
                if line.strip():
                    c, x, y, w, h = line.split()
                    lines.append(f"{c} {x} {1 - float(y):.6f} {w} {h}")
            (out / "labels" / f"{name}.txt").write_text("\n".join(lines) + "\n")
        else:
            shutil.copy(root / e["boxes"], out / "labels" / f"{name}.txt")
        img.save(out / "images" / f"{name}.jpg", quality=80)
    return out


def test_detection_delivery_with_a_test_near_copy_is_refused_before_training(tmp_path, monkeypatch):
    from benchmark.tasks import detection

    root, manifest = tiny_demo_det(tmp_path)
    vendor = _delivery_with_a_test_copy(tmp_path, root, manifest)
    monkeypatch.setattr(detection.Detection, "fit", lambda *a, **k: pytest.fail("trained on a contaminated set"))
    base = tiny_overrides(tmp_path, root, manifest) + ["study=leak", "seed=0", "synthetic.volume=2",
                                                      "generator=det_folder", f"generator.root={vendor}",
                                                      "audit.model.image_size=64"]
    with pytest.raises(AuditRefused, match=r"near-copies of test images: .*leak\.jpg ~ test .*allow_contamination"):
        run_seeds(compose_config(base + ["arm=synthetic"]))
    assert not list((tmp_path / "results" / "leak" / "records").glob("*.json"))  # no record: nothing to skip later


FAST_FB = ["trainer=featurebank", "trainer.views=1", "trainer.max_steps=50", "model.image_size=64", "threads=1",
           "synthetic.volume=8", "audit.model.image_size=64"]


@pytest.mark.slow
def test_a_third_task_trains_for_real_through_the_same_core(tmp_path):
    """defect_binary (benchmark/tasks/defect_binary/) on the demo: every arm, records, report endpoint."""
    from benchmark.report.collect import hardest_correctness

    base = [*FAST_FB, "task=defect_binary", "dataset=demo", f"results_root={tmp_path / 'r'}",
            f"cache_root={tmp_path / 'c'}", "study=binary", "seeds=[0,1]"]
    recs = {arm: run_seeds(compose_config(base + [f"arm={arm}"])) for arm in ("real", "synthetic", "placebo")}
    assert all(r["status"] == "ok" for rs in recs.values() for r in rs), recs["real"][0].get("error")
    syn = recs["synthetic"][0]
    assert syn["hardest_class"] == "defect" and syn["metrics"]["classes"] == ["defect", "good"]
    assert syn["metrics"]["source_class"] == "pit" and 0.0 <= syn["metrics"]["source_class_recall"] <= 1.0
    assert syn["cell"]["task"] == "defect_binary" and syn["added_counts"]["pit"] == 8  # generated pits
    assert recs["placebo"][0]["cell"]["placebo_counts"] == {"pit": 8}
    paths, correct, _ = hardest_correctness(syn)  # the report's per-image endpoint: defect recall
    assert correct.mean() == pytest.approx(syn["metrics"]["hardest_class_accuracy"])
    # the same config under the classification task is another cell (never reused across tasks)
    cls = run_seeds(compose_config([b for b in base if not b.startswith("task=")] + ["arm=real", "seeds=[0]"]))[0]
    assert cls["run_id"] != recs["real"][0]["run_id"] and cls["hardest_class"] == "pit"


def test_adding_a_task_edits_nothing_outside_its_package_and_config():
    """The third task is named only in its own package and its config file: no edit in the core."""
    from benchmark import PROJECT_ROOT

    own = {PROJECT_ROOT / "benchmark" / "tasks" / "defect_binary", PROJECT_ROOT / "conf" / "task" / "defect_binary.yaml"}
    named = [p for d in ("benchmark", "conf") for p in (PROJECT_ROOT / d).rglob("*")
             if p.is_file() and p.suffix in (".py", ".yaml") and not any(o == p or o in p.parents for o in own)
             and "defect_binary" in p.read_text()]
    assert named == [], f"the core names the defect_binary task: {named}"
