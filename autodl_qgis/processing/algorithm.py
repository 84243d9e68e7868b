"""What every AutoDL algorithm shares: its group, translation, and running engine work in a QgsTask with engine
errors turned into QgsProcessingExceptions with the same text as the CLI."""
from __future__ import annotations

from typing import Callable

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingParameterDefinition,
                       QgsProcessingParameterString)
from qgis.PyQt.QtCore import QCoreApplication

from .task import EngineTask

SETUP_HINT = "install PyTorch and the model libraries into QGIS' Python (see scripts/setup.sh in the README)"


class AutodlAlgorithm(QgsProcessingAlgorithm):
    DEVICE = "device"

    def tr(self, text: str) -> str:
        return QCoreApplication.translate(type(self).__name__, text)

    def group(self) -> str:
        return QCoreApplication.translate("AutodlAlgorithm", "Deep learning")

    def groupId(self) -> str:  # noqa: N802 - QGIS API name
        return "deeplearning"

    def createInstance(self):  # noqa: N802 - QGIS API name
        return type(self)()

    def add_device_parameter(self) -> None:
        """auto / cpu / cuda:N, advanced: QGIS has no GPU-id environment setting as ArcGIS has."""
        device = QgsProcessingParameterString(
            self.DEVICE, QCoreApplication.translate("AutodlAlgorithm", "Device"), defaultValue="auto")
        device.setFlags(device.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(device)

    def device(self, parameters, context) -> str:
        return self.parameterAsString(parameters, self.DEVICE, context) or "auto"

    @staticmethod
    def missing_library(exc: ImportError) -> str:
        return QCoreApplication.translate("AutodlAlgorithm", "A library is missing ({0}): {1}").format(exc, SETUP_HINT)

    def run_engine(self, description: str, work: Callable, feedback):
        """``work(callbacks)`` in a QgsTask on this thread, with progress, log and cancel bridged to ``feedback``."""
        try:
            from ..engine.errors import InputDataError, SearchFailed
            from ..engine.progress import Cancelled
        except ImportError as exc:
            raise QgsProcessingException(self.missing_library(exc))
        try:
            return EngineTask(description, work, feedback).run_here()
        except Cancelled:
            raise QgsProcessingException(QCoreApplication.translate(
                "AutodlAlgorithm", "Cancelled: nothing was written."))
        except (InputDataError, SearchFailed) as exc:
            raise QgsProcessingException(str(exc))
        except ImportError as exc:
            raise QgsProcessingException(self.missing_library(exc))
