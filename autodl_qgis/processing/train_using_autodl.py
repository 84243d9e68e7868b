"""Train Using AutoDL (autodl:trainusingautodl): the parameters of arcpy.geoai.TrainUsingAutoDL, same names."""
from __future__ import annotations

from pathlib import Path

import re
import time

from qgis.core import (QgsProcessingException, QgsProcessingOutputFile, QgsProcessingParameterBoolean,
                       QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ..engine.networks.registry import NETWORKS
from .algorithm import AutodlAlgorithm, with_decimals

MODES = ["BASIC", "ADVANCED"]


def dlpk_path(path: str) -> Path:
    out = Path(path)
    return out if out.suffix.lower() == ".dlpk" else out.with_name(out.name + ".dlpk")


def sidecar_paths(dlpk: Path) -> tuple[Path, Path]:
    """The report and leaderboard ``train --report`` writes beside the model (engine/search/autodl.py)."""
    return dlpk.with_name(f"{dlpk.stem}_report.html"), dlpk.with_name(f"{dlpk.stem}_leaderboard.csv")


def network_names(value) -> list[str]:
    """The networks parameter as names: "FasterRCNN,RetinaNet" (dialog, batch, History, qgis_process), a list of
    names, or a list of indices into NETWORKS (what the old enum parameter stored)."""
    names = list(NETWORKS)
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;\s]+", str(value or ""))
    chosen = []
    for item in items:
        if isinstance(item, int) or (isinstance(item, str) and item.strip().isdigit()):
            index = int(item)
            item = names[index] if 0 <= index < len(names) else str(item)
        item = str(item).strip()
        if item and item not in chosen:
            chosen.append(item)
    return chosen


