"""Detect Objects Using Deep Learning (autodl:detectobjectsusingdeeplearning): a .dlpk's detector over a raster,
objects out as polygons."""
from __future__ import annotations

from qgis.core import QgsProcessingParameterNumber, QgsProcessingParameterVectorDestination

from .algorithm import with_decimals
from .inference import ModelOnRasterAlgorithm


class DetectObjectsUsingDeepLearning(ModelOnRasterAlgorithm):
    OUT_DETECTED_OBJECTS = "out_detected_objects"
    THRESHOLD, MAX_OVERLAP_RATIO = "threshold", "max_overlap_ratio"
    COMMAND, OUTPUT = "detect", OUT_DETECTED_OBJECTS

    def name(self) -> str:
        return "detectobjectsusingdeeplearning"

    def displayName(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr("Detect Objects Using Deep Learning")

    def tags(self) -> list[str]:
        return self.tr("deep learning,object detection,inference,dlpk").split(",")

    def shortHelpString(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr(
            "Runs a trained object detection model on a raster and writes the objects it finds as polygons in the "
            "raster's coordinate reference system, with their class name (Class), class value (ClassValue) and "
            "confidence (Confidence). Objects found twice where tiles overlap are kept once: each tile keeps the "
            "objects whose centre lies in its centre part (blending whole tiles, as Classify Pixels can, kept boxes "
            "cut by tile edges beside the whole object).\n\n"
            "<b>Output Detected Objects</b> (out_detected_objects): a GeoPackage, Shapefile, GeoJSON or "
            "FlatGeobuf file.\n"
            "<b>Threshold</b> (threshold): the lowest confidence kept. Not set (the default): the model's own "
            "threshold, where its F1 (precision and recall together) was highest on its validation chips; 0.5 for "
            "models that do not record one.\n"
            "<b>Max Overlap Ratio</b> (max_overlap_ratio): two objects of one class overlapping more than this "
            "(intersection over union) are one object; the more confident is kept.\n") + self.common_help()

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.add_model_parameters()
        self.addParameter(QgsProcessingParameterVectorDestination(
            self.OUT_DETECTED_OBJECTS, self.tr("Output Detected Objects")))
        self.addParameter(with_decimals(QgsProcessingParameterNumber(
            self.THRESHOLD, self.tr("Threshold"), type=QgsProcessingParameterNumber.Double, optional=True,
            minValue=0.0, maxValue=1.0), 2))
        self.addParameter(with_decimals(QgsProcessingParameterNumber(
            self.MAX_OVERLAP_RATIO, self.tr("Max Overlap Ratio"), type=QgsProcessingParameterNumber.Double,
            defaultValue=0.3, minValue=0.0, maxValue=1.0), 2))
        self.add_tiling_parameters()

    def engine_arguments(self, parameters, context, feedback, folder):
        threshold = ([] if parameters.get(self.THRESHOLD) in (None, "") else  # not set: the model's own
                     ["--confidence", repr(self.parameterAsDouble(parameters, self.THRESHOLD, context))])
        return super().engine_arguments(parameters, context, feedback, folder) + threshold + [
            "--nms", repr(self.parameterAsDouble(parameters, self.MAX_OVERLAP_RATIO, context))]
