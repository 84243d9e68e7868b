"""The companion algorithms in QGIS, headless: export training chips from a georeferenced scene and its labelled
polygons, train on them, and detect objects / classify pixels on that scene; the same through qgis_process."""
import subprocess

import numpy as np
import pytest
from osgeo import gdal, ogr

from autodl_qgis.engine.data import CLASSIFIED_TILES, PASCAL_VOC, TrainingData
from conftest import REPO
from qgis_app import QGIS_PROCESS, processing_registry, qgis_process_env
from scenes import GEOTRANSFORM, map_box, mosaic_scene, package_from, write_label_polygons

pytestmark = pytest.mark.usefixtures("no_autodl_temp_left")

EXPORT = "autodl:exporttrainingdatafordeeplearning"
DETECT = "autodl:detectobjectsusingdeeplearning"
CLASSIFY = "autodl:classifypixelsusingdeeplearning"


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    raster, class_map, boxes, values = mosaic_scene(folder)
    return raster, class_map, boxes, values, write_label_polygons(folder / "objects.gpkg", boxes, values)


def _export(scene, out, metadata_format, only_with_features=False, stride=32):
    import processing

    raster, _, _, _, labels = scene
    return processing.run(EXPORT, {
        "in_raster": str(raster), "in_class_data": str(labels), "class_value_field": "classvalue",
        "tile_size": 64, "stride": stride, "metadata_format": metadata_format, "out_folder": str(out),
        "output_nofeature_tiles": "ONLY_TILES_WITH_FEATURES" if only_with_features else "ALL_TILES"})


@pytest.fixture(scope="module")
def trained_classifier(scene, tmp_path_factory):
    """Export -> Train Using AutoDL, both through processing.run."""
    import processing

    processing_registry()
    work = tmp_path_factory.mktemp("classification")
    chips = _export(scene, work / "chips", CLASSIFIED_TILES)["out_folder"]
    result = processing.run("autodl:trainusingautodl", {
        "in_data": chips, "out_model": str(work / "model.dlpk"), "total_time_limit": 0.02,
        "networks": ["UnetClassifier"]})
    return chips, result["output_model_file"]


def test_export_writes_folders_the_trainer_reads(scene, tmp_path):
    processing_registry()
    chips = _export(scene, tmp_path / "voc", PASCAL_VOC, only_with_features=True)["out_folder"]
    data = TrainingData.open(chips)
    assert data.format == PASCAL_VOC and data.chip_size == (64, 64)
    assert [(c.value, c.name) for c in data.classes] == [(1, "pool"), (2, "building")]
    assert 0 < len(data.chips) <= 25  # 5 x 5 windows of 64 px, stride 32, over 192 px


