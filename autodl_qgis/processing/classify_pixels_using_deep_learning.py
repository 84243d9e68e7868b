"""Classify Pixels Using Deep Learning (autodl:classifypixelsusingdeeplearning): a .dlpk's pixel classifier over a
raster, a classified GeoTIFF out."""
from __future__ import annotations

from qgis.core import (QgsProcessingParameterBoolean, QgsProcessingParameterDefinition,
                       QgsProcessingParameterRasterDestination)

from .inference import ModelOnRasterAlgorithm


class ClassifyPixelsUsingDeepLearning(ModelOnRasterAlgorithm):
    OUT_CLASSIFIED_RASTER = "out_classified_raster"
    COMMAND, OUTPUT = "classify", OUT_CLASSIFIED_RASTER
    BLEND_OVERLAP = "blend_overlap"

    def name(self) -> str:
        return "classifypixelsusingdeeplearning"

    def displayName(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr("Classify Pixels Using Deep Learning")

    def tags(self) -> list[str]:
        return self.tr("deep learning,pixel classification,segmentation,land cover,inference,dlpk").split(",")

    def shortHelpString(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr(
            "Runs a trained pixel classification model on a raster and writes a single-band GeoTIFF of class "
            "values on the raster's grid, with the model's class colours; 0 is NoData (background and pixels "
            "outside the extent or mask).\n\n"
            "<b>Output Classified Raster</b> (out_classified_raster): a GeoTIFF file.\n") + self.common_help() + \
            self.tr("\n<b>Blend Overlap</b> (blend_overlap, advanced): instead of taking each pixel from the one tile "
                    "whose centre holds it, add up the class probabilities of every tile covering it, each weighted "
                    "by a window that falls linearly to the tile's edges over the overlap, and take the most "
                    "probable class. It costs no extra work per tile, only memory for the probabilities of one row "
                    "of tiles (256 MB at most, unless the model has hundreds of classes or very large tiles). Our "
                    "own tools only: the model's ArcGIS Pro function gets one block at a time.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.add_model_parameters()
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUT_CLASSIFIED_RASTER, self.tr("Output Classified Raster")))
        self.add_tiling_parameters()
        blend = QgsProcessingParameterBoolean(self.BLEND_OVERLAP, self.tr("Blend Overlap"), defaultValue=False)
        blend.setFlags(blend.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(blend)

    def engine_arguments(self, parameters, context, feedback, folder):
        arguments = super().engine_arguments(parameters, context, feedback, folder)
        return arguments + (["--blend-overlap"] if self.parameterAsBoolean(parameters, self.BLEND_OVERLAP, context)
                            else [])
