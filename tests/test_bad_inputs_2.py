"""Bad input, round 2 (issue 21): the commands and files added since the first round (export-model, evaluate,
compute-accuracy-*, make-sample, resumed work folders, storage URLs) get the same treatment as the others: exit 2,
one line naming the user's file, no traceback, every input byte-for-byte as it was, nothing left in the temporary
folder or beside the output (``_refused`` of test_bad_inputs.py). Ordinary data that used to fail gives the right
numbers."""
import datetime
import json
import os
import struct

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from autodl_qgis.cli import main
from autodl_qgis.engine.accuracy import compute_detection_accuracy, compute_pixel_accuracy

from test_bad_inputs import _hard_link, _link, _mkdir, _refused, hostile, inputs  # noqa: F401 - fixtures (F811 below)
from test_evaluate import X0, Y0, _class_raster, _square, _write_polygons


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
    path.write_text(f'<OGRVRTDataSource><OGRVRTLayer name="v"><SrcDataSource>{layer_path}</SrcDataSource>'
                    '<SrcLayer>features</SrcLayer>'
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
     lambda h: ["export-model", h["classifier"], _non_utf8_folder(h) + "/x.onnx"],
     "has a name that is not valid UTF-8"),
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
    ("export-model-nan-resolution", lambda h: ["export-model", h["classifier"], h["case"] / "g.onnx",
                                               "--resolution", "nan"], "resolution is nan, not a finite number"),
    ("export-model-zero-resolution", lambda h: ["export-model", h["classifier"], h["case"] / "g.onnx",
                                                "--resolution", "0"], "resolution is 0.0, outside (0, 1e+06]"),
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
    classified = _class_raster(tmp_path / "classes.tif", values, pixel, 4326, (x0, y0))
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
    values = np.full((100, 100), 2, np.uint8)
    classified = _class_raster(tmp_path / "classified.tif", values)
    truth = _write_polygons(tmp_path / "truth.gpkg", [(_bowtie(X0 + 20, Y0 - 80, 40), 2)],
                            fields=(("Classvalue", ogr.OFTInteger),))
    matrix = compute_pixel_accuracy(classified, truth, num_random_points=100)
    assert matrix.points == 100 and matrix.overall_accuracy == 1.0
    assert "GEOS" not in capfd.readouterr().err


# -- group 3: a work folder is input too (train --resume, workers) ------------------------------------------------

@pytest.fixture(scope="module")
def searched(tmp_path_factory, synthetic):
    """A real work folder: a one-network search that ran to its end (record, Optuna database, candidate result
    and weights)."""
    from autodl_qgis.engine.data import CLASSIFIED_TILES

    root = tmp_path_factory.mktemp("searched")
    data = synthetic(CLASSIFIED_TILES, num_chips=8)
    assert main(["train", str(data), str(root / "model.dlpk"), "--work-dir", str(root / "work"), "--networks",
                 "UnetClassifier", "--max-epochs", "1", "--total-time-limit", "0.02", "--no-pretrained-backbones",
                 "--quiet"]) == 0
    return {"data": data, "work": root / "work"}


def _result_file(work):
    return next(p for p in (work / "candidates").glob("*.json"))


def _edit_result(**changes):
    def tamper(work):
        path = _result_file(work)
        values = json.loads(path.read_text())
        for key, value in changes.items():
            if value is _DELETE:
                del values[key]
            else:
                values[key] = value
        path.write_text(json.dumps(values))
        return path.name
    return tamper


_DELETE = object()


def _write(relative, data: bytes):
    def tamper(work):
        (work / relative).write_bytes(data)
        return relative.split("/")[-1]
    return tamper


def _weights_file(work):
    return next((work / "candidates").glob("*.safetensors"))


def _broken_header(work):
    path = _weights_file(work)
    with open(path, "r+b") as file:
        file.write(struct.pack("<Q", 2 ** 40))  # a header "a terabyte long"
    return path.name


