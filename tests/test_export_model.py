"""Models that travel: the packaged ArcGIS Pro inference function, run exactly as ArcGIS runs it in a Python that
cannot import autodl_qgis, gives our class maps and boxes; the ONNX graph matches torch; export-model writes
Deepness' metadata; the onnxruntime backend of our own tools; a network that cannot export says so and still works.

Models are untrained (random initialisation, small backbones, 64 px tiles): the comparisons are between two ways of
running the same weights, which need no accuracy."""
import copy
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from osgeo import gdal

from autodl_qgis.engine import infer
from autodl_qgis.engine.errors import InputDataError
from autodl_qgis.engine.package import open_package, write_package
from autodl_qgis.engine.package.export import (FUNCTION_FILE, GRAPH_FILE, GraphExport, _difference,
                                               deepness_metadata, graph_module)
from scenes import CLASSES, iou, mosaic_scene

REPO = Path(__file__).resolve().parents[1]
CONFIDENCE, NMS = 0.1, 0.3

# Runs in a child interpreter: what ArcGIS Pro does with a .dlpk's InferenceFunction. Only numpy and onnxruntime
# are there: autodl_qgis (and this checkout) is refused, and torch must never be imported.
HARNESS = r'''
import importlib.abc, json, os, sys
config = json.load(open(sys.argv[1]))


class NotInArcGIS(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("autodl_qgis", "torch"):
            raise ImportError(name + " is not available in this harness")


sys.meta_path.insert(0, NotInArcGIS())
sys.path[:] = [p for p in sys.path if p and not os.path.isdir(os.path.join(p, "autodl_qgis"))]
sys.path.insert(0, config["folder"])  # ArcGIS imports the function from the extracted package
import numpy as np
module = __import__(config["function"][:-3])
function = getattr(module, config["function"][:-3])()
function.initialize(model=config["emd"])
parameters = [p["name"] for p in function.getParameterInfo()]
conf = function.getConfiguration(**config["scalars"])
raster = np.load(config["raster"])[list(conf["extractBands"])]
p, tx, ty = conf["padding"], conf["tx"], conf["ty"]
height, width = raster.shape[1:]
detection = config["detection"]
info = None if detection else function.updateRasterInfo(output_info={})["output_info"]
classes = np.zeros((height, width), np.int64)
objects = []
for y in range(0, height, ty):
    for x in range(0, width, tx):
        # a block of ty x tx output pixels read with `padding` pixels around; outside the raster: NoData (mask 0)
        block = np.zeros((raster.shape[0], ty + 2 * p, tx + 2 * p), raster.dtype)
        mask = np.zeros(block.shape, np.uint8)
        y0, x0 = y - p, x - p
        sy0, sx0, sy1, sx1 = max(y0, 0), max(x0, 0), min(y0 + ty + 2 * p, height), min(x0 + tx + 2 * p, width)
        block[:, sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = raster[:, sy0:sy1, sx0:sx1]
        mask[:, sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = 1
        if detection:
            vectors = json.loads(function.vectorize(raster_pixels=block, raster_mask=mask)["output_vectors"])
            for feature in vectors["features"]:
                ring = np.asarray(feature["geometry"]["rings"][0])
                box = [ring[:, 0].min() + x0, ring[:, 1].min() + y0, ring[:, 0].max() + x0, ring[:, 1].max() + y0]
                objects.append({"box": [float(v) for v in box], "value": feature["attributes"]["ClassValue"],
                                "confidence": feature["attributes"]["Confidence"]})
        else:
            out = function.updatePixels((x, y), (1, ty, tx), {"pixelType": info["pixelType"]},
                                        raster_pixels=block, raster_mask=mask)["output_pixels"]
            h, w = min(ty, height - y), min(tx, width - x)
            classes[y:y + h, x:x + w] = out[0, :h, :w]
np.save(config["out"] + ".npy", classes)
json.dump({"objects": objects, "parameters": parameters, "configuration": {k: v for k, v in conf.items()},
           "imported": sorted(m for m in ("torch", "autodl_qgis") if m in sys.modules)}, open(config["out"], "w"))
'''


