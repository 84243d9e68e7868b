"""Classify Pixels Using Deep Learning (autodl:classifypixelsusingdeeplearning): a .dlpk's pixel classifier over a
raster, a classified GeoTIFF out."""
from __future__ import annotations

from qgis.core import QgsProcessingParameterRasterDestination

from .inference import ModelOnRasterAlgorithm


class ClassifyPixelsUsingDeepLearning(ModelOnRasterAlgorithm):
    OUT_CLASSIFIED_RASTER = "out_classified_raster"
    COMMAND, OUTPUT = "classify", OUT_CLASSIFIED_RASTER

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
            "<b>Output Classified Raster</b> (out_classified_raster): a GeoTIFF file.\n") + self.common_help()

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.add_model_parameters()
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUT_CLASSIFIED_RASTER, self.tr("Output Classified Raster")))
        self.add_tiling_parameters()
