"""What Detect Objects and Classify Pixels share: the raster, the model package, where to look (extent, mask) and
how to tile it, read into the arguments of the engine's ``detect`` / ``classify`` commands; the output styled with
the model's classes when QGIS loads it."""
from __future__ import annotations

from pathlib import Path

from qgis.core import (QgsFeatureRequest, QgsGeometry, QgsProcessing, QgsProcessingException,
                       QgsProcessingParameterDefinition, QgsProcessingParameterEnum,
                       QgsProcessingParameterExtent, QgsProcessingParameterFeatureSource, QgsProcessingParameterFile,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer)
from qgis.PyQt.QtCore import QCoreApplication

from .algorithm import AutodlAlgorithm, is_temporary
from .styles import style_on_load


# the strings both algorithms share, in one context (pylupdate5 reads it from each call)
translate = QCoreApplication.translate


class ModelOnRasterAlgorithm(AutodlAlgorithm):
    COMMAND = OUTPUT = ""  # the engine command and the output parameter, set by each algorithm
    IN_RASTER, IN_MODEL_DEFINITION = "in_raster", "in_model_definition"
    EXTENT, MASK = "extent", "mask"
    TILE_SIZE, OVERLAP, BATCH_SIZE = "tile_size", "overlap", "batch_size"
    TEST_TIME_AUGMENTATION, BACKEND = "test_time_augmentation", "backend"
    BACKENDS = ["torch", "onnxruntime"]
    # test_time_augmentation's options by index: a model saved with the former checkbox keeps its meaning (true is
    # 1, on; false is 0, which is now the model's own choice)
    AS_TRAINED, AUGMENTED, ONCE = range(3)

    @staticmethod
    def common_help() -> str:
        return translate("ModelOnRasterAlgorithm", "<b>Input Raster</b> (in_raster): the raster to process, with the "
                         "bands the model was trained on.\n"
                         "<b>Model Definition</b> (in_model_definition): a deep learning package (.dlpk) written by "
                         "Train Using AutoDL.\n"
                         "<b>Processing Extent</b> (extent): only this area is processed; the whole raster by "
                         "default.\n"
                         "<b>Processing Mask</b> (mask): polygons outside which nothing is processed.\n"
                         "<b>Tile Size</b> (tile_size): pixels per tile; 0 uses the model's chip size.\n"
                         "<b>Overlap</b> (overlap): pixels shared by neighbouring tiles; each tile is trusted in its "
                         "centre only, so nothing shows at tile seams. -1 uses a quarter of the tile.\n"
                         "<b>Batch Size</b> (batch_size): tiles per forward pass; lower it when the GPU runs out of "
                         "memory.\n"
                         "<b>Test Time Augmentation</b> (test_time_augmentation): predict each tile in its eight "
                         "flips and quarter turns and average the class probabilities (pixels) or pool the boxes "
                         "(objects), eight times the work; or each tile once. By default (0) as the model was "
                         "chosen to predict in training: over the eight views where they validated higher.\n"
                         "<b>Device</b> (device, advanced): auto (a GPU when there is one), cpu, or one of the GPUs "
                         "found.\n"
                         "<b>Run the model with</b> (backend, advanced): torch (the package's weights) or "
                         "onnxruntime (the package's ONNX graph).")

    def add_model_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.IN_RASTER, translate("ModelOnRasterAlgorithm", "Input Raster")))
        self.addParameter(QgsProcessingParameterFile(
            self.IN_MODEL_DEFINITION, translate("ModelOnRasterAlgorithm", "Model Definition"),
            behavior=QgsProcessingParameterFile.File,
            fileFilter=translate("ModelOnRasterAlgorithm", "Deep learning package (*.dlpk)")))

    def add_tiling_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterExtent(
            self.EXTENT, translate("ModelOnRasterAlgorithm", "Processing Extent"), optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.MASK, translate("ModelOnRasterAlgorithm", "Processing Mask"), [QgsProcessing.TypeVectorPolygon],
            optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.TILE_SIZE, translate("ModelOnRasterAlgorithm", "Tile Size"), defaultValue=0, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.OVERLAP, translate("ModelOnRasterAlgorithm", "Overlap"), defaultValue=-1, minValue=-1))
        self.addParameter(QgsProcessingParameterNumber(
            self.BATCH_SIZE, translate("ModelOnRasterAlgorithm", "Batch Size"), defaultValue=4, minValue=1))
        self.addParameter(QgsProcessingParameterEnum(
            self.TEST_TIME_AUGMENTATION, translate("ModelOnRasterAlgorithm", "Test Time Augmentation"),
            options=[translate("ModelOnRasterAlgorithm", "As the model was trained to predict"),
                     translate("ModelOnRasterAlgorithm", "Yes: each tile in its eight flips and quarter turns"),
                     translate("ModelOnRasterAlgorithm", "No: each tile once")],
            defaultValue=self.AS_TRAINED))
        self.add_device_parameter()
        backend = QgsProcessingParameterEnum(
            self.BACKEND, translate("ModelOnRasterAlgorithm", "Run the model with"), options=self.BACKENDS,
            defaultValue="torch", usesStaticStrings=True)
        backend.setFlags(backend.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(backend)

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API name
        return super().checkParameterValues(self._former_checkbox(parameters), context)

    def _former_checkbox(self, parameters: dict) -> dict:
        """The parameters with a test_time_augmentation given as the former checkbox gave it (a model, a batch, a
        qgis_process line saved before: true, false) as the option it now means."""
        value = parameters.get(self.TEST_TIME_AUGMENTATION)
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            value = value.strip().lower() == "true"
        if isinstance(value, bool):
            return {**parameters, self.TEST_TIME_AUGMENTATION: self.AUGMENTED if value else self.AS_TRAINED}
        return parameters

    def engine_arguments(self, parameters, context, feedback, folder):
        """``<command> MODEL RASTER OUT`` and the tiling options; the mask, unioned in the raster's CRS, goes to the
        engine as a WKT file in ``folder``."""
        layer = self.parameterAsRasterLayer(parameters, self.IN_RASTER, context)
        if layer is None or layer.providerType() != "gdal":
            raise QgsProcessingException(translate(
                "ModelOnRasterAlgorithm", "The input raster must be a raster layer GDAL reads (a file or a GDAL data "
                "source), not a web or database service."))
        model = self.parameterAsFile(parameters, self.IN_MODEL_DEFINITION, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        arguments = [self.COMMAND, model, layer.source(), out,
                     "--batch-size", str(self.parameterAsInt(parameters, self.BATCH_SIZE, context)),
                     "--device", self.device(parameters, context),
                     "--backend", self.parameterAsEnumString(parameters, self.BACKEND, context) or "torch"]
        augmentation = self.parameterAsEnum(self._former_checkbox(parameters), self.TEST_TIME_AUGMENTATION, context)
        if augmentation != self.AS_TRAINED:
            arguments.append("--test-time-augmentation" if augmentation == self.AUGMENTED
                             else "--no-test-time-augmentation")
        tile = self.parameterAsInt(parameters, self.TILE_SIZE, context)
        if tile:
            arguments += ["--tile-size", str(tile)]
        overlap = self.parameterAsInt(parameters, self.OVERLAP, context)
        if overlap >= 0:
            arguments += ["--overlap", str(overlap)]
        if parameters.get(self.EXTENT):
            rect = self.parameterAsExtent(parameters, self.EXTENT, context, layer.crs())
            arguments += ["--extent"] + [repr(v) for v in (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(),
                                                           rect.yMaximum())]
        source = self.parameterAsSource(parameters, self.MASK, context)
        if source is not None:
            request = QgsFeatureRequest().setDestinationCrs(layer.crs(), context.transformContext())
            union = QgsGeometry.unaryUnion([f.geometry() for f in source.getFeatures(request) if f.hasGeometry()])
            if union.isEmpty():
                raise QgsProcessingException(
                    translate("ModelOnRasterAlgorithm", "The processing mask has no polygons."))
            mask = folder / "mask.wkt"
            mask.write_text(union.asWkt(), encoding="utf-8")
            arguments += ["--mask-wkt", str(mask)]
        return arguments

    def output_layer_name(self, parameters, context, definition, path):
        """A temporary output is named after the model as well: several runs' outputs stay apart."""
        name = super().output_layer_name(parameters, context, definition, path)
        if not is_temporary(path):
            return name
        return f"{Path(self.parameterAsFile(parameters, self.IN_MODEL_DEFINITION, context)).stem} ({name})"

    def engine_outputs(self, parameters, context, feedback, run):
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        if not Path(out).is_file():
            raise QgsProcessingException(translate("ModelOnRasterAlgorithm",
                                                   "The engine finished without writing {0}").format(out))
        # after the last parameterAsOutputLayer, which registers the layer to load afresh
        style_on_load(context, out, self.parameterAsFile(parameters, self.IN_MODEL_DEFINITION, context))
        return {self.OUTPUT: out}
