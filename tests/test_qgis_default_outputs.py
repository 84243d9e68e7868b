"""Every algorithm with its outputs left at the dialog's default "[Save to temporary file]" (TEMPORARY_OUTPUT),
through processing.run and through the parameters the algorithm dialog builds: the paths returned are the ones the
engine wrote, with their content (QGIS turns TEMPORARY_OUTPUT into a new path at each resolution)."""

import numpy as np
import pytest
from osgeo import gdal, osr

from autodl_qgis.engine.data import CLASSIFIED_TILES, TrainingData
from autodl_qgis.engine.data.writer import write_raster
from qgis_app import no_autodl_temp_left, processing_registry  # noqa: F401 - a fixture
from scenes import GEOTRANSFORM, mosaic_scene, untrained_package, write_label_polygons

pytestmark = pytest.mark.usefixtures("no_autodl_temp_left")
MODES = ["processing.run", "dialog"]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    raster, class_map, boxes, values = mosaic_scene(folder)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    classes = folder / "classes.tif"
    write_raster(classes, class_map[None].astype(np.uint8), GEOTRANSFORM, srs.ExportToWkt())
    return {"raster": str(raster), "classes": str(classes), "objects": len(boxes),
            "labels": str(write_label_polygons(folder / "objects.gpkg", boxes, values)),
            "classifier": str(untrained_package(folder / "classifier.dlpk")),
            "detector": str(untrained_package(folder / "detector.dlpk", network="FasterRCNN"))}


def run_with_default_outputs(algorithm_id: str, inputs: dict, mode: str):
    """The algorithm's results and the layers QGIS loaded on completion (dialog mode: into the project)."""
    registry = processing_registry()
    import processing
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from processing.gui.Postprocessing import handleAlgorithmResults
    from processing.tools import dataobjects
    from qgis.core import QgsProcessing, QgsProcessingFeedback, QgsProject

    algorithm = registry.algorithmById(algorithm_id)
    destinations = [d.name() for d in algorithm.destinationParameterDefinitions()]
    if mode == "processing.run":
        return processing.run(algorithm_id, {**inputs, **{d: QgsProcessing.TEMPORARY_OUTPUT for d in destinations}}), []
    algorithm = algorithm.create()
    dialog = AlgorithmDialog(algorithm)
    dialog.setParameters(inputs)
    parameters = dialog.createProcessingParameters()
    for name in destinations:  # the dialog's default, as a user leaves it
        value = parameters[name]
        assert (value.sink.staticValue() if hasattr(value, "sink") else value) == QgsProcessing.TEMPORARY_OUTPUT
    feedback = QgsProcessingFeedback()
    context = dataobjects.createContext(feedback)
    project = QgsProject.instance()
    before = set(project.mapLayers())
    results, ok = algorithm.run(parameters, context, feedback)
    assert ok, results
    assert handleAlgorithmResults(algorithm, context, feedback, False, results)
    new = set(project.mapLayers()) - before
    loaded = [(project.mapLayer(i).name(), project.mapLayer(i).source().split("|")[0]) for i in new]
    project.removeMapLayers(list(new))
    return results, loaded


@pytest.mark.parametrize("mode", MODES)
def test_train_returns_the_package_it_wrote(scene, synthetic, mode):
    from autodl_qgis.engine.package import open_package

    results, _ = run_with_default_outputs("autodl:trainusingautodl", {
        "in_data": str(synthetic(CLASSIFIED_TILES, num_chips=12)), "total_time_limit": 0.02,
        "networks": "UnetClassifier"}, mode)
    assert results["out_model"] == results["output_model_file"]
    with open_package(results["output_model_file"]) as package:
        assert package.network == "UnetClassifier"
    assert "<html" in open(results["report_file"], encoding="utf-8").read().lower()


@pytest.mark.parametrize("mode", MODES)
def test_detect_returns_the_objects_it_wrote_and_loads_them(scene, mode):
    results, loaded = run_with_default_outputs("autodl:detectobjectsusingdeeplearning", {
        "in_raster": scene["raster"], "in_model_definition": scene["detector"], "threshold": 0.0}, mode)
    from qgis.core import QgsVectorLayer

    out = results["out_detected_objects"]
    layer = QgsVectorLayer(out)
    assert layer.isValid() and {"Class", "ClassValue", "Confidence"} <= set(layer.fields().names())
    if mode == "dialog":
        assert loaded == [("detector (Output Detected Objects)", out)]


@pytest.mark.parametrize("mode", MODES)
def test_classify_returns_the_raster_it_wrote_and_loads_it(scene, mode):
    results, loaded = run_with_default_outputs("autodl:classifypixelsusingdeeplearning", {
        "in_raster": scene["raster"], "in_model_definition": scene["classifier"]}, mode)
    out = results["out_classified_raster"]
    assert gdal.Open(out).GetGeoTransform() == GEOTRANSFORM
    if mode == "dialog":
        assert loaded == [("classifier (Output Classified Raster)", out)]


@pytest.mark.parametrize("mode", MODES)
def test_export_training_data_returns_the_folder_it_filled(scene, mode):
    results, _ = run_with_default_outputs("autodl:exporttrainingdatafordeeplearning", {
        "in_raster": scene["raster"], "in_class_data": scene["labels"], "class_value_field": "classvalue",
        "tile_size": 64, "stride": 64}, mode)
    data = TrainingData.open(results["out_folder"])
    assert data.format == CLASSIFIED_TILES and len(data.chips) == 9


@pytest.mark.parametrize("mode", MODES)
def test_export_model_to_onnx_returns_the_file_it_wrote(scene, mode):
    results, _ = run_with_default_outputs("autodl:exportmodeltoonnx", {"in_model_definition": scene["classifier"]},
                                          mode)
    import onnx

    model = onnx.load(results["out_onnx"])
    assert any(p.key == "class_names" for p in model.metadata_props)


@pytest.mark.parametrize("mode", MODES)
def test_compute_accuracy_returns_the_tables_it_wrote(scene, mode):
    from qgis.core import QgsVectorLayer

    results, loaded = run_with_default_outputs("autodl:computeaccuracyforobjectdetection", {
        "detected_features": scene["labels"], "ground_truth_features": scene["labels"],
        "detected_class_value_field": "classvalue", "ground_truth_class_value_field": "classvalue"}, mode)
    rows = {f["Class"]: f for f in QgsVectorLayer(results["out_accuracy_table"]).getFeatures()}
    assert rows["All"]["True_Positive"] == scene["objects"] and rows["All"]["False_Positive"] == 0
    pixels, loaded_pixels = run_with_default_outputs("autodl:computeaccuracyforpixelclassification", {
        "in_raster": scene["classes"], "in_ground_truth_data": scene["classes"], "num_random_points": 50}, mode)
    rows = {f["ClassValue"]: f for f in QgsVectorLayer(pixels["out_confusion_matrix"]).getFeatures()}
    assert rows["Total"]["Total"] == 50 and rows["Kappa"]["Kappa"] == pytest.approx(1.0)
    if mode == "dialog":
        assert [path for _, path in loaded + loaded_pixels] == [results["out_accuracy_table"],
                                                                 pixels["out_confusion_matrix"]]