def _truncated_weights(work):
    path = _weights_file(work)
    os.truncate(path, path.stat().st_size // 2)
    return path.name


def _state(payload):
    """A result continuing from ``c00-r0.state.pt``, whose content is ``payload`` (bytes, or saved with torch)."""
    import torch

    def tamper(work):
        path = work / "candidates" / "c00-r0.state.pt"
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        else:
            torch.save(payload, path)
        _edit_result(checkpoint=str(path))(work)
        return path.name
    return tamper


def _link_out(relative, target="/etc/hostname"):
    def tamper(work):
        link = work / relative
        if link.is_dir():
            import shutil

            shutil.rmtree(link)
        elif link.exists():
            link.unlink()
        link.symlink_to(target)
        return link.name
    return tamper


def _record(values):
    def tamper(work):
        (work / "search.json").write_text(json.dumps(values))
        return "search.json"
    return tamper


# (id, how the folder is damaged (returns the damaged file's name, which the line must name), expected text)
RESUME_CASES = [
    ("status-is-a-number", _edit_result(status=5), "has status = '5', which is not text"),
    ("unknown-status", _edit_result(status="exploded"), "has status 'exploded', not one of"),
    ("huge-epochs", _edit_result(epochs=10 ** 30), "has epochs = '1000000000000000000000000000000'"),
    ("epochs-as-float", _edit_result(epochs=1e300), "which is not a whole number"),
    ("batch-size-as-text", _edit_result(batch_size="4"), "has batch_size = '4'"),
    ("infinite-metric", _edit_result(metric=float("inf")), "has metric = 'inf', which is not a finite number"),
    ("negative-steps", _edit_result(steps=-1), "has steps = '-1'"),
    ("missing-network", _edit_result(network=_DELETE), "lacks network"),
    ("curve-of-text", _edit_result(curve=["x"]), "is not a record of named values"),
    ("curve-point-wrong", _edit_result(curve=[{"epoch": "1", "step": 1, "seconds": 1, "loss": 1, "metric": 1,
                                               "learning_rate": 1}]), "has epoch = '1'"),
    ("metrics-a-number", _edit_result(metrics=3), "has metrics = '3', which is not a record of scores"),
    ("metrics-incomplete", _edit_result(metrics={"miou": 0.5}), "which is not a record of scores"),
    ("metrics-per-class-a-list", _edit_result(metrics={"miou": 0.5, "accuracy": 1, "background_iou": None,
                                                        "per_class": [1]}), "which is not a record of scores"),
    ("metrics-miou-as-text", _edit_result(metrics={"miou": "high", "accuracy": 1, "background_iou": None}),
     "has miou = 'high', which is not a finite number"),
    ("key-of-another-file", _edit_result(key="c09-r0"), "holds the result of 'c09-r0'"),
    ("weights-outside", _edit_result(weights="../../../etc/hostname"), "not a file of candidates/"),
    ("weights-missing", _edit_result(weights="nothing.safetensors"), "names weights 'nothing.safetensors', which"),
    ("result-not-json", lambda w: _write(f"candidates/{_result_file(w).name}", b"{not json")(w),
     "is not valid JSON"),
    ("result-a-list", lambda w: _write(f"candidates/{_result_file(w).name}", b"[1, 2]")(w),
     "must hold a JSON object"),
    ("safetensors-broken-header", _broken_header, "is not a readable safetensors file"),
    ("safetensors-truncated", _truncated_weights, "is not a readable safetensors file"),
    ("state-with-a-pickle-payload", _state({"model": {}, "train": {"when": datetime.datetime(2020, 1, 1)}}),
     "holds Python objects besides tensors (refused: loading them could run code)"),
    ("state-not-a-torch-file", _state(b"PK\x03\x04 not really"), "is not a training state this plugin wrote"),
    ("state-of-another-shape", _state({"weights": [1, 2]}), "is not a training state this plugin wrote (model"),
    ("state-without-its-schedule", _state({"model": {}, "train": {"optimizer": {}}}),
     "is not a training state this plugin wrote (its training state lacks 'epoch')"),
    ("state-outside-the-folder", _edit_result(checkpoint="/etc/hostname"), "outside the work folder"),
    ("result-links-outside", _link_out("candidates/c99-r0.json"), "is a link to /etc/hostname, outside the work"),
    ("candidates-folder-links-outside", _link_out("candidates", "/etc"), "is a link to /etc, outside"),
    ("record-links-outside", _link_out("search.json"), "is a link to /etc/hostname"),
    ("optuna-db-not-a-database", _write("optuna.db", b"this is not a database" * 100), "is not an SQLite database"),
    ("optuna-db-missing", lambda w: (w / "optuna.db").unlink() or "optuna.db",
     "optuna.db: does not exist: the search's database is missing"),
    ("record-not-json", _write("search.json", b"\xff\xfe"), "is not UTF-8 text"),
    ("record-storage-a-number", _record({"storage": 1, "study": "s"}), "must name the search's storage and study"),
    ("record-unknown-database", _record({"storage": "foo://x/y", "study": "s"}), "names 'foo', a kind of database"),
]


def _tampered_copy(searched, hostile, tamper):
    import shutil

    import optuna

    work = hostile["case"] / "work"
    shutil.copytree(searched["work"], work, symlinks=True)
    # the copy records its own database, whose search records the copy as its folder
    record = json.loads((work / "search.json").read_text())
    record["storage"] = f"sqlite:///{work / 'optuna.db'}"
    (work / "search.json").write_text(json.dumps(record))
    optuna.load_study(study_name=record["study"], storage=record["storage"]).set_user_attr("work_dir", str(work))
    return work, tamper(work)


@pytest.mark.parametrize("tamper,expected", [c[1:] for c in RESUME_CASES], ids=[c[0] for c in RESUME_CASES])
def test_resume_refuses_a_damaged_work_folder_and_changes_nothing(tamper, expected, searched, hostile, capsys):
    work, damaged = _tampered_copy(searched, hostile, tamper)
    argv = ["train", searched["data"], hostile["case"] / "m.dlpk", "--work-dir", work, "--resume", "--networks",
            "UnetClassifier", "--max-epochs", "1", "--total-time-limit", "0.02", "--no-pretrained-backbones"]
    _refused(argv, expected, hostile, capsys)
    _refused(argv, f"{damaged}: ", hostile, capsys)  # the damaged file is named


def test_resume_names_how_to_go_on(searched, hostile, capsys):
    work, _ = _tampered_copy(searched, hostile, _edit_result(status=5))
    assert main(["train", str(searched["data"]), str(hostile["case"] / "m.dlpk"), "--work-dir", str(work),
                 "--resume"]) == 2
    assert "Start the search again without --resume" in capsys.readouterr().err


def test_a_worker_refuses_a_damaged_shared_folder(searched, hostile, capsys):
    """A worker joining through the storage reads the folder the search recorded (e.g. on NFS) the same way."""
    work, damaged = _tampered_copy(searched, hostile, _broken_header)
    record = json.loads((work / "search.json").read_text())
    _refused(["worker", "--storage", record["storage"], "--study", record["study"]],
             f"{damaged}: is not a readable safetensors", hostile, capsys)


def test_an_intact_work_folder_passes_the_check(searched):
    from autodl_qgis.engine.search.workfolder import check_work_folder, read_result

    storage, study = check_work_folder(searched["work"])
    assert storage.startswith("sqlite:///") and study.startswith("autodl-")
    from autodl_qgis.engine.train.records import PixelScores

    result = read_result(_result_file(searched["work"]))
    assert result.network == "UnetClassifier" and result.metric is not None and result.curve
    # the record's metrics read back typed, the primary one the result's metric
    assert isinstance(result.metrics, PixelScores) and result.metrics.primary == pytest.approx(result.metric)


# -- group 4: storage URLs -------------------------------------------------------------------------------------------

def _free_port() -> int:
    from postgres import _free_port

    return _free_port()


# (id, storage URL builder given the hostile fixture, expected text)
STORAGE_CASES = [
    ("malformed", lambda h: "not a url", "the storage 'not a url' is not a database URL"),
    ("unknown-dialect", lambda h: "foo://x/y", "names 'foo', a kind of database SQLAlchemy does not know"),
    ("missing-mysql-driver", lambda h: "mysql://u@127.0.0.1/db", "needs the Python driver 'MySQLdb', which is not "
                                                                  "installed. Install it into"),
    ("missing-pg8000-driver", lambda h: "postgresql+pg8000://u@127.0.0.1/db", "pip install 'pg8000'"),
    ("unreachable-postgresql", lambda h: f"postgresql://autodl:secret@127.0.0.1:{_free_port()}/autodl",
     "no database server answered at 127.0.0.1:"),
    ("password-not-shown", lambda h: f"postgresql://autodl:secret@127.0.0.1:{_free_port()}/autodl",
     "postgresql://autodl:***@127.0.0.1:"),
    ("sqlite-not-a-database", lambda h: f"sqlite:///{_write_bytes(h['case'] / 'x.db', b'not sqlite' * 50)}",
     "x.db: is not an SQLite database"),
    ("sqlite-in-a-missing-folder", lambda h: f"sqlite:///{h['case']}/none/x.db",
     "the folder does not exist"),
    ("sqlite-in-memory", lambda h: "sqlite://", "names no database file"),
]


def _write_bytes(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("command", ["worker", "train"])
@pytest.mark.parametrize("build,expected", [c[1:] for c in STORAGE_CASES], ids=[c[0] for c in STORAGE_CASES])
def test_storage_urls_are_checked_with_one_line(command, build, expected, hostile, synthetic, capsys):
    from autodl_qgis.engine.data import CLASSIFIED_TILES

    url = build(hostile)
    argv = (["worker", "--storage", url, "--study", "pools"] if command == "worker" else
            ["train", synthetic(CLASSIFIED_TILES, num_chips=8), hostile["case"] / "m.dlpk", "--storage", url,
             "--study", "pools", "--networks", "UnetClassifier"])
    _refused(argv, expected, hostile, capsys)
    assert "secret" not in expected


@pytest.fixture
def postgres_url():
    """A real server, started (in the system's temporary folder, which its account can reach) before ``hostile``
    gives the run a private one."""
    from postgres import postgres_bin, postgres_server

    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed here (scripts/setup.sh installs it: apt-get install postgresql)")
    with postgres_server() as url:
        yield url


def test_the_readme_postgresql_url_works_against_a_real_server(postgres_url, hostile, synthetic, capsys):
    """The README's own form, postgresql://user:pw@host/db, which SQLAlchemy 2.1 runs with psycopg 3: a search
    recorded through it is joined by a worker; a wrong database name is told apart from a server that is not
    there."""
    from sqlalchemy.engine import make_url

    from autodl_qgis.engine.data import CLASSIFIED_TILES
    from autodl_qgis.engine.search.config import SearchConfig
    from autodl_qgis.engine.search.record import SearchRecord

    url = f"postgresql://autodl:pw@127.0.0.1:{make_url(postgres_url).port}/autodl"  # as in the README
    assert make_url(url).get_dialect().driver == "psycopg"
    data = synthetic(CLASSIFIED_TILES, num_chips=8)
    work = hostile["case"] / "shared"
    record = SearchRecord.start(work, SearchConfig(data=str(data), storage=url, study_name="pools"), 0.0, 1.0)
    assert record.study.user_attrs["work_dir"] == str(work.resolve())
    assert main(["worker", "--storage", url, "--study", "pools", "--quiet"]) == 0  # its time is up: 0 jobs
    assert "0 candidate(s) trained for pools" in capsys.readouterr().out
    _refused(["worker", "--storage", url.replace("/autodl", "/nodb"), "--study", "pools"],
             'the server at 127.0.0.1:', hostile, capsys)
    assert main(["worker", "--storage", url.replace("/autodl", "/nodb"), "--study", "pools"]) == 2
    assert 'answered but refused the connection' in capsys.readouterr().err


# -- group 5: runaway work from packages, inputs and options -------------------------------------------------------

def _padded(hostile):
    """The classifier with three 20 MB entries nothing reads (random: under any compression-ratio cap)."""
    from test_bad_inputs import _package_entries, _zip_entries

    return _zip_entries(hostile["case"] / "padded.dlpk", {**_package_entries(hostile),
                                                          **{f"padding{i}.bin": os.urandom(20 * 2 ** 20)
                                                             for i in range(3)}})


@pytest.mark.parametrize("command", ["export-model", "classify-onnxruntime"])
def test_commands_extract_only_the_entries_they_read(command, hostile, monkeypatch, capsys):
    from autodl_qgis.engine.package import dlpk

    package = _padded(hostile)
    extracted = []
    copy_entry = dlpk._copy_entry

    def recording(archive, info, target):
        extracted.append(info.filename)
        copy_entry(archive, info, target)

    monkeypatch.setattr(dlpk, "_copy_entry", recording)
    argv = (["export-model", package, hostile["case"] / "graph.onnx"] if command == "export-model" else
            ["classify", package, hostile["scene"], hostile["case"] / "classes.tif", "--backend", "onnxruntime"])
    assert main([str(a) for a in argv]) == 0, capsys.readouterr().err
    assert extracted == ["model.onnx"]
    assert not any(hostile["tmp"].iterdir())


ACCURACY_MEMORY_MB = 1000  # 20000 x 20000 IoUs as a dense matrix alone would be 3200 MB


def test_detection_accuracy_memory_follows_overlaps_not_the_product(tmp_path):
    """20000 detections against 20000 truths (a grid of squares, each detection shifted a little): every pair is
    found through the R-tree, and memory stays far below what the dense IoU matrix would need."""
    from scenes import cli_peak_mb, write_square_grid

    side = 142  # 142 x 142 = 20164 squares
    truth = write_square_grid(tmp_path / "truth.gpkg", side, 0.0)
    detected = write_square_grid(tmp_path / "detected.gpkg", side, 2.0)
    code, err, peak = cli_peak_mb(["compute-accuracy-detection", detected, truth, tmp_path / "t.csv", "--json"])
    assert code == 0, err
    assert peak < ACCURACY_MEMORY_MB, f"peak RSS {peak:.0f} MB"
    import csv

    *_, overall = csv.reader((tmp_path / "t.csv").read_text().splitlines())
    assert overall[0] == "All" and overall[5:] == [str(side * side), "0", "0"]  # IoU 0.67: every one a match


def test_tiles_larger_than_the_raster_shrink_to_it(hostile, capsys):
    """``--tile-size 8192`` with blending and test-time augmentation on the 128 px scene: tiles the size of the
    scene (a larger one would only be padding), the same classes as the default tiling where both see the whole
    scene."""
    out = hostile["case"] / "worst.tif"
    assert main(["classify", str(hostile["classifier"]), str(hostile["scene"]), str(out), "--tile-size", "8192",
                 "--blend-overlap", "--test-time-augmentation"]) == 0, capsys.readouterr().err
    log = capsys.readouterr().err
    size = gdal.Open(str(hostile["scene"])).RasterXSize
    assert f"tiles of {-(-size // 32) * 32} px" in log, log
    assert gdal.Open(str(out)).ReadAsArray().shape == (size, size)


@pytest.mark.parametrize("options,expected", [
    ("--tile-size 4096", "tile_size 4096 needs more memory than inference is sized for (at most 2048 px tiles)"),
    ("--tile-size 2048 --test-time-augmentation", "tile_size 2048 with test-time augmentation needs more memory "
                                                  "than inference is sized for (at most 1448 px tiles)"),
], ids=["tile-4096", "tile-2048-with-tta"])
@pytest.mark.parametrize("command", ["classify", "detect"])
def test_tiles_too_large_for_memory_are_refused_before_work(command, options, expected, hostile, capsys):
    from scenes import write_huge_vrt

    raster = write_huge_vrt(hostile["case"] / "huge.vrt")
    model, out = (hostile["classifier"], "x.tif") if command == "classify" else (hostile["detector"], "x.gpkg")
    _refused([command, model, raster, hostile["case"] / out, *options.split()], expected, hostile, capsys)


def test_large_tiles_take_smaller_batches():
    """Tile x batch x views within MAX_BATCH_PIXELS (4 Mpx): the batch shrinks; a tile larger than the area shrinks
    to it when the network takes any size (torch), not for a fixed-size ONNX graph."""
    from autodl_qgis.engine.infer.raster import Window
    from autodl_qgis.engine.infer.run import _bounded
    from autodl_qgis.engine.progress import SilentCallbacks

    region, quiet = Window(0, 0, 10 ** 6, 10 ** 6), SilentCallbacks()
    assert _bounded(256, 4, region, True, False, quiet) == (256, 4)
    assert _bounded(1024, 16, region, True, False, quiet) == (1024, 4)
    assert _bounded(1024, 16, region, True, True, quiet) == (1024, 2)
    assert _bounded(8192, 4, Window(0, 0, 100, 60), True, True, quiet) == (128, 4)
    assert _bounded(512, 4, Window(0, 0, 100, 60), False, False, quiet) == (512, 4)


# -- group 6: onnxruntime at run time --------------------------------------------------------------------------------

def _graph(kind: str) -> bytes:
    """A small ONNX graph put in a package in place of its own: ``no-input`` (a constant), ``wrong-output`` (one
    channel where the classifier gives three), ``fails-running`` (a band index out of range)."""
    from onnx import TensorProto, helper

    tile = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 64, 64])
    probabilities = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 3, 64, 64])
    if kind == "no-input":
        value = helper.make_tensor("value", TensorProto.FLOAT, [1, 3, 64, 64], [0.0] * 3 * 64 * 64)
        graph = helper.make_graph([helper.make_node("Constant", [], ["scores"], value=value)], "g", [],
                                  [probabilities])
    elif kind == "wrong-output":
        graph = helper.make_graph([helper.make_node("ReduceMean", ["images"], ["scores"], axes=[1], keepdims=1)],
                                  "g", [tile], [helper.make_tensor_value_info("scores", TensorProto.FLOAT,
                                                                              ["batch", 1, 64, 64])])
    else:  # band 7 of 3: the shapes fit, the index fails only when it runs
        index = helper.make_tensor("index", TensorProto.INT64, [3], [0, 1, 7])
        graph = helper.make_graph([helper.make_node("Constant", [], ["index"], value=index),
                                   helper.make_node("Gather", ["images", "index"], ["scores"], axis=1)], "g", [tile],
                                  [probabilities])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8).SerializeToString()


