"""Measuring a model on ground truth: ``evaluate`` on labelled folders (a model's own training chips against the
same chips with shifted labels), the detection matching against pycocotools, and the Compute Accuracy tables from
vector and raster files, directly and through Processing."""
import copy
import json
import shutil
from xml.etree import ElementTree

import numpy as np
import pytest
import torch
from osgeo import gdal, ogr, osr

from autodl_qgis.cli import main
from autodl_qgis.engine.accuracy import compute_detection_accuracy, compute_pixel_accuracy
from autodl_qgis.engine.data import CLASSIFIED_TILES, PASCAL_VOC, TrainingData
from autodl_qgis.engine.evaluate import evaluate_package
from autodl_qgis.engine.package import open_package, write_package
from autodl_qgis.engine.train.metrics import DetectionMetrics
from scenes import package_from

UTM = 32633


# -- evaluate ----------------------------------------------------------------------------------------------------------

def _shifted_copy(folder, out, shift: int):
    """The folder with every label moved ``shift`` px to the right (boxes, or class rasters rolled)."""
    shutil.copytree(folder, out)
    for label in (out / "labels").iterdir():
        if label.suffix == ".xml":
            tree = ElementTree.parse(label)
            for box in tree.iter("bndbox"):
                x0, x1 = float(box.findtext("xmin")), float(box.findtext("xmax"))
                step = shift if x1 + shift <= 64 else -shift  # stays on the chip
                box.find("xmin").text, box.find("xmax").text = f"{max(0.0, x0 + step):.2f}", f"{x1 + step:.2f}"
            tree.write(label)
        elif label.suffix == ".tif":
            dataset = gdal.Open(str(label), gdal.GA_Update)
            band = dataset.GetRasterBand(1)
            band.WriteArray(np.roll(band.ReadAsArray(), shift, axis=1))
            dataset = band = None
    return out


@pytest.fixture(scope="module")
def detection_case(synthetic, tmp_path_factory):
    folder = synthetic(PASCAL_VOC, num_chips=32)
    work = tmp_path_factory.mktemp("evaluate_detection")
    model = package_from(TrainingData.open(folder), "FasterRCNN", "resnet18", 10, work / "detector.dlpk")
    return model, folder, work


@pytest.fixture(scope="module")
def pixel_case(synthetic, tmp_path_factory):
    folder = synthetic(CLASSIFIED_TILES, num_chips=48)
    work = tmp_path_factory.mktemp("evaluate_pixels")
    model = package_from(TrainingData.open(folder), "UnetClassifier", "resnet18", 8, work / "classifier.dlpk")
    return model, folder, work


def test_evaluate_detection_scores_fall_as_labels_move_away(detection_case, capsys):
    model, folder, work = detection_case
    assert main(["evaluate", str(model), str(folder), "--json", "--quiet"]) == 0
    own = json.loads(capsys.readouterr().out)
    assert own["metric_name"] == "average_precision" and own["chips"] == 32 and own["confidence"] == 0.5
    per_class = own["metrics"]["per_class"]
    assert set(per_class) == {"pool", "building"}
    assert all(len(c["precision_curve"]) == 101 and c["true_positives"] + c["false_negatives"] > 0
               for c in per_class.values())
    # ten epochs from scratch localise within about 2 px, so "near" is 4 px away (measured: AP50 0.68, 0.15, 0)
    near = evaluate_package(model, _shifted_copy(folder, work / "near", 4), device="cpu")
    far = evaluate_package(model, _shifted_copy(folder, work / "far", 24), device="cpu")
    assert own["metric"] > 0.3, own["metric"]  # a few epochs from scratch: good enough to tell labels apart
    assert own["metrics"]["coco_map"] > near.metrics.coco_map > far.metrics.coco_map
    assert own["metric"] >= near.metric > far.metric and far.metric < 0.1
    assert own["metrics"]["recall"] > far.metrics.recall


