"""The engine in its own process, the shape of QGIS' own otbprovider: an algorithm builds the command line of
``python -m autodl_qgis <command> …``, this module starts it and streams its progress into the Processing feedback.

Why a process: torch, CUDA, triton and mmcv's compiled operators would otherwise share one process with QGIS' own
libraries (seen: triton's LLVM against the libLLVM Mesa loads for OpenGL, a segmentation fault that killed the
desktop). Here a crash of the engine is an error message, and QGIS' Python never imports torch.

The child writes JSON lines (engine/progress.py ``EventCallbacks``) on a pipe of its own, so libraries printing
on stdout cannot garble them; stdout and stderr go to the log, and the engine's one-line ``error: …`` becomes the
QgsProcessingException. Cancel is SIGINT (CTRL_BREAK on Windows), which the engine handles at its next step;
an engine that has not stopped after ``CANCEL_GRACE_S`` is killed. Each run gets a temporary folder (also the
child's TMPDIR) that is removed whatever happens, a killed child included.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from qgis.core import QgsApplication, QgsProcessingException, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QEventLoop, QThread, QTimer

from ..installer import engine_state, engine_venv, venv_interpreter

PLUGIN_DIR = Path(__file__).resolve().parents[1]
PYTHON_SETTING = "AUTODL_PYTHON"  # the Processing option (Settings › Options › Processing › Providers › AutoDL)
PYTHON_SETTING_KEY = f"Processing/Configuration/{PYTHON_SETTING}"  # where ProcessingConfig keeps it
DEVICES_KEY = "autodl_qgis/devices"
CANCEL_GRACE_S = 10.0
STREAMS_GRACE_S = 2.0
RUN_FOLDER_PREFIX = "autodl-run-"


translate = QCoreApplication.translate  # pylupdate5 reads the context from each call


def engine_python() -> str:
    """The interpreter that runs the engine: the Processing option when set, else $AUTODL_PYTHON, else the venv
    scripts/setup.sh made beside this plugin (a checkout), else the one Install AutoDL Engine made in the profile,
    else python3 on the PATH."""
    configured = str(QgsSettings().value(PYTHON_SETTING_KEY, "") or "").strip()
    if configured:
        return configured
    if os.environ.get("AUTODL_PYTHON"):
        return os.environ["AUTODL_PYTHON"]
    for venv in (PLUGIN_DIR.parent / ".venv", engine_venv(QgsApplication.qgisSettingsDirPath())):
        if Path(venv_interpreter(venv)).is_file():
            return str(venv_interpreter(venv))
    return shutil.which("python3") or shutil.which("python") or ""


def fix_text() -> str:
    return translate("EngineProcess", 'Run "Install AutoDL Engine" from the Processing Toolbox (AutoDL › Deep '
                     "learning), or set Settings › Options › Processing › Providers › AutoDL › Python.")


def engine_problem(timeout: float = 30) -> str | None:
    """Why the engine cannot run, without starting it (a quick look for torch in its interpreter); None when it can.
    The plugin offers Install AutoDL Engine with this."""
    python = engine_python()
    if not python:
        return translate("EngineProcess", "No Python was found to run the AutoDL engine.")
    if engine_state(python) == "outdated":
        return translate("EngineProcess", "The AutoDL engine in {0} was installed for an earlier version of this "
                         "plugin: update it.").format(python)
    probe = "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ('torch', 'torchvision')))"
    try:
        found = subprocess.run([python, "-c", probe], capture_output=True, timeout=timeout, env=engine_environment(),
                               stdin=subprocess.DEVNULL).returncode == 0
    except (OSError, subprocess.SubprocessError):
        found = False
    return None if found else translate("EngineProcess", "The AutoDL engine (PyTorch and the model libraries) is not "
                                        "installed in {0}.").format(python)


def engine_environment(tmp: Path | None = None) -> dict:
    """QGIS' environment for the child, with this plugin's engine first on its path (the child runs exactly the
    code the plugin came with) and without QGIS' PYTHONHOME, which would break another interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHOME"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_DIR.parent), os.environ.get("PYTHONPATH")) if p)
    env.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    if tmp is not None:
        env.update(TMPDIR=str(tmp), TEMP=str(tmp), TMP=str(tmp))
    return env