@pytest.mark.parametrize("kind,expected", [
    ("no-input", "has an ONNX graph that does not fit the model: inputs none"),
    ("wrong-output", "has an ONNX graph that does not fit the model"),
    ("fails-running", "has an ONNX graph that failed while running"),
])
def test_onnx_graphs_are_checked_when_opened_and_fail_in_one_line(kind, expected, hostile, capsys):
    from test_bad_inputs import _package_entries, _zip_entries

    package = _zip_entries(hostile["case"] / "graph.dlpk", {**_package_entries(hostile), "model.onnx": _graph(kind)})
    _refused(["classify", package, hostile["scene"], hostile["case"] / "x.tif", "--backend", "onnxruntime",
              "--quiet"], f"graph.dlpk: {expected}", hostile, capsys)


# -- group 8: smaller ones -------------------------------------------------------------------------------------------

def test_pretrained_model_with_a_pickle_is_refused_before_any_work(hostile, synthetic, capsys):
    import io

    import torch

    from autodl_qgis.engine.data import CLASSIFIED_TILES
    from test_bad_inputs import _rewrite_package

    payload = io.BytesIO()
    torch.save({"weights": torch.zeros(1), "when": datetime.datetime(2020, 1, 1)}, payload)  # a harmless object

    def to_pth(emd):
        emd["ModelFile"] = "model.pth"
    package = _rewrite_package(hostile["classifier"], hostile["case"] / "pickled.dlpk", to_pth,
                               extra={"model.pth": payload.getvalue()})
    _refused(["train", synthetic(CLASSIFIED_TILES, num_chips=8), hostile["case"] / "m.dlpk", "--pretrained-model",
              package], "pickled.dlpk (model.pth): holds Python objects besides tensors in its weights; refused, "
                        "since loading them could run code", hostile, capsys)


