"""Bad input, gathered in one place: each case gives one clear line naming what is wrong, where and how to fix it,
exit code 2, no traceback. Training-data folders (inspect), then model packages, rasters, labels and options of
every command. (Engine-level checks of the same errors sit beside the code they test.)"""
import json
import shutil
import subprocess
import sys

import pytest
from osgeo import gdal

from autodl_qgis.cli import main
from autodl_qgis.engine.data import CLASSIFIED_TILES, KITTI, PASCAL_VOC

from conftest import REPO


def _copy(synthetic, tmp_path, fmt=PASCAL_VOC, **options):
    folder = tmp_path / "data"
    shutil.copytree(synthetic(fmt, **options), folder)
    return folder


def _missing(tmp_path, synthetic):
    return tmp_path / "nowhere", "nowhere: does not exist"


def _empty(tmp_path, synthetic):
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty", "empty: is empty"


def _no_images(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path)
    shutil.rmtree(folder / "images")
    return folder, "has no images/ folder"


def _no_labels(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path)
    shutil.rmtree(folder / "labels")
    return folder, "has no labels/ folder"


def _label_without_image(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path)
    (folder / "images" / "000000003.tif").unlink()
    return folder, "000000003.xml: has no matching chip in images/ (1 label(s) without a chip)"


def _image_without_label(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path)
    (folder / "labels" / "000000005.xml").unlink()
    return folder, "000000005.tif: has no label in labels/"


def _corrupt_chip(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path)
    (folder / "images" / "000000002.tif").write_bytes(b"II*\x00 this is not a tiff")
    return folder, "000000002.tif: is not a readable raster"


def _mixed_sizes(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path)
    chip = folder / "images" / "000000004.tif"
    gdal.Translate(str(chip) + ".tmp.tif", str(chip), width=32, height=32)
    shutil.move(str(chip) + ".tmp.tif", chip)
    return folder, "000000004.tif: is 32x32 px, 3 band(s) of uint8, but most chips are 64x64 px"


def _mixed_bands(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path)
    chip = folder / "images" / "000000001.tif"
    gdal.Translate(str(chip) + ".tmp.tif", str(chip), bandList=[1, 2])
    shutil.move(str(chip) + ".tmp.tif", chip)
    return folder, "000000001.tif: is 64x64 px, 2 band(s) of uint8, but most chips are 64x64 px, 3 band(s)"


def _undeclared_class_pascal(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path)
    xml = folder / "labels" / "000000006.xml"
    xml.write_text(xml.read_text().replace("<name>1</name>", "<name>7</name>").replace(
        "<name>2</name>", "<name>7</name>"))
    return folder, ("000000006.xml: names class '7', which esri_model_definition.emd does not declare "
                    "(declared: 1 (pool), 2 (building)). Add the class")


def _undeclared_class_tiles(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path, CLASSIFIED_TILES)
    label = folder / "labels" / "000000002.tif"
    ds = gdal.Open(str(label), gdal.GA_Update)
    band = ds.GetRasterBand(1)
    values = band.ReadAsArray()
    values[0, 0] = 5
    band.WriteArray(values)
    ds = band = None
    return folder, "000000002.tif: names class '5', which esri_model_definition.emd does not declare"


def _malformed_xml(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path)
    (folder / "labels" / "000000000.xml").write_text("<annotation><object><name>1</name>")
    return folder, "000000000.xml: is not well-formed XML"


def _malformed_kitti(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path, KITTI)
    (folder / "labels" / "000000001.txt").write_text("  1 0.00 0 0   19.02    4.71\n")
    return folder, "000000001.txt: line 1 is not a KITTI label line"


def _malformed_emd(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path)
    emd = folder / "esri_model_definition.emd"
    emd.write_text(emd.read_text()[:-20])
    return folder, "esri_model_definition.emd: is not valid JSON (line"


def _unknown_format(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path)
    stats = json.loads((folder / "esri_accumulated_stats.json").read_text())
    stats["MetaDataMode"] = "Labeled_Tiles"
    (folder / "esri_accumulated_stats.json").write_text(json.dumps(stats))
    return folder, ("esri_accumulated_stats.json: uses the metadata format 'Labeled_Tiles', which Train Using AutoDL "
                    "does not support. Re-export the training data as Classified_Tiles, PASCAL_VOC_rectangles")


def _inverted_box(tmp_path, synthetic):
    folder = _copy(synthetic, tmp_path)
    xml = folder / "labels" / "000000000.xml"
    text = xml.read_text()
    start = text.index("<xmin>") + len("<xmin>")
    end = text.index("</xmin>")
    xml.write_text(text[:start] + "999.00" + text[end:])
    return folder, "000000000.xml: <object> 1 has an invalid box (xmin=999.0"


