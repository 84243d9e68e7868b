"""The AutoDL engine's own Python: a virtual environment made from the Python that QGIS runs, holding the plugin's
pinned requirements. Plain Python (no QGIS, no engine libraries): the *Install AutoDL Engine* algorithm runs it
through ``python -m autodl_qgis install-engine`` in QGIS' own interpreter, and scripts/setup.sh uses its mmcv step.

Why a venv with ``--system-site-packages``: GDAL's bindings and the numpy they were built against come from QGIS'
Python; torch and the model libraries go into the venv only, so nothing is installed into QGIS' own Python and no
administrator rights are needed. A stamp in the venv (``autodl-engine.json``) holds the hash of the requirements it
was made from: a plugin upgrade that changes them is seen before an import fails.

The interpreter paths for Windows (OSGeo4W and the standalone installer) and macOS (QGIS.app) are computed by pure
functions below and unit-tested, but have not been run on those systems.
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Callable, Iterable, Sequence

from .engine.progress import Callbacks, TerminalCallbacks, check_cancel


PACKAGE_DIR = Path(__file__).resolve().parent
STAMP_NAME = "autodl-engine.json"
ENGINE_FOLDER = "autodl_engine"  # inside QGIS' settings folder (the profile)
MMCV_VERSION = "2.1.0"
MMCV_BUILD_MINUTES = "about 20 minutes on 2 cores, 5 on 8"
COMPILER_HINT = "Debian: apt install build-essential; Windows: Visual Studio Build Tools; macOS: xcode-select --install"
# PyPI's Linux torch wheels are CUDA builds (with ~3 GB of NVIDIA libraries); its Windows and macOS wheels are CPU
# (and MPS) builds. The other builds come from PyTorch's own index.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_CUDA_INDEX = "https://download.pytorch.org/whl/cu130"


class InstallError(Exception):
    """A step of the installation failed; the message says which and how to go on."""


# -- where things are (pure functions, unit-tested for each system) -------------------------------------------------

def _pure(system: str):
    return PureWindowsPath if system == "win32" else PurePosixPath


def interpreter_candidates(executable: str, base_prefix: str, version: tuple[int, int],
                           system: str = sys.platform) -> list[PurePath]:
    """Where the real Python interpreter of a QGIS install is, most likely first. Inside QGIS ``sys.executable`` is
    QGIS' own binary (qgis-bin.exe, QGIS.app/Contents/MacOS/QGIS, /usr/bin/qgis), so it is found from there and from
    ``sys.base_prefix`` (which also steps out of a virtual environment)."""
    path = _pure(system)
    exe, prefix = path(executable), path(base_prefix)
    major, minor = version
    if system == "win32":  # OSGeo4W / standalone: <install>\bin\qgis-bin.exe, <install>\apps\Python3x\python.exe
        install = exe.parent.parent
        found = [prefix / "python.exe", prefix / "python3.exe", exe.parent / "python.exe", exe.parent / "python3.exe",
                 install / "apps" / f"Python{major}{minor}" / "python.exe",
                 install / "apps" / f"Python{major}{minor}" / "python3.exe"]
    elif system == "darwin":  # QGIS.app/Contents/MacOS/QGIS, QGIS.app/Contents/MacOS/bin/python3
        found = [exe.parent / "bin" / "python3", exe.parent / "bin" / f"python{major}.{minor}",
                 prefix / "bin" / f"python{major}.{minor}", prefix / "bin" / "python3"]
    else:  # Debian, Ubuntu, Fedora, conda: <prefix>/bin/python3.x
        found = [prefix / "bin" / f"python{major}.{minor}", prefix / "bin" / "python3"]
    return list(dict.fromkeys(found))


def qgis_python(exists: Callable[[Path], bool] = Path.is_file) -> Path:
    """The Python interpreter that QGIS runs, as a program that can make a venv."""
    for candidate in interpreter_candidates(sys.executable, sys.base_prefix, sys.version_info[:2]):
        if exists(Path(candidate)):
            return Path(candidate)
    raise InstallError(f"QGIS' Python interpreter was not found next to {sys.executable} or in {sys.base_prefix}. "
                       "Make a venv yourself (python -m venv --system-site-packages) and set Settings › Options › "
                       "Processing › Providers › AutoDL › Python to its python")


def venv_interpreter(venv: Path | PurePath, system: str = sys.platform) -> PurePath:
    venv = _pure(system)(venv) if not isinstance(venv, Path) else venv
    return venv / ("Scripts/python.exe" if system == "win32" else "bin/python")


def venv_of(python: str | Path) -> Path | None:
    """The venv an interpreter belongs to (bin/python or Scripts\\python.exe inside it), when it is one."""
    root = Path(python).parent.parent
    return root if (root / "pyvenv.cfg").is_file() else None


def engine_venv(settings_dir: str | Path) -> Path:
    """The engine's venv in QGIS' settings folder (the user's profile: no administrator rights needed)."""
    return Path(settings_dir) / ENGINE_FOLDER / "venv"


def requirements_dir() -> Path:
    """requirements/ inside the installed plugin (the zip ships it), or beside the package in a checkout."""
    shipped = PACKAGE_DIR / "requirements"
    return shipped if shipped.is_dir() else PACKAGE_DIR.parent / "requirements"


def requirements_hash(folder: Path, openmmlab: bool) -> str:
    names = ["base.txt"] + (["openmmlab.txt"] if openmmlab else [])
    digest = hashlib.sha256()
    for name in names:
        digest.update((folder / name).read_bytes())
    digest.update(MMCV_VERSION.encode() if openmmlab else b"")
    return digest.hexdigest()


# -- choices ---------------------------------------------------------------------------------------------------------

TORCH_BUILDS = ("auto", "cuda", "cpu")  # what may be asked for; auto: CUDA when an NVIDIA driver is found


@dataclass(frozen=True)
class TorchBuild:
    kind: str  # "cuda" or "cpu"
    index_url: str | None  # an extra index that holds this build; None: the default index already does
    reason: str  # what was detected, shown to the user


def choose_torch(requested: str, nvidia_smi: str | None, system: str = sys.platform) -> TorchBuild:
    """The torch build for this machine: CUDA when an NVIDIA driver is present (nvidia-smi), else CPU."""
    if requested == "auto":
        kind = "cuda" if nvidia_smi else "cpu"
        reason = f"NVIDIA driver found ({nvidia_smi})" if nvidia_smi else "no NVIDIA driver found (no nvidia-smi)"
    else:
        kind, reason = requested, "chosen in the options"
    if system == "darwin":
        return TorchBuild("cpu", None, reason + "; macOS has no CUDA build (Apple GPUs: MPS, in the default build)")
    default_is_cuda = system.startswith("linux")
    index = None if (kind == "cuda") == default_is_cuda else (TORCH_CUDA_INDEX if kind == "cuda" else TORCH_CPU_INDEX)
    return TorchBuild(kind, index, reason)


@dataclass(frozen=True)
class PackageSource:
    """Where pip takes packages from: PyPI, or for closed networks a folder of wheels and/or an index or proxy."""
    wheels: str = ""  # a folder of .whl files (pip download / pip wheel made elsewhere)
    index_url: str = ""  # a PyPI mirror (devpi, Artifactory, Nexus, file:// index)
    proxy: str = ""  # http://user:password@proxy:port

    @property
    def default_indexes(self) -> bool:
        return not self.wheels and not self.index_url

    def pip_options(self, torch: TorchBuild | None = None) -> list[str]:
        options = []
        if self.wheels:
            options += ["--find-links", self.wheels] + ([] if self.index_url else ["--no-index"])
        if self.index_url:
            options += ["--index-url", self.index_url]
        if self.proxy:
            options += ["--proxy", self.proxy]
        if torch is not None and torch.index_url and self.default_indexes:
            options += ["--extra-index-url", torch.index_url]
        return options


@dataclass(frozen=True)
class InstallRequest:
    venv: Path
    source: PackageSource = PackageSource()
    torch: str = "auto"  # auto, cuda or cpu
    openmmlab: bool = False
    mmcv_cache: Path | None = None  # where a built mmcv wheel is kept (default: beside the venv)


@dataclass(frozen=True)
class Stamp:
    """What the venv was made from, written when an installation completed."""
    requirements: str  # requirements_hash() of what was installed
    openmmlab: bool
    torch: str
    python: str  # major.minor of the interpreter the venv was made from: a QGIS upgrade to another breaks it

    @classmethod
    def read(cls, venv: Path) -> "Stamp | None":
        try:
            return cls(**json.loads((venv / STAMP_NAME).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def write(self, venv: Path) -> None:
        tmp = venv / (STAMP_NAME + ".tmp")
        tmp.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(tmp, venv / STAMP_NAME)


def engine_state(python: str | Path) -> str:
    """For the plugin, without starting anything: "unknown" (not a venv this installer made: trusted as set),
    "current", or "outdated" (made from other requirements, e.g. before a plugin upgrade)."""
    venv = venv_of(python)
    stamp = Stamp.read(venv) if venv is not None else None
    if stamp is None:
        return "unknown"
    return "current" if stamp.requirements == requirements_hash(requirements_dir(), stamp.openmmlab) else "outdated"


# -- running pip -----------------------------------------------------------------------------------------------------

def reachable(url: str, proxy: str = "", timeout: float = 10) -> bool:
    """Whether an index answers (PyTorch's own is blocked on many company networks; pip would retry it for minutes)."""
    import urllib.request

    handlers = [urllib.request.ProxyHandler({"http": proxy, "https": proxy})] if proxy else []
    try:
        with urllib.request.build_opener(*handlers).open(url.rstrip("/") + "/torch/", timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def run_logged(command: Sequence[str], callbacks: Callbacks, cwd: Path | None = None, env: dict | None = None) -> int:
    """Runs a child, each line of its output to the log; a cancel stops the child too (then Cancelled)."""
    process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               encoding="utf-8", errors="replace", stdin=subprocess.DEVNULL, cwd=cwd, env=env)
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        with process.stdout:
            for line in process.stdout:
                lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        while True:
            check_cancel(callbacks)  # pip may be silent for minutes while it unpacks torch
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                return process.wait()
            if line.strip():
                callbacks.log(line.rstrip())
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def pip_command(python: PurePath, *arguments: str) -> list[str]:
    return [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input", *arguments]


def mmcv_wheel(folders: Iterable[Path], python_tag: str) -> Path | None:
    """The first mmcv wheel for this Python (cp311…) in the folders."""
    for folder in folders:
        if folder and Path(folder).is_dir():
            found = sorted(Path(folder).glob(f"mmcv-{MMCV_VERSION}-{python_tag}-{python_tag}-*.whl"))
            if found:
                return found[0]
    return None


def build_mmcv(python: PurePath, cache: Path, callbacks: Callbacks, source: PackageSource, cuda: bool) -> Path:
    """Builds mmcv from PyPI's source against the venv's torch (a compiler is needed) and keeps the wheel in
    ``cache``. torch >= 2.14's headers need C++20, mmcv 2.1.0's setup.py asks for C++17."""
    with tempfile.TemporaryDirectory(prefix="autodl-mmcv-") as work:
        work = Path(work)
        if run_logged(pip_command(python, "download", "--no-deps", "--no-binary", ":all:", "-d", str(work),
                                  *source.pip_options(), f"mmcv=={MMCV_VERSION}"), callbacks):
            raise InstallError(f"mmcv {MMCV_VERSION}'s source could not be downloaded: see the log above")
        import tarfile

        with tarfile.open(work / f"mmcv-{MMCV_VERSION}.tar.gz") as archive:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.9.17 / 3.11.4 refuses links and paths out of work
                archive.extractall(work, filter="data")
            else:
                for member in archive.getmembers():
                    target = (work / member.name).resolve()
                    if not (member.isfile() or member.isdir()) or work.resolve() not in target.parents:
                        raise InstallError(f"mmcv's source archive holds an unexpected entry {member.name!r}")
                archive.extractall(work)
        tree = work / f"mmcv-{MMCV_VERSION}"
        setup_py = tree / "setup.py"
        setup_py.write_text(setup_py.read_text(encoding="utf-8").replace("-std=c++17", "-std=c++20"),
                            encoding="utf-8")
        env = {**os.environ, "MMCV_WITH_OPS": "1", "FORCE_CUDA": "1" if cuda else "0",
               "MAX_JOBS": os.environ.get("MAX_JOBS", str(os.cpu_count() or 1))}
        if run_logged(pip_command(python, "wheel", "--no-deps", "--no-build-isolation", "-w", str(work / "dist"),
                                  "."), callbacks, cwd=tree, env=env):
            raise InstallError(f"mmcv {MMCV_VERSION} did not build: see the log above ({COMPILER_HINT}), or give a "
                               "folder with a prebuilt mmcv wheel")
        cache.mkdir(parents=True, exist_ok=True)
        built = next((work / "dist").glob("mmcv-*.whl"))
        shutil.copy2(built, cache / built.name)
        return cache / built.name


def python_tag(python: PurePath) -> str:
    run = subprocess.run([str(python), "-c", "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')"],
                         capture_output=True, text=True, check=True)
    return run.stdout.strip()


def gpu_usable(python: PurePath) -> bool:
    check = "import sys, torch; sys.exit(not torch.cuda.is_available())"
    return subprocess.run([str(python), "-c", check], capture_output=True).returncode == 0


def mmcv_works(python: PurePath) -> bool:
    check = f"import mmcv, mmcv.ops; assert mmcv.__version__ == '{MMCV_VERSION}'"
    return subprocess.run([str(python), "-c", check], capture_output=True).returncode == 0


def install_mmcv(python: PurePath, wheel_folders: Sequence[Path], cache: Path, callbacks: Callbacks,
                 source: PackageSource = PackageSource()) -> None:
    """mmcv with its compiled operators: from a wheel folder or the cache when one has it, else built once."""
    if mmcv_works(python):
        callbacks.log(f"mmcv {MMCV_VERSION} with compiled operators is present")
        return
    wheel = mmcv_wheel([*wheel_folders, cache], python_tag(python))
    if wheel is None:
        searched = ", ".join(map(str, [*wheel_folders, cache]))
        if not any(shutil.which(c) for c in ("cl", "c++", "g++", "clang++")):
            raise InstallError(f"no mmcv {MMCV_VERSION} wheel for this Python in {searched}, and no C++ compiler to "
                               f"build it ({COMPILER_HINT}): install one, or give a folder with a prebuilt mmcv wheel")
        cuda = gpu_usable(python)
        callbacks.log(f"no mmcv {MMCV_VERSION} wheel for this Python in {searched}: building it from source with "
                      f"compiled operators ({'CUDA' if cuda else 'CPU'}), {MMCV_BUILD_MINUTES}")
        wheel = build_mmcv(python, cache, callbacks, source, cuda)
    callbacks.log(f"installing {wheel}")
    if run_logged(pip_command(python, "install", "--no-deps", "--force-reinstall", str(wheel)), callbacks):
        raise InstallError(f"{wheel} could not be installed: see the log above")
    if not mmcv_works(python):
        raise InstallError(f"mmcv {MMCV_VERSION} was installed from {wheel} but its compiled operators do not load "
                           "(a wheel built for another torch?): remove it from the wheel folder to build it here")


# -- the installation ------------------------------------------------------------------------------------------------

def install(request: InstallRequest, callbacks: Callbacks, plugin_dir: Path = PACKAGE_DIR.parent) -> Path:
    """Makes or repairs the engine's venv and returns its interpreter. Runs in the interpreter the venv is made from
    (QGIS' own). Each step checks first; the stamp is written last, so an interrupted run is completed next time."""
    requirements = requirements_dir()
    venv, python_version = request.venv, f"{sys.version_info[0]}.{sys.version_info[1]}"
    python = venv_interpreter(venv)
    stamp = Stamp.read(venv)
    if stamp is not None and stamp.python != python_version:
        callbacks.log(f"the engine was made from Python {stamp.python}, QGIS now runs {python_version}: making it "
                      "anew")
    fresh = not Path(python).is_file() or (stamp is not None and stamp.python != python_version)
    # an extra installed once stays, and is checked and updated with the rest
    openmmlab = request.openmmlab or (not fresh and stamp is not None and stamp.openmmlab)
    callbacks.progress(0.02, "Creating the engine's Python environment" if fresh else
                       "Checking the engine's Python environment")
    if fresh:
        callbacks.log(f"creating {venv} from {sys.executable} (with QGIS' site-packages: GDAL and numpy come from "
                      "QGIS)")
        venv.parent.mkdir(parents=True, exist_ok=True)
        if run_logged([sys.executable, "-m", "venv", "--clear", "--system-site-packages", str(venv)], callbacks):
            raise InstallError(f"the virtual environment {venv} could not be made: see the log above "
                               "(Debian/Ubuntu: apt install python3-venv)")
    elif stamp is not None and stamp.requirements == requirements_hash(requirements, stamp.openmmlab):
        callbacks.log(f"{venv} is up to date with this plugin's requirements; checking that every package is there")
    elif stamp is not None:
        callbacks.log(f"{venv} was made from other requirements (an earlier version of the plugin): updating it")
    torch = choose_torch(request.torch, shutil.which("nvidia-smi"))
    if torch.index_url and request.source.default_indexes and not reachable(torch.index_url, request.source.proxy):
        callbacks.log(f"{torch.index_url} cannot be reached: torch comes from the default index, whose build may not "
                      f"be the {torch.kind.upper()} one (give a folder of wheels or an index that holds it)")
        torch = TorchBuild(torch.kind, None, torch.reason)
    if request.source.default_indexes or not torch.index_url:
        callbacks.log(f"torch: the {torch.kind.upper()} build ({torch.reason})")
    else:
        callbacks.log(f"torch: the build your wheel folder or index holds (wanted: {torch.kind.upper()}, "
                      f"{torch.reason})")
    callbacks.progress(0.08, "Installing torch and the model libraries (several GB; minutes)")
    if run_logged(pip_command(python, "install", *request.source.pip_options(torch), "-r",
                              str(requirements / "base.txt")), callbacks):
        raise InstallError("pip could not install the engine's requirements: see the log above. Behind a proxy or "
                           "without internet: give a proxy, a package index or a folder of wheels")
    if openmmlab:
        callbacks.progress(0.75, "Installing OpenMMLab (MMDetection, MMSegmentation)")
        if run_logged(pip_command(python, "install", "--no-deps", *request.source.pip_options(), "-r",
                                  str(requirements / "openmmlab.txt")), callbacks):
            raise InstallError("pip could not install OpenMMLab: see the log above")
        cache = request.mmcv_cache or venv.parent / "wheels"
        wheels = [Path(request.source.wheels)] if request.source.wheels else []
        callbacks.progress(0.8, f"mmcv {MMCV_VERSION}: from a wheel, or built from source ({MMCV_BUILD_MINUTES})")
        install_mmcv(python, wheels, cache, callbacks, request.source)
    callbacks.progress(0.95, "Checking the engine (doctor)")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(plugin_dir), env.get("PYTHONPATH")) if p)
    if run_logged([str(python), "-m", "autodl_qgis", "doctor"], callbacks, env=env):
        raise InstallError("the engine was installed but doctor found a problem: see the MISSING lines above")
    if torch.kind == "cuda" and not gpu_usable(python):
        callbacks.log("warning: torch sees no GPU although the CUDA build is installed (an NVIDIA driver older than "
                      "this torch needs?): the engine will train on the CPU until the driver is updated")
    Stamp(requirements_hash(requirements, openmmlab), openmmlab, torch.kind, python_version).write(venv)
    callbacks.progress(1.0, "The AutoDL engine is ready")
    return Path(python)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m autodl_qgis.installer mmcv --python PY [--wheels DIR] --cache DIR``: scripts/setup.sh's mmcv step."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autodl_qgis.installer")
    parser.add_argument("step", choices=["mmcv"])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--wheels", action="append", default=[])
    parser.add_argument("--cache", required=True)
    args = parser.parse_args(argv)
    try:
        install_mmcv(PurePath(args.python), [Path(w) for w in args.wheels if w], Path(args.cache),
                     TerminalCallbacks(sys.stdout))
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
