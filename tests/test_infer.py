"""Using a trained package on a georeferenced raster: detection to GeoPackage, classification to GeoTIFF."""
import numpy as np
import pytest
from osgeo import gdal, ogr

from autodl_qgis.cli import main
from autodl_qgis.engine.data import CLASSIFIED_TILES, PASCAL_VOC, TrainingData
from autodl_qgis.engine.data.writer import write_raster
from autodl_qgis.engine.errors import InputDataError
from autodl_qgis.engine.infer import classify_pixels, detect_objects
from scenes import GEOTRANSFORM, iou, map_box, mosaic_scene, package_from


@pytest.fixture(scope="module")
def detector(synthetic, tmp_path_factory):
    data = TrainingData.open(synthetic(PASCAL_VOC, num_chips=48))
    return package_from(data, "FasterRCNN", "resnet18", 10, tmp_path_factory.mktemp("models") / "detector.dlpk")


@pytest.fixture(scope="module")
def classifier(synthetic, tmp_path_factory):
    data = TrainingData.open(synthetic(CLASSIFIED_TILES, num_chips=48))
    return package_from(data, "UnetClassifier", "resnet18", 8, tmp_path_factory.mktemp("models") / "classifier.dlpk")


def test_detections_are_georeferenced_polygons_and_seam_objects_come_out_once(detector, tmp_path):
    scene, _, boxes, values = mosaic_scene(tmp_path)
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
    truth = [map_box(b) for b in boxes]
    # a from-scratch model trained for seconds draws loose boxes: found = overlapping its object by IoU > 0.3
    matched = [any(iou(t, f[0]) > 0.3 for f in found) for t in truth]
    assert sum(matched) >= 0.7 * len(truth), (sum(matched), len(truth))
    seam = map_box(boxes[-1])
    assert sum(iou(seam, f[0]) > 0.3 for f in found) == 1  # found, and only once across the tile seam


def test_classified_raster_keeps_the_grid_and_has_no_seams(classifier, tmp_path):
    scene, class_map, _, _ = mosaic_scene(tmp_path)
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
    scene, _, _, _ = mosaic_scene(tmp_path)
    with pytest.raises(InputDataError, match="is a object detection model"):
        classify_pixels(detector, scene, tmp_path / "x.tif", device="cpu")
    grey = tmp_path / "grey.tif"
    write_raster(grey, np.zeros((1, 64, 64), np.uint8), GEOTRANSFORM, None)
    with pytest.raises(InputDataError, match="has 1 band"):
        detect_objects(detector, grey, tmp_path / "x.gpkg", device="cpu")
    assert not (tmp_path / "x.tif").exists() and not (tmp_path / "x.gpkg").exists()
    bare, _, _, _ = mosaic_scene(tmp_path / "bare" if (tmp_path / "bare").mkdir() is None else tmp_path, crs=False)
    assert main(["classify", str(classifier), str(bare), str(tmp_path / "bare.tif"), "--device", "cpu"]) == 0
    assert gdal.Open(str(tmp_path / "bare.tif")).GetProjection() == ""


def test_extent_and_mask_limit_where_the_model_looks(detector, classifier, tmp_path):
    scene, class_map, _, _ = mosaic_scene(tmp_path)
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
    scene, _, _, _ = mosaic_scene(tmp_path)
    out = tmp_path / "classes.tif"
    out.write_bytes(b"previous result")
    with pytest.raises(InputDataError, match="does not overlap the raster"):
        classify_pixels(classifier, scene, out, extent=(0, 0, 1, 1), device="cpu")
    assert out.read_bytes() == b"previous result" and sorted(p.name for p in tmp_path.iterdir()) == [
        "classes.tif", "scene.tfw", "scene.tif"]
    with pytest.raises(InputDataError, match="not a vector format"):
        detect_objects(classifier, scene, tmp_path / "objects.txt", device="cpu")


