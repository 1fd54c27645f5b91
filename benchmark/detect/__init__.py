"""The detection track: YOLO (ultralytics) trained on real, real + synthetic and real + duplicated real
images with boxes, under the same frozen-split / paired-seed / placebo protocol as classification.

ultralytics is imported only through :mod:`benchmark.detect.offline` (it must see the offline
environment first). Modules: `labels` (VOC / YOLO files), `data` (datasets), `demo` (procedural
demo_det), `generators` (cutpaste, folder: `DetGenerator`s of the one `Generator` base), `arms`, `yolo`
(the `yolo` engine: training and metrics), `split` (frozen split + hardest class). The task plugin that runs
them through the shared protocol core is `benchmark/tasks/detection.py`.
"""
