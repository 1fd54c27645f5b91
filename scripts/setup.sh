#!/usr/bin/env bash
# Create .venv and install scarce-bench into it (editable). Usage: bash scripts/setup.sh [extras]
# e.g. `bash scripts/setup.sh test` also installs the test tools.
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
case "$extras" in *detect*|*test*)  # ultralytics -> opencv-python needs libGL at import
  ldconfig -p 2>/dev/null | grep -q "libGL.so.1" || echo "   note: libGL is missing; detection needs it:" \
    "sudo apt-get install libgl1 libglib2.0-0 (scripts/test.sh does this when run as root)";;
esac
.venv/bin/python -c "import benchmark, torch, timm; print('scarce-bench', benchmark.__version__, '| torch', torch.__version__, '| timm', timm.__version__)"
