import importlib.util
import os
import socket
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from autodl_qgis.engine.progress import SilentCallbacks  # noqa: E402 - found through the path set above

pytest_plugins = ["qgis_app"]  # its fixtures (a QGIS profile of the test's own, the shared provider) for every test

# Real files written by ArcGIS live beside the work tree, never in the repository.
REAL_DATA = Path(os.environ.get("AUTODL_REAL_DATA", REPO.parent / "shared" / "data" / "real"))


def load_script(name: str):
    """scripts/<name>.py imported as a module (scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real ArcGIS files not found at {REAL_DATA} (set AUTODL_REAL_DATA to their folder)")
    return REAL_DATA


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """Factory of synthetic export folders, cached per parameter set for the whole session."""
    from autodl_qgis.engine.data.synthetic import write_synthetic_dataset

    made = {}

    def make(metadata_format, **options):
        key = (metadata_format, tuple(sorted(options.items())))
        if key not in made:
            folder = tmp_path_factory.mktemp("data") / metadata_format
            made[key] = write_synthetic_dataset(folder, metadata_format, **options)
        return made[key]

    return make


class Logged(SilentCallbacks):
    """Engine callbacks whose log appends each message to ``messages``."""

    def __init__(self, messages: list):
        self.messages = messages

    def log(self, message):
        self.messages.append(message)


class CancelAfter:
    """Engine callbacks that ask to cancel once ``checks`` cancel checks have passed (a user pressing Cancel)."""

    def __init__(self, checks: int):
        self.checks, self.calls = checks, 0

    def progress(self, fraction: float, message: str, event=None) -> None:
        pass

    def log(self, message: str) -> None:
        pass

    def is_canceled(self) -> bool:
        self.calls += 1
        return self.calls > self.checks


class TickingClock:
    """A search's clock, ``tick`` seconds later at each reading: its time passes with the work it measures, the
    same on any machine, so that what the time limit decides is asserted exactly."""

    def __init__(self, tick: float, now: float = 1e6):
        self.tick, self.now = tick, now

    def __call__(self):
        self.now += self.tick
        return self.now


@pytest.fixture
def connections(monkeypatch) -> list:
    """Every network connection (or name lookup) the test's code tries, refused as on a machine without network:
    "gives up at once offline" is asserted as "never tried to connect", not as a time on this machine's clock."""
    tried: list = []

    def refuse(what):
        def refused(*args, **kwargs):
            tried.append((what, args[1:] if what == "connect" else args))
            raise OSError(101, "Network is unreachable (refused by the test)")
        return refused

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    return tried


def pytest_collection_modifyitems(items):
    """Markers from what a test uses, so that no test file has to remember them: QGIS test modules, and tests that
    start PostgreSQL (``-m 'not qgis'``, ``-m 'not postgres'``)."""
    for item in items:
        if item.module.__name__.startswith("test_qgis_"):
            item.add_marker(pytest.mark.qgis)
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
