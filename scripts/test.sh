#!/usr/bin/env bash
# Set up (idempotent), lint, and run the whole test suite headless. Extra arguments go to pytest
# (e.g. -m 'not slow and not qgis' for a quick engine-only run).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh"
cd "$repo"
export QT_QPA_PLATFORM=offscreen
py=${AUTODL_VENV:-$repo/.venv}/bin/python
"$py" -m ruff check autodl_qgis tests scripts  # the rules are in pyproject.toml
exec "$py" -m pytest "$@"