def test_cli_exports_chips_and_detects(detector, tmp_path, capsys):
    from scenes import write_label_polygons

    scene, _, boxes, values = mosaic_scene(tmp_path)
    labels = write_label_polygons(tmp_path / "objects.gpkg", boxes, values)
    assert main(["export", str(scene), str(labels), str(tmp_path / "chips"), "--class-field", "classvalue",
                 "--format", PASCAL_VOC, "--chip-size", "64", "--stride", "32"]) == 0
    assert TrainingData.open(tmp_path / "chips").format == PASCAL_VOC
    assert main(["export", str(scene), str(labels), str(tmp_path / "again"), "--class-field", "missing",
                 "--chip-size", "64"]) == 2
    assert "missing" in capsys.readouterr().err and not (tmp_path / "again").exists()
    assert main(["detect", str(detector), str(scene), str(tmp_path / "objects.geojson"), "--device", "cpu"]) == 0
    assert "object(s) from 16 tile(s)" in capsys.readouterr().out
    source = ogr.Open(str(tmp_path / "objects.geojson"))
    assert source.GetLayer(0).GetFeatureCount() > 0


@pytest.mark.parametrize("width,height,tile,overlap", [(1500, 300, 64, 16), (700, 130, 100, 30), (513, 64, 64, 0)])
def test_tiles_in_strips_cover_every_pixel_once_with_context(width, height, tile, overlap):
    """Tiles come in vertical strips (so what is buffered is one strip wide): their cores still cover each pixel
    exactly once, and every core keeps at least half the overlap of context inside its window, except at the
    region's edges."""
    import numpy as np

    from autodl_qgis.engine.infer.raster import Tiling, Window

    region = Window(10, 20, width, height)
    tiling = Tiling(region, tile, overlap, strip=256)
    covered = np.zeros((height, width), np.int32)
    tiles = list(tiling)
    assert len(tiles) == len(tiling) and len({t.columns for t in tiles}) > 1
    for t in tiles:
        x0, y0, x1, y1 = t.core
        w = t.window
        covered[y0 - region.y:y1 - region.y, x0 - region.x:x1 - region.x] += 1
        assert w.x <= x0 < x1 <= w.x + w.width and w.y <= y0 < y1 <= w.y + w.height
        assert t.columns[0] <= x0 and x1 <= t.columns[1]
        half = overlap // 2
        assert x0 - w.x >= half or w.x == region.x
        assert w.x + w.width - x1 >= half or w.x + w.width == region.x + region.width
    assert (covered == 1).all()


def _classes(path) -> np.ndarray:
    dataset = gdal.Open(str(path))  # held while its band is read
    return dataset.GetRasterBand(1).ReadAsArray()


def test_blending_without_overlap_is_the_core_map(classifier, tmp_path):
    """Tiles that do not overlap leave nothing to blend: the same map, pixel for pixel."""
    scene, _, _, _ = mosaic_scene(tmp_path)
    core = classify_pixels(classifier, scene, tmp_path / "core.tif", overlap=0, device="cpu")
    blended = classify_pixels(classifier, scene, tmp_path / "blended.tif", overlap=0, blend_overlap=True,
                              device="cpu")
    assert (_classes(tmp_path / "core.tif") == _classes(tmp_path / "blended.tif")).all()
    assert core.class_pixels == blended.class_pixels and core.tiles == blended.tiles == 9


