"""Export Training Data For Deep Learning: a small georeferenced raster with bright rectangles and their polygons,
exported in every format and read back with TrainingData."""
import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from autodl_qgis.engine.data import CLASSIFIED_TILES, FORMATS, KITTI, PASCAL_VOC, RCNN_MASKS, TrainingData
from autodl_qgis.engine.data.export import export_training_data
from autodl_qgis.engine.errors import InputDataError
from autodl_qgis.engine.progress import Cancelled, SilentCallbacks
from conftest import CancelAfter

WIDTH, HEIGHT, PIXEL, X0, Y0, CHIP = 256, 192, 0.5, 500000.0, 4100000.0, 64
NAMES = {1: "pool", 2: "building"}
# (class, col0, row0, col1, row1) in raster pixels. B crosses the edge between windows (0, 1) and (0, 2) with only
# 8 of its 60 columns in (0, 1), so box formats drop it there.
RECTS = [(1, 10, 12, 40, 36), (2, 120, 20, 180, 50), (2, 70, 80, 110, 120), (1, 200, 140, 240, 180)]
WINDOWS = (HEIGHT // CHIP) * (WIDTH // CHIP)  # 12


def _srs(epsg):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _map(col, row):
    return X0 + col * PIXEL, Y0 - row * PIXEL


def _class_map():
    values = np.zeros((HEIGHT, WIDTH), np.uint8)
    for value, c0, r0, c1, r1 in RECTS:
        values[r0:r1, c0:c1] = value
    return values


def _write_raster(path, array, pixel=PIXEL, epsg=32633, nodata=None):
    array = array[np.newaxis] if array.ndim == 2 else array
    ds = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[2], array.shape[1], array.shape[0], gdal.GDT_Byte)
    ds.SetGeoTransform((X0, pixel, 0.0, Y0, 0.0, -pixel))
    ds.SetProjection(_srs(epsg).ExportToWkt())
    for i, band in enumerate(array, start=1):
        ds.GetRasterBand(i).WriteArray(band)
        if nodata is not None:
            ds.GetRasterBand(i).SetNoDataValue(nodata)
    return ds


def _write_vector(path, epsg=32633, points=False):
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer("objects", srs=_srs(epsg), geom_type=ogr.wkbPoint if points else ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("classvalue", ogr.OFTInteger))
    layer.CreateField(ogr.FieldDefn("Classname", ogr.OFTString))
    to_epsg = osr.CoordinateTransformation(_srs(32633), _srs(epsg)) if epsg != 32633 else None
    for value, c0, r0, c1, r1 in RECTS:
        (x0, y0), (x1, y1) = _map(c0, r0), _map(c1, r1)
        if points:
            geometry = ogr.CreateGeometryFromWkt(f"POINT ({(x0 + x1) / 2} {(y0 + y1) / 2})")
        else:
            geometry = ogr.CreateGeometryFromWkt(f"POLYGON (({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))")
        if to_epsg:
            geometry.Transform(to_epsg)
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(geometry)
        feature.SetField("classvalue", value)
        feature.SetField("Classname", NAMES[value])
        layer.CreateFeature(feature)
    ds = None
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    image = rng.integers(20, 60, (3, HEIGHT, WIDTH)).astype(np.uint8)
    class_map = _class_map()
    for band in range(3):
        image[band][class_map > 0] = 150 + 40 * class_map[class_map > 0] + 10 * band
    _write_raster(folder / "image.tif", image)
    # Class values on a coarser (1 m) grid with a NoData strip: resampled by nearest, they match the polygons.
    coarse = class_map[::2, ::2].copy()
    coarse[:, -4:] = 255
    ds = _write_raster(folder / "classes.tif", coarse, pixel=2 * PIXEL, nodata=255)
    rat = gdal.RasterAttributeTable()
    rat.CreateColumn("Value", gdal.GFT_Integer, gdal.GFU_MinMax)
    rat.CreateColumn("ClassName", gdal.GFT_String, gdal.GFU_Name)
    for row, (value, name) in enumerate(NAMES.items()):
        rat.SetValueAsInt(row, 0, value)
        rat.SetValueAsString(row, 1, name)
    ds.GetRasterBand(1).SetDefaultRAT(rat)
    colors = gdal.ColorTable()
    colors.SetColorEntry(1, (0, 0, 255, 255))
    colors.SetColorEntry(2, (255, 0, 0, 255))
    ds.GetRasterBand(1).SetRasterColorTable(colors)
    ds = None
    return {"image": folder / "image.tif", "image_array": image, "classes": folder / "classes.tif",
            "polygons": _write_vector(folder / "objects.gpkg"),
            "polygons_4326": _write_vector(folder / "objects_4326.gpkg", epsg=4326),
            "points": _write_vector(folder / "points.gpkg", points=True)}