def run_like_arcgis(package_path: Path, raster: np.ndarray, tmp_path: Path, scalars: dict) -> tuple[dict, np.ndarray]:
    """Extracts the .dlpk as ArcGIS does and runs its InferenceFunction over ``raster`` block by block."""
    folder = tmp_path / f"extracted_{package_path.stem}_{len(list(tmp_path.iterdir()))}"
    with zipfile.ZipFile(package_path) as archive:
        archive.extractall(folder)
        emd_name = next(n for n in archive.namelist() if n.endswith(".emd"))
        function = json.loads(archive.read(emd_name))["InferenceFunction"]
    np.save(tmp_path / "raster.npy", raster)
    config = {"repo": str(REPO), "folder": str(folder), "emd": str(folder / emd_name), "function": function,
              "raster": str(tmp_path / "raster.npy"), "scalars": scalars, "out": str(tmp_path / "arcgis.json"),
              "detection": "Detection" in json.loads((folder / emd_name).read_text())["ModelType"]}
    (tmp_path / "harness.json").write_text(json.dumps(config))
    (tmp_path / "harness.py").write_text(HARNESS)
    done = subprocess.run([sys.executable, "-I", str(tmp_path / "harness.py"), str(tmp_path / "harness.json")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode)
    result = json.loads(Path(config["out"]).read_text())
    assert result["imported"] == []  # neither torch nor autodl_qgis: numpy and onnxruntime only
    return result, np.load(config["out"] + ".npy")


@pytest.fixture(scope="module")
def raster(tmp_path_factory, request) -> Path:
    """A real ArcGIS chip (448 px JPEG with a world file) when the shared data is there, else a GDAL-written
    synthetic mosaic; both are read through GDAL, as our tools read them."""
    chip = Path(request.config.rootpath).parent / "shared" / "data" / "real" / "palm_pascal_voc_west" / "images" \
        / "000000000.jpg"
    if chip.is_file():
        return chip
    print(f"real chip {chip} absent: using a synthetic GeoTIFF mosaic")
    return mosaic_scene(tmp_path_factory.mktemp("scene"))[0]


def read(path: Path) -> np.ndarray:
    return gdal.Open(str(path)).ReadAsArray()


def calibrated_package(path: Path, network: str, backbone: str, image: np.ndarray, chip_scale: float = 1.0) -> Path:
    """An untrained package (random weights, the scene's classes) whose batch-norm statistics are those of
    ``image``'s tiles, so that even random weights give varied class maps and scores (with the default statistics
    some networks answer one class everywhere)."""
    from autodl_qgis.engine.data import BandStatistics
    from autodl_qgis.engine.networks import build_network
    from autodl_qgis.engine.networks.registry import get_spec
    from autodl_qgis.engine.package import build_model_definition, write_package

    torch.manual_seed(0)
    spec = get_spec(network)
    model = build_network(network, len(CLASSES), 3, (64, 64), backbone, pretrained=False).eval()
    stats = BandStatistics(mean=(120.0,) * 3, std=(50.0,) * 3, min=(0.0,) * 3, max=(255.0,) * 3, source="test")
    pixels = spec.task == "pixel_classification"
    emd = build_model_definition(
        network=network, library=spec.library, backbone=backbone, task=spec.task, classes=CLASSES, chip_size=(64, 64),
        bands=3, dtype="uint8", image_space="MAP_SPACE", statistics=stats, metrics=None,
        metric_name="mIoU" if pixels else "AP50", training={"chip_scale": chip_scale},
        data_format="Classified_Tiles" if pixels else "PASCAL_VOC_rectangles")
    tiles = np.stack([(image[:, y:y + 64, x:x + 64] - 120.0) / 50.0 for y in (0, 64, 128) for x in (0, 64, 128)])
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a plain average over the calibration batches
        norm.train()
    with torch.no_grad():
        for start in range(0, len(tiles), 3):
            model.predict(torch.from_numpy(tiles[start:start + 3].astype(np.float32)))
    return write_package(path, emd, model.eval().state_dict())


@pytest.fixture(scope="module")
def packages(tmp_path_factory, raster):
    folder = tmp_path_factory.mktemp("packages")
    image = read(raster).astype(np.float32)
    made = {}

    def make(network: str, backbone: str) -> Path:
        if network not in made:
            made[network] = calibrated_package(folder / f"{network}.dlpk", network, backbone, image)
        return made[network]

    return make


# one pixel and one detection network of each library that exports (smp has no detector, MMDetection no graph)
PIXEL_NETWORKS = [("UnetClassifier", "resnet18"), ("DeepLab", "mobilenet_v3_large"), ("FastSCNN", "fastscnn"),
                  ("SamLoRA", "vit_b")]
DETECTION_NETWORKS = [("FasterRCNN", "resnet18"), ("RTDetrV2", "resnet18")]
SLOW = {"SamLoRA": 128, "FastSCNN": 192, "RTDetrV2": 192}  # raster size that keeps their runs short on a CPU


def _cropped(raster: Path, network: str, tmp_path: Path) -> Path:
    size = SLOW.get(network)
    if size is None:
        return raster
    return _write_like(tmp_path / "crop.tif", read(raster)[:, :size, :size], raster)


@pytest.mark.parametrize("network,backbone", PIXEL_NETWORKS)
def test_arcgis_function_gives_our_class_map(network, backbone, packages, raster, tmp_path):
    path = packages(network, backbone)
    raster = _cropped(raster, network, tmp_path)
    ours = tmp_path / "ours.tif"
    infer.classify_pixels(path, raster, ours, overlap=0, device="cpu")
    result, arcgis = run_like_arcgis(path, read(raster), tmp_path, {"padding": 0, "batch_size": 2})
    assert {"raster", "model", "padding", "batch_size", "test_time_augmentation"} <= set(result["parameters"])
    assert result["configuration"]["tx"] == 64 and tuple(result["configuration"]["extractBands"]) == (0, 1, 2)
    expected = read(ours)
    assert len(np.unique(expected)) > 1  # not a trivial map
    assert (arcgis == expected).mean() >= 0.999
    # ours through onnxruntime too
    onnx_out = tmp_path / "onnx.tif"
    infer.classify_pixels(path, raster, onnx_out, overlap=0, device="cpu", backend="onnxruntime")
    assert (read(onnx_out) == expected).mean() >= 0.999


def test_arcgis_function_crops_its_padding(packages, raster, tmp_path):
    """With padding, each output block is the centre of the prediction on its padded block."""
    path = packages(*PIXEL_NETWORKS[0])
    image = read(raster)[:, :128, :128]
    _, arcgis = run_like_arcgis(path, image, tmp_path, {"padding": 8})
    with open_package(path) as package:
        model = package.build("cpu")
        stats = package.emd["NormalizationStats"]
    mean = np.asarray(stats["band_mean_values"], np.float32)[:, None, None]
    std = np.asarray(stats["band_std_values"], np.float32)[:, None, None]
    lut = np.array([0] + [c.value for c in CLASSES])
    expected = np.zeros(image.shape[1:], np.int64)
    for y in range(0, 128, 48):
        for x in range(0, 128, 48):
            block = np.zeros((3, 64, 64), np.float32)
            sy0, sx0, sy1, sx1 = max(y - 8, 0), max(x - 8, 0), min(y + 56, 128), min(x + 56, 128)
            block[:, sy0 - y + 8:sy1 - y + 8, sx0 - x + 8:sx1 - x + 8] = image[:, sy0:sy1, sx0:sx1]
            with torch.no_grad():
                scores = model.predict(torch.from_numpy((block - mean) / std)[None])[0]
            h, w = min(48, 128 - y), min(48, 128 - x)
            expected[y:y + h, x:x + w] = lut[scores.argmax(0).numpy()][8:8 + h, 8:8 + w]
    assert (arcgis == expected).mean() >= 0.999


def _matched(found: list[tuple], expected: list[tuple]) -> int:
    """Objects of ``expected`` with an object of the same class at IoU >= 0.99 in ``found`` (each used once)."""
    free = list(found)
    matched = 0
    for box, value in expected:
        best = max(((iou(box, b), i) for i, (b, v) in enumerate(free) if v == value), default=(0, None))
        if best[0] >= 0.99:
            matched += 1
            free.pop(best[1])
    return matched


def _our_boxes(path: Path, raster: Path) -> list[tuple]:
    """Our detections (polygons in map units) as pixel boxes of ``raster`` with their class values."""
    data = gdal.OpenEx(str(path))
    layer = data.GetLayer(0)
    x0, dx, _, y0, _, dy = gdal.Open(str(raster)).GetGeoTransform()
    boxes = []
    for feature in layer:
        xmin, xmax, ymin, ymax = feature.GetGeometryRef().GetEnvelope()
        px = sorted(((xmin - x0) / dx, (xmax - x0) / dx))
        py = sorted(((ymin - y0) / dy, (ymax - y0) / dy))
        boxes.append(([px[0], py[0], px[1], py[1]], feature.GetField("ClassValue")))
    return boxes


@pytest.mark.parametrize("network,backbone", DETECTION_NETWORKS)
def test_arcgis_function_gives_our_boxes(network, backbone, packages, raster, tmp_path):
    from torchvision.ops import batched_nms

    path = packages(network, backbone)
    raster = _cropped(raster, network, tmp_path)
    ours = tmp_path / "ours.gpkg"
    infer.detect_objects(path, raster, ours, overlap=0, confidence=CONFIDENCE, nms_threshold=NMS, device="cpu")
    expected = _our_boxes(ours, raster)
    assert len(expected) >= 5  # enough objects for the comparison to mean something
    # ArcGIS: the function's own suppression off (nms_overlap 1), the tool's non-maximum suppression over the
    # whole raster, as our tools do
    result, _ = run_like_arcgis(path, read(raster), tmp_path, {"padding": 0, "threshold": CONFIDENCE,
                                                               "nms_overlap": 1.0})
    objects = result["objects"]
    boxes = torch.tensor([o["box"] for o in objects], dtype=torch.float32).reshape(-1, 4)
    keep = batched_nms(boxes, torch.tensor([o["confidence"] for o in objects]),
                       torch.tensor([o["value"] for o in objects]), NMS)
    found = [(boxes[i].tolist(), objects[i]["value"]) for i in keep.tolist()]
    assert len(found) == len(expected)
    assert _matched(found, expected) == len(expected)
    # ours through onnxruntime
    onnx_out = tmp_path / "onnx.gpkg"
    infer.detect_objects(path, raster, onnx_out, overlap=0, confidence=CONFIDENCE, nms_threshold=NMS,
                         device="cpu", backend="onnxruntime")
    assert _matched(_our_boxes(onnx_out, raster), expected) == len(expected)
    # the function's default in-tile suppression runs and returns objects of the model's classes
    default, _ = run_like_arcgis(path, read(raster), tmp_path, {"threshold": CONFIDENCE})
    assert default["objects"] and {o["value"] for o in default["objects"]} <= {c.value for c in CLASSES}


@pytest.mark.parametrize("network,backbone", PIXEL_NETWORKS[:1] + DETECTION_NETWORKS)
def test_onnx_graph_matches_torch_on_real_tiles(network, backbone, packages, raster):
    import onnxruntime

    path = packages(network, backbone)
    image = read(raster).astype(np.float32)
    with open_package(path) as package:
        emd = package.emd
        module, batch = graph_module(package.build("cpu"), package)
        session = onnxruntime.InferenceSession(str(package.folder / GRAPH_FILE), providers=["CPUExecutionProvider"])
        assert emd["AutoDL"]["exports"]["formats"] == ["onnx"] and emd["InferenceFunction"] == FUNCTION_FILE
    stats = emd["NormalizationStats"]
    mean = np.asarray(stats["band_mean_values"], np.float32)[:, None, None]
    std = np.asarray(stats["band_std_values"], np.float32)[:, None, None]
    tiles = np.stack([(image[:, y:y + 64, x:x + 64] - mean) / std for y, x in ((0, 0), (64, 128), (128, 64))])
    for start in range(0, len(tiles), batch or len(tiles)):
        chunk = tiles[start:start + (batch or len(tiles))]
        with torch.no_grad():
            expected = module(torch.from_numpy(chunk)).numpy()
        got = session.run(None, {"images": chunk})[0]
        assert got.shape == expected.shape
        assert _difference(got, expected, detection=batch != 0) <= 1e-4


def test_a_package_trained_at_a_chip_scale_carries_the_resampling_in_its_graph(raster, tmp_path):
    import onnxruntime

    image = read(raster).astype(np.float32)
    path = calibrated_package(tmp_path / "scaled.dlpk", "UnetClassifier", "resnet18", image, chip_scale=0.5)
    with open_package(path) as package:
        assert package.chip_scale == 0.5 and package.emd["AutoDL"]["exports"]["formats"] == ["onnx"]
        module, _ = graph_module(package.build("cpu"), package)  # resamples the tiles to 32 px and back
        session = onnxruntime.InferenceSession(str(package.folder / GRAPH_FILE), providers=["CPUExecutionProvider"])
    tiles = np.stack([(image[:, y:y + 64, x:x + 64] - 120.0) / 50.0 for y, x in ((0, 0), (64, 128))])
    tiles = tiles.astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(tiles)).numpy()
    assert _difference(session.run(None, {"images": tiles})[0], expected, detection=False) <= 1e-4