def test_events_on_a_closed_descriptor_is_one_line(hostile, capsys):
    read, write = os.pipe()
    os.close(read)
    os.close(write)
    _refused(["--events", write, "show", hostile["classifier"]], f"--events {write}: not an open file descriptor",
             hostile, capsys)


def test_show_says_a_package_with_a_corrupt_weights_entry_is_damaged(hostile, capsys):
    import zipfile

    package = _copy_as(hostile["classifier"], hostile["case"] / "corrupt.dlpk")
    with zipfile.ZipFile(package) as archive:
        info = archive.getinfo("model.safetensors")
    data = bytearray(package.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_length + extra_length + 1000] ^= 0xFF  # a bit flipped in the weights
    package.write_bytes(bytes(data))
    _refused(["show", package], "corrupt.dlpk: is damaged: its weights entry 'model.safetensors' fails to read "
                                "(Bad CRC-32", hostile, capsys)


def test_boxes_training_leaves_out_are_counted_with_the_reason(hostile, synthetic, capsys):
    """A box beyond the chip's edge and one of zero width are dropped by training's clamping: inspect (and train,
    which logs the folder's warnings) says how many and why."""
    import shutil

    from autodl_qgis.engine.data import PASCAL_VOC

    folder = hostile["case"] / "data"
    shutil.copytree(synthetic(PASCAL_VOC), folder)
    label = folder / "labels" / "000000002.xml"
    box = "<object><name>1</name><bndbox><xmin>{}</xmin><ymin>5</ymin><xmax>{}</xmax><ymax>20</ymax></bndbox></object>"
    head, tail = label.read_text().rsplit("</annotation>", 1)  # the root's end (<source> holds another)
    label.write_text(head + box.format(100, 120) + box.format(7, 7) + "</annotation>" + tail)
    assert main(["inspect", str(folder)]) == 0
    out = capsys.readouterr().out
    assert ("warning: 2 box(es) are left out of training: 1 outside their chip, 1 less than 1 px wide or high "
            "within it (first in 000000002.xml)") in out, out


def test_processing_export_model_refuses_its_own_package_as_output(inputs, tmp_path):
    """The Processing algorithm runs the engine command, so it gets the same check: the package is left as it was."""
    from qgis_app import processing_registry

    processing_registry()  # first: it puts QGIS' processing package on the path
    import processing
    from qgis.core import QgsProcessingException

    package = _copy_as(inputs["classifier"], tmp_path / "model.dlpk")
    before = package.read_bytes()
    with pytest.raises(QgsProcessingException, match="model.onnx: is the input"):
        processing.run("autodl:exportmodeltoonnx", {"in_model_definition": str(package),
                                                    "out_onnx": str(_link(package, tmp_path / "model.onnx"))})
    assert package.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["model.dlpk",
                                                                                           "model.onnx"]