CASES = [_missing, _empty, _no_images, _no_labels, _label_without_image, _image_without_label, _corrupt_chip,
         _mixed_sizes, _mixed_bands, _undeclared_class_pascal, _undeclared_class_tiles, _malformed_xml,
         _malformed_kitti, _malformed_emd, _unknown_format, _inverted_box]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.lstrip("_") for c in CASES])
def test_bad_folder_gives_one_clear_line(case, tmp_path, synthetic, capsys):
    folder, expected = case(tmp_path, synthetic)
    assert main(["inspect", str(folder)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert expected in lines[0]
    assert captured.out == ""


def test_no_traceback_from_the_command_line(tmp_path, synthetic):
    folder, expected = _malformed_xml(tmp_path, synthetic)
    run = subprocess.run([sys.executable, "-m", "autodl_qgis", "inspect", str(folder), "--json"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr and expected in run.stderr
    assert run.stdout == ""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A scene with its label polygons, an untrained classifier and detector, and a one-band raster."""
    import numpy as np

    from autodl_qgis.engine.data.writer import write_raster
    from scenes import GEOTRANSFORM, mosaic_scene, untrained_package, write_label_polygons

    folder = tmp_path_factory.mktemp("bad_inputs")
    scene, _, boxes, values = mosaic_scene(folder)
    write_raster(folder / "grey.tif", np.zeros((1, 64, 64), np.uint8), GEOTRANSFORM, None)
    (folder / "full").mkdir()
    (folder / "full" / "keep.txt").write_text("earlier work")
    (folder / "model.dlpk").mkdir()
    (folder / "broken.dlpk").write_bytes(b"not a zip at all")
    return {"folder": folder, "scene": scene, "labels": write_label_polygons(folder / "objects.gpkg", boxes, values),
            "classifier": untrained_package(folder / "classifier.dlpk"),
            "detector": untrained_package(folder / "detector.dlpk", "FasterRCNN")}


# (name, command line with {placeholders} from the inputs fixture, expected text of the error line)
COMMAND_CASES = [
    ("package-not-a-zip", "show {folder}/broken.dlpk", "broken.dlpk: "),
    ("package-missing", "show {folder}/absent.dlpk", "absent.dlpk: does not exist"),
    ("classify-with-a-detector", "classify {detector} {scene} {folder}/x.tif", "is a object detection model. Use it "
                                                                               "with Detect Objects"),
    ("too-few-bands", "classify {classifier} {folder}/grey.tif {folder}/x.tif", "has 1 band(s) but the model reads"),
    ("extent-outside", "classify {classifier} {scene} {folder}/x.tif --extent 0 0 1 1", "does not overlap the raster"),
    ("classify-to-png", "classify {classifier} {scene} {folder}/x.png", "x.png: is not a GeoTIFF file name"),
    ("detect-to-txt", "detect {detector} {scene} {folder}/x.txt", "x.txt: is not a vector format"),
    ("raster-missing", "classify {classifier} {folder}/absent.tif {folder}/x.tif", "absent.tif: does not exist"),
    ("class-field-missing", "export {scene} {labels} {folder}/chips1 --class-field kind --chip-size 64", "kind"),
    ("chip-larger-than-raster", "export {scene} {labels} {folder}/chips2 --class-field classvalue",
     "smaller than the 256 px chip size"),
    ("export-into-used-folder", "export {scene} {labels} {folder}/full --class-field classvalue --chip-size 64",
     "already exists and is not empty"),
    ("model-path-is-a-folder", "train {data} {folder}/model.dlpk", "model.dlpk: is a folder"),
    ("unknown-network", "train {data} {folder}/m.dlpk --networks YOLOv9", "YOLOv9"),
    ("network-for-another-task", "train {data} {folder}/m.dlpk --networks UnetClassifier",
     "network UnetClassifier does not suit PASCAL_VOC_rectangles"),
    ("negative-time-limit", "train {data} {folder}/m.dlpk --total-time-limit -1",
     "total_time_limit must be a positive number of hours"),
    ("resume-without-record", "train {data} {folder}/m.dlpk --work-dir {folder}/full --resume",
     "holds no search to resume"),
    ("worker-for-no-search", "worker --storage sqlite:///{folder}/none.db --study pools", "no search named 'pools'"),
    ("distributed-without-torchrun", "train {data} {folder}/m.dlpk --distributed",
     "--distributed needs several processes started by torchrun"),
]


@pytest.mark.parametrize("command,expected", [c[1:] for c in COMMAND_CASES], ids=[c[0] for c in COMMAND_CASES])
def test_bad_command_input_gives_one_clear_line(command, expected, inputs, synthetic, capsys):
    argv = command.format(data=synthetic(PASCAL_VOC), **{k: str(v) for k, v in inputs.items()}).split()
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines and lines[-1].startswith("error: ") and "Traceback" not in captured.err, captured.err
    assert expected in lines[-1], lines[-1]
    assert not (inputs["folder"] / "m.dlpk").exists() and not (inputs["folder"] / "x.tif").exists()
