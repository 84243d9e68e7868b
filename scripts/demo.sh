#!/usr/bin/env bash
# Set up (idempotent), write the bundled sample dataset and run Train Using AutoDL on it (a 6-minute time limit on
# 2 CPU cores; SingleShotDetector, the CPU portfolio's first, usually stops early), describe the model package
# it wrote, and score it on chips it never saw.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh"
cd "$repo"
py=${AUTODL_VENV:-$repo/.venv}/bin/python
out=${1:-$repo/demo_output}
rm -rf "$out/pools" "$out/pools_unseen" "$out/pools.dlpk" "$out/pools_report.html" "$out/pools_leaderboard.csv"
# 200 chips: the search holds 40 out for validation and 20 for its test score; 100 more, drawn apart, to evaluate on
"$py" -m autodl_qgis make-sample "$out/pools" --format PASCAL_VOC_rectangles --chips 200
"$py" -m autodl_qgis make-sample "$out/pools_unseen" --format PASCAL_VOC_rectangles --chips 100 --seed 1
"$py" -m autodl_qgis inspect "$out/pools"
"$py" -W ignore -m autodl_qgis train "$out/pools" "$out/pools.dlpk" --total-time-limit 0.1 \
  --networks SingleShotDetector --report
"$py" -m autodl_qgis show "$out/pools.dlpk"
"$py" -W ignore -m autodl_qgis evaluate "$out/pools.dlpk" "$out/pools_unseen"
echo "report: $out/pools_report.html"
