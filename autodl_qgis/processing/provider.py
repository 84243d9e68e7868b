"""Processing provider "autodl". Algorithms import the engine only when they run, so the provider loads fast and
lists its algorithms even where torch is missing."""
from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

ICON = Path(__file__).resolve().parents[1] / "icon.svg"

from .train_using_autodl import TrainUsingAutoDL

# One class per algorithm module.
ALGORITHMS = (TrainUsingAutoDL,)


class AutodlProvider(QgsProcessingProvider):
    def id(self) -> str:
        return "autodl"

    def name(self) -> str:
        return QCoreApplication.translate("AutodlProvider", "AutoDL")

    def longName(self) -> str:  # noqa: N802 - QGIS API name
        return QCoreApplication.translate("AutodlProvider", "AutoDL: deep learning for rasters")

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def loadAlgorithms(self) -> None:  # noqa: N802 - QGIS API name
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())
