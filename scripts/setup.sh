#!/usr/bin/env bash
# Set up everything autodl_qgis needs on Debian 12 (bookworm): Debian's QGIS/GDAL, a venv made from the
# system Python (the only Python that can import qgis), the pinned Python requirements and mmcv 2.1.0
# with compiled ops. Idempotent: each step is skipped when already done.
#
# Environment:
#   AUTODL_WHEELHOUSE  folder with prebuilt wheels (e.g. mmcv-2.1.0-cp311-*.whl) to use before building
#   AUTODL_VENV        venv location (default: <repo>/.venv)
#   AUTODL_CACHE       where a locally built mmcv wheel is kept (default: ~/.cache/autodl_qgis/wheels)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${AUTODL_VENV:-$repo/.venv}
cache=${AUTODL_CACHE:-$HOME/.cache/autodl_qgis/wheels}
t0=$(date +%s)

log() { printf '[setup %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_packages=(qgis python3-qgis qgis-providers gdal-bin python3-gdal python3-venv python3-dev
              qttools5-dev-tools pyqt5-dev-tools build-essential
              postgresql)  # shared searches; the tests start a throw-away server of their own
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages present"
fi

if [ ! -x "$venv/bin/python" ]; then
  log "creating venv $venv from /usr/bin/python3 (with system site-packages for qgis and osgeo)"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
py=$venv/bin/python
pip=("$py" -m pip --disable-pip-version-check -q)

# Re-install only when the requirement files changed since the last successful run.
stamp=$venv/.autodl-requirements.sha256
want=$(cat "$repo"/requirements/*.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing Python requirements (requirements/base.txt)"
  "${pip[@]}" install -r "$repo/requirements/base.txt"
  log "installing OpenMMLab packages without their opencv-python dependency (requirements/openmmlab.txt)"
  "${pip[@]}" install --no-deps -r "$repo/requirements/openmmlab.txt"
  echo "$want" > "$stamp"
else
  log "Python requirements up to date"
fi

# mmcv with its compiled ops: the same step as Install AutoDL Engine's OpenMMLab option (autodl_qgis/installer.py):
# a wheel from $AUTODL_WHEELHOUSE or the cache when one fits, else built once from source and kept in the cache.
(cd "$repo" && "$py" -m autodl_qgis.installer mmcv ${AUTODL_WHEELHOUSE:+--wheels "$AUTODL_WHEELHOUSE"} --cache "$cache") |
  while IFS= read -r line; do log "$line"; done

# The engine as an editable install: `python -m autodl_qgis` from any folder, always this checkout's code.
if ! (cd / && "$py" -c "import autodl_qgis, sys; sys.exit(0 if autodl_qgis.__file__.startswith('$repo/') else 1)") 2>/dev/null; then
  log "installing autodl_qgis (editable) into $venv"
  "${pip[@]}" install --no-deps --no-build-isolation -e "$repo"
fi

# A plugin folder holding only a link to the plugin, for QGIS_PLUGINPATH: the checkout itself would make QGIS' Plugin
# Manager list i18n, requirements, scripts and tests as broken plugins.
mkdir -p "$repo/qgis-plugins"
ln -sfn ../autodl_qgis "$repo/qgis-plugins/autodl_qgis"

log "done; checking the stack"
(cd "$repo" && "$py" -m autodl_qgis doctor)