def test_export_errors_are_processing_exceptions(scene, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    processing_registry()
    raster, _, _, _, labels = scene
    with pytest.raises(QgsProcessingException, match="chip size"):
        processing.run(EXPORT, {"in_raster": str(raster), "in_class_data": str(labels),
                                "class_value_field": "classvalue", "tile_size": 512, "stride": 512,
                                "out_folder": str(tmp_path / "big")})
    assert not (tmp_path / "big").exists() or not any((tmp_path / "big").iterdir())


def test_export_train_classify_chain_is_georeferenced(scene, trained_classifier, tmp_path):
    import processing

    raster, class_map, boxes, values, _ = scene
    assert TrainingData.open(trained_classifier[0]).format == CLASSIFIED_TILES
    out = processing.run(CLASSIFY, {"in_raster": str(raster), "in_model_definition": trained_classifier[1],
                                    "out_classified_raster": str(tmp_path / "classes.tif")})["out_classified_raster"]
    ds = gdal.Open(out)
    assert ds.GetGeoTransform() == GEOTRANSFORM and "32633" in ds.GetProjection()
    predicted = ds.GetRasterBand(1).ReadAsArray()
    assert predicted.shape == class_map.shape and (predicted > 0).any()
    # the largest object's footprint is mostly its class
    x0, y0, x1, y1 = (int(v) for v in max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1])))
    value = values[int(np.argmax([(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]))]
    assert (predicted[y0:y1, x0:x1] == value).mean() > 0.5


@pytest.mark.slow
def test_export_train_detect_chain_finds_objects_in_their_footprints(scene, tmp_path):
    import processing

    processing_registry()
    raster, _, boxes, _, labels = scene
    # overlapping chips (stride 16: 81 of them) so that a from-scratch detector learns in 10 epochs
    chips = _export(scene, tmp_path / "chips", PASCAL_VOC, only_with_features=True, stride=16)["out_folder"]
    model = package_from(TrainingData.open(chips), "FasterRCNN", "resnet18", 10, tmp_path / "detector.dlpk")
    x0, dx, _, y0, _, dy = GEOTRANSFORM
    # a mask over all but the last column of chips, and the default tiling from the model
    mask = tmp_path / "mask.geojson"
    mask.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": '
                    f'{{"type": "Polygon", "coordinates": [[[{x0}, {y0}], [{x0 + 128 * dx}, {y0}], '
                    f'[{x0 + 128 * dx}, {y0 + 192 * dy}], [{x0}, {y0 + 192 * dy}], [{x0}, {y0}]]]}}}}], '
                    '"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}}}')
    out = processing.run(DETECT, {"in_raster": str(raster), "in_model_definition": str(model),
                                  "mask": str(mask), "threshold": 0.3,
                                  "out_detected_objects": str(tmp_path / "objects.gpkg")})["out_detected_objects"]
    source = ogr.Open(out)
    layer = source.GetLayer(0)
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "32633"
    centres = [f.GetGeometryRef().Centroid() for f in layer]
    assert centres and all(c.GetX() < x0 + 128 * dx for c in centres)
    inside = [b for b in boxes if b[2] <= 128]
    found = [any(t[0] <= c.GetX() <= t[2] and t[1] <= c.GetY() <= t[3] for c in centres)
             for t in map(map_box, inside)]
    assert sum(found) >= 0.7 * len(inside), (sum(found), len(inside))


