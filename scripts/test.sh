#!/usr/bin/env bash
# One command, fresh machine -> installed .venv with test extras + the whole test suite.
#   bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# The HTML report test renders index.html in headless Chromium (Debian package); install it when we can.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing chromium for the headless HTML report test"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "   chromium could not be installed: the HTML render test will skip and say why"
fi
# The detection track's ultralytics pulls opencv-python, which needs libGL (and glib) at import.
if ! ldconfig -p 2>/dev/null | grep -q "libGL.so.1" && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing libgl1 and libglib2.0-0 for opencv (detection tests)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgl1 libglib2.0-0) >/dev/null 2>&1 \
    || echo "   libGL could not be installed: detection tests will fail at 'import cv2'"
fi
# The SLURM tests (pytest -m slurm) start a throw-away cluster (scripts/slurm_local.sh): Debian's slurm-wlm + munge.
if ! command -v slurmctld >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing slurm-wlm and munge for the SLURM tests (a local single-node cluster)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge) >/dev/null 2>&1 \
    || echo "   slurm-wlm could not be installed: the SLURM tests will skip and say why"
fi
# root with SLURM installed: the SLURM tests must run, not skip (tests/test_slurm.py fails instead of skipping)
if [ "$(id -u)" = 0 ] && command -v slurmctld >/dev/null 2>&1; then export SCARCE_REQUIRE_SLURM=1; fi
exec .venv/bin/python -m pytest -q "$@"
