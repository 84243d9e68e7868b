"""What every AutoDL algorithm shares. An algorithm is an engine command, the arguments read from its parameters,
and the outputs it returns: ``engine_arguments`` builds ``<command> …`` for ``python -m autodl_qgis`` (run in its own
process, engine_process.py), ``engine_outputs`` says what came out. Nothing here imports the engine's libraries."""
from __future__ import annotations

from pathlib import Path

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingDestinationParameter, QgsProcessingOutputLayerDefinition,
                       QgsProcessingParameterDefinition, QgsProcessingParameterEnum, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterVectorDestination,
                       QgsProcessingUtils, QgsProperty)
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


def is_temporary(path: str) -> bool:
    """A file QGIS chose for "[Save to temporary file]"."""
    return Path(path).is_relative_to(QgsProcessingUtils.tempFolder())


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

    def with_destinations_resolved(self, parameters, context) -> dict:
        """``parameters`` with each destination resolved once to the path it stands for. QGIS resolves
        TEMPORARY_OUTPUT to a new path at every parameterAsFileOutput / parameterAsOutputLayer call, so the engine's
        output and the one read back would differ; once resolved, every later call gives the same path. A layer
        output keeps its definition (destination project, name), so it still loads on completion."""
        resolved = dict(parameters)
        for definition in self.parameterDefinitions():
            name = definition.name()
            if not isinstance(definition, QgsProcessingDestinationParameter) or parameters.get(name) is None:
                continue
            if isinstance(definition, (QgsProcessingParameterVectorDestination,
                                       QgsProcessingParameterRasterDestination)):
                path = self.parameterAsOutputLayer(parameters, name, context)
            else:
                path = self.parameterAsFileOutput(parameters, name, context)
            if not path:
                continue
            value = parameters[name]
            if isinstance(value, QgsProcessingOutputLayerDefinition):
                value = QgsProcessingOutputLayerDefinition(value)
                value.sink = QgsProperty.fromValue(path)
                resolved[name] = value
            else:
                resolved[name] = path
        return resolved

    def output_layer_name(self, parameters, context, definition, path: str) -> str:
        """The name of an output layer QGIS loads: its file's, or for a temporary file (named after the
        parameter) the output's description."""
        return definition.description() if is_temporary(path) else Path(path).stem

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        parameters = self.with_destinations_resolved(parameters, context)
        with engine_folder() as folder:
            run = run_engine(self.engine_arguments(parameters, context, feedback, folder), feedback, folder)
        results = self.engine_outputs(parameters, context, feedback, run)
        for definition in self.destinationParameterDefinitions():
            path = str(results.get(definition.name(), ""))
            if path and context.willLoadLayerOnCompletion(path):
                details = context.layerToLoadOnCompletionDetails(path)
                details.name, details.forceName = self.output_layer_name(parameters, context, definition, path), True
        return results
