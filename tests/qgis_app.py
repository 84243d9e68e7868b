"""One QgsApplication per test process, started on first use (engine tests never need one), Processing with the
plugin's provider, and the environment qgis_process.bin needs."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_APP = None


def qgis_app():
    global _APP
    if _APP is None:
        from qgis.testing import start_app

        _APP = start_app(cleanup=False)
    return _APP


QGIS_PROCESS = "/usr/bin/qgis_process.bin"  # /usr/bin/qgis_process is a broken Debian wrapper on 3.22
_REGISTRY = _PLUGIN = None


def processing_registry():
    """Processing initialised with the plugin's provider, once per process (the tests share it)."""
    global _REGISTRY, _PLUGIN
    if _REGISTRY is None:
        qgis_app()
        sys.path.append("/usr/share/qgis/python/plugins")
        from processing.core.Processing import Processing
        from qgis.core import QgsApplication

        import autodl_qgis

        Processing.initialize()
        _PLUGIN = autodl_qgis.classFactory(None)  # owns the provider: kept for the whole process
        _PLUGIN.initProcessing()
        _REGISTRY = QgsApplication.processingRegistry()
    return _REGISTRY


@pytest.fixture
def shared_provider_aside():
    """For a test that registers a plugin of its own: the provider that processing_registry() keeps for the process
    steps aside (QGIS holds one provider per id) and comes back afterwards."""
    if _PLUGIN is not None:
        _PLUGIN.unload()
    yield
    if _PLUGIN is not None:
        _PLUGIN.initProcessing()


def qgis_process_env(tmp_path, repo):
    """qgis_process.bin with this checkout as plugin folder, a throw-away profile with the plugin enabled, and the
    venv's packages importable (it embeds the system Python, which does not see the venv)."""
    if not shutil.which(QGIS_PROCESS):
        pytest.skip(f"{QGIS_PROCESS} is not installed (apt-get install qgis)")
    import torch

    site_packages = str(os.path.dirname(os.path.dirname(torch.__file__)))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QGIS_PLUGINPATH": str(repo),
           "QGIS_CUSTOM_CONFIG_PATH": str(tmp_path / "profile"), "PYTHONPATH": site_packages}
    subprocess.run([QGIS_PROCESS, "plugins", "enable", "autodl_qgis"], env=env, check=True, capture_output=True,
                   timeout=300)
    return env


@pytest.fixture
def no_autodl_temp_left(tmp_path_factory, monkeypatch):
    """A temporary folder private to the test, for this process and the QGIS / engine processes it starts: nothing
    named autodl-* may stay in it (normal end, failure, cancel or a killed engine)."""
    folder = tmp_path_factory.mktemp("system-temp")
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    yield folder
    left = [p.name for p in folder.iterdir() if p.name.startswith("autodl-")]
    assert left == [], f"temporary folders left behind: {left}"
