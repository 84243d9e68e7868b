#!/usr/bin/env bash
# Set up (idempotent), write the bundled sample dataset and run AutoDL's main job on it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh"
cd "$repo"
py=${AUTODL_VENV:-$repo/.venv}/bin/python
out=${1:-$repo/demo_output}
rm -rf "$out/pools"
"$py" -m autodl_qgis make-sample "$out/pools" --format PASCAL_VOC_rectangles --chips 24
"$py" -m autodl_qgis inspect "$out/pools"
