"""The engine installer's pure parts (interpreter paths on each system, torch build, pip options, the stamp), the
OpenMMLab extra as the base install lists it, and the algorithm as QGIS shows it. The real installation is
tests/test_qgis_install_engine_e2e.py."""
import json
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from autodl_qgis import installer
from autodl_qgis.engine import extras
from autodl_qgis.engine.progress import Cancelled, SilentCallbacks
from autodl_qgis.installer import (TORCH_CPU_INDEX, TORCH_CUDA_INDEX, PackageSource, Stamp, choose_torch,
                                   interpreter_candidates, mmcv_wheel, requirements_hash, venv_interpreter)
from conftest import REPO, Logged


def test_interpreter_paths_on_debian():
    # unverified elsewhere than Debian 12; there /usr/bin/qgis (or qgis_process.bin) runs /usr's Python
    found = interpreter_candidates("/usr/bin/qgis", "/usr", (3, 11), "linux")
    assert found == [PurePosixPath("/usr/bin/python3.11"), PurePosixPath("/usr/bin/python3")]
    # a QGIS started from a venv's Python: the venv is left for the Python it was made from
    assert interpreter_candidates("/home/u/env/bin/python", "/usr", (3, 11), "linux")[0] == \
        PurePosixPath("/usr/bin/python3.11")


def test_interpreter_paths_on_windows():
    # unverified on Windows: the OSGeo4W / standalone installer layout
    found = interpreter_candidates(r"C:\Program Files\QGIS 3.22.16\bin\qgis-bin.exe",
                                   r"C:\PROGRA~1\QGIS32~1.16\apps\Python39", (3, 9), "win32")
    assert found[0] == PureWindowsPath(r"C:\PROGRA~1\QGIS32~1.16\apps\Python39\python.exe")
    assert PureWindowsPath(r"C:\Program Files\QGIS 3.22.16\bin\python3.exe") in found
    assert PureWindowsPath(r"C:\Program Files\QGIS 3.22.16\apps\Python39\python.exe") in found
    assert venv_interpreter(PureWindowsPath(r"C:\Users\u\AppData\Roaming\QGIS\QGIS3\profiles\default\autodl_engine"
                                            r"\venv"), "win32") == PureWindowsPath(
        r"C:\Users\u\AppData\Roaming\QGIS\QGIS3\profiles\default\autodl_engine\venv\Scripts\python.exe")


def test_interpreter_paths_on_macos():
    # unverified on macOS: the QGIS.app bundle
    found = interpreter_candidates("/Applications/QGIS.app/Contents/MacOS/QGIS",
                                   "/Applications/QGIS.app/Contents/Frameworks/Python.framework/Versions/3.9",
                                   (3, 9), "darwin")
    assert found[0] == PurePosixPath("/Applications/QGIS.app/Contents/MacOS/bin/python3")
    assert venv_interpreter(PurePosixPath("/Users/u/venv"), "darwin") == PurePosixPath("/Users/u/venv/bin/python")


def test_qgis_python_is_the_first_that_exists():
    expected = Path(sys.base_prefix) / "bin" / "python3"
    assert installer.qgis_python(exists=lambda p: p == expected) == expected
    with pytest.raises(installer.InstallError, match="Providers › AutoDL › Python"):
        installer.qgis_python(exists=lambda p: False)


def test_torch_build_follows_the_gpu_and_the_system():
    assert choose_torch("auto", "/usr/bin/nvidia-smi", "linux") == TorchBuild(
        "cuda", None, "NVIDIA driver found (/usr/bin/nvidia-smi)")
    assert choose_torch("auto", None, "linux").index_url == TORCH_CPU_INDEX  # PyPI's Linux wheel is the CUDA one
    assert choose_torch("auto", None, "win32") == TorchBuild("cpu", None, "no NVIDIA driver found (no nvidia-smi)")
    assert choose_torch("auto", r"C:\Windows\System32\nvidia-smi.exe", "win32").index_url == TORCH_CUDA_INDEX
    assert choose_torch("cpu", "/usr/bin/nvidia-smi", "linux").kind == "cpu"
    assert choose_torch("cuda", None, "darwin").kind == "cpu"


TorchBuild = installer.TorchBuild


