import importlib.util
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
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


def pytest_collection_modifyitems(items):
    """Markers from what a test uses, so that no test file has to remember them: QGIS test modules, and tests that
    start PostgreSQL (``-m 'not qgis'``, ``-m 'not postgres'``)."""
    for item in items:
        if item.module.__name__.startswith("test_qgis_"):
            item.add_marker(pytest.mark.qgis)
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
