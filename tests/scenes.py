"""Georeferenced test scenes: mosaics of synthetic chips with known objects, their label polygons, and small
trained packages to run on them."""
import warnings
from pathlib import Path

import numpy as np
import torch
from osgeo import ogr, osr

from autodl_qgis.engine.data import TrainingData
from autodl_qgis.engine.data.esri import ClassInfo
from autodl_qgis.engine.data.synthetic import synthetic_chip
from autodl_qgis.engine.data.writer import write_raster
from autodl_qgis.engine.networks.registry import get_spec
from autodl_qgis.engine.package import build_model_definition, write_package
from autodl_qgis.engine.train import TrainConfig
from autodl_qgis.engine.train.candidate import TrainRequest, train_candidate

GEOTRANSFORM = (500000.0, 0.5, 0.0, 4100000.0, 0.0, -0.5)
CLASSES = [ClassInfo(1, "pool", (230, 159, 0)), ClassInfo(2, "building", (86, 180, 233))]


def package_from(data: TrainingData, network: str, backbone: str, epochs: int, path: Path) -> Path:
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        request = TrainRequest(network, backbone, TrainConfig(max_epochs=epochs, batch_size=5), pretrained=False,
                               val_fraction=0.15)
        candidate = train_candidate(data, request, torch.device("cpu"))
    result = candidate.result
    emd = build_model_definition(
        network=network, library=get_spec(network).library, backbone=backbone, task=data.task,
        classes=data.classes, chip_size=data.chip_size, bands=data.header.bands, dtype=data.header.dtype,
        image_space=data.image_space, statistics=data.band_statistics, metrics=result.metrics,
        metric_name=result.metric_name, training={}, data_format=data.format)
    return write_package(path, emd, result.best_state)


def mosaic_scene(tmp_path: Path, crs: bool = True):
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


def map_box(box):
    """Pixel box (x0, y0, x1, y1) of the scene as map coordinates (xmin, ymin, xmax, ymax)."""
    x0, dx, _, y0, _, dy = GEOTRANSFORM
    return [x0 + box[0] * dx, y0 + box[3] * dy, x0 + box[2] * dx, y0 + box[1] * dy]


def write_label_polygons(path: Path, boxes, values) -> Path:
    """The scene's objects as a GeoPackage of polygons with a class value field and a Classname field."""
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = source.CreateLayer("objects", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("classvalue", ogr.OFTInteger))
    layer.CreateField(ogr.FieldDefn("Classname", ogr.OFTString))
    names = {c.value: c.name for c in CLASSES}
    for box, value in zip(boxes, values):
        xmin, ymin, xmax, ymax = map_box(box)
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("classvalue", int(value))
        feature.SetField("Classname", names[value])
        feature.SetGeometry(ogr.CreateGeometryFromWkt(
            f"POLYGON(({xmin} {ymin},{xmax} {ymin},{xmax} {ymax},{xmin} {ymax},{xmin} {ymin}))"))
        layer.CreateFeature(feature)
    source = None
    return path


def iou(a, b) -> float:
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def untrained_package(path: Path, network: str = "UnetClassifier", backbone: str = "resnet18", tile: int = 64) -> Path:
    """A package of a randomly initialised network (3 bands, the scene's classes): for runs where accuracy does not
    matter (errors, throughput, memory)."""
    from autodl_qgis.engine.data import CLASSIFIED_TILES, PASCAL_VOC, PIXEL_CLASSIFICATION, BandStatistics
    from autodl_qgis.engine.networks import build_network

    torch.manual_seed(0)
    spec = get_spec(network)
    model = build_network(network, num_classes=len(CLASSES), in_channels=3, chip_size=(tile, tile),
                          backbone=backbone, pretrained=False)
    stats = BandStatistics(mean=(120.0,) * 3, std=(50.0,) * 3, min=(0.0,) * 3, max=(255.0,) * 3, source="test")
    pixels = spec.task == PIXEL_CLASSIFICATION
    emd = build_model_definition(
        network=network, library=spec.library, backbone=backbone, task=spec.task, classes=CLASSES,
        chip_size=(tile, tile), bands=3, dtype="uint8", image_space="MAP_SPACE", statistics=stats, metrics=None,
        metric_name="mIoU" if pixels else "AP50", training={}, data_format=CLASSIFIED_TILES if pixels else PASCAL_VOC)
    return write_package(path, emd, model.state_dict())


