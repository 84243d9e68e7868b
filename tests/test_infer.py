"""Using a trained package on a georeferenced raster: detection to GeoPackage, classification to GeoTIFF."""
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from osgeo import gdal, ogr, osr

from autodl_qgis.cli import main
from autodl_qgis.engine.data import CLASSIFIED_TILES, PASCAL_VOC, TrainingData
from autodl_qgis.engine.data.esri import ClassInfo
from autodl_qgis.engine.data.synthetic import synthetic_chip
from autodl_qgis.engine.data.writer import write_raster
from autodl_qgis.engine.errors import InputDataError
from autodl_qgis.engine.infer import classify_pixels, detect_objects
from autodl_qgis.engine.networks.registry import get_spec
from autodl_qgis.engine.package import build_model_definition, write_package
from autodl_qgis.engine.train import TrainConfig
from autodl_qgis.engine.train.candidate import train_candidate

GEOTRANSFORM = (500000.0, 0.5, 0.0, 4100000.0, 0.0, -0.5)
CLASSES = [ClassInfo(1, "pool", (230, 159, 0)), ClassInfo(2, "building", (86, 180, 233))]


def _package(data: TrainingData, network: str, backbone: str, epochs: int, path: Path) -> Path:
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        candidate = train_candidate(data, network, torch.device("cpu"), TrainConfig(max_epochs=epochs, batch_size=5),
                                    backbone=backbone, pretrained=False, val_fraction=0.15)
    result = candidate.result
    emd = build_model_definition(
        network=network, library=get_spec(network).library, backbone=backbone, task=data.task,
        classes=data.classes, chip_size=data.chip_size, bands=data.header.bands, dtype=data.header.dtype,
        image_space=data.image_space, statistics=data.band_statistics, metrics=result.metrics,
        metric_name=result.metric_name, training={}, data_format=data.format)
    return write_package(path, emd, result.best_state)


def _scene(tmp_path: Path, crs: bool = True):
    """A 192 px mosaic of 3 x 3 synthetic chips (objects of the training sizes) plus one object across the seam
    of the first inference tiles (64 px tiles, 16 px overlap: windows start at 0, 48, 96, ...)."""
    rng = np.random.default_rng(11)
    image = np.zeros((3, 192, 192), np.uint8)
    class_map = np.zeros((192, 192), np.int64)
    boxes, values = [], []
    for row in range(3):
        for col in range(3):
            chip, chip_map, chip_boxes, chip_values, _ = synthetic_chip(rng, 64, 3, "uint8", CLASSES)
            image[:, row * 64:(row + 1) * 64, col * 64:(col + 1) * 64] = chip
            class_map[row * 64:(row + 1) * 64, col * 64:(col + 1) * 64] = chip_map
            boxes += (chip_boxes + [col * 64, row * 64, col * 64, row * 64]).tolist()
            values += chip_values.tolist()
    seam = [54.0, 100.0, 74.0, 114.0]  # spans x = 56..64, where tiles 0 and 48 meet
    boxes, values = zip(*[(b, v) for b, v in zip(boxes, values)
                          if b[2] <= seam[0] or b[0] >= seam[2] or b[3] <= seam[1] or b[1] >= seam[3]])
    x0, y0, x1, y1 = (int(v) for v in seam)
    reference = image[:, class_map == 1][:, 0] if (class_map == 1).any() else np.array([210, 150, 90])
    image[:, y0:y1, x0:x1] = reference[:, None, None]
    class_map[y0:y1, x0:x1] = 1
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    path = tmp_path / "scene.tif"
    write_raster(path, image, GEOTRANSFORM, srs.ExportToWkt() if crs else None)
    return path, class_map, list(boxes) + [seam], list(values) + [1]


@pytest.fixture(scope="module")
def detector(synthetic, tmp_path_factory):
    data = TrainingData.open(synthetic(PASCAL_VOC, num_chips=48))
    return _package(data, "FasterRCNN", "resnet18", 10, tmp_path_factory.mktemp("models") / "detector.dlpk")


@pytest.fixture(scope="module")
def classifier(synthetic, tmp_path_factory):
    data = TrainingData.open(synthetic(CLASSIFIED_TILES, num_chips=48))
    return _package(data, "UnetClassifier", "resnet18", 8, tmp_path_factory.mktemp("models") / "classifier.dlpk")


def _map_box(box):
    x0, dx, _, y0, _, dy = GEOTRANSFORM
    return [x0 + box[0] * dx, y0 + box[3] * dy, x0 + box[2] * dx, y0 + box[1] * dy]  # xmin ymin xmax ymax


