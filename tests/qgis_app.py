"""One QgsApplication per test process, started on first use (engine tests never need one)."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_APP = None


def qgis_app():
    global _APP
    if _APP is None:
        from qgis.testing import start_app

        _APP = start_app(cleanup=False)
    return _APP
