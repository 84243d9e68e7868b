"""Builds the zip the QGIS plugin repository expects, and optionally installs it into a QGIS profile.

    .venv/bin/python scripts/package_plugin.py [--out dist/] [--install [--profile default]]

The zip holds one folder, autodl_qgis/, with metadata.txt (a real file, not the checkout's link), the compiled
translations in autodl_qgis/i18n/, the pinned requirements in autodl_qgis/requirements/ (Install AutoDL Engine
installs them), the README, the licence and the code; no tests, caches or .ts sources.
"""
from __future__ import annotations

import argparse
import configparser
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SKIP_PARTS = {"__pycache__"}
SKIP_SUFFIXES = {".pyc", ".pyo"}


def version() -> str:
    parser = configparser.ConfigParser()
    parser.read(REPO / "metadata.txt", encoding="utf-8")
    return parser["general"]["version"]


def build(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"autodl_qgis-{version()}.zip"
    fd, tmp = tempfile.mkstemp(suffix=".zip", dir=out_dir)
    os.close(fd)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((REPO / "autodl_qgis").rglob("*")):
            relative = path.relative_to(REPO)
            if path.is_dir() or SKIP_PARTS & set(relative.parts) or path.suffix in SKIP_SUFFIXES:
                continue
            if path.name == "metadata.txt":
                continue  # written below from the real file
            archive.write(path, relative.as_posix())
        archive.write(REPO / "metadata.txt", "autodl_qgis/metadata.txt")
        archive.write(REPO / "LICENSE", "autodl_qgis/LICENSE")
        archive.write(REPO / "README.md", "autodl_qgis/README.md")
        for requirements in sorted((REPO / "requirements").glob("*.txt")):
            archive.write(requirements, f"autodl_qgis/requirements/{requirements.name}")
        for qm in sorted((REPO / "i18n").glob("*.qm")):
            archive.write(qm, f"autodl_qgis/i18n/{qm.name}")
    os.replace(tmp, target)
    return target


def profile_plugins(profile: str) -> Path:
    base = os.environ.get("QGIS_CUSTOM_CONFIG_PATH") or Path.home() / ".local/share/QGIS/QGIS3"
    return Path(base) / "profiles" / profile / "python" / "plugins"


def install(zip_path: Path, profile: str) -> Path:
    plugins = profile_plugins(profile)
    plugins.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=plugins, prefix=".autodl_qgis-"))
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(staging)  # our own zip, built just now
    destination = plugins / "autodl_qgis"
    if destination.exists():
        shutil.rmtree(destination)
    os.replace(staging / "autodl_qgis", destination)
    shutil.rmtree(staging)
    return destination


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "dist"))
    parser.add_argument("--install", action="store_true", help="also install into a QGIS profile")
    parser.add_argument("--profile", default="default")
    args = parser.parse_args()
    zip_path = build(Path(args.out))
    print(zip_path)
    if args.install:
        print(f"installed in {install(zip_path, args.profile)}; enable it in QGIS (Plugins > Manage) or with "
              "qgis_process.bin plugins enable autodl_qgis")
    return 0


if __name__ == "__main__":
    sys.exit(main())
