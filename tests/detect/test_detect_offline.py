"""A detection run must never touch the network: not at `import ultralytics`, not for fonts, the AMP
check, weights, hub, settings sync or update checks. A fresh interpreter (so ultralytics is imported
under the block, with no YOLO_* variables inherited) runs a synthetic-arm cell with every socket entry
point patched to record the attempt and raise; the test fails if any attempt was made."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from benchmark import PROJECT_ROOT
from tests.detect_fixtures import tiny_demo_det, tiny_overrides

SCRIPT = textwrap.dedent("""
    import json, socket, sys
    attempts = []

    def blocked(name):
        def f(*args, **kwargs):
            attempts.append([name, repr(args[1:] if name.startswith("socket.") else args)[:200]])
            raise OSError(f"network blocked by test ({name})")
        return f

    socket.socket.connect = blocked("socket.connect")
    socket.socket.connect_ex = blocked("socket.connect_ex")
    socket.socket.sendto = blocked("socket.sendto")
    socket.create_connection = blocked("create_connection")
    socket.getaddrinfo = blocked("getaddrinfo")
    socket.gethostbyname = blocked("gethostbyname")

    from benchmark.cli import compose_config
    from benchmark.run import run_seeds
    rec = run_seeds(compose_config(json.loads(sys.argv[1])))[0]
    assert "ultralytics" in sys.modules
    print("RESULT " + json.dumps({"attempts": attempts, "status": rec["status"], "error": rec.get("error")}))
""")


def test_detection_run_attempts_no_network(tmp_path):
    root, manifest = tiny_demo_det(tmp_path)
    overrides = tiny_overrides(tmp_path, root, manifest) + ["study=offline", "arm=synthetic", "seed=0"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOLO_")}
    env["HOME"] = str(tmp_path / "home")  # no ~/.config/Ultralytics left over from elsewhere
    p = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(overrides)], cwd=PROJECT_ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    assert p.returncode == 0 and lines, p.stdout[-3000:] + p.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["status"] == "ok", out["error"]
    assert out["attempts"] == [], f"network access attempted: {out['attempts']}"
    fonts = tmp_path / "cache" / "ultralytics" / "Ultralytics"
    assert (fonts / "Arial.ttf").is_file()  # the project-owned config dir holds the font ultralytics asks for


def test_importing_ultralytics_leaves_pil_open_alone(tmp_path):
    """ultralytics patches PIL.Image.open to fetch a HEIF plugin on unknown files; after our import an
    unreadable file must still raise Pillow's own error (which load_rgb turns into a clear DatasetError)."""
    import PIL.Image


    from benchmark.detect import offline

    offline.ultralytics(tmp_path)
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with pytest.raises(PIL.Image.UnidentifiedImageError):
        PIL.Image.open(bad)
