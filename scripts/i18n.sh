#!/usr/bin/env bash
# Refresh the translation catalogues from the sources (pylupdate5) and compile them (lrelease).
# Translators edit i18n/autodl_qgis_<lang>.ts (e.g. with Qt Linguist); the compiled .qm files are committed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../i18n"
pylupdate5 -noobsolete autodl_qgis.pro
for ts in autodl_qgis_*.ts; do
  lrelease "$ts" -qm "${ts%.ts}.qm"
done