def _export(inputs, folder, labels="polygons", **options):
    options.setdefault("class_field", "classvalue")
    options.setdefault("chip_size", CHIP)
    return export_training_data(inputs["image"], folder, inputs[labels], **options)


def _window(data, chip):
    """(col, row) of a chip's top-left pixel in the source raster, from its own georeferencing."""
    x0, dx, _, y0, _, dy = gdal.Open(str(chip.image)).GetGeoTransform()
    return round((x0 - X0) / PIXEL), round((Y0 - y0) / PIXEL)


def _expected_boxes(col, row):
    """The rectangles clipped to the window, kept with at least a quarter of their area inside."""
    boxes = {}
    for value, c0, r0, c1, r1 in RECTS:
        box = (max(c0 - col, 0), max(r0 - row, 0), min(c1 - col, CHIP), min(r1 - row, CHIP))
        inside = max(box[2] - box[0], 0) * max(box[3] - box[1], 0)
        if inside and inside >= (c1 - c0) * (r1 - r0) / 4:
            boxes[box] = value
    return boxes


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_back(inputs, tmp_path, fmt):
    result = _export(inputs, tmp_path / "out", metadata_format=fmt)
    data = TrainingData.open(tmp_path / "out")
    assert data.format == fmt
    assert [(c.value, c.name) for c in data.classes] == [(1, "pool"), (2, "building")]
    assert [(c.value, c.name) for c in result.classes] == [(1, "pool"), (2, "building")]
    assert data.chip_size == (CHIP, CHIP) and data.header.bands == 3
    expected_chips = 5 if fmt == CLASSIFIED_TILES else 4  # window (0, 1) holds only a sliver of B
    assert result.chips == len(data.chips) == expected_chips
    assert result.skipped == WINDOWS - expected_chips
    for chip in data.chips:
        col, row = _window(data, chip)
        label = data.read_label_values(chip)
        if fmt == CLASSIFIED_TILES:
            np.testing.assert_array_equal(label.values, _class_map()[row:row + CHIP, col:col + CHIP])
        else:
            expected = sorted(_expected_boxes(col, row).items())
            found = sorted(zip(label.boxes.tolist(), label.values.tolist()))
            assert [v for _, v in found] == [v for _, v in expected]
            np.testing.assert_allclose([b for b, _ in found], [b for b, _ in expected], atol=1)
        if fmt == RCNN_MASKS:
            for box, mask in zip(label.boxes.astype(int), label.masks):
                assert mask.sum() == (box[2] - box[0]) * (box[3] - box[1])


