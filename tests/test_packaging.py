"""The plugin zip for the QGIS plugin repository, installed into a profile that QGIS then loads."""
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO

QGIS_PROCESS = "/usr/bin/qgis_process.bin"


def test_plugin_zip_installs_into_a_profile_and_loads(tmp_path):
    env = {**os.environ, "QGIS_CUSTOM_CONFIG_PATH": str(tmp_path / "config"), "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "package_plugin.py"), "--out", str(tmp_path),
                          "--install"], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    zip_path = tmp_path / "autodl_qgis-0.1.0.zip"
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        metadata = archive.getinfo("autodl_qgis/metadata.txt")
        assert archive.read(metadata) == (REPO / "metadata.txt").read_bytes()
    assert {"autodl_qgis/__init__.py", "autodl_qgis/LICENSE", "autodl_qgis/i18n/autodl_qgis_ja.qm",
            "autodl_qgis/processing/train_using_autodl.py", "autodl_qgis/engine/search/autodl.py"} <= names
    assert all(n.startswith("autodl_qgis/") for n in names)
    assert not any("__pycache__" in n or n.endswith((".pyc", ".ts")) or "/tests/" in n for n in names)
    installed = tmp_path / "config" / "profiles" / "default" / "python" / "plugins" / "autodl_qgis"
    assert (installed / "metadata.txt").is_file() and not (installed / "metadata.txt").is_symlink()
    if not shutil.which(QGIS_PROCESS):
        pytest.skip(f"{QGIS_PROCESS} is not installed (apt-get install qgis)")
    env.pop("QGIS_PLUGINPATH", None)
    subprocess.run([QGIS_PROCESS, "plugins", "enable", "autodl_qgis"], env=env, check=True, capture_output=True,
                   timeout=300)
    listing = subprocess.run([QGIS_PROCESS, "list"], env=env, capture_output=True, text=True, timeout=300)
    assert "autodl:trainusingautodl" in listing.stdout