def test_evaluate_scores_chips_as_test_time_augmented_inference_predicts(detection_case, capsys, monkeypatch):
    from autodl_qgis.engine.infer import backend

    model, folder, work = detection_case
    views, view = [], backend._view

    def counted(images, turns, flip):
        views.append((turns, flip))
        return view(images, turns, flip)

    monkeypatch.setattr(backend, "_view", counted)
    assert main(["evaluate", str(model), str(folder), "--test-time-augmentation", "--json", "--quiet"]) == 0
    augmented = json.loads(capsys.readouterr().out)
    assert set(views) == set(backend.VIEWS) and len(views) == 8 * 8  # eight views of each of 8 batches of 4 chips
    far = evaluate_package(model, _shifted_copy(folder, work / "far_augmented", 24), device="cpu",
                           test_time_augmentation=True)
    assert augmented["metric"] > 0.3 and far.metric < 0.1, (augmented["metric"], far.metric)
    assert augmented["test_time_augmentation"] and not evaluate_package(model, folder, device="cpu").as_dict()[
        "test_time_augmentation"]  # a package that does not record the search's choice predicts each chip once

    # a package the search chose the eight views for is scored so by default, and once when told
    chosen = _with_training(model, work / "chosen.dlpk", test_time_augmentation=True)
    views.clear()
    assert main(["evaluate", str(chosen), str(folder), "--json", "--quiet"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert len(views) == 8 * 8 and default["test_time_augmentation"] and default["metric"] == augmented["metric"]
    views.clear()
    assert main(["evaluate", str(chosen), str(folder), "--no-test-time-augmentation", "--json", "--quiet"]) == 0
    once = json.loads(capsys.readouterr().out)
    assert views == [] and not once["test_time_augmentation"]
    assert once["metric"] == evaluate_package(model, folder, device="cpu").metric
    # a damaged record is refused, not guessed
    assert main(["evaluate", str(_with_training(model, work / "bad.dlpk", test_time_augmentation="yes")),
                 str(folder), "--quiet"]) == 2
    assert "invalid test_time_augmentation 'yes'" in capsys.readouterr().err


def _with_training(model, path, **training):
    """A copy of the package whose .emd records ``training`` values besides its own."""
    with open_package(model) as package:
        emd, state = copy.deepcopy(package.emd), package.state_dict()
    emd["AutoDL"]["training"].update(training)
    return write_package(path, emd, state, portable=False)


def test_evaluate_pixels_scores_fall_as_labels_move_away(pixel_case, capsys):
    model, folder, work = pixel_case
    own = evaluate_package(model, folder, device="cpu")
    near = evaluate_package(model, _shifted_copy(folder, work / "near", 2), device="cpu")
    far = evaluate_package(model, _shifted_copy(folder, work / "far", 24), device="cpu")
    assert own.metric_name == "miou" and own.metric > 0.5, own.metric
    assert own.metric > near.metric > far.metric
    matrix = np.array(own.metrics.confusion_matrix)
    assert matrix.shape == (3, 3) and matrix.sum() == 48 * 64 * 64
    assert main(["evaluate", str(model), str(folder)]) == 0
    text = capsys.readouterr().out
    assert "mIoU" in text and "confusion matrix" in text and "building" in text


def test_evaluate_refuses_a_model_of_the_other_task(detection_case, pixel_case, capsys):
    assert main(["evaluate", str(detection_case[0]), str(pixel_case[1])]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "object detection model" in error and len(error.splitlines()) == 1


# -- the detection matching ------------------------------------------------------------------------------------------

def test_matching_ap_agrees_with_pycocotools():
    rng = np.random.default_rng(0)
    metrics = DetectionMetrics(["a", "b"])
    for _ in range(25):
        n = int(rng.integers(1, 6))
        corner = rng.uniform(0, 50, (n, 2))
        truth = np.concatenate([corner, corner + rng.uniform(5, 20, (n, 2))], 1)
        k = int(rng.integers(0, 8))
        boxes = truth[rng.integers(0, n, k)] + rng.normal(0, 3, (k, 4))
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        metrics.update([{"boxes": torch.tensor(boxes), "scores": torch.tensor(rng.uniform(0, 1, k)),
                         "labels": torch.tensor(rng.integers(1, 3, k))}],
                       [{"boxes": torch.tensor(truth), "labels": torch.tensor(rng.integers(1, 3, n))}])
    result = metrics.compute()
    for scores in result.per_class:
        assert 0 < scores.average_precision < 1
        assert np.mean(scores.precision_curve) == pytest.approx(scores.average_precision, abs=1e-6)



def test_a_chip_with_more_than_100_detections_scores_its_best_100_without_a_warning(recwarn):
    """The eight views' fusion leaves many low-score finds on a chip; COCO's protocol scores the 100 best, and
    torchmetrics' warning about it would reach every ``evaluate`` and training log."""
    truth = torch.tensor([[10.0, 10.0, 30.0, 30.0]])
    decoys = torch.tensor([[60.0 + i, 60.0, 70.0 + i, 70.0] for i in range(120)])
    metrics = DetectionMetrics(["a"])
    # the truth found at a score below the 120 decoys': outside the 100 best, so not found
    metrics.update([{"boxes": torch.cat([decoys, truth]), "scores": torch.cat([torch.full((120,), 0.5),
                                                                             torch.tensor([0.1])]),
                     "labels": torch.ones(121, dtype=torch.long)}], [{"boxes": truth, "labels": torch.tensor([1])}])
    assert metrics.compute().per_class[0].average_precision == 0
    assert not [w for w in recwarn if "detections" in str(w.message)]


def test_the_best_threshold_is_where_f1_over_all_classes_peaks():
    from autodl_qgis.engine.detection_matching import DetectionMatcher

    matcher = DetectionMatcher(0.5)
    # one image, four truths of class 1; detections best first: hit, hit, hit, miss, hit (0.305), miss. Keeping the
    # first k gives F1 = 2 hits / (k + 4): 0.40, 0.67, 0.86, 0.75, 0.89, 0.80 -> from 0.305, shown as 0.30
    scores = [0.9, 0.8, 0.4, 0.35, 0.305, 0.1]
    hit_of = {0: 0, 1: 1, 2: 2, 4: 3}
    ious = np.zeros((6, 4))
    for detection, truth in hit_of.items():
        ious[detection, truth] = 0.9
    matcher.add(ious, scores, [1] * 6, [1] * 4)
    confidence, f1 = matcher.best_confidence()
    assert confidence == 0.3 and f1 == pytest.approx(8 / 9)
    assert matcher.score(1, "a", confidence).f1 == pytest.approx(f1)  # counting from it gives that F1
    # a second class counts in the same F1: its two misses above 0.9 do not move the threshold, only the F1
    matcher.add(np.zeros((2, 0)), [0.95, 0.92], [2, 2], [])
    assert matcher.best_confidence() == (0.3, pytest.approx(8 / 11))
    assert DetectionMatcher(0.5).best_confidence() is None  # nothing to count


def test_a_package_keeps_objects_from_its_own_threshold_by_default(detection_case, tmp_path, capsys):
    from scenes import mosaic_scene

    model, folder, work = detection_case
    scene, *_ = mosaic_scene(tmp_path)

    def confidences(package, *extra):
        out = tmp_path / f"objects{len(list(tmp_path.glob('*.gpkg')))}.gpkg"
        assert main(["detect", str(package), str(scene), str(out), "--device", "cpu", "--quiet", *extra]) == 0
        source = ogr.Open(str(out))  # kept while its layer is read (GDAL frees the layer with it)
        return sorted(f["Confidence"] for f in source.GetLayer(0))

    everything = confidences(model, "--confidence", "0.01")
    assert len(everything) > 3
    own = round(everything[len(everything) // 2], 2)  # a threshold that keeps about half of them
    package = _with_training(model, work / "own_threshold.dlpk", detection_confidence=own)
    assert confidences(package) == [c for c in everything if c >= own]
    assert confidences(package, "--confidence", "0.01") == everything  # told otherwise: as told
    assert confidences(model) == [c for c in everything if c >= 0.5]  # none recorded: the classic 0.5
    capsys.readouterr()
    assert main(["evaluate", str(package), str(folder), "--json", "--quiet"]) == 0
    evaluation = json.loads(capsys.readouterr().out)
    assert evaluation["confidence"] == own  # precision / recall / F1 counted where the detections are kept
    assert 0 <= evaluation["metrics"]["best_confidence"] <= 1 and evaluation["metrics"]["best_f1"] > 0
    bad = _with_training(model, work / "bad_threshold.dlpk", detection_confidence=1.5)
    assert main(["detect", str(bad), str(scene), str(tmp_path / "bad.gpkg"), "--device", "cpu"]) == 2
    assert "invalid detection_confidence 1.5" in capsys.readouterr().err and not (tmp_path / "bad.gpkg").exists()

# -- Compute Accuracy For Object Detection ---------------------------------------------------------------------------

def _square(x, y, size=10.0):
    return ogr.CreateGeometryFromWkt(f"POLYGON(({x} {y},{x + size} {y},{x + size} {y + size},{x} {y + size},"
                                     f"{x} {y}))")


def _write_polygons(path, rows, epsg=UTM, fields=(("Classvalue", ogr.OFTInteger), ("Confidence", ogr.OFTReal))):
    """``rows``: (geometry, *field values) in EPSG:32633, written in ``epsg``."""
    utm, srs = osr.SpatialReference(), osr.SpatialReference()
    utm.ImportFromEPSG(UTM)
    srs.ImportFromEPSG(epsg)
    for ref in (utm, srs):
        ref.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(utm, srs)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = source.CreateLayer("features", srs, ogr.wkbUnknown)
    for name, kind in fields:
        layer.CreateField(ogr.FieldDefn(name, kind))
    for geometry, *values in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        for (name, _), value in zip(fields, values):
            feature.SetField(name, value)
        geometry = geometry.Clone()
        geometry.Transform(transform)
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
    source = None
    return path


X0, Y0 = 500000.0, 4100000.0


@pytest.fixture
def detection_layers(tmp_path):
    truth = _write_polygons(tmp_path / "truth.gpkg", [
        (_square(X0, Y0), 1), (_square(X0 + 30, Y0), 1), (_square(X0 + 60, Y0), 1), (_square(X0 + 90, Y0), 1),
        (_square(X0, Y0 + 30), 2), (_square(X0 + 30, Y0 + 30), 2)], fields=(("Classvalue", ogr.OFTInteger),))
    # detections in geographic coordinates: reprojected to the truth's CRS before matching
    detected = _write_polygons(tmp_path / "detected.gpkg", [
        (_square(X0, Y0), 1, 0.9),  # exact: true positive
        (_square(X0 + 31, Y0 + 1), 1, 0.8),  # IoU 0.68: true positive
        (_square(X0 + 66, Y0), 1, 0.7),  # IoU 0.25: false positive (and its object missed)
        (_square(X0 + 0.5, Y0), 1, 0.6),  # a second detection of a found object: false positive
        (_square(X0, Y0 + 30), 2, 0.4)], epsg=4326)  # true positive below 0.5 confidence
    return detected, truth


def _table(path):
    source = ogr.Open(str(path))
    layer = source.GetLayer(0)
    definition = layer.GetLayerDefn()
    names = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
    rows = [[feature.GetField(n) for n in names] for feature in layer]
    return names, rows, layer.GetGeomType()


def test_detection_accuracy_table_counts_matches_as_arcgis(detection_layers, tmp_path):
    detected, truth = detection_layers
    result = compute_detection_accuracy(detected, truth, tmp_path / "accuracy.gpkg")
    names, rows, geometry = _table(tmp_path / "accuracy.gpkg")
    assert geometry == ogr.wkbNone
    assert names == ["Class", "Precision", "Recall", "F1_Score", "AP", "True_Positive", "False_Positive",
                     "False_Negative"]
    table = {row[0]: dict(zip(names, row)) for row in rows}
    assert list(table) == ["1", "2", "All"]
    assert [table["1"][k] for k in ("True_Positive", "False_Positive", "False_Negative")] == [2, 2, 2]
    assert [table["2"][k] for k in ("True_Positive", "False_Positive", "False_Negative")] == [1, 0, 1]
    assert table["1"]["Precision"] == pytest.approx(0.5) and table["1"]["Recall"] == pytest.approx(0.5)
    # AP: precision 1 up to recall 0.5, nothing beyond: 51 of COCO's 101 recall points
    assert table["1"]["AP"] == pytest.approx(51 / 101) and table["2"]["AP"] == pytest.approx(51 / 101)
    assert table["All"]["True_Positive"] == 3 and table["All"]["F1_Score"] == pytest.approx(2 * 0.6 * 0.5 / 1.1)
    strict = compute_detection_accuracy(detected, truth, min_iou=0.75, confidence=0.5)
    assert strict.classes[0].true_positives == 1 and strict.classes[1].true_positives == 0
    assert result.overall.average_precision == pytest.approx(51 / 101)


def test_detection_accuracy_cli_writes_csv_and_refuses_bad_output(detection_layers, tmp_path, capsys):
    detected, truth = detection_layers
    out = tmp_path / "accuracy.csv"
    assert main(["compute-accuracy-detection", str(detected), str(truth), str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["all"]["true_positives"] == 3 and out.read_text().splitlines()[0].startswith("Class,Precision")
    assert main(["compute-accuracy-detection", str(detected), str(truth), str(tmp_path / "a.shp")]) == 2
    assert "gpkg or .csv" in capsys.readouterr().err
    assert main(["compute-accuracy-detection", str(detected), str(truth), str(truth)]) == 2  # an input
    assert "is the input" in capsys.readouterr().err and ogr.Open(str(truth)).GetLayer(0).GetFeatureCount() == 6


# -- Compute Accuracy For Pixel Classification -----------------------------------------------------------------------

def _class_raster(path, values, pixel=1.0, epsg=UTM, origin=(X0, Y0)):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), values.shape[1], values.shape[0], 1, gdal.GDT_Byte,
                                                   options=["TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=32"])
    dataset.SetGeoTransform((origin[0], pixel, 0, origin[1], 0, -pixel))
    dataset.SetProjection(srs.ExportToWkt())
    dataset.GetRasterBand(1).WriteArray(values)
    dataset.GetRasterBand(1).SetNoDataValue(0)
    dataset = None
    return path


@pytest.fixture
def class_rasters(tmp_path):
    reference = np.ones((100, 100), np.uint8)
    reference[:, 50:] = 2
    reference[:10] = 0  # NoData: never sampled
    classified = reference.copy()
    classified[:, 75:] = 1  # half of class 2 called class 1
    classified[:10] = 3
    return _class_raster(tmp_path / "classified.tif", classified), _class_raster(tmp_path / "reference.tif", reference)


def test_pixel_accuracy_from_a_reference_raster(class_rasters, tmp_path):
    classified, reference = class_rasters
    matrix = compute_pixel_accuracy(classified, reference, tmp_path / "matrix.gpkg", num_random_points=400, seed=1)
    assert matrix.values == (1, 2) and matrix.points == 400
    counts = np.array(matrix.counts)  # rows: classified, columns: reference
    assert counts[:, 0].tolist() == [200, 0]  # every class 1 point right; 200 points each (stratified)
    assert counts[:, 1].sum() == 200 and 0.35 < matrix.producer_accuracy[1] < 0.65
    assert matrix.user_accuracy[1] == 1.0 and 0 < matrix.kappa < matrix.overall_accuracy < 1
    names, rows, geometry = _table(tmp_path / "matrix.gpkg")
    assert geometry == ogr.wkbNone
    assert names == ["ClassValue", "C_1", "C_2", "Total", "U_Accuracy", "Kappa", "IoU"]
    table = {row[0]: dict(zip(names, row)) for row in rows}
    assert list(table) == ["C_1", "C_2", "Total", "P_Accuracy", "Kappa"]
    assert table["Total"]["Total"] == 400 and table["C_1"]["C_1"] == 200
    assert table["P_Accuracy"]["U_Accuracy"] == pytest.approx(matrix.overall_accuracy)
    assert table["Kappa"]["Kappa"] == pytest.approx(matrix.kappa)
    equalized = compute_pixel_accuracy(classified, reference, num_random_points=100,
                                       sampling="EQUALIZED_STRATIFIED_RANDOM", min_point_distance=3.0)
    assert 0 < equalized.points <= 100


def test_pixel_accuracy_from_points_and_polygons(class_rasters, tmp_path):
    classified, _ = class_rasters
    points = []
    for x, y, value in ((10.5, 50.5, 1), (60.5, 50.5, 2), (80.5, 50.5, 2), (90.5, 20.5, 2), (150.5, 50.5, 1)):
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(X0 + x, Y0 - y)
        points.append((point, value))
    reference = _write_polygons(tmp_path / "points.gpkg", points, fields=(("GrndTruth", ogr.OFTInteger),))
    matrix = compute_pixel_accuracy(classified, reference, tmp_path / "points.csv")
    # the last point lies outside the classified raster
    assert matrix.points == 4 and np.array(matrix.counts).tolist() == [[1, 2], [0, 1]]
    polygon = ogr.CreateGeometryFromWkt(f"POLYGON(({X0} {Y0 - 20},{X0 + 40} {Y0 - 20},{X0 + 40} {Y0 - 90},"
                                        f"{X0} {Y0 - 90},{X0} {Y0 - 20}))")
    polygons = _write_polygons(tmp_path / "polygons.gpkg", [(polygon, 1)], fields=(("value", ogr.OFTInteger),))
    inside = compute_pixel_accuracy(classified, polygons, num_random_points=50)
    assert inside.values == (1,) and inside.points == 50 and inside.overall_accuracy == 1.0


# -- through Processing ------------------------------------------------------------------------------------------------

@pytest.mark.qgis
def test_compute_accuracy_algorithms_write_tables_qgis_opens(detection_layers, class_rasters, tmp_path):
    from qgis_app import processing_registry

    registry = processing_registry()  # first: it puts QGIS' processing package on the path
    import processing
    from qgis.core import QgsVectorLayer

    detected, truth = detection_layers
    out = processing.run("autodl:computeaccuracyforobjectdetection", {
        "detected_features": str(detected), "ground_truth_features": str(truth), "min_iou": 0.5,
        "detected_class_value_field": "Classvalue", "out_accuracy_table": str(tmp_path / "accuracy.gpkg")})
    table = QgsVectorLayer(out["out_accuracy_table"], "accuracy", "ogr")
    assert table.isValid() and not table.isSpatial() and table.featureCount() == 3
    rows = {f["Class"]: f for f in table.getFeatures()}
    assert rows["All"]["True_Positive"] == 3 and rows["1"]["AP"] == pytest.approx(51 / 101)

    classified, reference = class_rasters
    algorithm = registry.algorithmById("autodl:computeaccuracyforpixelclassification")
    assert [p.name() for p in algorithm.parameterDefinitions()][:6] == [
        "in_raster", "in_ground_truth_data", "out_confusion_matrix", "num_random_points", "sampling",
        "min_point_distance"]
    out = processing.run(algorithm, {
        "in_raster": str(classified), "in_ground_truth_data": str(reference), "num_random_points": 100,
        "sampling": "EQUALIZED_STRATIFIED_RANDOM", "out_confusion_matrix": str(tmp_path / "matrix.csv")})
    matrix = QgsVectorLayer(out["out_confusion_matrix"], "matrix", "ogr")
    assert matrix.isValid() and matrix.featureCount() == 5
    assert [f["ClassValue"] for f in matrix.getFeatures()] == ["C_1", "C_2", "Total", "P_Accuracy", "Kappa"]