def test_pip_options_for_closed_networks():
    cpu = choose_torch("auto", None, "linux")
    assert PackageSource().pip_options(cpu) == ["--extra-index-url", TORCH_CPU_INDEX]
    assert PackageSource(wheels="/w").pip_options(cpu) == ["--find-links", "/w", "--no-index"]
    assert PackageSource(wheels="/w", index_url="https://m/simple", proxy="http://p:3128").pip_options(cpu) == [
        "--find-links", "/w", "--index-url", "https://m/simple", "--proxy", "http://p:3128"]
    assert PackageSource(proxy="http://p:3128").pip_options(cpu) == [
        "--proxy", "http://p:3128", "--extra-index-url", TORCH_CPU_INDEX]


def test_stamp_sees_a_plugin_upgrade_that_changes_the_requirements(tmp_path, monkeypatch):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    python = venv / "bin" / "python"
    requirements = tmp_path / "requirements"
    requirements.mkdir()
    (requirements / "base.txt").write_text("torch==2.14.1\n")
    (requirements / "openmmlab.txt").write_text("mmdet==3.3.0\n")
    monkeypatch.setattr(installer, "requirements_dir", lambda: requirements)
    assert installer.engine_state(python) == "unknown"  # not made by the installer: trusted as set
    Stamp(requirements_hash(requirements, False), False, "cpu", "3.11").write(venv)
    assert installer.engine_state(python) == "current"
    (requirements / "openmmlab.txt").write_text("mmdet==3.4.0\n")
    assert installer.engine_state(python) == "current"  # the extra is not installed: its pins do not matter
    (requirements / "base.txt").write_text("torch==2.15.0\n")
    assert installer.engine_state(python) == "outdated"
    assert json.loads((venv / installer.STAMP_NAME).read_text())["torch"] == "cpu"


def test_mmcv_wheel_for_this_python_only(tmp_path):
    (tmp_path / "mmcv-2.1.0-cp39-cp39-win_amd64.whl").write_bytes(b"")
    assert mmcv_wheel([tmp_path / "missing", tmp_path], "cp311") is None
    (tmp_path / "mmcv-2.1.0-cp311-cp311-linux_x86_64.whl").write_bytes(b"")
    assert mmcv_wheel([tmp_path], "cp311").name == "mmcv-2.1.0-cp311-cp311-linux_x86_64.whl"


def test_run_logged_streams_lines_and_returns_the_exit_code():
    lines = []
    code = installer.run_logged([sys.executable, "-c", "print('a'); print(); print('b'); raise SystemExit(3)"],
                                Logged(lines))
    assert (code, lines) == (3, ["a", "b"])


def test_run_logged_stops_a_silent_child_on_cancel():
    class CancelSoon(SilentCallbacks):
        checks = 0

        def is_canceled(self):
            self.checks += 1
            return self.checks > 3

    child = [sys.executable, "-c", "import time; time.sleep(60)"]
    with pytest.raises(Cancelled):
        installer.run_logged(child, CancelSoon())


@pytest.fixture
def without_openmmlab(monkeypatch):
    monkeypatch.setattr(extras, "installed", lambda module: not module.startswith("mm"))


def test_networks_lists_what_needs_the_extra(without_openmmlab, capsys):
    from autodl_qgis.cli import main
    from autodl_qgis.engine.networks import NETWORKS

    assert main(["networks"]) == 0
    out = capsys.readouterr().out
    # a name's "*" marks a network beyond ArcGIS' list
    needing = {line.split()[0].rstrip("*") for line in out.splitlines() if "needs the OpenMMLab extra" in line}
    assert needing == {n for n, s in NETWORKS.items() if s.library in ("mmdet", "mmseg")} and needing
    assert 'with "Add OpenMMLab" ticked' in out
    assert main(["networks", "--json"]) == 0
    listed = {n["name"]: n for n in json.loads(capsys.readouterr().out)}
    assert all(listed[n]["extra"] == "OpenMMLab" and not listed[n]["installed"] for n in needing)


def test_a_network_without_its_extra_is_refused_with_the_fix(without_openmmlab):
    import torch

    from autodl_qgis.engine.networks import NETWORKS, UnsupportedNetworkError
    from autodl_qgis.engine.networks.registry import check_device

    spec = next(s for s in NETWORKS.values() if s.library == "mmdet")
    with pytest.raises(UnsupportedNetworkError, match="needs the OpenMMLab extra, which this engine lacks"):
        check_device(spec, torch.device("cpu"))
    check_device(next(s for s in NETWORKS.values() if s.library == "torchvision"), torch.device("cpu"))


