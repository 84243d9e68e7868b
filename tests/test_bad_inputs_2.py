"""Bad input, round 2 (issue 21): the commands and files added since the first round (export-model, evaluate,
compute-accuracy-*, make-sample, resumed work folders, storage URLs) get the same treatment as the others: exit 2,
one line naming the user's file, no traceback, every input byte-for-byte as it was, nothing left in the temporary
folder or beside the output (``_refused`` of test_bad_inputs.py). Ordinary data that used to fail gives the right
numbers."""
import os

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from autodl_qgis.cli import main
from autodl_qgis.engine.accuracy import compute_detection_accuracy, compute_pixel_accuracy

from test_bad_inputs import _hard_link, _link, _mkdir, _refused, hostile, inputs  # noqa: F401 - fixtures
from test_evaluate import X0, Y0, _square, _write_polygons


def _copy_as(source, target):
    target.write_bytes(source.read_bytes())
    return target


def _non_utf8_folder(h):
    folder = os.fsencode(h["case"]) + b"/out\xff"
    os.mkdir(folder)
    return os.fsdecode(folder)


def _long_path(h, name):
    return h["case"] / "/".join(["d" * 200] * 25) / name  # 5000 characters


def _truth_and_detections(h):
    truth = _write_polygons(h["case"] / "truth.gpkg", [(_square(X0, Y0), 1)])
    detected = _write_polygons(h["case"] / "detected.gpkg", [(_square(X0, Y0), 1, 0.9)])
    return truth, detected


def _ogr_vrt_of(layer_path, path):
    path.write_text(f'<OGRVRTDataSource><OGRVRTLayer name="v"><SrcDataSource>{layer_path}</SrcDataSource><SrcLayer>features</SrcLayer>'
                    '</OGRVRTLayer></OGRVRTDataSource>')
    return path


def _accuracy(h, out, command="compute-accuracy-detection", truth=None):
    default_truth, detected = _truth_and_detections(h)
    if command == "compute-accuracy-detection":
        return [command, detected, truth or default_truth, out]
    return [command, h["classified"], truth or default_truth, out]


def _classified(h):
    from scenes import GEOTRANSFORM
    from autodl_qgis.engine.data.writer import write_raster

    path = h["case"] / "classes.tif"
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    write_raster(path, np.ones((1, 64, 64), np.uint8), GEOTRANSFORM, srs.ExportToWkt())
    return path


# -- group 1: an output is never one of the inputs; group 7: odd output paths, checked before any work -------------

