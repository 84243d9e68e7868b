"""Export Model To ONNX (autodl:exportmodeltoonnx): a .dlpk's network as an ONNX file with the metadata QGIS'
Deepness plugin reads (engine command ``export-model``)."""
from __future__ import annotations

from pathlib import Path

from qgis.core import (QgsProcessingException, QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterNumber)

from .algorithm import AutodlAlgorithm, with_decimals


class ExportModelToOnnx(AutodlAlgorithm):
    IN_MODEL_DEFINITION, RESOLUTION, OUT_ONNX = "in_model_definition", "resolution", "out_onnx"

    def name(self) -> str:
        return "exportmodeltoonnx"

    def displayName(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr("Export Model To ONNX")

    def tags(self) -> list[str]:
        return self.tr("deep learning,onnx,deepness,onnxruntime,export,dlpk").split(",")

    def shortHelpString(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr(
            "Writes the network of a model trained with AutoDL as an ONNX file, with the metadata the "
            "Deepness plugin reads (model type, class names, tile size and overlap, standardisation), for Deepness "
            "or any onnxruntime user.\n\n"
            "<b>Model Definition</b> (in_model_definition): a .dlpk trained with AutoDL.\n"
            "<b>Resolution (cm per pixel)</b> (resolution): the ground resolution of the training imagery, which "
            "Deepness rescales rasters to; 0 leaves it out (Deepness then asks for it).\n"
            "<b>Output ONNX</b> (out_onnx): the .onnx file.\n\n"
            "Pixel classifiers give class probabilities per pixel (Deepness: Segmentor); object detectors give "
            "Deepness' YOLO_v5_v7_DEFAULT layout (Detector). Networks whose graph cannot be exported end with that "
            "reason; they still run in this plugin's Detect Objects and Classify Pixels.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterFile(
            self.IN_MODEL_DEFINITION, self.tr("Model Definition"), behavior=QgsProcessingParameterFile.File,
            fileFilter=self.tr("Deep learning package (*.dlpk)")))
        self.addParameter(with_decimals(QgsProcessingParameterNumber(
            self.RESOLUTION, self.tr("Resolution (cm per pixel)"), QgsProcessingParameterNumber.Double,
            defaultValue=0.0, minValue=0.0), 2))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUT_ONNX, self.tr("Output ONNX"), fileFilter=self.tr("ONNX model (*.onnx)")))

    def engine_arguments(self, parameters, context, feedback, folder: Path) -> list[str]:
        arguments = ["export-model", self.parameterAsFile(parameters, self.IN_MODEL_DEFINITION, context),
                     self.parameterAsFileOutput(parameters, self.OUT_ONNX, context)]
        resolution = self.parameterAsDouble(parameters, self.RESOLUTION, context)
        if resolution > 0:
            arguments += ["--resolution", repr(resolution)]
        return arguments

    def engine_outputs(self, parameters, context, feedback, run) -> dict:
        out = self.parameterAsFileOutput(parameters, self.OUT_ONNX, context)
        if not Path(out).is_file():
            raise QgsProcessingException(self.tr("The engine finished without writing {0}").format(out))
        return {self.OUT_ONNX: out}