@pytest.mark.parametrize("network,backbone", PIXEL_NETWORKS[:1] + DETECTION_NETWORKS)
def test_export_model_writes_deepness_metadata(network, backbone, packages, tmp_path):
    import onnx

    path = packages(network, backbone)
    out = tmp_path / "model.onnx"
    done = subprocess.run([sys.executable, "-m", "autodl_qgis", "export-model", str(path), str(out),
                           "--resolution", "30"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    metadata = {p.key: json.loads(p.value) for p in model.metadata_props}
    pixels = network in dict(PIXEL_NETWORKS)
    assert metadata["model_type"] == ("Segmentor" if pixels else "Detector")
    names = [c.name for c in CLASSES]
    assert metadata["class_names"] == {str(i): n for i, n in enumerate((["background"] if pixels else []) + names)}
    assert metadata["resolution"] == 30.0 and metadata["tiles_overlap"] == 25 and metadata["tile_size"] == 64
    assert metadata["standardization_mean"] == pytest.approx([120 / 255] * 3)
    assert metadata["standardization_std"] == pytest.approx([50 / 255] * 3)
    if not pixels:
        assert metadata["det_type"] == "YOLO_v5_v7_DEFAULT"
        # what Deepness checks: three dimensions, a batch of one; and what it reads: rows of 5 + K values
        dims = model.graph.output[0].type.tensor_type.shape.dim
        assert len(dims) == 3 and dims[0].dim_value == 1
        import onnxruntime

        session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        rows = session.run(None, {"images": np.zeros((1, 3, 64, 64), np.float32)})[0]
        assert rows.shape == (1, 300, 5 + len(names))
    # the metadata is all Deepness needs: a tile scaled to 0..1 and standardised gives the graph's input
    with open_package(path) as package:
        assert deepness_metadata(package, 30.0) == {p.key: p.value for p in model.metadata_props}


def test_a_network_that_cannot_export_says_so_and_still_works(packages, raster, tmp_path):
    path = packages("FCOS", "resnet18")  # mmdet: its traced graph answers differently, so none is packaged
    with zipfile.ZipFile(path) as archive:
        assert GRAPH_FILE not in archive.namelist() and FUNCTION_FILE in archive.namelist()
    with open_package(path) as package:
        exports, typed = package.info["exports"], package.exports
    assert exports["formats"] == [] and exports["reason"]
    assert typed.formats == () and typed.reason == exports["reason"]
    # our own tool runs it with torch
    result = infer.detect_objects(path, raster, tmp_path / "ours.gpkg", confidence=0.0, device="cpu")
    assert result.path.is_file()
    # onnxruntime, export-model and ArcGIS say why not, in one line
    with pytest.raises(InputDataError, match="carries no ONNX graph"):
        infer.detect_objects(path, raster, tmp_path / "onnx.gpkg", device="cpu", backend="onnxruntime")
    done = subprocess.run([sys.executable, "-m", "autodl_qgis", "export-model", str(path), str(tmp_path / "m.onnx")],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "cannot be exported" in done.stderr
    assert not (tmp_path / "m.onnx").exists()
    with pytest.raises(RuntimeError, match="carries no ONNX graph"):
        run_like_arcgis(path, read(raster)[:, :64, :64], tmp_path, {})
    listed = json.loads(subprocess.run([sys.executable, "-m", "autodl_qgis", "networks", "--json"],
                                       capture_output=True, text=True, cwd=REPO, check=True).stdout)
    by_name = {n["name"]: n for n in listed}
    assert by_name["FCOS"]["exports"] == [] and by_name["FasterRCNN"]["exports"] == ["onnx"]


def test_the_exports_record_reads_back_as_written_and_a_damaged_one_is_refused():
    written = GraphExport((GRAPH_FILE,), ("onnx",), 1.5, None, 1e-4, 3)
    assert GraphExport.from_dict(json.loads(json.dumps(written.as_dict()))) == written
    for damaged in (["onnx"], {"formats": "onnx"}, {"files": [1]}, {"reason": 3}):
        with pytest.raises(ValueError):
            GraphExport.from_dict(damaged)


def _write_like(path: Path, array: np.ndarray, like: Path) -> Path:
    source = gdal.Open(str(like))
    out = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[2], array.shape[1], array.shape[0], gdal.GDT_Byte)
    out.SetGeoTransform(source.GetGeoTransform())
    if source.GetProjection():
        out.SetProjection(source.GetProjection())
    out.WriteArray(array)
    out = None
    return path


def test_test_time_augmentation_is_equivariant_and_the_same_in_arcgis(packages, raster, tmp_path):
    """With the eight views averaged, a mirrored or turned raster gives the mirrored or turned class map; the
    packaged function's augmentation gives our map."""
    path = packages(*PIXEL_NETWORKS[0])
    image = read(raster)[:, :128, :128]
    maps = {}
    for name, view in (("plain", image), ("mirrored", image[:, :, ::-1]), ("turned", np.rot90(image, 1, (1, 2)))):
        source = _write_like(tmp_path / f"{name}.tif", np.ascontiguousarray(view), raster)
        infer.classify_pixels(path, source, tmp_path / f"{name}_classes.tif", overlap=0, device="cpu",
                              test_time_augmentation=True)
        maps[name] = read(tmp_path / f"{name}_classes.tif")
    assert len(np.unique(maps["plain"])) > 1
    assert (maps["mirrored"] == maps["plain"][:, ::-1]).mean() >= 0.999
    assert (maps["turned"] == np.rot90(maps["plain"], 1)).mean() >= 0.999
    infer.classify_pixels(path, tmp_path / "plain.tif", tmp_path / "plain_once.tif", overlap=0, device="cpu")
    assert (read(tmp_path / "plain_once.tif") != maps["plain"]).any()  # the views do change the answer
    _, arcgis = run_like_arcgis(path, image, tmp_path, {"padding": 0, "test_time_augmentation": "True"})
    assert (arcgis == maps["plain"]).mean() >= 0.999
    # a package the search chose the eight views for predicts so by default, here and in ArcGIS, and once when told
    with open_package(path) as package:
        emd, state = copy.deepcopy(package.emd), package.state_dict()
    emd["AutoDL"]["training"]["test_time_augmentation"] = True
    chosen = write_package(tmp_path / "chosen.dlpk", emd, state)
    infer.classify_pixels(chosen, tmp_path / "plain.tif", tmp_path / "chosen_classes.tif", overlap=0, device="cpu")
    assert (read(tmp_path / "chosen_classes.tif") == maps["plain"]).all()
    infer.classify_pixels(chosen, tmp_path / "plain.tif", tmp_path / "chosen_once.tif", overlap=0, device="cpu",
                          test_time_augmentation=False)
    assert (read(tmp_path / "chosen_once.tif") == read(tmp_path / "plain_once.tif")).all()
    _, arcgis = run_like_arcgis(chosen, image, tmp_path, {"padding": 0})
    assert (arcgis == maps["plain"]).mean() >= 0.999
    _, arcgis = run_like_arcgis(chosen, image, tmp_path, {"padding": 0, "test_time_augmentation": "False"})
    assert (arcgis == read(tmp_path / "plain_once.tif")).mean() >= 0.999


def test_arcgis_function_undoes_each_view_of_a_box():
    """The function's box un-turning (numpy) and ours (torch) bring a box found in any of the eight views back."""
    from autodl_qgis.engine.infer.backend import VIEWS, _unview_boxes, _view

    function = _arcgis_function_module().AutoDLInference()
    function.width = 64
    image = torch.zeros(1, 1, 64, 64)
    image[..., 10:20, 30:50] = 1  # x 30..50, y 10..20
    for turns, flip in VIEWS:
        ys, xs = torch.nonzero(_view(image, turns, flip)[0, 0], as_tuple=True)
        box = torch.tensor([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=torch.float32)
        assert _unview_boxes(box, 64, turns, flip).tolist() == [[30, 10, 50, 20]]
        assert function._unview(box.numpy(), turns, flip).tolist() == [[30, 10, 50, 20]]


def _arcgis_function_module():
    import importlib.util

    from autodl_qgis.engine.package.export import FUNCTION_TEMPLATE

    spec = importlib.util.spec_from_file_location("arcgis_function", FUNCTION_TEMPLATE)
    function_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(function_module)
    return function_module


def test_views_fuse_into_one_object_scored_by_how_many_views_found_it():
    """Eight views' boxes: an object every view finds keeps its score and gets the score-weighted mean box; one a
    single view finds keeps an eighth of its score (a false alarm of one view no longer ranks with real objects); a
    view's second box on an object and another class's box on it do not count; the ArcGIS function fuses alike."""
    from autodl_qgis.engine.infer.backend import fuse_views

    views = []
    for i in range(8):
        boxes = [[10 + i % 2, 10, 30 + i % 2, 30]]  # x0 alternates 10 / 11 at equal score: mean 10.5
        scores, labels = [0.8], [1]
        if i == 3:
            boxes += [[40, 40, 60, 60], [10, 10, 30, 30], [12, 10, 31, 30]]  # a lone find, a class-2 box, a second box
            scores += [0.9, 0.6, 0.3]
            labels += [1, 2, 1]
        views.append({"boxes": torch.tensor(boxes, dtype=torch.float32), "scores": torch.tensor(scores),
                      "labels": torch.tensor(labels)})
    fused = fuse_views(views)
    found = sorted(zip(fused["scores"].tolist(), fused["labels"].tolist(), fused["boxes"].tolist()), reverse=True)
    assert [(round(s, 4), label) for s, label, _ in found] == [(0.8, 1), (0.1125, 1), (0.075, 2)]
    assert found[0][2] == pytest.approx([10.5, 10, 30.5, 30])
    assert found[1][2] == pytest.approx([40, 40, 60, 60]) and found[2][2] == pytest.approx([10, 10, 30, 30])
    nothing = {"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)}
    none = fuse_views([nothing] * 8)
    assert len(none["boxes"]) == len(none["scores"]) == 0

    module = _arcgis_function_module()
    pooled = [torch.cat([v[k] for v in views]).numpy() for k in ("boxes", "scores", "labels")]
    found_in = np.concatenate([np.full(len(v["scores"]), i) for i, v in enumerate(views)])
    boxes, scores, labels = module._fuse(*pooled, found_in, 8)
    theirs = sorted(zip(scores.tolist(), labels.tolist(), boxes.tolist()), reverse=True)
    assert [(round(s, 4), label) for s, label, _ in theirs] == [(0.8, 1), (0.1125, 1), (0.075, 2)]
    assert np.allclose([b for *_, b in theirs], [b for *_, b in found])


def test_boxes_the_views_disagree_on_by_more_than_the_merge_overlap_stay_apart():
    """Every view finds an object, four of them a box shifted to overlap the others' by 0.55 (IoU): fused as one
    object before (MERGE_IOU 0.5), whose averaged box then drifted by the shifted boxes; now the well-aligned four
    make the object and the shifted four another, each at half the score. The ArcGIS function fuses alike."""
    from torchvision.ops import box_iou

    from autodl_qgis.engine.infer.backend import MERGE_IOU, fuse_views

    aligned, shifted = [10.0, 10.0, 50.0, 50.0], [10.0 + 40.0 * 0.29, 10.0, 50.0 + 40.0 * 0.29, 50.0]  # IoU 0.55
    views = [{"boxes": torch.tensor([box]), "scores": torch.tensor([score]), "labels": torch.tensor([1])}
             for box, score in [(aligned, 0.8), (shifted, 0.6)] * 4]
    assert 0.5 < float(box_iou(torch.tensor([aligned]), torch.tensor([shifted]))) < MERGE_IOU
    fused = fuse_views(views)
    found = sorted(zip(fused["scores"].tolist(), fused["boxes"].tolist()), reverse=True)
    assert [round(s, 4) for s, _ in found] == [0.4, 0.3]
    assert found[0][1] == pytest.approx(aligned) and found[1][1] == pytest.approx(shifted)

    module = _arcgis_function_module()
    assert module.MERGE_IOU == MERGE_IOU
    pooled = [torch.cat([v[k] for v in views]).numpy() for k in ("boxes", "scores", "labels")]
    boxes, scores, _ = module._fuse(*pooled, np.arange(8), 8)
    assert sorted(scores.tolist(), reverse=True) == pytest.approx([0.4, 0.3])
    assert np.allclose(boxes[np.argsort(-scores)], [aligned, shifted])
