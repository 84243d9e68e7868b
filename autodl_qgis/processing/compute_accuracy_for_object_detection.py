"""Compute Accuracy For Object Detection (autodl:computeaccuracyforobjectdetection): detected polygons against
ground-truth polygons, per-class precision, recall, F1 and AP in a table (the engine's
``compute-accuracy-detection``). Also home of what both Compute Accuracy algorithms share."""
from __future__ import annotations

from pathlib import Path

from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterNumber,
                       QgsProcessingParameterVectorDestination, QgsVectorFileWriter)
from qgis.PyQt.QtCore import QCoreApplication

from .algorithm import AutodlAlgorithm, with_decimals


class AccuracyAlgorithm(AutodlAlgorithm):
    """An engine command comparing a result with ground truth, writing one table (``OUTPUT``)."""

    OUTPUT = ""

    def vector_file(self, parameters, name: str, context, feedback, folder: Path) -> str:
        """The features of a source parameter as a GeoPackage in the run's folder: whatever the layer's provider,
        with its selection or filter applied, as the engine (OGR) reads it."""
        source = self.parameterAsSource(parameters, name, context)
        if source is None:
            raise QgsProcessingException(QCoreApplication.translate(
                "AccuracyAlgorithm", "{0} is not a vector layer QGIS can read.").format(name))
        path = folder / f"{name}.gpkg"
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        writer = QgsVectorFileWriter.create(str(path), source.fields(), source.wkbType(), source.sourceCrs(),
                                            context.transformContext(), options)
        if writer.hasError() != QgsVectorFileWriter.NoError:
            raise QgsProcessingException(writer.errorMessage())
        for feature in source.getFeatures():
            if feedback is not None and feedback.isCanceled():
                break
            writer.addFeature(feature)
        del writer  # flushes and closes the file
        return str(path)

    def output_table(self, parameters, context) -> str:
        return self.parameterAsOutputLayer(parameters, self.OUTPUT, context)

    def engine_outputs(self, parameters, context, feedback, run):
        out = self.output_table(parameters, context)
        if not Path(out).is_file():
            raise QgsProcessingException(QCoreApplication.translate(
                "AccuracyAlgorithm", "The engine finished without writing {0}").format(out))
        return {self.OUTPUT: out}


class ComputeAccuracyForObjectDetection(AccuracyAlgorithm):
    DETECTED_FEATURES, GROUND_TRUTH_FEATURES = "detected_features", "ground_truth_features"
    OUT_ACCURACY_TABLE = OUTPUT = "out_accuracy_table"
    DETECTED_CLASS_VALUE_FIELD = "detected_class_value_field"
    GROUND_TRUTH_CLASS_VALUE_FIELD = "ground_truth_class_value_field"
    MIN_IOU = "min_iou"

    def name(self) -> str:
        return "computeaccuracyforobjectdetection"

    def displayName(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr("Compute Accuracy For Object Detection")

    def tags(self) -> list[str]:
        return self.tr("deep learning,object detection,accuracy,precision,recall,average precision").split(",")

    def shortHelpString(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr(
            "Compares the objects found by Detect Objects Using Deep Learning with ground-truth polygons and writes "
            "a table with one row per class and one for all classes: Precision, Recall, F1_Score, AP (average "
            "precision at the IoU threshold), True_Positive, False_Positive and False_Negative. A detection is a "
            "true positive when it overlaps a ground-truth object of its class at least by the IoU threshold; each "
            "object is matched once, by the most confident detection.\n\n"
            "<b>Detected Features</b> (detected_features): polygons from Detect Objects (its Confidence field "
            "orders them for AP).\n"
            "<b>Ground Truth Features</b> (ground_truth_features): polygons of the real objects.\n"
            "<b>Output Accuracy Table</b> (out_accuracy_table): a GeoPackage or CSV table.\n"
            "<b>Detected Class Value Field</b> (detected_class_value_field) and <b>Ground Truth Class Value "
            "Field</b> (ground_truth_class_value_field): the class values or names; Classvalue or Value when not "
            "given, and without either every feature is one class.\n"
            "<b>Minimum Intersection Over Union (IoU)</b> (min_iou): 0.5 by default.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.DETECTED_FEATURES, self.tr("Detected Features"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.GROUND_TRUTH_FEATURES, self.tr("Ground Truth Features"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterVectorDestination(
            self.OUT_ACCURACY_TABLE, self.tr("Output Accuracy Table"), QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterField(
            self.DETECTED_CLASS_VALUE_FIELD, self.tr("Detected Class Value Field"),
            parentLayerParameterName=self.DETECTED_FEATURES, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.GROUND_TRUTH_CLASS_VALUE_FIELD, self.tr("Ground Truth Class Value Field"),
            parentLayerParameterName=self.GROUND_TRUTH_FEATURES, optional=True))
        self.addParameter(with_decimals(QgsProcessingParameterNumber(
            self.MIN_IOU, self.tr("Minimum Intersection Over Union (IoU)"),
            type=QgsProcessingParameterNumber.Double, defaultValue=0.5, minValue=0.0, maxValue=1.0), 2))

    def engine_arguments(self, parameters, context, feedback, folder):
        arguments = ["compute-accuracy-detection",
                     self.vector_file(parameters, self.DETECTED_FEATURES, context, feedback, folder),
                     self.vector_file(parameters, self.GROUND_TRUTH_FEATURES, context, feedback, folder),
                     self.output_table(parameters, context),
                     "--min-iou", repr(self.parameterAsDouble(parameters, self.MIN_IOU, context))]
        for name, option in ((self.DETECTED_CLASS_VALUE_FIELD, "--detected-class-field"),
                             (self.GROUND_TRUTH_CLASS_VALUE_FIELD, "--ground-truth-class-field")):
            field = self.parameterAsString(parameters, name, context)
            if field:
                arguments += [option, field]
        return arguments
