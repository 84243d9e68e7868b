#!/usr/bin/env bash
# Set up (idempotent), write the bundled sample dataset and run Train Using AutoDL on it (about 3 minutes on
# 2 CPU cores), then describe the model package it wrote.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh"
cd "$repo"
py=${AUTODL_VENV:-$repo/.venv}/bin/python
out=${1:-$repo/demo_output}
rm -rf "$out/pools" "$out/pools.dlpk"
"$py" -m autodl_qgis make-sample "$out/pools" --format PASCAL_VOC_rectangles --chips 48
"$py" -m autodl_qgis inspect "$out/pools"
"$py" -W ignore -m autodl_qgis train "$out/pools" "$out/pools.dlpk" --total-time-limit 0.05 \
  --networks FasterRCNN,RetinaNet,SingleShotDetector
"$py" -m autodl_qgis show "$out/pools.dlpk"
echo "report: unzip -p $out/pools.dlpk report.html > report.html"
