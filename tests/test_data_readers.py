"""Readers of export folders: synthetic folders written with GDAL, and real files written by ArcGIS."""
import json

import numpy as np
import pytest
from osgeo import gdal

from autodl_qgis.cli import main
from autodl_qgis.engine.data import (CLASSIFIED_TILES, KITTI, PASCAL_VOC, RCNN_MASKS, ClassInfo, TrainingData)
from autodl_qgis.engine.data.esri import read_export_metadata, read_json, parse_classes
from autodl_qgis.engine.data.labels import BoxLabel, PixelLabel
from autodl_qgis.engine.data.writer import TrainingDataWriter

CLASSES = [ClassInfo(1, "pool", (0, 0, 255)), ClassInfo(3, "solar panel", (255, 200, 0))]


def _write(folder, fmt, chips, image_format="tif", bands=3, dtype="uint8"):
    """Writes the given labels on random chips; returns the folder."""
    rng = np.random.default_rng(1)
    with TrainingDataWriter(folder, fmt, CLASSES, image_format=image_format) as writer:
        for label in chips:
            image = rng.integers(0, 200, (bands, 32, 48)).astype(dtype)
            writer.add(image, label, (1000.0, 2.0, 0.0, 5000.0, 0.0, -2.0), None)
    return folder


BOXES = [BoxLabel(np.array([[1.25, 2.5, 10.0, 20.75], [30, 0, 48, 32]], np.float32), np.array([1, 3])),
         BoxLabel(np.zeros((0, 4), np.float32), np.zeros(0, np.int64)),
         BoxLabel(np.array([[5, 5, 6, 7]], np.float32), np.array([3]))]


@pytest.mark.parametrize("fmt,image_format", [(PASCAL_VOC, "jpg"), (PASCAL_VOC, "tif"), (KITTI, "png")])
def test_boxes_round_trip_through_the_exporter_layout(tmp_path, fmt, image_format):
    data = TrainingData.open(_write(tmp_path / "out", fmt, BOXES, image_format))
    assert data.format == fmt and data.task == "object_detection"
    assert [c.value for c in data.classes] == [1, 3] and data.classes[1].name == "solar panel"
    assert data.chip_size == (32, 48) and data.header.bands == 3 and data.header.dtype == "uint8"
    assert data.num_objects == 3 and data.num_labeled_images == 2 and data.objects_per_class == {1: 1, 3: 2}
    for chip, expected in zip(data.chips, BOXES):
        label = data.read_label_values(chip)
        np.testing.assert_allclose(label.boxes, expected.boxes, atol=0.005)
        assert label.values.tolist() == expected.values.tolist()
    assert data.class_index == {1: 1, 3: 2}


def test_tiles_round_trip_with_background_and_16_bit_chips(tmp_path):
    maps = [np.zeros((32, 48), np.int64) for _ in range(3)]
    maps[0][:10, :10] = 1
    maps[1][5:, 20:] = 3
    data = TrainingData.open(_write(tmp_path / "t", CLASSIFIED_TILES, [PixelLabel(m) for m in maps],
                                    bands=4, dtype="uint16"))
    assert data.task == "pixel_classification" and data.header.bands == 4 and data.header.dtype == "uint16"
    assert data.num_labeled_images == 2
    assert data.pixels_per_value == {0: 3 * 32 * 48 - 100 - 27 * 28, 1: 100, 3: 27 * 28}
    for chip, expected in zip(data.chips, maps):
        np.testing.assert_array_equal(data.read_label_values(chip).values, expected)
    # labels carry the class colours, as Esri's do
    ds = gdal.Open(str(data.chips[0].labels[0]))  # keep the dataset alive while its band is used
    assert ds.GetRasterBand(1).GetColorTable().GetColorEntry(3)[:3] == (255, 200, 0)


