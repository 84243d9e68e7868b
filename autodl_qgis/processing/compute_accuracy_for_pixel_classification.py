"""Compute Accuracy For Pixel Classification (autodl:computeaccuracyforpixelclassification): a classified raster
against a reference raster, polygons or points, as a confusion matrix table with user's and producer's accuracy,
kappa and IoU (the engine's ``compute-accuracy-pixels``)."""
from __future__ import annotations

from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingParameterEnum, QgsProcessingParameterField,
                       QgsProcessingParameterMapLayer, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterVectorDestination, QgsRasterLayer)

from .algorithm import with_decimals
from .compute_accuracy_for_object_detection import AccuracyAlgorithm

SAMPLING = ("STRATIFIED_RANDOM", "EQUALIZED_STRATIFIED_RANDOM", "RANDOM")  # ArcGIS' sampling strategies


class ComputeAccuracyForPixelClassification(AccuracyAlgorithm):
    IN_RASTER, IN_GROUND_TRUTH_DATA = "in_raster", "in_ground_truth_data"
    OUT_CONFUSION_MATRIX = OUTPUT = "out_confusion_matrix"
    NUM_RANDOM_POINTS, SAMPLING, MIN_POINT_DISTANCE = "num_random_points", "sampling", "min_point_distance"
    GROUND_TRUTH_CLASS_VALUE_FIELD = "ground_truth_class_value_field"

    def name(self) -> str:
        return "computeaccuracyforpixelclassification"

    def displayName(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr("Compute Accuracy For Pixel Classification")

    def tags(self) -> list[str]:
        return self.tr("deep learning,pixel classification,accuracy,confusion matrix,kappa,IoU").split(",")

    def shortHelpString(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr(
            "Compares a classified raster (e.g. from Classify Pixels Using Deep Learning) with reference data at "
            "random points and writes the confusion matrix as a table: a row per classified value (C_1, C_2, …) "
            "with its counts against each reference value, Total, U_Accuracy (user's accuracy) and IoU; then the "
            "Total, P_Accuracy (producer's accuracy, with the overall accuracy) and Kappa rows.\n\n"
            "<b>Input Raster</b> (in_raster): the classified raster.\n"
            "<b>Ground Truth Data</b> (in_ground_truth_data): a class raster, polygons, or points with class values "
            "(Classvalue, Value or GrndTruth unless a field is given). Reference NoData and 0 are never sampled.\n"
            "<b>Output Confusion Matrix</b> (out_confusion_matrix): a GeoPackage or CSV table.\n"
            "<b>Number of Random Points</b> (num_random_points): 500 by default; points given as ground truth are "
            "used as they are.\n"
            "<b>Sampling Strategy</b> (sampling): STRATIFIED_RANDOM (points per class in proportion to its area), "
            "EQUALIZED_STRATIFIED_RANDOM (the same number per class) or RANDOM.\n"
            "<b>Minimum Point Distance</b> (min_point_distance): in map units, 0 by default.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterRasterLayer(self.IN_RASTER, self.tr("Input Raster")))
        self.addParameter(QgsProcessingParameterMapLayer(
            self.IN_GROUND_TRUTH_DATA, self.tr("Ground Truth Data"),
            types=[QgsProcessing.TypeRaster, QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterVectorDestination(
            self.OUT_CONFUSION_MATRIX, self.tr("Output Confusion Matrix"), QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterNumber(
            self.NUM_RANDOM_POINTS, self.tr("Number of Random Points"), defaultValue=500, minValue=1))
        self.addParameter(QgsProcessingParameterEnum(
            self.SAMPLING, self.tr("Sampling Strategy"), options=list(SAMPLING), defaultValue=SAMPLING[0],
            usesStaticStrings=True))
        self.addParameter(with_decimals(QgsProcessingParameterNumber(
            self.MIN_POINT_DISTANCE, self.tr("Minimum Point Distance"), type=QgsProcessingParameterNumber.Double,
            defaultValue=0.0, minValue=0.0), 2))
        # Typed, not picked from the ground truth layer: QGIS 3.22's field picker crashes the desktop when that
        # layer is a raster (a segmentation fault as the raster is chosen)
        self.addParameter(QgsProcessingParameterField(
            self.GROUND_TRUTH_CLASS_VALUE_FIELD, self.tr("Ground Truth Class Value Field"), optional=True))

    def engine_arguments(self, parameters, context, feedback, folder):
        raster = self.parameterAsRasterLayer(parameters, self.IN_RASTER, context)
        if raster is None or raster.providerType() != "gdal":
            raise QgsProcessingException(self.tr("The input raster must be a raster layer GDAL reads."))
        reference = self.parameterAsLayer(parameters, self.IN_GROUND_TRUTH_DATA, context)
        if isinstance(reference, QgsRasterLayer):
            if reference.providerType() != "gdal":
                raise QgsProcessingException(self.tr("The ground truth raster must be a raster layer GDAL reads."))
            ground_truth = reference.source()
        else:
            ground_truth = self.vector_file(parameters, self.IN_GROUND_TRUTH_DATA, context, feedback, folder)
        arguments = ["compute-accuracy-pixels", raster.source(), ground_truth, self.output_table(parameters, context),
                     "--num-random-points", str(self.parameterAsInt(parameters, self.NUM_RANDOM_POINTS, context)),
                     "--sampling", self.parameterAsEnumString(parameters, self.SAMPLING, context),
                     "--min-point-distance",
                     repr(self.parameterAsDouble(parameters, self.MIN_POINT_DISTANCE, context))]
        field = self.parameterAsString(parameters, self.GROUND_TRUTH_CLASS_VALUE_FIELD, context)
        if field:
            arguments += ["--ground-truth-class-field", field]
        return arguments