def test_blended_map_is_as_true_as_cores_and_has_no_seams(classifier, tmp_path):
    from autodl_qgis.engine.infer.raster import Tiling, Window

    scene, class_map, _, _ = mosaic_scene(tmp_path)
    accuracy = {}
    for blend in (False, True):
        out = tmp_path / f"mosaic_{blend}.tif"
        classify_pixels(classifier, scene, out, overlap=16, blend_overlap=blend, device="cpu")
        accuracy[blend] = (_classes(out) == class_map).mean()
    print(f"pixel accuracy on the mosaic, 64 px tiles, overlap 16: cores {accuracy[False]:.4f}, "
          f"blended {accuracy[True]:.4f}")
    assert accuracy[True] > 0.95 and accuracy[True] >= accuracy[False] - 0.002

    # one chip repeated 4 x 4: tiles (step 48) see it at other phases, yet the blended map repeats with the chip
    # and changes class no more often across the tiles' core boundaries and window edges than elsewhere
    chip = gdal.Open(str(scene)).ReadAsArray()[:, :64, :64]  # a dataset's own ReadAsArray holds it
    write_raster(tmp_path / "repeated.tif", np.tile(chip, (1, 4, 4)), GEOTRANSFORM, None)
    classify_pixels(classifier, tmp_path / "repeated.tif", tmp_path / "repeated_classes.tif", overlap=16,
                    blend_overlap=True, device="cpu")
    blended = _classes(tmp_path / "repeated_classes.tif")
    tiles = list(Tiling(Window(0, 0, 256, 256), 64, 16))
    edges = sorted(({t.core[0] for t in tiles} | {t.window.x for t in tiles}
                    | {t.window.x + t.window.width for t in tiles}) - {0, 256})
    for classes in (blended, blended.T):  # changes between columns x - 1 and x (then rows)
        changes = (classes[:, 1:] != classes[:, :-1]).mean(axis=0)
        at_edges = changes[[x - 1 for x in edges]].mean()
        elsewhere = np.delete(changes, [x - 1 for x in edges]).mean()
        print(f"class changes across tile edges {at_edges:.4f}, elsewhere {elsewhere:.4f}")
        assert at_edges <= elsewhere + 0.005
    periodic = (blended[:, :-64] == blended[:, 64:]).mean(), (blended[:-64] == blended[64:]).mean()
    assert min(periodic) > 0.995, periodic


def test_blend_weights_make_every_pixel_a_weighted_mean_of_its_tiles():
    """Where windows overlap by the overlap the weights of the tiles covering a pixel sum to 1; everywhere they
    are positive, so summing tiles that all predict the same field and taking the argmax gives that field's classes
    exactly, up to the region's edges, across strips and in every row of tiles."""
    from autodl_qgis.engine.infer.raster import Tiling, Window
    from autodl_qgis.engine.infer.run import _BlendedStrip

    region = Window(5, 7, 300, 200)
    tiling = Tiling(region, 64, 16, strip=256)
    assert tiling.ramp().min() > 0 and tiling.ramp().max() == 1
    total = np.zeros((region.height, region.width))
    for tile in tiling:
        if tile.columns[0] == region.x:  # the first strip: its tiles step regularly until the last, flush one
            w = tile.window
            total[w.y - region.y:w.y - region.y + w.height, w.x - region.x:w.x - region.x + w.width] += \
                tiling.weights()[:w.height, :w.width]
    assert np.allclose(total[16:128, 16:160], 1, atol=1e-5) and (total[:, :256] > 0).all()

    rng = np.random.default_rng(0)
    field = rng.random((3, region.height, region.width)).astype(np.float32)
    truth = field.argmax(0)
    got = np.full((region.height, region.width), -1)
    strip = None

    def take(final):
        if final is not None:
            top, index, _ = final
            got[top - region.y:top - region.y + len(index),
                strip.columns[0] - region.x:strip.columns[1] - region.x] = index

    for tile in tiling:
        if strip is None or strip.columns != tile.columns:
            if strip is not None:
                take(strip.final_above(region.y + region.height))
            strip = _BlendedStrip(3, 64, tiling.reach(tile.columns), tile.columns, region.y, False)
        w = tile.window
        take(strip.final_above(w.y))
        seen = field[:, w.y - region.y:w.y - region.y + w.height, w.x - region.x:w.x - region.x + w.width]
        strip.add(w, seen * tiling.weights()[:w.height, :w.width], None)
        assert strip.sums.shape == (3, 64, 256 + 8) or strip.columns[1] == region.x + region.width
    take(strip.final_above(region.y + region.height))
    assert (got == truth).all()


