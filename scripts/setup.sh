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
mmcv_version=2.1.0
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

mmcv_ok() { "$py" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$mmcv_version'" >/dev/null 2>&1; }

find_wheel() {  # first mmcv wheel for this Python in the given folders
  local tag
  tag=$("$py" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
  for d in "$@"; do
    [ -d "$d" ] || continue
    for w in "$d"/mmcv-"$mmcv_version"-"$tag"-"$tag"-linux_*.whl; do
      [ -f "$w" ] && { echo "$w"; return 0; }
    done
  done
  return 1
}

build_mmcv() {  # build from PyPI's sdist against the installed torch, keep the wheel in $cache
  local work
  work=$(mktemp -d)
  log "building mmcv $mmcv_version from source with compiled ops (7 to 30 minutes on 2 cores)"
  "${pip[@]}" download --no-deps --no-binary :all: -d "$work" "mmcv==$mmcv_version"
  tar -xzf "$work"/mmcv-"$mmcv_version".tar.gz -C "$work"
  # torch >= 2.14 headers require C++20; mmcv 2.1.0's setup.py forces C++17.
  sed -i 's/-std=c++17/-std=c++20/g' "$work/mmcv-$mmcv_version/setup.py"
  local cuda=0
  "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' && cuda=1
  (cd "$work/mmcv-$mmcv_version" &&
     MMCV_WITH_OPS=1 FORCE_CUDA=$cuda MAX_JOBS=${MAX_JOBS:-$(nproc)} \
       "$py" -m pip wheel --no-deps --no-build-isolation -w "$work/dist" .)
  mkdir -p "$cache"
  cp "$work"/dist/mmcv-*.whl "$cache"/
  rm -rf "$work"
}

if mmcv_ok; then
  log "mmcv $mmcv_version with ops present"
else
  wheel=$(find_wheel ${AUTODL_WHEELHOUSE:+"$AUTODL_WHEELHOUSE"} "$cache" || true)
  if [ -z "$wheel" ]; then
    build_mmcv
    wheel=$(find_wheel "$cache")
  fi
  log "installing $wheel"
  "${pip[@]}" install --no-deps --force-reinstall "$wheel"
  mmcv_ok || { echo "mmcv $mmcv_version was installed but its compiled ops do not load" >&2; exit 1; }
fi

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