HUGE_VRT = """<VRTDataset rasterXSize="1000000" rasterYSize="1000000">
  <SRS>EPSG:32633</SRS>
  <GeoTransform>500000, 0.5, 0, 4100000, 0, -0.5</GeoTransform>
{bands}</VRTDataset>"""


def write_huge_vrt(path: Path) -> Path:
    """A VRT declaring 10^6 x 10^6 px (3 bands of zeros, no source): nothing to read, everything to tile."""
    bands = "".join(f'  <VRTRasterBand dataType="Byte" band="{b}"/>\n' for b in (1, 2, 3))
    path.write_text(HUGE_VRT.format(bands=bands))
    return path


def run_then_terminate(argv: list, out_folder: Path, seconds: float, tmp: Path, give_up_mb: float = float("inf"),
                       start_within: float = 600) -> tuple[int, str, float]:
    """Runs ``python -m autodl_qgis ARGV`` in a child with its own temporary folder; once the output's work folder
    appears in ``out_folder`` (the model is built and tiles are being predicted), lets it work ``seconds`` more,
    then sends SIGTERM. Stops early when its memory passes ``give_up_mb`` or it has not started within
    ``start_within`` seconds. Returns the exit code, stderr and the child's peak resident memory (VmHWM) in MB."""
    import os
    import signal
    import subprocess
    import sys
    import time

    repo = Path(__file__).resolve().parents[1]
    child = subprocess.Popen([sys.executable, "-m", "autodl_qgis", *map(str, argv)], cwd=repo,
                             env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    launched, started, peak = time.monotonic(), None, 0.0
    try:
        while child.poll() is None:
            with open(f"/proc/{child.pid}/status") as file:
                peak = max(peak, next(int(line.split()[1]) for line in file if line.startswith("VmHWM")) / 1024)
            if started is None and any(p.name.startswith(".") for p in Path(out_folder).iterdir()):
                started = time.monotonic()
            if (peak > give_up_mb or (started is None and time.monotonic() - launched > start_within)
                    or (started is not None and time.monotonic() - started > seconds)):
                child.send_signal(signal.SIGTERM)
                break
            time.sleep(0.25)
        _, err = child.communicate(timeout=300)
    finally:
        child.kill()
    return child.returncode, err, peak


def write_square_grid(path: Path, side: int, shift: float) -> Path:
    """side x side squares of 10 m, 20 m apart (EPSG:32633, class 1), moved ``shift`` m east: two grids shifted by
    a few metres are detections and ground truth that all match, and overlap nowhere else."""
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = source.CreateLayer("features", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("Classvalue", ogr.OFTInteger))
    layer.StartTransaction()
    x0, y0 = GEOTRANSFORM[0] + shift, GEOTRANSFORM[3]
    for row in range(side):
        for column in range(side):
            x, y = x0 + 20 * column, y0 + 20 * row
            feature = ogr.Feature(layer.GetLayerDefn())
            feature.SetField("Classvalue", 1)
            feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POLYGON(({x} {y},{x + 10} {y},{x + 10} {y + 10},"
                                                          f"{x} {y + 10},{x} {y}))"))
            layer.CreateFeature(feature)
    layer.CommitTransaction()
    source = None
    return path


def cli_peak_mb(argv: list) -> tuple[int, str, float]:
    """Exit code, stderr and peak resident memory (VmHWM, MB) of ``python -m autodl_qgis ARGV`` in a child (not
    ru_maxrss: that keeps the forked parent's peak across exec)."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    code = ("import re, sys; from autodl_qgis.cli import main; code = main(sys.argv[1:]); "
            "status = open('/proc/self/status').read(); "
            "print(int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) / 1024, file=sys.stderr); sys.exit(code)")
    run = subprocess.run([sys.executable, "-c", code, *map(str, argv)], cwd=repo, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1"})
    lines = run.stderr.strip().splitlines()
    return run.returncode, "\n".join(lines[:-1]), float(lines[-1])
