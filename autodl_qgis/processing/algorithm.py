"""What every AutoDL algorithm shares. An algorithm is an engine command, the arguments read from its parameters,
and the outputs it returns: ``engine_arguments`` builds ``<command> …`` for ``python -m autodl_qgis`` (run in its own
process, engine_process.py), ``engine_outputs`` says what came out. Nothing here imports the engine's libraries."""
from __future__ import annotations

from pathlib import Path

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingParameterDefinition, QgsProcessingParameterEnum,
                       QgsProcessingParameterNumber)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .engine_process import EngineRun, engine_folder, known_devices, run_engine

ICON = Path(__file__).resolve().parents[1] / "icon.svg"
DEFAULT_DEVICES = ["auto", "cpu"]


def device_choices() -> list[str]:
    """auto, cpu, and the GPUs the engine's interpreter found (cuda:N), as its ``--device`` values."""
    found = [d.split()[0] for d in known_devices()]
    return DEFAULT_DEVICES + [d for d in found if d not in DEFAULT_DEVICES]


def with_decimals(parameter: QgsProcessingParameterNumber, decimals: int) -> QgsProcessingParameterNumber:
    """Shown with this many decimals in the dialog (2.0 rather than 2.000000)."""
    parameter.setMetadata({"widget_wrapper": {"decimals": decimals}})
    return parameter


class AutodlAlgorithm(QgsProcessingAlgorithm):
    DEVICE = "device"

    def tr(self, text: str) -> str:
        return QCoreApplication.translate(type(self).__name__, text)

    def group(self) -> str:
        return QCoreApplication.translate("AutodlAlgorithm", "Deep learning")

    def groupId(self) -> str:  # noqa: N802 - QGIS API name
        return "deeplearning"

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def createInstance(self):  # noqa: N802 - QGIS API name
        return type(self)()

    def add_device_parameter(self) -> None:
        """Advanced: QGIS has no GPU-id environment setting as ArcGIS has."""
        device = QgsProcessingParameterEnum(
            self.DEVICE, QCoreApplication.translate("AutodlAlgorithm", "Device"), options=device_choices(),
            defaultValue="auto", usesStaticStrings=True)
        device.setFlags(device.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(device)

    def device(self, parameters, context) -> str:
        return self.parameterAsEnumString(parameters, self.DEVICE, context) or "auto"

    def engine_arguments(self, parameters, context, feedback, folder: Path) -> list[str]:
        """The engine command and its arguments; ``folder`` (removed after the run) takes files prepared here."""
        raise NotImplementedError

    def engine_outputs(self, parameters, context, feedback, run: EngineRun) -> dict:
        raise NotImplementedError

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        with engine_folder() as folder:
            run = run_engine(self.engine_arguments(parameters, context, feedback, folder), feedback, folder)
        return self.engine_outputs(parameters, context, feedback, run)