# (id, command line builder given the hostile fixture, expected text)
OUTPUT_CASES = [
    ("export-model-onto-the-package-named-onnx",
     lambda h: ["export-model", _copy_as(h["classifier"], h["case"] / "model.onnx"), h["case"] / "model.onnx"],
     "model.onnx: is the input"),
    ("export-model-onto-a-link-to-the-package",
     lambda h: ["export-model", h["classifier"], _link(h["classifier"], h["case"] / "m.onnx")], "is the input"),
    ("export-model-onto-a-hard-link-of-the-package",
     lambda h: ["export-model", _hard_link(h["classifier"], h["case"] / "m.onnx"), h["case"] / "m.onnx"],
     "is the input"),
    ("export-model-onto-the-package-through-dotdot",
     lambda h: ["export-model", _copy_as(h["classifier"], h["case"] / "model.onnx"),
                h["folder"] / "full" / ".." / ".." / h["case"].parent.name / "case" / "model.onnx"], "is the input"),
    ("export-model-onto-a-folder", lambda h: ["export-model", h["classifier"], _mkdir(h["case"] / "x.onnx")],
     "x.onnx: is a folder"),
    ("export-model-under-a-file", lambda h: ["export-model", h["classifier"], h["scene"] / "x.onnx"],
     "is a file, not a folder"),
    ("export-model-onto-a-read-only-filesystem", lambda h: ["export-model", h["classifier"], "/proc/x.onnx"],
     "/proc does not take new files"),
    ("export-model-300-character-name", lambda h: ["export-model", h["classifier"], h["case"] / ("n" * 300 + ".onnx")],
     "has a name of 305 bytes, more than the 255"),
    ("export-model-5000-character-path",
     lambda h: ["export-model", h["classifier"], _long_path(h, "x.onnx")], "is a path of"),
    ("export-model-non-utf8-folder",
     lambda h: ["export-model", h["classifier"], _non_utf8_folder(h) + "/x.onnx"], "has a name that is not valid UTF-8"),
    ("make-sample-into-a-used-folder", lambda h: ["make-sample", h["folder"] / "full"],
     "already exists and is not empty"),
    ("make-sample-onto-a-file", lambda h: ["make-sample", h["scene"]], "is a file, not a folder"),
    ("make-sample-under-a-file", lambda h: ["make-sample", h["scene"] / "chips"], "is a file, not a folder"),
    ("make-sample-onto-a-read-only-filesystem", lambda h: ["make-sample", "/proc/chips"],
     "/proc does not take new files"),
    ("make-sample-300-character-name", lambda h: ["make-sample", h["case"] / ("n" * 300)],
     "has a name of 300 bytes"),
    ("make-sample-5000-character-path", lambda h: ["make-sample", _long_path(h, "chips")], "is a path of"),
    ("make-sample-non-utf8-folder", lambda h: ["make-sample", _non_utf8_folder(h) + "/chips"],
     "has a name that is not valid UTF-8"),
    ("accuracy-detection-onto-the-detections",
     lambda h: _accuracy(h, h["case"] / "detected.gpkg"), "detected.gpkg: is the input"),
    ("accuracy-detection-onto-the-ground-truth",
     lambda h: _accuracy(h, h["case"] / "truth.gpkg"), "truth.gpkg: is the input"),
    ("accuracy-detection-onto-the-file-a-vrt-reads",
     lambda h: _accuracy(h, h["case"] / "truth.gpkg",
                         truth=_ogr_vrt_of(h["case"] / "truth.gpkg", h["case"] / "truth.vrt")), "is the input"),
    ("accuracy-detection-onto-a-link-to-the-truth",
     lambda h: _accuracy(h, _link(h["case"] / "truth.gpkg", h["case"] / "t.gpkg")), "is the input"),
    ("accuracy-detection-onto-a-folder", lambda h: _accuracy(h, _mkdir(h["case"] / "table.csv")), "is a folder"),
    ("accuracy-detection-onto-a-read-only-filesystem", lambda h: _accuracy(h, "/proc/table.csv"),
     "/proc does not take new files"),
    ("accuracy-detection-300-character-name", lambda h: _accuracy(h, h["case"] / ("n" * 300 + ".csv")),
     "has a name of 304 bytes"),
    ("accuracy-pixels-onto-the-ground-truth",
     lambda h: _accuracy(h, h["case"] / "truth.gpkg", "compute-accuracy-pixels"), "truth.gpkg: is the input"),
    ("accuracy-pixels-non-utf8-folder",
     lambda h: _accuracy(h, _non_utf8_folder(h) + "/t.csv", "compute-accuracy-pixels"), "not valid UTF-8"),
    ("accuracy-pixels-5000-character-path",
     lambda h: _accuracy(h, _long_path(h, "t.csv"), "compute-accuracy-pixels"), "is a path of"),
]


@pytest.mark.parametrize("build,expected", [c[1:] for c in OUTPUT_CASES], ids=[c[0] for c in OUTPUT_CASES])
def test_outputs_of_the_new_commands_are_checked_before_any_work(build, expected, hostile, capsys):
    hostile["classified"] = _classified(hostile)
    _refused(build(hostile), expected, hostile, capsys)


def test_export_model_still_writes_beside_the_package(hostile, capsys):
    """The check refuses only what it must: the package's graph written beside it, under another name."""
    out = hostile["case"] / "graph.onnx"
    assert main(["export-model", str(hostile["classifier"]), str(out)]) == 0, capsys.readouterr().err
    import onnx

    assert onnx.load(str(out)).graph.input and not any(hostile["tmp"].iterdir())


# -- group 5: every numeric option of every command is checked -----------------------------------------------------