def test_rcnn_masks_in_both_layouts(tmp_path):
    masks = np.zeros((3, 32, 48), bool)
    masks[0, 2:8, 3:9] = masks[1, 20:30, 30:40] = masks[2, 10:12, 10:20] = True
    label = BoxLabel(np.zeros((3, 4), np.float32), np.array([1, 3, 1]), masks)
    data = TrainingData.open(_write(tmp_path / "r", RCNN_MASKS, [label, label]))
    read = data.read_label_values(data.chips[0])
    assert sorted(read.values.tolist()) == [1, 1, 3] and read.masks.shape == (3, 32, 48)
    got = sorted(map(tuple, read.boxes.tolist()))
    assert got == sorted([(3, 2, 9, 8), (30, 20, 40, 30), (10, 10, 20, 12)])
    # flat layout: one class-value raster per chip, instances = connected regions
    flat = tmp_path / "flat"
    (flat / "images").mkdir(parents=True)
    (flat / "labels").mkdir()
    for chip in data.chips:
        gdal.Translate(str(flat / "images" / chip.image.name), str(chip.image))
        values = np.zeros((32, 48), np.uint8)
        values[masks[0]] = 1
        values[masks[1]] = 3
        values[masks[2]] = 1
        driver = gdal.GetDriverByName("GTiff").Create(str(flat / "labels" / chip.image.name), 48, 32, 1)
        driver.GetRasterBand(1).WriteArray(values)
        driver = None
    (flat / "esri_accumulated_stats.json").write_text(json.dumps({"MetaDataMode": RCNN_MASKS, "Classes": [
        {"ClassValue": 1, "ClassName": "pool"}, {"ClassValue": 3, "ClassName": "solar panel"}]}))
    flat_data = TrainingData.open(flat)
    assert flat_data.format == RCNN_MASKS and flat_data.num_objects == 6


@pytest.mark.parametrize("fmt", [CLASSIFIED_TILES, PASCAL_VOC, KITTI, RCNN_MASKS])
def test_format_is_detected_from_labels_when_metadata_is_absent(synthetic, tmp_path, fmt):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(synthetic(fmt), folder)
    for name in ("esri_accumulated_stats.json", "esri_model_definition.emd", "map.txt", "stats.txt"):
        (folder / name).unlink()
    data = TrainingData.open(folder)
    assert data.format == fmt
    # without declarations, classes are discovered from the labels themselves
    assert [c.value for c in data.classes] == [1, 2] and data.band_statistics.source.startswith("computed")


