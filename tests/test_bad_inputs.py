"""Bad input, gathered in one place: each case gives one clear line naming what is wrong, where and how to fix it,
exit code 2, no traceback. Training-data folders (inspect), then model packages, rasters, labels and options of
every command. (Engine-level checks of the same errors sit beside the code they test.)"""
import json
import os
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
     "total_time_limit is -1.0, outside (0, inf]"),
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


# -- hostile and broken inputs (issue 12) ------------------------------------------------------------------------
# Each case crafts its inputs in a folder of its own and gives a command line; the run must exit 2 with one line on
# stderr (no traceback), leave every input byte-for-byte as it was, leave no file behind beside the inputs and no
# autodl-* folder in the temporary folder, and name the user's files, never a temporary path.

def _snapshot(*folders) -> dict:
    return {str(p): (p.read_bytes() if p.is_file() else None) for folder in folders
            for p in sorted(folder.rglob("*")) if not p.is_symlink() or p.exists()}


def _rewrite_package(source, target, change=None, extra=None, replace_emd=None):
    """A copy of a .dlpk with its .emd changed (``change(emd)``, or raw bytes ``replace_emd``) and entries added."""
    import zipfile

    with zipfile.ZipFile(source) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    emd_name = next(n for n in entries if n.endswith(".emd"))
    if change is not None:
        emd = json.loads(entries[emd_name])
        change(emd)
        entries[emd_name] = json.dumps(emd).encode()
    if replace_emd is not None:
        entries[emd_name] = replace_emd
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in {**entries, **(extra or {})}.items():
            archive.writestr(name, data)
    return target


def _set_in(path: str, value):
    def change(emd):
        *parents, last = path.split(".")
        node = emd
        for key in parents:
            node = node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
    return change


_DELETE = object()

# (id, key path in the .emd, new value, expected text)
EMD_CASES = [
    ("image-height-1e9", "ImageHeight", 10 ** 9, "key 'ImageHeight' is 1000000000, outside 1..8192"),
    ("negative-in-channels", "AutoDL.in_channels", -3, "key 'AutoDL.in_channels' is -3, outside 1..1024"),
    ("no-normalization-stats", "NormalizationStats", _DELETE, "key 'NormalizationStats' is missing"),
    ("short-normalization-stats", "NormalizationStats.band_std_values", [50.0],
     "'NormalizationStats.band_std_values' must be a list of 3 numbers"),
    ("nan-statistics", "NormalizationStats.band_mean_values", [float("nan")] * 3, "holds nan, not a finite number"),
    ("extract-bands-string", "ExtractBands", "0,1,2", "'ExtractBands' must list the 3 band(s)"),
    ("extract-bands-negative", "ExtractBands", [0, -1, 2], "key 'ExtractBands' is -1, outside 0..1023"),
    ("extract-bands-too-few", "ExtractBands", [0, 1], "'ExtractBands' must list the 3 band(s)"),
    ("chip-size-string", "AutoDL.chip_size", "64", "'AutoDL.chip_size' must be a list [height, width]"),
    ("million-classes", "AutoDL.num_classes", 10 ** 6, "'AutoDL.num_classes' is 1000000, outside 1..1000"),
    ("unknown-network", "AutoDL.network", "Evil", "'AutoDL.network' names 'Evil', a network this plugin"),
    ("class-value-too-large", "Classes", [{"Value": 70000, "Name": "a"}, {"Value": 2, "Name": "b"}],
     "'Classes.Value' is 70000, outside 1..65535"),
]