class TrainUsingAutoDL(AutodlAlgorithm):
    IN_DATA, OUT_MODEL, PRETRAINED_MODEL = "in_data", "out_model", "pretrained_model"
    TOTAL_TIME_LIMIT, AUTODL_MODE, NETWORKS = "total_time_limit", "autodl_mode", "networks"
    SAVE_EVALUATED_MODELS = "save_evaluated_models"
    OUTPUT_MODEL_FILE, REPORT_FILE, LEADERBOARD_FILE = "output_model_file", "report_file", "leaderboard_file"

    def name(self) -> str:
        return "trainusingautodl"

    def displayName(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr("Train Using AutoDL")

    def tags(self) -> list[str]:
        return self.tr("deep learning,automl,train,object detection,pixel classification,dlpk").split(",")

    def shortHelpString(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr(
            "Trains a deep learning model by building training pipelines and automating much of the training "
            "process: data augmentation, model selection, hyperparameter tuning and batch size deduction.\n\n"
            "<b>Input Training Data</b> (in_data): the folder written by an Export Training Data For Deep Learning "
            "tool, in the Classified_Tiles, PASCAL_VOC_rectangles, KITTI_rectangles or RCNN_Masks metadata format. "
            "It decides the task: object detection or pixel classification.\n"
            "<b>Output Model</b> (out_model): the trained model, saved as a deep learning package (.dlpk).\n"
            "<b>Pretrained Model</b> (pretrained_model): a .dlpk or .emd to fine-tune. It must be a model of the "
            "same type; training then uses its network and backbone only. Classes are matched by name.\n"
            "<b>Total Time Limit (Hours)</b> (total_time_limit): the time for the whole search, 2 hours by "
            "default.\n"
            "<b>AutoDL Mode</b> (autodl_mode): BASIC trains every selected network with its default backbone and "
            "chip scale, in the order of a ranked table; the best continue training and the winner is trained to "
            "the end of the time limit. ADVANCED also tries other backbones, learning rates, chip scales and "
            "augmentation strengths for the two leading networks (Optuna TPE).\n"
            "<b>Networks</b> (networks): the networks to try, chosen in a list (names separated by commas on the "
            "command line, e.g. FasterRCNN,RetinaNet); none means all that suit the data.\n"
            "<b>Save Evaluated Models</b> (save_evaluated_models): also save every evaluated model, in a folder "
            "beside the output model.\n"
            "<b>Device</b> (device, advanced): auto (a GPU when there is one), cpu, or one of the GPUs found.\n\n"
            "Object detection models are ranked by average precision at IoU 0.5, pixel classification models by "
            "mean IoU.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterFile(
            self.IN_DATA, self.tr("Input Training Data"), behavior=QgsProcessingParameterFile.Folder))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUT_MODEL, self.tr("Output Model"), fileFilter=self.tr("Deep learning package (*.dlpk)")))
        self.addParameter(QgsProcessingParameterFile(
            self.PRETRAINED_MODEL, self.tr("Pretrained Model"), behavior=QgsProcessingParameterFile.File,
            fileFilter=self.tr("Model definition (*.dlpk *.emd)"), optional=True))
        self.addParameter(with_decimals(QgsProcessingParameterNumber(
            self.TOTAL_TIME_LIMIT, self.tr("Total Time Limit (Hours)"), type=QgsProcessingParameterNumber.Double,
            defaultValue=2.0, minValue=0.001), 3))
        self.addParameter(QgsProcessingParameterEnum(
            self.AUTODL_MODE, self.tr("AutoDL Mode"), options=MODES, defaultValue="BASIC", usesStaticStrings=True))
        # Names separated by commas, chosen in a list (networks_widget.py): QGIS 3.22's multiple enum of static
        # strings cannot be ticked in the dialog nor recorded in History.
        networks = QgsProcessingParameterString(self.NETWORKS, self.tr("Networks"), optional=True)
        networks.setMetadata({"widget_wrapper": {
            "class": "autodl_qgis.processing.networks_widget.NetworksWidgetWrapper"}})
        self.addParameter(networks)
        self.addParameter(QgsProcessingParameterBoolean(
            self.SAVE_EVALUATED_MODELS, self.tr("Save Evaluated Models"), defaultValue=False))
        self.add_device_parameter()
        self.addOutput(QgsProcessingOutputFile(self.OUTPUT_MODEL_FILE, self.tr("Output model file")))
        # A file, not QgsProcessingOutputHtml: QGIS 3.22's batch dialog fails on HTML outputs, and its dialog says
        # "HTML output has been generated" after any run, failed ones too. postProcessAlgorithm shows the report.
        self.addOutput(QgsProcessingOutputFile(self.REPORT_FILE, self.tr("Training report")))
        self.addOutput(QgsProcessingOutputFile(self.LEADERBOARD_FILE, self.tr("Leaderboard")))

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API name
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            return ok, message
        unknown = [n for n in network_names(parameters.get(self.NETWORKS)) if n not in NETWORKS]
        if unknown:
            return False, self.tr("Unknown network(s): {0}. Networks: {1}").format(
                ", ".join(unknown), ", ".join(NETWORKS))
        return True, ""

    reported_model: Path | None = None  # set by a run that wrote the model and its report

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 - QGIS API name
        """The report of a finished run in the Results Viewer, named after the model (on the main thread, after
        the run; a failed or cancelled run never gets here)."""
        if self.reported_model is not None:
            try:
                from processing.core.ProcessingResults import resultsList
            except ImportError:  # Processing's plugin is not loaded: no Results Viewer
                return {}
            resultsList.addResult(icon=self.icon(), name=self.tr("{0}: training report").format(
                self.reported_model.stem), timestamp=time.localtime(),
                result=str(sidecar_paths(self.reported_model)[0]))
        return {}

    def out_model(self, parameters, context) -> Path:
        return dlpk_path(self.parameterAsFileOutput(parameters, self.OUT_MODEL, context))

    def engine_arguments(self, parameters, context, feedback, folder):
        arguments = ["train", self.parameterAsFile(parameters, self.IN_DATA, context),
                     str(self.out_model(parameters, context)), "--report",
                     "--total-time-limit", repr(self.parameterAsDouble(parameters, self.TOTAL_TIME_LIMIT, context)),
                     "--autodl-mode", self.parameterAsEnumString(parameters, self.AUTODL_MODE, context) or "BASIC",
                     "--device", self.device(parameters, context)]
        networks = network_names(parameters.get(self.NETWORKS))
        if networks:
            arguments += ["--networks", ",".join(networks)]
        pretrained = self.parameterAsFile(parameters, self.PRETRAINED_MODEL, context)
        if pretrained:
            arguments += ["--pretrained-model", pretrained]
        if self.parameterAsBool(parameters, self.SAVE_EVALUATED_MODELS, context):
            arguments.append("--save-evaluated-models")
        return arguments

    def engine_outputs(self, parameters, context, feedback, run):
        written = self.out_model(parameters, context)
        if not written.is_file():
            raise QgsProcessingException(self.tr("The engine finished without writing {0}").format(written))
        report, leaderboard = sidecar_paths(written)
        self.reported_model = written if report.is_file() else None
        return {self.OUT_MODEL: str(written), self.OUTPUT_MODEL_FILE: str(written), self.REPORT_FILE: str(report),
                self.LEADERBOARD_FILE: str(leaderboard)}