def _process_alive(pid: int) -> bool:
    if os.name == "nt":  # no signal 0 there: a folder of a dead QGIS stays until the system cleans its temp
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def remove_stale_run_folders() -> None:
    """Run folders of QGIS processes that are gone (QGIS killed mid-run never removed its own)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{RUN_FOLDER_PREFIX}*-*"):
        owner = folder.name[len(RUN_FOLDER_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and int(owner) != os.getpid() and not _process_alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def engine_folder():
    """A temporary folder for one run (inputs prepared by QGIS, the child's own temporary files), always removed;
    named after this process, so that the next run removes it if QGIS is killed in between."""
    remove_stale_run_folders()
    folder = Path(tempfile.mkdtemp(prefix=f"{RUN_FOLDER_PREFIX}{os.getpid()}-"))
    try:
        (folder / "tmp").mkdir()
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class EngineRun:
    """A finished engine command: what it printed (stdout and stderr, in order)."""
    command: tuple[str, ...]
    output: tuple[str, ...]


def _main_thread() -> bool:
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() == app.thread()


def _next(events: queue.Queue, main_thread: bool):
    """The next line from the child, or None after up to 50 ms without one. On the main thread (qgis_process, models
    in QGIS 3.22) the wait is an event loop, so QGIS stays responsive while the engine works."""
    try:
        return events.get_nowait() if main_thread else events.get(timeout=0.05)
    except queue.Empty:
        pass
    if main_thread:
        loop = QEventLoop()
        QTimer.singleShot(50, loop.quit)
        loop.exec_()
    return None


def _read_lines(stream, kind: str, events: queue.Queue) -> None:
    with stream:
        for line in iter(stream.readline, ""):
            events.put((kind, line.rstrip("\r\n")))
    events.put((kind, None))


def _start(python: str, arguments: Sequence[str], tmp: Path):
    """The child and the read end of its events pipe."""
    read_fd, write_fd = os.pipe()
    options = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                   encoding="utf-8", errors="replace", env=engine_environment(tmp), cwd=str(tmp))
    if os.name == "nt":
        import msvcrt

        handle = msvcrt.get_osfhandle(write_fd)
        os.set_handle_inheritable(handle, True)
        info = subprocess.STARTUPINFO()
        info.lpAttributeList = {"handle_list": [handle]}
        options.update(startupinfo=info, creationflags=subprocess.CREATE_NEW_PROCESS_GROUP)
        descriptor = handle
    else:
        options.update(pass_fds=(write_fd,), start_new_session=True)  # QGIS' own Ctrl-C does not reach the child
        descriptor = write_fd
    command = [python, "-m", "autodl_qgis", "--events", str(descriptor), *arguments]
    try:
        process = subprocess.Popen(command, **options)
    except OSError as exc:
        os.close(read_fd)
        raise QgsProcessingException(translate(
            "EngineProcess", "The Python that runs the AutoDL engine cannot be started ({0}: {1}).").format(
            python, exc.strerror or exc) + " " + fix_text())
    finally:
        os.close(write_fd)
    return process, os.fdopen(read_fd, "r", encoding="utf-8", errors="replace"), command


def _cancel(process: subprocess.Popen) -> None:
    try:
        process.send_signal(signal.CTRL_BREAK_EVENT if os.name == "nt" else signal.SIGINT)
    except OSError:
        pass  # already gone


def _crash_message(returncode: int, output: list[str]) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        cause = {"SIGSEGV": translate("EngineProcess", "a crash in a compiled library"),
                 "SIGKILL": translate("EngineProcess", "killed, often by the system when memory runs out"),
                 "SIGABRT": translate("EngineProcess", "aborted by a compiled library")}.get(name, name)
        what = f"{name}: {cause}"
    else:
        what = translate("EngineProcess", "exit code {0}").format(returncode)
    tail = " | ".join(line for line in output[-5:] if line.strip())
    message = translate("EngineProcess", "The AutoDL engine stopped unexpectedly ({0}). QGIS and existing outputs "
                        "are untouched; nothing was written.").format(what) + " " + translate(
        "EngineProcess", 'If it stops like this at every run, run "Install AutoDL Engine" from the Processing '
        "Toolbox (AutoDL › Deep learning) to check and repair the engine.")
    last = translate("EngineProcess", "Last output")
    return f"{message} {last}: {tail}" if tail else message


def run_engine(arguments: Sequence[str], feedback, folder: Path, python: str | None = None,
               clock: Callable[[], float] = time.monotonic) -> EngineRun:
    """Runs ``python -m autodl_qgis <arguments>`` in ``folder`` and waits for it, forwarding its events to
    ``feedback`` and cancelling it when ``feedback`` is cancelled. ``python``: the engine's interpreter unless given
    (the installer runs in QGIS' own); ``clock``: what the grace periods are measured on."""
    if python is None:
        python = engine_python()
        if not python:
            raise QgsProcessingException(translate(
                "EngineProcess", "No Python was found to run the AutoDL engine.") + " " + fix_text())
        if engine_state(python) == "outdated":  # a plugin upgrade changed the requirements: say so before an import
            raise QgsProcessingException(translate(
                "EngineProcess", "The AutoDL engine in {0} was installed for an earlier version of this plugin. Run "
                '"Install AutoDL Engine" from the Processing Toolbox (AutoDL › Deep learning) to update it.').format(
                    python))
    tmp = folder / "tmp"
    tmp.mkdir(exist_ok=True)
    process, event_stream, command = _start(python, arguments, tmp)
    if feedback is not None:
        feedback.pushCommandInfo(subprocess.list2cmdline(command))
        feedback.pushDebugInfo(translate("EngineProcess", "AutoDL engine process {0} started").format(process.pid))
        # its first report comes once its libraries are imported, seconds later
        feedback.setProgressText(translate("EngineProcess", "Starting the engine…"))
    events: queue.Queue = queue.Queue()
    readers = [threading.Thread(target=_read_lines, args=(stream, kind, events), daemon=True)
               for stream, kind in ((event_stream, "event"), (process.stdout, "output"))]
    for reader in readers:
        reader.start()
    main_thread = _main_thread()
    output: list[str] = []
    translated_errors: list[str] = []  # what the engine stopped with, from its error events
    open_streams, cancelled_at, exited_at = 2, None, None
    try:
        while open_streams or process.poll() is None:
            if process.poll() is not None:
                # processes the engine started (data loader workers) may hold our pipes a little longer
                exited_at = exited_at or clock()
                if clock() - exited_at > STREAMS_GRACE_S and events.empty():
                    break
            if feedback is not None and feedback.isCanceled() and cancelled_at is None:
                cancelled_at = clock()
                _cancel(process)
            if cancelled_at is not None and clock() - cancelled_at > CANCEL_GRACE_S:
                process.kill()
            item = _next(events, main_thread)
            if item is None:
                continue
            kind, line = item
            if line is None:
                open_streams -= 1
            elif kind == "output":
                output.append(line)
                # after a cancel what the stopping engine says is noise: the cancel is one line, raised below
                if feedback is not None and line.strip() and cancelled_at is None:
                    feedback.pushConsoleInfo(line)
            elif cancelled_at is None:
                _forward(line, feedback, translated_errors)
    finally:
        if process.poll() is None:  # an exception here (never expected): no engine left behind
            process.kill()
        process.wait()
        process.stdin.close()
    if cancelled_at is not None:
        raise QgsProcessingException(translate("EngineProcess", "Cancelled: nothing was written."))
    if process.returncode == 0:
        return EngineRun(tuple(command), tuple(output))
    errors = translated_errors or [line[len("error: "):] for line in output if line.startswith("error: ")]
    if errors and process.returncode in (1, 2):
        raise QgsProcessingException(errors[-1])
    raise QgsProcessingException(_crash_message(process.returncode, output))


def event_text(event: dict) -> str:
    """An event's message in QGIS' language: its template translated by the plugin's catalogue, then formatted
    with its values (engine/messages.py); the engine's English text when it has no template or they do not fit."""
    template, values = event.get("template"), event.get("values")
    if isinstance(template, str) and isinstance(values, dict):
        values = {k: event_text(v) if isinstance(v, dict) else v for k, v in values.items()}  # phrases in it
        try:
            return translate(str(event.get("context", "")), template).format(**values)
        except (KeyError, IndexError, ValueError):  # a translation that does not fit its values
            pass
    return str(event.get("message", ""))


def _forward(line: str, feedback, errors: list) -> None:
    try:
        event = json.loads(line)
    except ValueError:
        event = {"event": "log", "message": line}
    if event.get("event") == "error":
        errors.append(event_text(event))
    if feedback is None:
        return
    if event.get("event") == "progress":
        feedback.setProgress(100.0 * float(event.get("fraction", 0.0)))
        if event.get("message"):
            feedback.setProgressText(event_text(event))
    elif event.get("event") == "log":
        feedback.pushInfo(event_text(event))


# -- devices ------------------------------------------------------------------------------------------------------

def known_devices() -> list[str]:
    """The devices the engine's interpreter found last time it was asked ("cpu", "cuda:0 <name> (<memory>)", …);
    empty when it has not been asked yet."""
    try:
        cached = json.loads(str(QgsSettings().value(DEVICES_KEY, "") or "{}"))
    except ValueError:
        return []
    return list(cached.get("devices", [])) if cached.get("python") == engine_python() else []


def detect_devices(timeout: float = 180) -> list[str]:
    """Asks the engine's interpreter for its devices (``python -m autodl_qgis devices --json``: torch is imported
    there, never here) and keeps the answer for the algorithms' Device choices."""
    python = engine_python()
    if not python:
        return []
    try:
        run = subprocess.run([python, "-m", "autodl_qgis", "devices", "--json"], capture_output=True, text=True,
                             timeout=timeout, env=engine_environment(), stdin=subprocess.DEVNULL)
        found = [str(d) for d in json.loads(run.stdout)] if run.returncode == 0 else []
    except (OSError, subprocess.SubprocessError, ValueError):
        found = []
    if found:
        QgsSettings().setValue(DEVICES_KEY, json.dumps({"python": python, "devices": found}))
    return found


def detect_devices_in_background() -> threading.Thread | None:
    """When the desktop starts and the interpreter has not been asked yet: QGIS starts without waiting for torch
    (qgis_process never asks: it uses what the desktop found, or auto and cpu)."""
    if known_devices():
        return None
    thread = threading.Thread(target=detect_devices, name="autodl-devices", daemon=True)
    thread.start()
    return thread