@pytest.mark.parametrize("fmt,options", [
    (PASCAL_VOC, {"image_format": "jpg"}),
    (KITTI, {"image_format": "png", "num_classes": 1}),
    (CLASSIFIED_TILES, {"bands": 4, "dtype": "uint16", "num_classes": 3}),
    (RCNN_MASKS, {}),
])
def test_inspect_json_reports_each_fixture(synthetic, capsys, fmt, options):
    folder = synthetic(fmt, **options)
    assert main(["inspect", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    stats = json.loads((folder / "esri_accumulated_stats.json").read_text())
    assert report["format"] == fmt
    assert report["num_images"] == stats["NumTiles"] == 8
    assert report["chip_size"] == [64, 64] and report["bands"] == options.get("bands", 3)
    assert report["dtype"] == options.get("dtype", "uint8")
    assert [c["value"] for c in report["classes"]] == list(range(1, options.get("num_classes", 2) + 1))
    assert report["classes"][0]["name"] == "pool"
    if fmt == CLASSIFIED_TILES:
        assert report["task"] == "pixel_classification" and "num_objects" not in report
        fractions = report["class_pixel_fraction"]
        assert abs(sum(fractions.values()) - 1) < 1e-4 and fractions["0"] > 0.5
        counts = stats["ClassPixelStats"]["NumPixelsPerClass"]
        assert fractions["1"] == pytest.approx(counts[0] / (8 * 64 * 64), abs=1e-6)
    else:
        assert report["task"] == "object_detection"
        assert report["num_objects"] == stats["FeatureStats"]["NumFeaturesTotal"] > 0
        assert report["num_labeled_images"] == 8
    assert report["warnings"] == []


def test_inspect_table_is_human_readable(synthetic, capsys):
    assert main(["inspect", str(synthetic(CLASSIFIED_TILES))]) == 0
    out = capsys.readouterr().out
    assert "Classified_Tiles" in out and "pixel_classification" in out and "(background / NoData)" in out
    assert "64 x 64 px" in out


def test_writer_layout_matches_esri_exports(synthetic):
    folder = synthetic(PASCAL_VOC, image_format="jpg")
    names = sorted(p.name for p in (folder / "images").iterdir())
    assert names[:3] == ["000000000.jgw", "000000000.jpg", "000000000.jpg.aux.xml"]
    raw = (folder / "map.txt").read_bytes()
    assert raw.startswith(b"images\\000000000.jpg labels\\000000000.xml \r\n")
    ds = gdal.Open(str(folder / "images" / "000000001.jpg"))
    assert ds.GetGeoTransform()[0] == pytest.approx(500000.0 + 64 * 0.5) and "32633" in ds.GetProjection()
    emd = read_json(folder / "esri_model_definition.emd")
    assert emd["ImageHeight"] == 64 and emd["MetaDataMode"] == PASCAL_VOC and len(emd["AllTilesStats"]) == 3


def test_a_second_input_raster_is_reported_as_unused(tmp_path, capsys):
    """ArcGIS Pro 3.1's layout for an export with an Additional Input Raster, as in a published Classified_Tiles
    export of knotweed patches (4-band orthophoto + 1-band DEM, one class of value 255): images2/ beside images/,
    map.txt listing three files per chip, *2 keys in the .emd. The models train on images/; the user is told."""
    maps = [np.zeros((32, 48), np.int64) for _ in range(2)]
    maps[0][4:12, 4:20] = 255
    maps[1][20:, :8] = 255
    folder = tmp_path / "knotweed"
    rng = np.random.default_rng(2)
    with TrainingDataWriter(folder, CLASSIFIED_TILES, [ClassInfo(255, "255", (234, 210, 82))]) as writer:
        for m in maps:
            writer.add(rng.integers(0, 200, (4, 32, 48)).astype("uint8"), PixelLabel(m), None, None)
    (folder / "images2").mkdir()
    stems = sorted(p.stem for p in (folder / "images").glob("*.tif"))
    for stem in stems:
        ds = gdal.GetDriverByName("GTiff").Create(str(folder / "images2" / f"{stem}.tif"), 48, 32, 1, gdal.GDT_UInt16)
        ds.GetRasterBand(1).WriteArray(rng.integers(6301, 17990, (32, 48)).astype("uint16"))
        ds = None
    (folder / "map.txt").write_text("".join(f"images\\{s}.tif images2\\{s}.tif  labels\\{s}.tif\n" for s in stems))
    emd = read_json(folder / "esri_model_definition.emd")
    emd["InputRastersProps2"] = {"RasterCount": 1, "SensorName": "Undefined", "BandNames": [""]}
    emd["AllTilesStats2"] = [{"BandName": "", "Min": 6301, "Max": 17990, "Mean": 10930.1, "StdDev": 2291.8}]
    (folder / "esri_model_definition.emd").write_text(json.dumps(emd))

    data = TrainingData.open(folder)
    assert data.format == CLASSIFIED_TILES and data.header.bands == 4 and data.class_index == {255: 1}
    assert data.pixels_per_value[255] == 8 * 16 + 12 * 8
    np.testing.assert_array_equal(data.read_label_values(data.chips[1]).values, maps[1])
    [warning] = data.warnings  # the three-column map.txt lists no missing chip
    assert warning.startswith("images2/ holds 2 chip(s) of a second input raster") and "4 band(s)" in warning
    assert main(["inspect", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == [warning]


# -- real files written by ArcGIS -------------------------------------------------------------------------------------

def test_real_pascal_voc_export(real_data):
    data = TrainingData.open(real_data / "palm_pascal_voc")
    assert data.format == PASCAL_VOC and data.task == "object_detection"
    assert len(data.chips) == 40 and data.chip_size == (448, 448) and data.header.bands == 3
    assert [(c.value, c.name, c.color) for c in data.classes] == [(1, "Palm", (255, 0, 0))]
    chip = next(c for c in data.chips if c.stem == "000000001")
    label = data.read_label_values(chip)
    np.testing.assert_allclose(label.boxes[0], [244.95, 341.68, 320.21, 416.94], atol=1e-3)
    assert len(label.boxes) == 3 and data.num_labeled_images == 40
    # map.txt still lists all 482 chips of the original export: reported, not fatal
    assert any("442 chip(s)" in w for w in data.warnings)
    # Thumbs.db and the .jgw/.aux.xml sidecars are not chips
    assert all(c.image.suffix == ".jpg" for c in data.chips)


def test_real_classified_tiles_metadata(real_data):
    folder = real_data / "building_classified_tiles_metadata"
    meta = read_export_metadata(folder)
    assert meta.metadata_mode == CLASSIFIED_TILES and meta.tile_size == (400, 400) and meta.num_bands == 3
    assert [(c.value, c.name) for c in meta.classes] == [(1, "1"), (2, "2")]
    # colours [-1, -1, -1] mean "none": a palette colour is used
    assert all(0 <= v <= 255 for c in meta.classes for v in c.color)
    assert len(meta.map_entries) == 3382 and meta.map_entries[0] == ("images/000000019.tif",
                                                                     ("labels/000000019.tif",))
    assert meta.band_statistics is None  # this export has no BandStatsState
    # the chips were not published: opening the folder says so plainly
    with pytest.raises(Exception, match="has no images/ folder"):
        TrainingData.open(folder)


def test_real_model_definitions_parse(real_data):
    for emd_path in sorted((real_data / "model_emd_examples").glob("*.emd")):
        emd = read_json(emd_path)
        classes = parse_classes(emd.get("Classes"), emd_path)
        assert classes, emd_path.name
        assert len({c.value for c in classes}) == len(classes)