def _deep_json(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


@pytest.fixture
def hostile(inputs, tmp_path, monkeypatch):
    """A private temporary folder for the run (to see what is left there) and a folder for the case's files."""
    import tempfile

    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    case = tmp_path / "case"
    case.mkdir()
    return {"case": case, "tmp": private_tmp, **inputs}


def _refused(argv: list[str], expected: str, hostile, capsys, watch=()):
    watched = [hostile["case"], hostile["folder"], *watch]
    before = _snapshot(*watched)
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in captured.err, captured.err
    assert expected in lines[0], lines[0]
    assert str(hostile["tmp"]) not in lines[0] and "autodl-dlpk-" not in lines[0]  # the user's file is named
    after = _snapshot(*watched)
    assert after.keys() == before.keys(), f"left behind: {sorted(set(after) - set(before))}"
    assert after == before, "an input changed"
    assert not any(hostile["tmp"].iterdir()), list(hostile["tmp"].iterdir())


@pytest.mark.parametrize("key,value,expected", [c[1:] for c in EMD_CASES], ids=[c[0] for c in EMD_CASES])
@pytest.mark.parametrize("command", ["show", "classify"])
def test_model_definition_is_validated_before_anything_is_built(command, key, value, expected, hostile, capsys):
    package = _rewrite_package(hostile["classifier"], hostile["case"] / "bad.dlpk", _set_in(key, value))
    argv = [command, package] + ([hostile["scene"], hostile["case"] / "out.tif"] if command == "classify" else [])
    _refused(argv, "bad.dlpk (classifier.emd): key", hostile, capsys)
    _refused(argv, expected, hostile, capsys)


def _zip_entries(target, entries: dict):
    import zipfile

    with zipfile.ZipFile(target, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return target


def _package_entries(hostile) -> dict:
    import zipfile

    with zipfile.ZipFile(hostile["classifier"]) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _declared_bomb(hostile):
    """Four stored entries of 9 MB each that declare 1.6 GiB each: under the per-entry ratio cap, over the total."""
    import struct

    path = _zip_entries(hostile["case"] / "bomb.dlpk", {**_package_entries(hostile),
                                                        **{f"junk{i}.bin": os.urandom(9 * 2 ** 20) for i in range(4)}})
    data = bytearray(path.read_bytes())
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46:start + 46 + name_length].startswith(b"junk"):
            struct.pack_into("<I", data, start + 24, int(1.6 * 2 ** 30))
        start += 4
    path.write_bytes(bytes(data))
    return path


# (id, builder of the package given the hostile fixture, expected text)
ARCHIVE_CASES = [
    ("file-then-folder-entry", lambda h: _zip_entries(h["case"] / "a.dlpk", {**_package_entries(h), "x": b"1",
                                                                                  "x/y": b"2"}),
     "is both a file and a folder ('x')"),
    ("entry-named-dot", lambda h: _zip_entries(h["case"] / "a.dlpk", {**_package_entries(h), ".": b"1"}),
     "has an entry with a name no folder can hold"),
    ("300-character-name", lambda h: _zip_entries(h["case"] / "a.dlpk", {**_package_entries(h), "n" * 300: b"1"}),
     "has an entry with a name no folder can hold"),
    ("deeply-nested-emd", lambda h: _rewrite_package(h["classifier"], h["case"] / "a.dlpk",
                                                     replace_emd=b'{"a": ' + _deep_json(100_000) + b"}"),
     "its JSON is nested too deeply"),
    ("huge-integer-emd", lambda h: _rewrite_package(h["classifier"], h["case"] / "a.dlpk",
                                                    replace_emd=b'{"a": 1' + b"0" * 5000 + b"}"),
     "a.dlpk (classifier.emd): is not valid metadata"),
    ("emd-not-an-object", lambda h: _rewrite_package(h["classifier"], h["case"] / "a.dlpk", replace_emd=b"[1, 2]"),
     "must hold a JSON object at the top level"),
    ("declared-6.4-gib", _declared_bomb, "GiB (a model needs at most 6)"),
    ("weights-missing", lambda h: _zip_entries(h["case"] / "a.dlpk", {k: v for k, v in _package_entries(h).items()
                                                                      if k.endswith(".emd")}),
     "names the weights file 'model.safetensors', which is not in the package"),
]


@pytest.mark.parametrize("build,expected", [c[1:] for c in ARCHIVE_CASES], ids=[c[0] for c in ARCHIVE_CASES])
def test_odd_archives_are_refused_before_extraction(build, expected, hostile, capsys):
    _refused(["show", build(hostile)], expected, hostile, capsys)


def test_show_reads_the_model_definition_only(hostile, capsys):
    """Entries a command does not use are never extracted: ``show`` on a package with 60 MB of other entries
    writes nothing to the temporary folder."""
    package = _zip_entries(hostile["case"] / "padded.dlpk", {**_package_entries(hostile),
                                                             **{f"extra{i}.bin": os.urandom(20 * 2 ** 20)
                                                                for i in range(3)}})
    assert main(["show", str(package)]) == 0
    assert "UnetClassifier" in capsys.readouterr().out
    assert not any(hostile["tmp"].iterdir())


def _link(target, link):
    link.symlink_to(target)
    return link


def _hard_link(target, link):
    os.link(target, link)
    return link


def _vrt_of(raster, path):
    gdal.Translate(str(path), str(raster), format="VRT")
    return path


# (id, command line builder given the hostile fixture, expected text)
OUTPUT_CASES = [
    ("classify-onto-its-raster", lambda h: ["classify", h["classifier"], h["scene"], h["scene"]], "is the input"),
    ("classify-onto-a-link-to-its-raster",
     lambda h: ["classify", h["classifier"], h["scene"], _link(h["scene"], h["case"] / "link.tif")], "is the input"),
    ("classify-onto-its-raster-through-dotdot",
     lambda h: ["classify", h["classifier"], h["scene"], h["folder"] / "full" / ".." / h["scene"].name],
     "is the input"),
    ("classify-onto-a-hard-link-of-its-raster",
     lambda h: ["classify", h["classifier"], _hard_link(h["scene"], h["case"] / "scene.tif"),
                h["scene"]], "is the input"),
    ("classify-onto-the-file-its-vrt-reads",
     lambda h: ["classify", h["classifier"], _vrt_of(h["scene"], h["case"] / "scene.vrt"), h["scene"]],
     "is the input"),
    ("classify-onto-the-package",
     lambda h: ["classify", _link(h["classifier"], h["case"] / "model.tif"), h["scene"], h["classifier"]],
     "is not a GeoTIFF file name"),
    ("detect-onto-the-package-as-shapefile-sidecar",
     lambda h: ["detect", _link(h["detector"], h["case"] / "m.dbf"), h["scene"], h["case"] / "m.shp"],
     "m.dbf: is the input"),
    ("export-into-its-raster", lambda h: ["export", h["scene"], h["labels"], h["scene"], "--class-field",
                                          "classvalue", "--chip-size", "64"], "is the input"),
    ("train-onto-its-pretrained-model",
     lambda h: ["train", h["data"], h["classifier"], "--pretrained-model", h["classifier"]], "is the input"),
    ("classify-under-a-file", lambda h: ["classify", h["classifier"], h["scene"], h["scene"] / "x.tif"],
     "is a file, not a folder"),
    ("detect-under-a-file", lambda h: ["detect", h["detector"], h["scene"], h["scene"] / "x.gpkg"],
     "is a file, not a folder"),
    ("export-under-a-file", lambda h: ["export", h["scene"], h["labels"], h["scene"] / "chips", "--class-field",
                                       "classvalue", "--chip-size", "64"], "is a file, not a folder"),
    ("classify-onto-a-folder", lambda h: ["classify", h["classifier"], h["scene"], h["folder"] / "full"],
     "is not a GeoTIFF file name"),
    ("classify-onto-a-folder-named-tif",
     lambda h: ["classify", h["classifier"], h["scene"], _mkdir(h["case"] / "folder.tif")], "is a folder"),
    ("classify-onto-a-read-only-filesystem", lambda h: ["classify", h["classifier"], h["scene"], "/proc/x.tif"],
     "/proc does not take new files"),
    ("detect-onto-a-read-only-filesystem", lambda h: ["detect", h["detector"], h["scene"], "/proc/new/x.gpkg"],
     "/proc does not take new files"),
    ("export-onto-a-read-only-filesystem", lambda h: ["export", h["scene"], h["labels"], "/proc/chips",
                                                      "--class-field", "classvalue", "--chip-size", "64"],
     "/proc does not take new files"),
]


def _mkdir(path):
    path.mkdir()
    return path


@pytest.mark.parametrize("build,expected", [c[1:] for c in OUTPUT_CASES], ids=[c[0] for c in OUTPUT_CASES])
def test_outputs_are_checked_before_any_work(build, expected, hostile, synthetic, capsys):
    hostile["data"] = synthetic(PASCAL_VOC)
    _refused(build(hostile), expected, hostile, capsys, watch=[hostile["data"]])


# (id, options appended to a detect / classify / export / train command line, expected text)
OPTION_CASES = [
    ("classify", "--extent nan 0 1 1", "extent XMIN is nan, not a finite number"),
    ("classify", "--extent 10 0 1 1", "is empty or inverted"),
    ("classify", "--batch-size 0", "batch_size is 0, outside 1..4096"),
    ("classify", "--batch-size -1", "batch_size is -1, outside 1..4096"),
    ("classify", "--tile-size 0", "tile_size is 0, outside 1..8192"),
    ("classify", "--tile-size 1000000000", "tile_size is 1000000000, outside 1..8192"),
    ("classify", "--overlap -5", "overlap is -5, outside 0..8191"),
    ("classify", "--tile-size 64 --overlap 64", "overlap 64 must be at least 0 and less than the tile size 64"),
    ("detect", "--confidence 2", "confidence is 2.0, outside 0..1"),
    ("detect", "--nms nan", "nms is nan, not a finite number"),
    ("detect", "--batch-size 0", "batch_size is 0, outside 1..4096"),
    ("export", "--chip-size 0", "chip_size is 0, outside 1..8192"),
    ("export", "--stride -1", "stride is -1, outside 1..8192"),
    ("export", "--buffer-radius nan", "buffer_radius is nan, not a finite number"),
    ("train", "--total-time-limit inf", "total_time_limit is inf, not a finite number"),
    ("train", "--total-time-limit 0", "total_time_limit is 0.0, outside (0, inf]"),
    ("train", "--max-epochs 0", "max_epochs is 0, outside 1..1000000"),
    ("train", "--mosaic 1.5", "mosaic is 1.5, outside 0..1"),
]


@pytest.mark.parametrize("command,options,expected", OPTION_CASES,
                         ids=[f"{c[0]}{c[1].replace(' ', '_')}" for c in OPTION_CASES])
def test_numeric_options_are_checked(command, options, expected, hostile, synthetic, capsys):
    h = hostile
    base = {"classify": ["classify", h["classifier"], h["scene"], h["case"] / "x.tif"],
            "detect": ["detect", h["detector"], h["scene"], h["case"] / "x.gpkg"],
            "export": ["export", h["scene"], h["labels"], h["case"] / "chips", "--class-field", "classvalue"],
            "train": ["train", synthetic(PASCAL_VOC), h["case"] / "m.dlpk"]}[command]
    _refused(base + options.split(), expected, hostile, capsys)


def _chip_folder(hostile, synthetic, fmt=PASCAL_VOC, name="data"):
    folder = hostile["case"] / name
    shutil.copytree(synthetic(fmt), folder)
    return folder


def _vrt_chip(hostile, synthetic):
    folder = _chip_folder(hostile, synthetic)
    secret = hostile["case"] / "secret.tif"
    shutil.copy(folder / "images" / "000000001.tif", secret)
    gdal.Translate(str(folder / "images" / "000000002.tif"), str(secret), format="VRT")
    return folder, "000000002.tif: is not a readable raster"


def _truncated_chip(hostile, synthetic, fmt="tif"):
    folder = hostile["case"] / "data"
    from autodl_qgis.engine.data.synthetic import write_synthetic_dataset

    write_synthetic_dataset(folder, PASCAL_VOC, num_chips=4, image_format=fmt)
    chip = folder / "images" / f"000000002.{fmt}"
    data = chip.read_bytes()
    chip.write_bytes(data[:len(data) * 2 // 3])
    return folder, f"000000002.{fmt}: cannot be read"


def _many_objects(hostile, synthetic):
    folder = _chip_folder(hostile, synthetic)
    boxes = "<object><name>1</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>3</xmax><ymax>3</ymax></bndbox></object>"
    (folder / "labels" / "000000003.xml").write_text(f"<annotation>{boxes * 100_000}</annotation>")
    return folder, "000000003.xml: holds 10001 objects, more than the 10000 one chip can have"


def _deep_statistics(hostile, synthetic):
    folder = _chip_folder(hostile, synthetic)
    (folder / "esri_accumulated_stats.json").write_bytes(b'{"a": ' + _deep_json(100_000) + b"}")
    return folder, "esri_accumulated_stats.json: is not valid metadata: its JSON is nested too deeply"


def _non_utf8_chip(hostile, synthetic):
    folder = _chip_folder(hostile, synthetic)
    images, labels = os.fsencode(folder / "images"), os.fsencode(folder / "labels")
    os.rename(os.path.join(images, b"000000001.tif"), os.path.join(images, b"chip\xff.tif"))
    os.rename(os.path.join(labels, b"000000001.xml"), os.path.join(labels, b"chip\xff.xml"))
    return folder, "chip?.tif: has a name that is not valid UTF-8"


def _non_utf8_folder(hostile, synthetic):
    folder = _chip_folder(hostile, synthetic)
    renamed = os.fsencode(folder) + b"\xfe"
    os.rename(os.fsencode(folder), renamed)
    return os.fsdecode(renamed), "has a name that is not valid UTF-8"


FOLDER_CASES = [_vrt_chip, _truncated_chip, lambda h, s: _truncated_chip(h, s, "jpg"), _many_objects,
                _deep_statistics, _non_utf8_chip, _non_utf8_folder]
FOLDER_IDS = ["vrt-xml-as-tif-chip", "truncated-tif-chip", "truncated-jpeg-chip", "100000-objects-in-a-label",
              "deeply-nested-statistics", "non-utf8-chip-name", "non-utf8-folder-name"]


@pytest.mark.parametrize("case", FOLDER_CASES, ids=FOLDER_IDS)
def test_hostile_training_data_gives_one_clear_line(case, hostile, synthetic, capsys):
    folder, expected = case(hostile, synthetic)
    _refused(["inspect", folder], expected, hostile, capsys)


def test_classify_writes_nodata_where_the_raster_has_it(hostile):
    """Pixels that are NoData in the input are NoData (0) in the class map, whatever the model says."""

    raster = hostile["case"] / "holes.tif"
    gdal.Translate(str(raster), str(hostile["scene"]), noData=0)
    ds = gdal.Open(str(raster), gdal.GA_Update)
    for b in range(1, 4):
        band = ds.GetRasterBand(b)
        values = band.ReadAsArray()
        values[:40, :] = 0  # a NoData strip across the top
        band.WriteArray(values)
    ds = None
    out = hostile["case"] / "classes.tif"
    assert main(["classify", str(hostile["classifier"]), str(raster), str(out)]) == 0
    classes = gdal.Open(str(out)).ReadAsArray()
    assert (classes[:40] == 0).all() and (classes[40:] != 0).any()


MEMORY_BOUND_MB = 2500  # torch, the model and a batch of tiles; listing 10^11 tiles up front took 7.9 GB


@pytest.mark.parametrize("command", ["classify", "detect"])
def test_declared_huge_raster_runs_in_bounded_memory_and_sigterm_cleans_up(command, hostile):
    """A VRT declaring 10^6 x 10^6 px: tiles are produced as they are needed (none listed up front), memory stays
    bounded while it works, and SIGTERM stops it leaving nothing behind (no output, no work folder, no
    autodl-* folder)."""
    from scenes import run_then_terminate, write_huge_vrt

    raster = write_huge_vrt(hostile["case"] / "huge.vrt")
    out_folder = hostile["case"] / "out"
    out_folder.mkdir()
    model = hostile["classifier" if command == "classify" else "detector"]
    out = out_folder / ("classes.tif" if command == "classify" else "objects.gpkg")
    code, err, peak = run_then_terminate([command, model, raster, out, "--device", "cpu"], out_folder, 5,
                                         hostile["tmp"], give_up_mb=MEMORY_BOUND_MB)
    assert code == 130 and "Traceback" not in err and "cancelled: nothing was written" in err, err[-2000:]
    assert peak < MEMORY_BOUND_MB, f"peak RSS {peak:.0f} MB"
    assert not any(out_folder.iterdir()) and not any(hostile["tmp"].iterdir())
