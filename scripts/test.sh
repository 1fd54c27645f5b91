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
exec .venv/bin/python -m pytest -q "$@"