# (id, command line builder, expected text)
NUMBER_CASES = [
    ("pixels-1e8-points", lambda h: _accuracy(h, h["case"] / "t.csv", "compute-accuracy-pixels") +
     ["--num-random-points", "100000000"], "num_random_points is 100000000, outside 1..1000000"),
    ("pixels-0-points", lambda h: _accuracy(h, h["case"] / "t.csv", "compute-accuracy-pixels") +
     ["--num-random-points", "0"], "num_random_points is 0, outside 1..1000000"),
    ("pixels-nan-distance", lambda h: _accuracy(h, h["case"] / "t.csv", "compute-accuracy-pixels") +
     ["--min-point-distance", "nan"], "min_point_distance is nan, not a finite number"),
    ("pixels-negative-distance", lambda h: _accuracy(h, h["case"] / "t.csv", "compute-accuracy-pixels") +
     ["--min-point-distance", "-1"], "min_point_distance is -1.0, below 0"),
    ("pixels-negative-seed", lambda h: _accuracy(h, h["case"] / "t.csv", "compute-accuracy-pixels") +
     ["--seed", "-1"], "seed is -1, outside 0..4294967295"),
    ("detection-nan-iou", lambda h: _accuracy(h, h["case"] / "t.csv") + ["--min-iou", "nan"],
     "min_iou is nan, not a finite number"),
    ("detection-zero-iou", lambda h: _accuracy(h, h["case"] / "t.csv") + ["--min-iou", "0"],
     "min_iou is 0.0, outside (0, 1]"),
    ("detection-confidence-2", lambda h: _accuracy(h, h["case"] / "t.csv") + ["--confidence", "2"],
     "confidence is 2.0, outside 0..1"),
    ("evaluate-batch-size-0", lambda h: ["evaluate", h["classifier"], h["data"], "--batch-size", "0"],
     "batch_size is 0, outside 1..4096"),
    ("evaluate-batch-size-minus-1", lambda h: ["evaluate", h["classifier"], h["data"], "--batch-size", "-1"],
     "batch_size is -1, outside 1..4096"),
    ("evaluate-confidence-nan", lambda h: ["evaluate", h["classifier"], h["data"], "--confidence", "nan"],
     "confidence is nan, not a finite number"),
    ("make-sample-0-chips", lambda h: ["make-sample", h["case"] / "s", "--chips", "0"], "chips is 0, outside"),
    ("make-sample-chip-size-8", lambda h: ["make-sample", h["case"] / "s", "--chip-size", "8"],
     "chip_size is 8, outside 16..8192"),
    ("make-sample-0-bands", lambda h: ["make-sample", h["case"] / "s", "--bands", "0"], "bands is 0, outside 1..64"),
    ("make-sample-1000-classes", lambda h: ["make-sample", h["case"] / "s", "--classes", "1000"],
     "classes is 1000, outside 1..255"),
    ("train-negative-seed", lambda h: ["train", h["data"], h["case"] / "m.dlpk", "--seed", "-5"],
     "seed is -5, outside 0..4294967295"),
]


@pytest.mark.parametrize("build,expected", [c[1:] for c in NUMBER_CASES], ids=[c[0] for c in NUMBER_CASES])
def test_numeric_options_of_the_new_commands_are_checked(build, expected, hostile, synthetic, capsys):
    from autodl_qgis.engine.data import PASCAL_VOC

    hostile["classified"] = _classified(hostile)
    hostile["data"] = synthetic(PASCAL_VOC)
    _refused(build(hostile), expected, hostile, capsys, watch=[hostile["data"]])


# -- group 2: ordinary data that used to fail ------------------------------------------------------------------------

def _geographic_raster(path, values, x0, y0, pixel):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), values.shape[1], values.shape[0], 1, gdal.GDT_Byte)
    dataset.SetGeoTransform((x0, pixel, 0, y0, 0, -pixel))
    dataset.SetProjection(srs.ExportToWkt())
    dataset.GetRasterBand(1).WriteArray(values)
    dataset.GetRasterBand(1).SetNoDataValue(0)
    dataset = None
    return path


def _rectangle(x0, y0, x1, y1):
    return ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))")


def _geographic_polygons(path, rows):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = source.CreateLayer("truth", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("Classvalue", ogr.OFTInteger))
    for geometry, value in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("Classvalue", value)
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
    source = None
    return path