def test_qgis_process_lists_and_runs_the_companion_algorithms(scene, trained_classifier, tmp_path):
    env = qgis_process_env(tmp_path, REPO)
    listed = subprocess.run([QGIS_PROCESS, "list"], env=env, capture_output=True, text=True, timeout=300).stdout
    for algorithm in (EXPORT, DETECT, CLASSIFY, "autodl:trainusingautodl"):
        assert algorithm in listed
    help_text = subprocess.run([QGIS_PROCESS, "help", DETECT], env=env, capture_output=True, text=True,
                               timeout=300).stdout
    assert "max_overlap_ratio" in help_text and "in_model_definition" in help_text
    out = tmp_path / "classes.tif"
    run = subprocess.run([QGIS_PROCESS, "run", CLASSIFY, "--", f"in_raster={scene[0]}",
                          f"in_model_definition={trained_classifier[1]}", f"out_classified_raster={out}"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert gdal.Open(str(out)).GetGeoTransform() == GEOTRANSFORM
    wrong = subprocess.run([QGIS_PROCESS, "run", DETECT, "--", f"in_raster={scene[0]}",
                            f"in_model_definition={trained_classifier[1]}",
                            f"out_detected_objects={tmp_path / 'objects.gpkg'}"],
                           env=env, capture_output=True, text=True, timeout=600)
    assert wrong.returncode != 0 and "is a pixel classification model" in wrong.stdout + wrong.stderr
    assert not (tmp_path / "objects.gpkg").exists()


def test_classify_blend_overlap_reaches_the_engine(scene, tmp_path):
    """Classify Pixels' advanced Blend Overlap runs the engine with --blend-overlap: its log says so and its map is
    the engine's blended one; Detect Objects has no such parameter (objects stay with the tiles' cores)."""
    registry = processing_registry()
    import processing
    from qgis.core import QgsProcessingFeedback

    from autodl_qgis.engine.infer import classify_pixels
    from scenes import untrained_package

    model = untrained_package(tmp_path / "untrained.dlpk")
    messages = []

    class Feedback(QgsProcessingFeedback):
        def pushInfo(self, info):  # noqa: N802 - QGIS API name
            messages.append(info)

    out = processing.run(CLASSIFY, {"in_raster": str(scene[0]), "in_model_definition": str(model), "overlap": 16,
                                    "blend_overlap": True, "out_classified_raster": str(tmp_path / "blended.tif")},
                         feedback=Feedback())["out_classified_raster"]
    assert any("overlap 16 px, blended" in m for m in messages), messages
    classify_pixels(model, scene[0], tmp_path / "engine.tif", overlap=16, blend_overlap=True, device="cpu")
    assert (gdal.Open(out).ReadAsArray() == gdal.Open(str(tmp_path / "engine.tif")).ReadAsArray()).all()
    algorithm = registry.algorithmById(CLASSIFY)
    blend = algorithm.parameterDefinition("blend_overlap")
    assert blend.defaultValue() is False and blend.flags() & blend.FlagAdvanced
    assert "blend_overlap" in algorithm.shortHelpString()
    assert registry.algorithmById(DETECT).parameterDefinition("blend_overlap") is None


def _detect_arguments(scene, tmp_path, name: str, value) -> list[str]:
    """The engine command line Detect Objects builds from its defaults, with ``name`` set to ``value`` (None: left
    unset), after QGIS accepted the values."""
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    algorithm = processing_registry().algorithmById(DETECT)
    model = tmp_path / "model.dlpk"
    model.write_bytes(b"not read here")
    parameters = {"in_raster": str(scene[0]), "in_model_definition": str(model),
                  "out_detected_objects": str(tmp_path / "objects.gpkg")}
    if value is not None:
        parameters[name] = value
    context = QgsProcessingContext()
    ok, message = algorithm.checkParameterValues(parameters, context)
    assert ok, message
    return algorithm.engine_arguments(parameters, context, QgsProcessingFeedback(), tmp_path)


@pytest.mark.parametrize("value,flag", [(None, None), (0, None), (1, "--test-time-augmentation"),
                                        (2, "--no-test-time-augmentation"), (True, "--test-time-augmentation"),
                                        (False, None), ("true", "--test-time-augmentation"), ("false", None)],
                         ids=["default", "as-trained", "yes", "no", "old-checkbox-on", "old-checkbox-off",
                              "old-qgis-process-true", "old-qgis-process-false"])
def test_test_time_augmentation_is_the_models_choice_unless_told(scene, tmp_path, value, flag):
    """The dialog's default leaves the choice to the package (the search chose it where it validated higher); a
    model or batch saved with the former checkbox keeps its meaning (on: on; off: the package's choice)."""
    arguments = _detect_arguments(scene, tmp_path, "test_time_augmentation", value)
    given = [a for a in arguments if "test-time-augmentation" in a]
    assert given == ([flag] if flag else [])


@pytest.mark.parametrize("value,given", [(None, []), (0.3, ["--confidence", "0.3"]), (0.0, ["--confidence", "0.0"]),
                                         ("0.25", ["--confidence", "0.25"])],
                         ids=["default", "told", "zero", "qgis-process-text"])
def test_threshold_is_the_models_own_unless_told(scene, tmp_path, value, given):
    """Left unset (the dialog's default) the engine keeps objects from the package's threshold, where its F1 was
    highest on its validation chips; a value, 0 included, is passed on as given."""
    from qgis.core import QgsProcessingParameterDefinition

    definition = processing_registry().algorithmById(DETECT).parameterDefinition("threshold")
    assert definition.defaultValue() is None and definition.flags() & QgsProcessingParameterDefinition.FlagOptional
    arguments = _detect_arguments(scene, tmp_path, "threshold", value)
    at = arguments.index("--confidence") if "--confidence" in arguments else None
    assert (arguments[at:at + 2] if at is not None else []) == given
