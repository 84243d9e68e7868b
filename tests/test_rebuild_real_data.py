"""scripts/rebuild_real_data.py on a real (tiny) git repository holding a GDAL-written KITTI export: the rebuilt folder
is the pinned tree byte for byte and reads as training data; a snapshot that differs from the pin is refused with one
line and exit code 2, leaving an earlier copy untouched and no temporary folder behind."""
import dataclasses
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal_array

from autodl_qgis.engine.data import KITTI, PASCAL_VOC, TrainingData
from autodl_qgis.engine.data.synthetic import write_synthetic_dataset
from conftest import load_script

CHIPS = 3


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """(script module, bare mirror, the export as the script pins it, the folder as committed)."""
    script = load_script("rebuild_real_data")
    work = tmp_path_factory.mktemp("author")
    write_synthetic_dataset(work / "train", KITTI, num_chips=CHIPS, chip_size=32)
    _git(work, "init", "-q")
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "export")
    commit = _git(work, "rev-parse", "HEAD")
    mirror = tmp_path_factory.mktemp("mirror") / "owner+name" / "repo"
    _git(work, "clone", "-q", "--mirror", str(work), str(mirror))
    export = script.RealExport(name="tiny_kitti", repo="owner/name", commit=commit, folder="train",
                               tree=_git(work, "rev-parse", "HEAD:train"), images=CHIPS, labels=CHIPS,
                               licence="test", about="test")
    return script, mirror, export, work / "train"


def test_the_rebuilt_folder_is_the_pinned_tree_and_reads_as_training_data(published, tmp_path):
    script, mirror, export, original = published
    line = script.rebuild(export, script.find_snapshot(export, [], mirror.parents[1]), tmp_path)
    target = tmp_path / export.name
    assert str(target) in line and "every blob hash checked" in line
    written = sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(original) for p in original.rglob("*") if p.is_file())
    assert all((target / p).read_bytes() == (original / p).read_bytes() for p in written)
    data = TrainingData.open(target)
    assert (data.format, len(data.chips), data.num_objects > 0) == (KITTI, CHIPS, True)
    assert [p.name for p in tmp_path.iterdir()] == [export.name]  # no staging folder left


@pytest.mark.parametrize("change", ({"tree": "0" * 40}, {"images": CHIPS + 1}, {"commit": "1" * 40}))
def test_a_snapshot_that_differs_from_the_pin_is_refused_and_the_earlier_copy_kept(published, tmp_path, capsys,
                                                                                   change):
    script, mirror, export, _ = published
    earlier = tmp_path / export.name
    earlier.mkdir()
    (earlier / "keep.txt").write_text("earlier copy")
    script.EXPORTS = (dataclasses.replace(export, **change),)
    code = script.main(["--mirror-root", str(mirror.parents[1]), "--out", str(tmp_path)])
    error = capsys.readouterr().err
    assert code == 2 and error.startswith("error: tiny_kitti: ") and error.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == [export.name]
    assert (earlier / "keep.txt").read_text() == "earlier copy"


@pytest.mark.parametrize("name", [e.name for e in load_script("rebuild_real_data").EXPORTS])
def test_each_pinned_export_matches_its_fetched_snapshot(name):
    """The pins themselves (tree id, chip and label counts) against the real snapshot, where one was fetched."""
    script = load_script("rebuild_real_data")
    export = {e.name: e for e in script.EXPORTS}[name]
    try:
        git_dir = script.find_snapshot(export, [], script.DEFAULT_MIRRORS)
    except script.RebuildError as absent:
        pytest.skip(str(absent))
    checked = export.verify(git_dir)  # raises where the snapshot differs from the pin
    if isinstance(export, script.RealExport):  # as ArcGIS wrote it
        assert {"esri_accumulated_stats.json", "map.txt"} <= {b.path.name for b in checked if len(b.path.parts) == 1}
    else:  # a COCO split: its labels and as many tiles as they list
        assert all(len([b for b in blobs if b.path.suffix == ".jpg"]) == len(coco["images"])
                   for _, blobs, coco in checked)


def test_a_coco_tile_set_is_written_as_a_georeferenced_pascal_voc_export(tmp_path):
    """Three JPEG tiles cut with overlap from one mosaic, labelled in a Roboflow COCO export: rewritten as
    PASCAL_VOC_rectangles with the boxes of the kept category only, each tile at the offsets of its original name."""
    from osgeo import gdal

    script = load_script("rebuild_real_data")
    work = tmp_path / "author"
    split = work / "palms" / "valid"
    split.mkdir(parents=True)
    offsets = {"tile_0_0.jpg": (0, 0), "tile_0_32.jpg": (0, 32), "tile_48_32.jpg": (48, 32)}
    images, annotations = [], []
    for i, (original, (row, column)) in enumerate(offsets.items()):
        pixels = np.full((3, 64, 64), 40 * i, dtype=np.uint8)
        stored = f"{original.replace('.', '_')}.rf.{i:032x}.jpg"
        gdal.Translate(str(split / stored), gdal_array.OpenArray(pixels), format="JPEG")
        images.append({"id": i, "file_name": stored, "height": 64, "width": 64, "extra": {"name": original}})
        annotations += [{"id": 2 * i, "image_id": i, "category_id": 1, "bbox": [4 + i, 5, 10, 12]},
                        {"id": 2 * i + 1, "image_id": i, "category_id": 0, "bbox": [0, 0, 64, 64]}]
    coco = {"categories": [{"id": 0, "name": "palm-tree"}, {"id": 1, "name": "0"}], "images": images,
            "annotations": annotations}
    (split / "_annotations.coco.json").write_text(json.dumps(coco))
    _git(work, "init", "-q")
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "tiles")
    tiles = script.CocoTiles(name="tiny_palms", repo="owner/name", commit=_git(work, "rev-parse", "HEAD"),
                             folders=(("palms/valid", _git(work, "rev-parse", "HEAD:palms/valid")),),
                             category=1, class_name="Palm", images=3, boxes=3, licence="test", about="test")
    line = script.rebuild(tiles, work / ".git", tmp_path / "out")
    assert "3 tiles, 3 boxes of Palm" in line and "PASCAL_VOC_rectangles" in line
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["tiny_palms"]  # no staging or source folder left
    data = TrainingData.open(tmp_path / "out" / "tiny_palms")
    assert (data.format, len(data.chips), data.num_objects) == (PASCAL_VOC, 3, 3)
    assert [c.name for c in data.classes] == ["Palm"]
    origins = sorted(gdal.Open(str(chip.image)).GetGeoTransform()[::3] for chip in data.chips)
    assert origins == [(0.0, 0.0), (32.0, -48.0), (32.0, 0.0)]  # (x, y): a column right, a row down
    boxes = sorted(tuple(label.boxes[0]) for label in map(data.read_label_values, data.chips))
    assert boxes == [(4, 5, 14, 17), (5, 5, 15, 17), (6, 5, 16, 17)]
    with pytest.raises(script.RebuildError, match="3 tiles and 3 boxes, expected 3 and 4"):
        script.rebuild(dataclasses.replace(tiles, boxes=4), work / ".git", tmp_path / "again")
