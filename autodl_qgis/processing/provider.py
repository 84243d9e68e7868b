"""The Processing provider "autodl". Algorithms run the engine in its own process (engine_process.py), so the
provider loads fast and QGIS' Python never imports torch. Its setting, in Settings › Options › Processing ›
Providers › AutoDL, is the Python that runs the engine (the shape of QGIS' own otbprovider settings)."""
from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .algorithm import ICON
from .classify_pixels_using_deep_learning import ClassifyPixelsUsingDeepLearning
from .compute_accuracy_for_object_detection import ComputeAccuracyForObjectDetection
from .compute_accuracy_for_pixel_classification import ComputeAccuracyForPixelClassification
from .detect_objects_using_deep_learning import DetectObjectsUsingDeepLearning
from .engine_process import PYTHON_SETTING, engine_python
from .export_model_to_onnx import ExportModelToOnnx
from .export_training_data_for_deep_learning import ExportTrainingDataForDeepLearning
from .install_autodl_engine import InstallAutodlEngine
from .train_using_autodl import TrainUsingAutoDL

# One class per algorithm module.
ALGORITHMS = (TrainUsingAutoDL, DetectObjectsUsingDeepLearning, ClassifyPixelsUsingDeepLearning,
              ExportTrainingDataForDeepLearning, ComputeAccuracyForObjectDetection,
              ComputeAccuracyForPixelClassification, ExportModelToOnnx, InstallAutodlEngine)


class AutodlProvider(QgsProcessingProvider):
    def id(self) -> str:
        return "autodl"

    def name(self) -> str:
        return QCoreApplication.translate("AutodlProvider", "AutoDL")

    def longName(self) -> str:  # noqa: N802 - QGIS API name
        return QCoreApplication.translate("AutodlProvider", "AutoDL: deep learning for rasters")

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def load(self) -> bool:
        try:  # the Processing plugin's options; absent only where Processing itself is not loaded
            from processing.core.ProcessingConfig import ProcessingConfig, Setting
        except ImportError:
            ProcessingConfig = None  # noqa: N806 - the class's name
        if ProcessingConfig is not None:
            ProcessingConfig.settingIcons[self.name()] = self.icon()
            ProcessingConfig.addSetting(Setting(
                self.name(), PYTHON_SETTING,
                QCoreApplication.translate("AutodlProvider", "Python that runs the AutoDL engine (empty: found "
                                           "automatically; now {0}). Install AutoDL Engine sets it").format(
                    engine_python() or QCoreApplication.translate("AutodlProvider", "none found")),
                "", valuetype=Setting.FILE))
            ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self) -> None:
        try:
            from processing.core.ProcessingConfig import ProcessingConfig
        except ImportError:
            return
        # absent when QGIS unloads twice or Processing dropped its settings first (both seen at exit)
        if PYTHON_SETTING in ProcessingConfig.settings:
            ProcessingConfig.removeSetting(PYTHON_SETTING)

    def versionInfo(self) -> str:  # noqa: N802 - QGIS API name
        """Shown at the top of each run's log: the plugin's version and the Python that runs the engine."""
        import configparser

        metadata = configparser.ConfigParser()
        metadata.read(ICON.with_name("metadata.txt"), encoding="utf-8")
        return f"{metadata.get('general', 'version', fallback='?')} (engine: {engine_python()})"

    def supportedOutputRasterLayerExtensions(self) -> list[str]:  # noqa: N802 - QGIS API name
        return ["tif"]  # the classified raster is written by GDAL's GeoTIFF driver

    def supportedOutputVectorLayerExtensions(self) -> list[str]:  # noqa: N802 - QGIS API name
        return ["gpkg", "shp", "geojson", "fgb"]  # what the engine's detections writer knows

    def supportedOutputTableExtensions(self) -> list[str]:  # noqa: N802 - QGIS API name
        return ["gpkg", "csv"]  # what the engine's accuracy tables writer knows

    def loadAlgorithms(self) -> None:  # noqa: N802 - QGIS API name
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())
