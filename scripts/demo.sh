#!/usr/bin/env bash
# One command, fresh machine -> installed .venv + the demo study end to end + its report.
#   bash scripts/demo.sh
# On the embedded procedural dataset (pit: 21 train, 30 test images), feature-bank engine, 15 seeds per arm:
# real / placebo / cutpaste / demo_oracle (positive control) / noise (negative control), every synthetic set
# audited before use (conf/experiment/demo.yaml), then `scarce report`: the oracle should come out a gain,
# noise not.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
start=$(date +%s)
.venv/bin/scarce-run -m experiment=demo "$@"
.venv/bin/scarce report results/demo
end=$(date +%s)
echo
echo "== demo study finished in $((end - start)) s (install not counted)"
echo "   table : results/demo/report/table.md (and table.csv)"
echo "   figure: results/demo/report/paired_seeds.png"
echo "   page  : results/demo/report/index.html (statistics, verdicts, caveats; works offline)"
echo
cat results/demo/report/table.md
