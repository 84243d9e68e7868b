"""Install AutoDL Engine as QGIS shows it: the algorithm, the first-use message bar, the provider's option, and a
plugin upgrade that changed the requirements (the real installation: tests/test_qgis_install_engine_e2e.py)."""
import shutil
import sys
import time
from pathlib import Path

import pytest

from autodl_qgis.installer import Stamp, requirements_dir, requirements_hash
from qgis_app import processing_registry, qgis_app

NO_TORCH_PYTHON = "/usr/bin/python3"  # Debian's: QGIS' own Python, which has no torch


@pytest.fixture
def engine_python_option():
    """Sets the provider's Python option for a test and puts the previous value back."""
    qgis_app()
    from qgis.core import QgsSettings

    from autodl_qgis.processing.engine_process import PYTHON_SETTING_KEY

    settings = QgsSettings()
    before = settings.value(PYTHON_SETTING_KEY, "")
    yield lambda value: settings.setValue(PYTHON_SETTING_KEY, value)
    settings.setValue(PYTHON_SETTING_KEY, before)


def test_the_algorithm_and_its_parameters():
    registry = processing_registry()
    algorithm = registry.algorithmById("autodl:installengine")
    assert algorithm is not None and algorithm.displayName() == "Install AutoDL Engine"
    names = {p.name(): p for p in algorithm.parameterDefinitions()}
    assert set(names) == {"openmmlab", "wheels", "index_url", "proxy", "torch"}
    assert names["openmmlab"].defaultValue() is False
    assert all(names[n].flags() & names[n].FlagOptional for n in ("wheels", "index_url", "proxy"))
    assert "about 20 minutes on 2 cores" in algorithm.shortHelpString()
    arguments = algorithm.engine_arguments({"wheels": "/w", "openmmlab": True, "torch": "cpu"},
                                           __import__("qgis.core").core.QgsProcessingContext(), None, Path("/tmp"))
    assert arguments[0] == "install-engine" and arguments[1].endswith("autodl_engine/venv")
    assert arguments[2:] == ["--torch", "cpu", "--wheels", "/w", "--openmmlab"]


class _Iface:
    def __init__(self):
        from qgis.gui import QgsMessageBar

        self.bar = QgsMessageBar()

    def messageBar(self):  # noqa: N802 - QGIS API name
        return self.bar


def _wait_for_engine_check(plugin) -> None:
    """Until the start-up check's task ended and its answer was delivered on this (the main) thread."""
    from qgis.PyQt.QtCore import QCoreApplication

    deadline = time.monotonic() + 60
    while not plugin.engine_checked and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.05)
    assert plugin.engine_checked, "the engine check did not end within 60 s"


@pytest.mark.skipif(not Path(NO_TORCH_PYTHON).is_file(), reason=f"{NO_TORCH_PYTHON} is not there")
def test_first_start_without_an_engine_offers_the_installer(engine_python_option, shared_provider_aside):
    qgis_app()
    from qgis.PyQt.QtWidgets import QLabel, QPushButton

    import autodl_qgis

    engine_python_option(NO_TORCH_PYTHON)
    iface = _Iface()
    plugin = autodl_qgis.classFactory(iface)
    plugin.initGui()
    try:
        assert iface.bar.currentItem() is None  # QGIS' start did not wait for the engine's interpreter
        _wait_for_engine_check(plugin)
        item = iface.bar.currentItem()
        assert item is not None
        buttons = [b.text() for b in item.findChildren(QPushButton)]
        assert "Install AutoDL Engine…" in buttons
        text = item.text() or " ".join(label.text() for label in item.findChildren(QLabel))
        print("message bar:", item.title(), "|", text)
        assert f"is not installed in {NO_TORCH_PYTHON}" in text
        from processing.core.ProcessingConfig import ProcessingConfig

        description = ProcessingConfig.settings["AUTODL_PYTHON"].description
        assert f"now {NO_TORCH_PYTHON}" in description
    finally:
        plugin.unload()
    # an engine that works: no message
    engine_python_option(sys.executable)
    iface = _Iface()
    plugin = autodl_qgis.classFactory(iface)
    plugin.initGui()
    try:
        _wait_for_engine_check(plugin)
        assert iface.bar.currentItem() is None
    finally:
        plugin.unload()


def test_an_engine_made_for_older_requirements_is_refused_with_the_update(engine_python_option, tmp_path):
    """After a plugin upgrade that changed requirements/: the update is offered before any import error."""
    registry = processing_registry()
    import processing
    from qgis.core import QgsProcessingException

    from autodl_qgis.processing.engine_process import engine_problem

    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    shutil.copy(sys.executable, venv / "bin" / "python")  # never started: refused before
    engine_python_option(str(venv / "bin" / "python"))
    Stamp(requirements_hash(requirements_dir(), False), False, "cpu", "3.11").write(venv)
    assert "earlier version" not in (engine_problem() or "")
    Stamp("0" * 64, False, "cpu", "3.11").write(venv)
    assert "was installed for an earlier version of this plugin" in engine_problem()
    assert registry.algorithmById("autodl:trainusingautodl") is not None
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("autodl:trainusingautodl", {"in_data": str(tmp_path), "out_model": str(tmp_path / "m.dlpk")})
    assert 'Run "Install AutoDL Engine"' in str(raised.value) and "to update it" in str(raised.value)


def _processes_using(folder: Path) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(folder) in text:
            found.append(text)
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="looks for left-over processes in /proc")
def test_cancel_stops_pip_and_leaves_no_stamp(tmp_path, monkeypatch):
    """Cancel while pip works: pip is stopped with the engine command, the run says so, and no stamp is written
    (the next run completes the environment)."""
    processing_registry()
    import time

    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    from autodl_qgis.installer import STAMP_NAME
    from autodl_qgis.processing.install_autodl_engine import InstallAutodlEngine

    venv = tmp_path / "venv"
    monkeypatch.setattr(InstallAutodlEngine, "venv", staticmethod(lambda: venv))
    seen = []

    class CancelDuringPip(QgsProcessingFeedback):
        def setProgressText(self, text):  # noqa: N802 - QGIS API name
            seen.append(text)
            if text.startswith("Installing torch"):
                self.cancel()

    started = time.monotonic()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run("autodl:installengine", {"torch": "cuda"}, feedback=CancelDuringPip())
    assert any(t.startswith("Installing torch") for t in seen)
    assert time.monotonic() - started < 60
    assert (venv / "bin" / "python").is_file() and not (venv / STAMP_NAME).exists()
    assert _processes_using(venv) == []


def test_networks_selector_marks_what_needs_the_extra(engine_python_option, tmp_path):
    processing_registry()
    from autodl_qgis.processing.networks_widget import describe, engine_has_openmmlab

    assert describe("FasterRCNN", False) == "FasterRCNN — object detection"
    assert describe("FCOS", False) == "FCOS — object detection — needs the OpenMMLab extra (not installed: skipped)"
    assert describe("FCOS", None) == "FCOS — object detection — OpenMMLab extra"
    assert describe("FCOS", True) == "FCOS — object detection"
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    engine_python_option(str(venv / "bin" / "python"))
    assert engine_has_openmmlab() is None  # a venv the installer did not make: QGIS cannot tell
    Stamp(requirements_hash(requirements_dir(), False), False, "cpu", "3.11").write(venv)
    assert engine_has_openmmlab() is False
