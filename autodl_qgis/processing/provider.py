"""Processing provider "autodl". Algorithms import the engine only when they run, so the provider loads fast and
lists its algorithms even where torch is missing."""
from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

ICON = Path(__file__).resolve().parents[1] / "icon.svg"

from .classify_pixels_using_deep_learning import ClassifyPixelsUsingDeepLearning
from .detect_objects_using_deep_learning import DetectObjectsUsingDeepLearning
from .export_training_data_for_deep_learning import ExportTrainingDataForDeepLearning
from .train_using_autodl import TrainUsingAutoDL

# One class per algorithm module.
ALGORITHMS = (TrainUsingAutoDL, DetectObjectsUsingDeepLearning, ClassifyPixelsUsingDeepLearning,
              ExportTrainingDataForDeepLearning)


class AutodlProvider(QgsProcessingProvider):
    def id(self) -> str:
        return "autodl"

    def name(self) -> str:
        return QCoreApplication.translate("AutodlProvider", "AutoDL")

    def longName(self) -> str:  # noqa: N802 - QGIS API name
        return QCoreApplication.translate("AutodlProvider", "AutoDL: deep learning for rasters")

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def supportedOutputRasterLayerExtensions(self) -> list[str]:  # noqa: N802 - QGIS API name
        return ["tif"]  # the classified raster is written by GDAL's GeoTIFF driver

    def supportedOutputVectorLayerExtensions(self) -> list[str]:  # noqa: N802 - QGIS API name
        return ["gpkg", "shp", "geojson", "fgb"]  # what the engine's detections writer knows

    def loadAlgorithms(self) -> None:  # noqa: N802 - QGIS API name
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())