@pytest.mark.parametrize("sampling", ["STRATIFIED_RANDOM", "EQUALIZED_STRATIFIED_RANDOM", "RANDOM"])
def test_pixel_accuracy_on_small_polygons_in_a_geographic_crs(sampling, tmp_path):
    """Polygons of 10^-8 square degrees (about 100 m2) against a classified raster in EPSG:4326: each class gets its
    share of the points (a class's area in map units is far below its share of points), and the matrix counts
    them where they fall. Class 1's polygon is classified right; class 2's right half is classified 1."""
    pixel, x0, y0 = 1e-5, 13.0, 52.0  # about 0.7 x 1.1 m
    values = np.ones((20, 40), np.uint8)
    values[:, 20:30] = 2
    classified = _geographic_raster(tmp_path / "classes.tif", values, x0, y0, pixel)
    truth = _geographic_polygons(tmp_path / "truth.gpkg", [
        (_rectangle(x0, y0 - 20 * pixel, x0 + 20 * pixel, y0), 1),  # columns 0..19: classified 1
        (_rectangle(x0 + 20 * pixel, y0 - 20 * pixel, x0 + 40 * pixel, y0), 2)])  # 20..29: 2, 30..39: 1
    matrix = compute_pixel_accuracy(classified, truth, tmp_path / "matrix.csv", num_random_points=400,
                                    sampling=sampling, seed=3)
    counts = np.array(matrix.counts)  # rows: classified, columns: reference
    assert matrix.values == (1, 2)
    assert counts[1, 0] == 0 and counts[:, 0].sum() == counts[0, 0] > 0  # class 1: all right
    if sampling != "RANDOM":  # equal areas: 200 points each
        assert counts[:, 0].sum() == 200 and counts[:, 1].sum() == 200 and matrix.points == 400
    assert matrix.points == 400
    assert 0.35 < matrix.producer_accuracy[1] < 0.65  # half of class 2's polygon is classified 2
    assert matrix.user_accuracy[1] == 1.0


def test_pixel_accuracy_with_a_polygon_below_its_share_of_points(tmp_path):
    """A 0.25 m2 polygon beside a 2800 m2 one (projected CRS): it gets its one point, not a crash."""
    from test_evaluate import _class_raster

    values = np.ones((100, 100), np.uint8)
    values[:, 50:] = 2
    classified = _class_raster(tmp_path / "classified.tif", values)
    tiny = _rectangle(X0 + 60, Y0 - 60.5, X0 + 60.5, Y0 - 60)
    big = _rectangle(X0, Y0 - 90, X0 + 40, Y0 - 20)
    truth = _write_polygons(tmp_path / "truth.gpkg", [(big, 1), (tiny, 2)], fields=(("Classvalue", ogr.OFTInteger),))
    assert main(["compute-accuracy-pixels", str(classified), str(truth), str(tmp_path / "m.csv")]) == 0
    matrix = compute_pixel_accuracy(classified, truth, num_random_points=500)
    assert np.array(matrix.counts).tolist() == [[500, 0], [0, 1]] and matrix.overall_accuracy == 1.0


def _bowtie(x, y, size=10.0):
    """A self-intersecting ring (a figure of eight): GEOS cannot intersect it until it is repaired."""
    return ogr.CreateGeometryFromWkt(f"POLYGON(({x} {y},{x + size} {y + size},{x + size} {y},{x} {y + size},"
                                     f"{x} {y}))")


def test_detection_accuracy_repairs_self_intersecting_polygons(tmp_path, capfd):
    """Identical self-intersecting polygons on both sides are perfect matches (AP 1), with no GEOS error lines; a
    bowtie against a square covering it overlaps by half (IoU 0.5 of the square's area)."""
    truth = _write_polygons(tmp_path / "truth.gpkg", [(_bowtie(X0 + 30 * i, Y0), 1) for i in range(20)])
    detected = _write_polygons(tmp_path / "detected.gpkg", [(_bowtie(X0 + 30 * i, Y0), 1, 0.9) for i in range(20)])
    result = compute_detection_accuracy(detected, truth, tmp_path / "table.csv")
    assert result.overall.true_positives == 20 and result.overall.false_positives == 0
    assert result.overall.average_precision == pytest.approx(1.0)
    squares = _write_polygons(tmp_path / "squares.gpkg", [(_square(X0, Y0), 1, 0.9)])
    half = compute_detection_accuracy(squares, truth, min_iou=0.5)
    assert half.overall.true_positives == 1  # the bowtie is half the square: IoU exactly 0.5
    assert compute_detection_accuracy(squares, truth, min_iou=0.51).overall.true_positives == 0
    captured = capfd.readouterr()
    assert "GEOS" not in captured.err and "Self-intersection" not in captured.err, captured.err


def test_pixel_accuracy_samples_inside_self_intersecting_polygons(tmp_path, capfd):
    from test_evaluate import _class_raster

    values = np.full((100, 100), 2, np.uint8)
    classified = _class_raster(tmp_path / "classified.tif", values)
    truth = _write_polygons(tmp_path / "truth.gpkg", [(_bowtie(X0 + 20, Y0 - 80, 40), 2)],
                            fields=(("Classvalue", ogr.OFTInteger),))
    matrix = compute_pixel_accuracy(classified, truth, num_random_points=100)
    assert matrix.points == 100 and matrix.overall_accuracy == 1.0
    assert "GEOS" not in capfd.readouterr().err
