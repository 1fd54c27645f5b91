#!/usr/bin/env bash
# Create .venv and install scarce-bench into it (editable). Usage: bash scripts/setup.sh [extras]
# e.g. `bash scripts/setup.sh test` also installs the test tools (with the detect and mlflow extras' packages);
# `bash scripts/setup.sh mlflow`: `scarce export mlflow` only.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
extras=${1:-}
target="."
[ -n "$extras" ] && target=".[${extras}]"
echo "== installing scarce-bench${extras:+ [$extras]} into .venv (first time: a few minutes, torch is large)"
.venv/bin/python -m pip install -q -e "$target" 2>&1 | grep -v "^WARNING: Location" || true
# opencv-python (the audit's keypoint detector; ultralytics too) needs libGL at import, whatever the extras:
# installed here when we can (root + apt), else named
if ! ldconfig -p 2>/dev/null | grep -q "libGL.so.1"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing libgl1 and libglib2.0-0 for opencv (the audit's copy detector)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgl1 libglib2.0-0) >/dev/null 2>&1 \
      || echo "   libGL could not be installed: the audit will fail at 'import cv2'"
  else
    echo "   note: libGL is missing; the audit (opencv) needs it: sudo apt-get install libgl1 libglib2.0-0"
  fi
fi
.venv/bin/python -c "import benchmark, torch, timm; print('scarce-bench', benchmark.__version__, '| torch', torch.__version__, '| timm', timm.__version__)"
