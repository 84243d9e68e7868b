"""Train Using AutoDL (autodl:trainusingautodl): the parameters of arcpy.geoai.TrainUsingAutoDL, same names."""
from __future__ import annotations

from pathlib import Path

from qgis.core import (QgsProcessingOutputFile, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterNumber)

from ..engine.networks.registry import NETWORKS
from .algorithm import AutodlAlgorithm

MODES = ["BASIC", "ADVANCED"]


def dlpk_path(path: str) -> Path:
    out = Path(path)
    return out if out.suffix.lower() == ".dlpk" else out.with_name(out.name + ".dlpk")


class TrainUsingAutoDL(AutodlAlgorithm):
    IN_DATA, OUT_MODEL, PRETRAINED_MODEL = "in_data", "out_model", "pretrained_model"
    TOTAL_TIME_LIMIT, AUTODL_MODE, NETWORKS = "total_time_limit", "autodl_mode", "networks"
    SAVE_EVALUATED_MODELS = "save_evaluated_models"
    OUTPUT_MODEL_FILE, REPORT_FILE, LEADERBOARD_FILE = "output_model_file", "report_file", "leaderboard_file"

    def name(self) -> str:
        return "trainusingautodl"

    def displayName(self) -> str:
        return self.tr("Train Using AutoDL")

    def tags(self) -> list[str]:
        return self.tr("deep learning,automl,train,object detection,pixel classification,dlpk").split(",")

    def shortHelpString(self) -> str:
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
            "<b>AutoDL Mode</b> (autodl_mode): BASIC trains every selected network with its default backbone. "
            "ADVANCED evaluates the networks in the first half of the time and tunes the best two (backbones, "
            "learning rate, batch size, augmentation) in the second half.\n"
            "<b>Networks</b> (networks): the networks to try; none selected means all that suit the data.\n"
            "<b>Save Evaluated Models</b> (save_evaluated_models): also save every evaluated model, in a folder "
            "beside the output model.\n"
            "<b>Device</b> (device, advanced): auto (a GPU when there is one), cpu, or cuda:N.\n\n"
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
        self.addParameter(QgsProcessingParameterNumber(
            self.TOTAL_TIME_LIMIT, self.tr("Total Time Limit (Hours)"), type=QgsProcessingParameterNumber.Double,
            defaultValue=2.0, minValue=0.001))
        self.addParameter(QgsProcessingParameterEnum(
            self.AUTODL_MODE, self.tr("AutoDL Mode"), options=MODES, defaultValue="BASIC", usesStaticStrings=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.NETWORKS, self.tr("Networks"), options=list(NETWORKS), allowMultiple=True, optional=True,
            usesStaticStrings=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.SAVE_EVALUATED_MODELS, self.tr("Save Evaluated Models"), defaultValue=False))
        self.add_device_parameter()
        self.addOutput(QgsProcessingOutputFile(self.OUTPUT_MODEL_FILE, self.tr("Output model file")))
        self.addOutput(QgsProcessingOutputFile(self.REPORT_FILE, self.tr("Training report")))
        self.addOutput(QgsProcessingOutputFile(self.LEADERBOARD_FILE, self.tr("Leaderboard")))

    def _options(self, parameters, context) -> dict:
        return {
            "in_data": self.parameterAsFile(parameters, self.IN_DATA, context),
            "out_model": dlpk_path(self.parameterAsFileOutput(parameters, self.OUT_MODEL, context)),
            "pretrained_model": self.parameterAsFile(parameters, self.PRETRAINED_MODEL, context) or None,
            "total_time_limit": self.parameterAsDouble(parameters, self.TOTAL_TIME_LIMIT, context),
            "autodl_mode": self.parameterAsEnumString(parameters, self.AUTODL_MODE, context) or "BASIC",
            # an unset multiple enum reads as [""] in 3.22
            "networks": [n for n in self.parameterAsEnumStrings(parameters, self.NETWORKS, context) if n] or None,
            "save_evaluated_models": self.parameterAsBool(parameters, self.SAVE_EVALUATED_MODELS, context),
            "device": self.device(parameters, context),
        }

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API name
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            return ok, message
        options = self._options(parameters, context)
        try:
            from ..engine.data import TrainingData
            from ..engine.errors import InputDataError
            from ..engine.networks.registry import networks_for

            from ..engine.outputs import check_output_location

            check_output_location(options["out_model"])
            data = TrainingData.open(options["in_data"])
            suitable = {s.name for s in networks_for(data.task, data.format)}
            wrong = [n for n in options["networks"] or [] if n not in suitable]
            if wrong:
                return False, self.tr("{0} do(es) not suit {1} training data; networks that do: {2}").format(
                    ", ".join(wrong), data.format, ", ".join(sorted(suitable)))
            if options["pretrained_model"]:
                from ..engine.package import open_package

                open_package(options["pretrained_model"]).close()
        except InputDataError as exc:
            return False, str(exc)
        except ImportError as exc:
            return False, self.missing_library(exc)
        return True, ""

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        options = self._options(parameters, context)
        out_model = options.pop("out_model")

        def work(callbacks):
            from ..engine.search import AutoDL

            autodl = AutoDL(options["in_data"], total_time_limit=options["total_time_limit"],
                            mode=options["autodl_mode"], networks=options["networks"],
                            pretrained_model=options["pretrained_model"],
                            save_evaluated_models=options["save_evaluated_models"], device=options["device"],
                            callbacks=callbacks)
            autodl.fit()
            return autodl.save(out_model, sidecars=True)

        written = self.run_engine(self.tr("Train Using AutoDL"), work, feedback)
        from ..engine.search.autodl import sidecar_paths

        report, leaderboard = sidecar_paths(written)
        return {self.OUT_MODEL: str(written), self.OUTPUT_MODEL_FILE: str(written), self.REPORT_FILE: str(report),
                self.LEADERBOARD_FILE: str(leaderboard)}