def test_chips_are_georeferenced_windows(inputs, tmp_path):
    _export(inputs, tmp_path / "out", metadata_format=KITTI, only_chips_with_features=False)
    data = TrainingData.open(tmp_path / "out")
    assert len(data.chips) == WINDOWS
    for i, chip in enumerate(data.chips):
        row, col = divmod(i, WIDTH // CHIP)
        ds = gdal.Open(str(chip.image))
        x, y = _map(col * CHIP, row * CHIP)
        assert ds.GetGeoTransform() == pytest.approx((x, PIXEL, 0.0, y, 0.0, -PIXEL))
        assert osr.SpatialReference(wkt=ds.GetProjection()).IsSame(_srs(32633))
        np.testing.assert_array_equal(
            data.read_image(i), inputs["image_array"][:, row * CHIP:(row + 1) * CHIP, col * CHIP:(col + 1) * CHIP])
        world = [float(v) for v in chip.image.with_suffix(".tfw").read_text().split()]
        assert world == pytest.approx([PIXEL, 0, 0, -PIXEL, x + PIXEL / 2, y - PIXEL / 2])


def test_stride_and_progress(inputs, tmp_path):
    class Recorder(SilentCallbacks):
        fractions = []

        def progress(self, fraction, message):
            self.fractions.append(fraction)

    callbacks = Recorder()
    result = _export(inputs, tmp_path / "out", metadata_format=PASCAL_VOC, stride=32, only_chips_with_features=False,
                     callbacks=callbacks)
    assert result.chips == 5 * 7 and result.skipped == 0
    assert callbacks.fractions[0] == 0 and callbacks.fractions[-1] == 1
    assert callbacks.fractions == sorted(callbacks.fractions)


def test_cancel_leaves_nothing(inputs, tmp_path):
    with pytest.raises(Cancelled):
        _export(inputs, tmp_path / "out", only_chips_with_features=False, callbacks=CancelAfter(3))
    assert list(tmp_path.iterdir()) == []


def test_reprojected_labels_give_the_same_boxes(inputs, tmp_path):
    _export(inputs, tmp_path / "utm", metadata_format=PASCAL_VOC)
    _export(inputs, tmp_path / "wgs84", labels="polygons_4326", metadata_format=PASCAL_VOC)
    utm, wgs84 = TrainingData.open(tmp_path / "utm"), TrainingData.open(tmp_path / "wgs84")
    assert len(utm.chips) == len(wgs84.chips) == 4
    for a, b in zip(utm.chips, wgs84.chips):
        la, lb = utm.read_label_values(a), wgs84.read_label_values(b)
        np.testing.assert_array_equal(la.values, lb.values)
        np.testing.assert_allclose(la.boxes, lb.boxes, atol=0.05)


def test_text_class_field_numbers_names_in_sorted_order(inputs, tmp_path):
    result = _export(inputs, tmp_path / "out", class_field="Classname")
    assert [(c.value, c.name) for c in result.classes] == [(1, "building"), (2, "pool")]
    data = TrainingData.open(tmp_path / "out")
    chip = next(c for c in data.chips if _window(data, c) == (0, 0))
    assert set(np.unique(data.read_label_values(chip).values).tolist()) == {0, 2}  # A is a pool


def test_buffered_points(inputs, tmp_path):
    result = _export(inputs, tmp_path / "out", labels="points", metadata_format=PASCAL_VOC, buffer_radius=4.0)
    data = TrainingData.open(tmp_path / "out")
    assert result.chips == 4
    label = data.read_label_values(data.chips[0])
    (box,) = label.boxes
    assert box.tolist() == pytest.approx([25 - 8, 24 - 8, 25 + 8, 24 + 8], abs=0.01)  # 4 m = 8 px around the centre


def test_classified_raster_labels(inputs, tmp_path):
    result = _export(inputs, tmp_path / "raster", labels="classes", class_field=None)
    _export(inputs, tmp_path / "vector")
    from_raster, from_vector = TrainingData.open(tmp_path / "raster"), TrainingData.open(tmp_path / "vector")
    assert [(c.value, c.name, c.color) for c in result.classes] == [(1, "pool", (0, 0, 255)),
                                                                     (2, "building", (255, 0, 0))]
    assert [(c.value, c.name) for c in from_raster.classes] == [(1, "pool"), (2, "building")]
    assert len(from_raster.chips) == len(from_vector.chips) == 5
    for a, b in zip(from_raster.chips, from_vector.chips):
        np.testing.assert_array_equal(from_raster.read_label_values(a).values, from_vector.read_label_values(b).values)


def _leftovers(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir())


@pytest.mark.parametrize("case, options, message", [
    ("missing field", {"class_field": "kind"}, "has no field 'kind' (fields: classvalue, Classname)"),
    ("points without buffer", {"labels": "points"}, "holds point features"),
    ("chip larger than raster", {"chip_size": 200}, "smaller than the 200 px chip size"),
    ("stride", {"stride": 0}, "stride is 0, outside 1..8192"),
    ("format", {"metadata_format": "YOLO"}, "unknown metadata format 'YOLO'"),
    ("raster labels for boxes", {"labels": "classes", "metadata_format": PASCAL_VOC}, "is a raster"),
    ("missing labels", {"labels": "nowhere"}, "does not exist"),
])
def test_bad_input(inputs, tmp_path, case, options, message):
    inputs = dict(inputs, nowhere=tmp_path / "nowhere.gpkg")
    with pytest.raises(InputDataError) as error:
        _export(inputs, tmp_path / "out", **options)
    assert message in str(error.value)
    assert _leftovers(tmp_path) == []


def test_unreadable_raster(inputs, tmp_path):
    (tmp_path / "broken.tif").write_bytes(b"not a tiff")
    with pytest.raises(InputDataError, match="broken.tif: is not a readable raster"):
        export_training_data(tmp_path / "broken.tif", tmp_path / "out", inputs["polygons"], class_field="classvalue")
    with pytest.raises(InputDataError, match="has no layer 'roads' \\(layers: objects\\)"):
        _export(inputs, tmp_path / "out", labels_layer="roads")
    assert _leftovers(tmp_path) == ["broken.tif"]


def test_labels_outside_the_raster(inputs, tmp_path):
    far = tmp_path / "far.gpkg"
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(far))
    layer = ds.CreateLayer("far", srs=_srs(32633), geom_type=ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("classvalue", ogr.OFTInteger))
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetGeometry(ogr.CreateGeometryFromWkt("POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))"))
    feature.SetField("classvalue", 1)
    layer.CreateFeature(feature)
    ds = None
    with pytest.raises(InputDataError, match="no feature overlaps the raster"):
        export_training_data(inputs["image"], tmp_path / "out", far, class_field="classvalue", chip_size=CHIP)
    # The only 16 px window holds a corner of A, too little of it for a box.
    with pytest.raises(InputDataError, match="no 16 x 16 px window"):
        _export(inputs, tmp_path / "out", metadata_format=PASCAL_VOC, chip_size=16, stride=1000)
    assert _leftovers(tmp_path) == ["far.gpkg"]


def test_existing_folder_is_never_overwritten(inputs, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(InputDataError, match="already exists and is not empty"):
        _export(inputs, tmp_path / "out")
    assert _leftovers(tmp_path) == ["out"] and [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