def test_missing_library_error_names_the_qgis_fix(monkeypatch, capsys):
    """The engine's one line when its Python lacks a library (what a Train run in QGIS shows)."""
    from autodl_qgis import cli

    def no_torch(args):
        raise ModuleNotFoundError("No module named 'torch'")

    monkeypatch.setattr(cli, "_devices", no_torch)
    assert cli.main(["devices"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: a library is missing or broken (No module named 'torch') in the Python that "
                            "runs the AutoDL engine")
    assert '"Install AutoDL Engine"' in error and "Providers › AutoDL › Python" in error

    def no_mmdet(args):  # a model of an OpenMMLab network used by an engine without the extra
        raise ModuleNotFoundError("No module named 'mmdet'", name="mmdet")

    monkeypatch.setattr(cli, "_devices", no_mmdet)
    assert cli.main(["devices"]) == 2
    assert 'with "Add OpenMMLab" ticked' in capsys.readouterr().err


def test_zip_ships_the_requirements_and_readme(tmp_path):
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "package_plugin.py"), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(next(tmp_path.glob("*.zip"))) as archive:
        for name in ("base.txt", "openmmlab.txt"):
            assert archive.read(f"autodl_qgis/requirements/{name}") == (REPO / "requirements" / name).read_bytes()
        assert "autodl_qgis/README.md" in archive.namelist()


def test_mmcv_build_is_refused_up_front_without_a_compiler(tmp_path, monkeypatch):
    monkeypatch.setattr(installer, "mmcv_works", lambda python: False)
    monkeypatch.setattr(installer, "python_tag", lambda python: "cp311")
    monkeypatch.setattr(installer.shutil, "which", lambda name: None)
    with pytest.raises(installer.InstallError, match=r"no C\+\+ compiler to build it .*build-essential"):
        installer.install_mmcv(PurePosixPath("/venv/bin/python"), [tmp_path], tmp_path / "cache", SilentCallbacks())


def test_install_steps_repair_and_remake(tmp_path, monkeypatch):
    """What install() runs, with pip and venv replaced by a recorder: a fresh venv, a repair that keeps an installed
    extra, and a venv made by another Python (a QGIS upgrade) made anew."""
    commands, mmcv = [], []

    def run(command, callbacks, cwd=None, env=None):
        commands.append(list(map(str, command)))
        if command[1:3] == ["-m", "venv"]:
            python = installer.venv_interpreter(Path(command[-1]))
            Path(python).parent.mkdir(parents=True, exist_ok=True)
            Path(python).write_text("")
        return 0

    monkeypatch.setattr(installer, "run_logged", run)
    monkeypatch.setattr(installer, "install_mmcv", lambda *args: mmcv.append(args))
    monkeypatch.setattr(installer.shutil, "which", lambda name: None)  # no nvidia-smi
    monkeypatch.setattr(installer, "reachable", lambda url, proxy: False)
    log = []
    venv = tmp_path / "engine" / "venv"
    python = installer.install(installer.InstallRequest(venv, PackageSource(index_url="https://m/simple")), Logged(log))
    assert [c[1:4] for c in commands] == [["-m", "venv", "--clear"], ["-m", "pip", "--disable-pip-version-check"],
                                          ["-m", "autodl_qgis", "doctor"]]
    assert "--system-site-packages" in commands[0] and commands[0][0] == sys.executable
    assert commands[1][-4:] == ["--index-url", "https://m/simple", "-r",
                                str(installer.requirements_dir() / "base.txt")]
    assert Stamp.read(venv) == Stamp(requirements_hash(installer.requirements_dir(), False), False, "cpu",
                                     f"{sys.version_info[0]}.{sys.version_info[1]}")
    assert Path(python) == Path(installer.venv_interpreter(venv)) and not mmcv
    # the extra added once stays on a later plain run, which repairs without remaking the venv
    installer.install(installer.InstallRequest(venv, openmmlab=True), Logged(log))
    commands.clear()
    installer.install(installer.InstallRequest(venv), Logged(log))
    assert len(mmcv) == 2 and not any(c[1:3] == ["-m", "venv"] for c in commands)
    assert any("is up to date with this plugin's requirements" in line for line in log)
    assert any(f"{TORCH_CPU_INDEX} cannot be reached" in line for line in log)  # then no --extra-index-url
    assert not any("--extra-index-url" in c for c in commands)
    assert Stamp.read(venv).openmmlab is True
    # made by another Python: made anew, the extra not assumed
    old = Stamp.read(venv)
    Stamp(old.requirements, True, "cpu", "3.8").write(venv)
    commands.clear()
    installer.install(installer.InstallRequest(venv), Logged(log))
    assert commands[0][1:4] == ["-m", "venv", "--clear"] and Stamp.read(venv).openmmlab is False
    assert any("made from Python 3.8" in line for line in log)
