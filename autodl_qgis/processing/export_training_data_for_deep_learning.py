"""Export Training Data For Deep Learning (autodl:exporttrainingdatafordeeplearning): image chips and labels from a
raster and a labelled vector layer or classified raster, in the Esri folder layouts Train Using AutoDL reads."""
from __future__ import annotations

from pathlib import Path

from qgis.core import (QgsProcessingException, QgsProcessingParameterEnum,
                       QgsProcessingParameterField, QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterMapLayer, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterLayer, QgsProviderRegistry, QgsVectorFileWriter, QgsVectorLayer)

from ..engine.data import FORMATS
from .algorithm import AutodlAlgorithm, with_decimals

CHIP_FORMATS = {"TIFF": "tif", "PNG": "png", "JPEG": "jpg"}
TILE_CHOICES = ["ALL_TILES", "ONLY_TILES_WITH_FEATURES"]


class ExportTrainingDataForDeepLearning(AutodlAlgorithm):
    IN_RASTER, OUT_FOLDER, IN_CLASS_DATA = "in_raster", "out_folder", "in_class_data"
    IMAGE_CHIP_FORMAT, TILE_SIZE, STRIDE = "image_chip_format", "tile_size", "stride"
    OUTPUT_NOFEATURE_TILES, METADATA_FORMAT = "output_nofeature_tiles", "metadata_format"
    CLASS_VALUE_FIELD, BUFFER_RADIUS = "class_value_field", "buffer_radius"

    def name(self) -> str:
        return "exporttrainingdatafordeeplearning"

    def displayName(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr("Export Training Data For Deep Learning")

    def tags(self) -> list[str]:
        return self.tr("deep learning,training data,chips,labels,export").split(",")

    def shortHelpString(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr(
            "Cuts a raster into image chips and writes the labels of each chip, in the folder layout of ArcGIS' "
            "Export Training Data For Deep Learning, which Train Using AutoDL (here or in ArcGIS) reads.\n\n"
            "<b>Input Raster</b> (in_raster): the georeferenced imagery.\n"
            "<b>Output Folder</b> (out_folder): a new or empty folder.\n"
            "<b>Input Class Data</b> (in_class_data): a vector layer of labelled features (polygons; points and "
            "lines with a buffer radius) or a classified raster (Classified_Tiles only; 0 is background).\n"
            "<b>Class Value Field</b> (class_value_field): the field holding each feature's class: whole numbers "
            "(named by a Classname field when there is one) or names.\n"
            "<b>Image Format</b> (image_chip_format): TIFF, PNG or JPEG chips.\n"
            "<b>Tile Size</b> (tile_size) and <b>Stride</b> (stride): chip size and step in pixels; a stride below "
            "the tile size makes overlapping chips.\n"
            "<b>Output No Feature Tiles</b> (output_nofeature_tiles): ALL_TILES keeps chips without features (the "
            "model learns what is not an object); ONLY_TILES_WITH_FEATURES skips them.\n"
            "<b>Metadata Format</b> (metadata_format): Classified_Tiles for pixel classification; "
            "PASCAL_VOC_rectangles or KITTI_rectangles for object detection; RCNN_Masks for instance masks.\n"
            "<b>Buffer Radius</b> (buffer_radius): in map units, turns points and lines into polygons.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterRasterLayer(self.IN_RASTER, self.tr("Input Raster")))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUT_FOLDER, self.tr("Output Folder")))
        self.addParameter(QgsProcessingParameterMapLayer(self.IN_CLASS_DATA, self.tr("Input Class Data")))
        self.addParameter(QgsProcessingParameterField(
            self.CLASS_VALUE_FIELD, self.tr("Class Value Field"), parentLayerParameterName=self.IN_CLASS_DATA,
            optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.IMAGE_CHIP_FORMAT, self.tr("Image Format"), options=list(CHIP_FORMATS), defaultValue="TIFF",
            usesStaticStrings=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.TILE_SIZE, self.tr("Tile Size"), defaultValue=256, minValue=16))
        self.addParameter(QgsProcessingParameterNumber(
            self.STRIDE, self.tr("Stride"), defaultValue=128, minValue=1))
        self.addParameter(QgsProcessingParameterEnum(
            self.OUTPUT_NOFEATURE_TILES, self.tr("Output No Feature Tiles"), options=TILE_CHOICES,
            defaultValue="ALL_TILES", usesStaticStrings=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.METADATA_FORMAT, self.tr("Metadata Format"), options=list(FORMATS),
            defaultValue="Classified_Tiles", usesStaticStrings=True))
        self.addParameter(with_decimals(QgsProcessingParameterNumber(
            self.BUFFER_RADIUS, self.tr("Buffer Radius"), type=QgsProcessingParameterNumber.Double,
            defaultValue=0.0, minValue=0.0), 2))

    def _labels(self, parameters, context, scratch: Path) -> tuple[str, str | None]:
        """A path (and layer name) GDAL/OGR reads for the class data: the layer's own file, or a GeoPackage copy
        of layers from other providers (memory, databases)."""
        layer = self.parameterAsLayer(parameters, self.IN_CLASS_DATA, context)
        if layer is None:
            raise QgsProcessingException(self.tr("The input class data is not a layer QGIS can open."))
        if layer.providerType() in ("ogr", "gdal"):
            parts = QgsProviderRegistry.instance().decodeUri(layer.providerType(), layer.source())
            if parts.get("path") and not parts.get("subset"):
                return parts["path"], parts.get("layerName") or None
        if not isinstance(layer, QgsVectorLayer):
            raise QgsProcessingException(self.tr("The classified raster must be a raster GDAL reads."))
        copy = scratch / "labels.gpkg"
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        error = QgsVectorFileWriter.writeAsVectorFormatV2(layer, str(copy), context.transformContext(), options)
        if error[0] != QgsVectorFileWriter.NoError:
            raise QgsProcessingException(self.tr("Could not copy the class data: {0}").format(error[1]))
        return str(copy), None

    def engine_arguments(self, parameters, context, feedback, folder):
        raster = self.parameterAsRasterLayer(parameters, self.IN_RASTER, context)
        if raster is None or raster.providerType() != "gdal":
            raise QgsProcessingException(self.tr("The input raster must be a raster layer GDAL reads."))
        labels, labels_layer = self._labels(parameters, context, folder)
        arguments = ["export", raster.source(), labels,
                     self.parameterAsFileOutput(parameters, self.OUT_FOLDER, context),
                     "--format", self.parameterAsEnumString(parameters, self.METADATA_FORMAT, context),
                     "--chip-size", str(self.parameterAsInt(parameters, self.TILE_SIZE, context)),
                     "--stride", str(self.parameterAsInt(parameters, self.STRIDE, context)),
                     "--image-format",
                     CHIP_FORMATS[self.parameterAsEnumString(parameters, self.IMAGE_CHIP_FORMAT, context)],
                     "--buffer-radius", repr(self.parameterAsDouble(parameters, self.BUFFER_RADIUS, context))]
        class_field = self.parameterAsString(parameters, self.CLASS_VALUE_FIELD, context)
        if class_field:
            arguments += ["--class-field", class_field]
        if labels_layer:
            arguments += ["--labels-layer", labels_layer]
        if self.parameterAsEnumString(parameters, self.OUTPUT_NOFEATURE_TILES, context) == "ALL_TILES":
            arguments.append("--all-tiles")
        return arguments

    def engine_outputs(self, parameters, context, feedback, run):
        return {self.OUT_FOLDER: self.parameterAsFileOutput(parameters, self.OUT_FOLDER, context)}
