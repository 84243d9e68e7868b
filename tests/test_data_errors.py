"""Bad training-data folders: each gives one clear line naming the file and the fix, exit code 2, no traceback."""
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