def test_blending_buffers_one_tile_row_of_one_strip(classifier, tmp_path, monkeypatch):
    """The blended probabilities held at once are a tile high and a strip (plus its overlap) wide, whatever the
    raster's height; the strip narrows to the budget."""
    from autodl_qgis.engine.infer import run as run_module

    assert run_module.blend_strip(3, 256) > 8192 and run_module.blend_strip(300, 512) < run_module.blend_strip(3, 512)
    for classes, tile in ((3, 256), (21, 512), (100, 256)):
        strip = run_module.blend_strip(classes, tile)
        assert strip % 256 == 0 and (4 * classes + 1) * tile * (strip + tile) <= run_module.BLEND_BUFFER_BYTES
    monkeypatch.setattr(run_module, "BLEND_BUFFER_BYTES", 13 * 64 * 320)  # 3 classes, 64 px tiles: 256 columns
    buffers = []

    class Recorded(run_module._BlendedStrip):
        def add(self, window, weighted, valid):
            buffers.append(self.sums.shape)
            super().add(window, weighted, valid)

    monkeypatch.setattr(run_module, "_BlendedStrip", Recorded)
    rng = np.random.default_rng(3)
    tall = tmp_path / "tall.tif"
    write_raster(tall, rng.integers(0, 255, (3, 900, 520), dtype=np.uint8), GEOTRANSFORM, None)
    result = classify_pixels(classifier, tall, tmp_path / "tall_classes.tif", overlap=16, blend_overlap=True,
                             device="cpu")
    assert set(buffers) == {(3, 64, 256 + 8), (3, 64, 8 + 256 + 8), (3, 64, 8 + 8)}, set(buffers)
    assert sum(result.class_pixels.values()) == 900 * 520


def test_cli_blend_overlap_reaches_the_engine(classifier, tmp_path, monkeypatch):
    from autodl_qgis.engine import infer

    scene, _, _, _ = mosaic_scene(tmp_path)
    calls = []
    real = infer.classify_pixels
    monkeypatch.setattr(infer, "classify_pixels", lambda *a, **k: calls.append(k) or real(*a, **k))
    for flags in ([], ["--blend-overlap"]):
        assert main(["classify", str(classifier), str(scene), str(tmp_path / "c.tif"), "--device", "cpu",
                     *flags]) == 0
    assert [c["blend_overlap"] for c in calls] == [False, True]
    with pytest.raises(SystemExit):  # objects are not blended (see detect_objects)
        main(["detect", str(classifier), str(scene), str(tmp_path / "o.gpkg"), "--blend-overlap"])


def test_blending_leaves_nodata_and_masked_pixels_as_cores_do(classifier, tmp_path):
    scene, class_map, _, _ = mosaic_scene(tmp_path)
    holed = tmp_path / "holed.tif"
    image = gdal.Open(str(scene)).ReadAsArray()
    image[:, 100:140, 20:60] = 0
    write_raster(holed, image, GEOTRANSFORM, None)
    dataset = gdal.Open(str(holed), gdal.GA_Update)
    for b in (1, 2, 3):
        dataset.GetRasterBand(b).SetNoDataValue(0)
    dataset = None
    x0, dx, _, y0, _, dy = GEOTRANSFORM
    left = f"POLYGON(({x0} {y0}, {x0 + 96 * dx} {y0}, {x0 + 96 * dx} {y0 + 192 * dy}, {x0} {y0 + 192 * dy}, {x0} {y0}))"
    maps = {}
    for blend in (False, True):
        classify_pixels(classifier, holed, tmp_path / f"holed_{blend}.tif", mask_wkt=left, blend_overlap=blend,
                        device="cpu")
        maps[blend] = _classes(tmp_path / f"holed_{blend}.tif")
    outside = np.zeros((192, 192), bool)
    outside[100:140, 20:60] = True
    outside[:, 96:] = True
    for classes in maps.values():
        assert (classes[outside] == 0).all() and (classes[~outside] == class_map[~outside]).mean() > 0.9
    assert (maps[True][~outside] == maps[False][~outside]).mean() > 0.99
