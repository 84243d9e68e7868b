#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite headless. Extra arguments go to pytest.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh"
cd "$repo"
export QT_QPA_PLATFORM=offscreen
exec "${AUTODL_VENV:-$repo/.venv}/bin/python" -m pytest "$@"