def _iou(a, b):
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def test_detections_are_georeferenced_polygons_and_seam_objects_come_out_once(detector, tmp_path):
    scene, _, boxes, values = _scene(tmp_path)
    out = tmp_path / "objects.gpkg"
    result = detect_objects(detector, scene, out, confidence=0.5, device="cpu")
    assert result.tiles == 16 and out.is_file()
    layer_source = ogr.Open(str(out))
    layer = layer_source.GetLayer(0)
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "32633"
    assert [layer.GetLayerDefn().GetFieldDefn(i).GetName() for i in range(3)] == ["Class", "ClassValue",
                                                                                   "Confidence"]
    found = []
    for feature in layer:
        xmin, xmax, ymin, ymax = feature.GetGeometryRef().GetEnvelope()
        found.append(([xmin, ymin, xmax, ymax], feature["ClassValue"], feature["Class"], feature["Confidence"]))
    assert all(conf >= 0.5 for *_, conf in found) and {name for _, _, name, _ in found} <= {"pool", "building"}
    truth = [_map_box(b) for b in boxes]
    # a from-scratch model trained for seconds draws loose boxes: found = overlapping its object by IoU > 0.3
    matched = [any(_iou(t, f[0]) > 0.3 for f in found) for t in truth]
    assert sum(matched) >= 0.7 * len(truth), (sum(matched), len(truth))
    seam = _map_box(boxes[-1])
    assert sum(_iou(seam, f[0]) > 0.3 for f in found) == 1  # found, and only once across the tile seam


def test_classified_raster_keeps_the_grid_and_has_no_seams(classifier, tmp_path):
    scene, class_map, _, _ = _scene(tmp_path)
    out = tmp_path / "classes.tif"
    result = classify_pixels(classifier, scene, out, device="cpu")
    ds = gdal.Open(str(out))
    assert ds.GetGeoTransform() == GEOTRANSFORM and "32633" in ds.GetProjection()
    band = ds.GetRasterBand(1)
    assert band.GetColorTable().GetColorEntry(1)[:3] == (230, 159, 0) and band.GetNoDataValue() == 0
    predicted = band.ReadAsArray()
    assert (predicted == class_map).mean() > 0.95
    assert set(result.class_pixels) <= {0, 1, 2}


def test_wrong_task_too_few_bands_and_no_crs(detector, classifier, tmp_path):
    scene, _, _, _ = _scene(tmp_path)
    with pytest.raises(InputDataError, match="is a object detection model"):
        classify_pixels(detector, scene, tmp_path / "x.tif", device="cpu")
    grey = tmp_path / "grey.tif"
    write_raster(grey, np.zeros((1, 64, 64), np.uint8), GEOTRANSFORM, None)
    with pytest.raises(InputDataError, match="has 1 band"):
        detect_objects(detector, grey, tmp_path / "x.gpkg", device="cpu")
    assert not (tmp_path / "x.tif").exists() and not (tmp_path / "x.gpkg").exists()
    bare, _, _, _ = _scene(tmp_path / "bare" if (tmp_path / "bare").mkdir() is None else tmp_path, crs=False)
    assert main(["classify", str(classifier), str(bare), str(tmp_path / "bare.tif"), "--device", "cpu"]) == 0
    assert gdal.Open(str(tmp_path / "bare.tif")).GetProjection() == ""


def test_extent_and_mask_limit_where_the_model_looks(detector, classifier, tmp_path):
    scene, class_map, _, _ = _scene(tmp_path)
    x0, dx, _, y0, _, dy = GEOTRANSFORM
    # the middle chip of the mosaic (pixels 64..128), as map coordinates
    extent = (x0 + 64 * dx, y0 + 128 * dy, x0 + 128 * dx, y0 + 64 * dy)
    out = tmp_path / "middle.tif"
    classify_pixels(classifier, scene, out, extent=extent, device="cpu")
    ds = gdal.Open(str(out))
    assert (ds.RasterXSize, ds.RasterYSize) == (64, 64)
    assert ds.GetGeoTransform() == (x0 + 64 * dx, dx, 0.0, y0 + 64 * dy, 0.0, dy)
    assert (ds.GetRasterBand(1).ReadAsArray() == class_map[64:128, 64:128]).mean() > 0.9

    # a mask over the left half: no object centre and no classified pixel to the right of it
    left = f"POLYGON(({x0} {y0}, {x0 + 96 * dx} {y0}, {x0 + 96 * dx} {y0 + 192 * dy}, {x0} {y0 + 192 * dy}, {x0} {y0}))"
    detect_objects(detector, scene, tmp_path / "left.gpkg", mask_wkt=left, device="cpu")
    source = ogr.Open(str(tmp_path / "left.gpkg"))
    centres = [f.GetGeometryRef().Centroid().GetX() for f in source.GetLayer(0)]
    assert centres and all(x < x0 + 96 * dx for x in centres)
    classify_pixels(classifier, scene, tmp_path / "left.tif", mask_wkt=left, device="cpu")
    masked_ds = gdal.Open(str(tmp_path / "left.tif"))
    masked = masked_ds.GetRasterBand(1).ReadAsArray()
    assert (masked[:, 96:] == 0).all() and (masked[:, :96] == class_map[:, :96]).mean() > 0.9


def test_outputs_replace_existing_files_only_when_complete(classifier, tmp_path):
    scene, _, _, _ = _scene(tmp_path)
    out = tmp_path / "classes.tif"
    out.write_bytes(b"previous result")
    with pytest.raises(InputDataError, match="does not overlap the raster"):
        classify_pixels(classifier, scene, out, extent=(0, 0, 1, 1), device="cpu")
    assert out.read_bytes() == b"previous result" and sorted(p.name for p in tmp_path.iterdir()) == [
        "classes.tif", "scene.tfw", "scene.tif"]
    with pytest.raises(InputDataError, match="not a vector format"):
        detect_objects(classifier, scene, tmp_path / "objects.txt", device="cpu")
