"""Train / validation / test split: spatial blocks on georeferenced chips that overlap (as Esri exports them with a
stride smaller than the tile), random without georeferencing."""
import numpy as np
import pytest
from osgeo import osr

from autodl_qgis.engine.data import PASCAL_VOC, TrainingData
from autodl_qgis.engine.data.dataset import make_datasets
from autodl_qgis.engine.data.esri import ClassInfo
from autodl_qgis.engine.data.labels import BoxLabel
from autodl_qgis.engine.data.split import RANDOM, SPATIAL, TEST_MIN_CHIPS, split_chips
from autodl_qgis.engine.data.writer import TrainingDataWriter

CHIP, PIXEL = 16, 0.5


def _write_grid(folder, rows: int, cols: int, stride: int, georeferenced: bool = True):
    """Chips of CHIP px every ``stride`` px over a rows x cols grid, written with GDAL (world files included);
    returns the folder and each chip's pixel window (x0, y0, x1, y1) on the source grid, in writing order."""
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    rng = np.random.default_rng(0)
    windows = []
    with TrainingDataWriter(folder, PASCAL_VOC, [ClassInfo(1, "pool", (0, 0, 255))]) as writer:
        for r in range(rows):
            for c in range(cols):
                x0, y0 = c * stride, r * stride
                geotransform = (500000.0 + x0 * PIXEL, PIXEL, 0.0, 4100000.0 - y0 * PIXEL, 0.0, -PIXEL)
                image = rng.integers(0, 255, (3, CHIP, CHIP), dtype=np.uint8)
                label = BoxLabel(np.array([[2, 2, 10, 10]], np.float32), np.array([1]))
                writer.add(image, label, geotransform if georeferenced else None,
                           srs.ExportToWkt() if georeferenced else None)
                windows.append((x0, y0, x0 + CHIP, y0 + CHIP))
    return TrainingData.open(folder), np.array(windows)


def _touch(windows: np.ndarray, a, b) -> bool:
    """Whether any chip of ``a`` overlaps or shares an edge or corner with any chip of ``b`` (pixel windows)."""
    wa, wb = windows[list(a)][:, None], windows[list(b)][None]
    return bool(((wa[..., 0] <= wb[..., 2]) & (wb[..., 0] <= wa[..., 2])
                 & (wa[..., 1] <= wb[..., 3]) & (wb[..., 1] <= wa[..., 3])).any())


@pytest.fixture(scope="module")
def overlapping(tmp_path_factory):
    # 15 x 15 chips at half-chip stride: each chip overlaps its 8 neighbours, 225 chips get a test block
    return _write_grid(tmp_path_factory.mktemp("split") / "grid", 15, 15, CHIP // 2)


def test_no_validation_or_test_chip_touches_a_training_chip(overlapping):
    data, windows = overlapping
    split = split_chips(data, val_fraction=0.2, seed=0)
    assert split.kind == SPATIAL
    assert len(data.chips) >= TEST_MIN_CHIPS and split.test
    parts = (split.train, split.val, split.test)
    assert sum(map(len, parts)) <= len(data.chips) and len(set().union(*parts)) == sum(map(len, parts))
    assert not _touch(windows, split.train, split.val)
    assert not _touch(windows, split.train, split.test)
    assert not _touch(windows, split.val, split.test)
    assert abs(len(split.val) - 45) <= 15 and abs(len(split.test) - 22) <= 10
    assert len(split.train) >= 0.4 * len(data.chips)
    left_out = len(data.chips) - sum(map(len, parts))
    assert str(left_out) in split.note


def test_a_refit_trains_on_every_chip_but_the_test_block_and_its_border(overlapping):
    """Once the validation chips train, the chips left out for touching them fool nothing: the refit takes them;
    the chips touching the test block stay out, or the test score would be measured on near-copies of training."""
    data, windows = overlapping
    split = split_chips(data, val_fraction=0.2, seed=0)
    refit = set(split.refit)
    assert split.gap and refit == set(split.train) | set(split.val) | set(split.gap)
    assert len(refit) == len(split.refit) and not refit & set(split.test)
    assert not _touch(windows, split.refit, split.test)
    assert all(_touch(windows, (chip,), split.val) for chip in split.gap)
    rest = [i for i in range(len(data.chips)) if i not in refit and i not in split.test]
    assert rest and all(_touch(windows, (chip,), split.test) for chip in rest)


def test_chips_that_only_share_an_edge_are_kept_apart(tmp_path):
    data, windows = _write_grid(tmp_path / "tiled", 4, 10, CHIP)  # a tiling: neighbours abut, none overlap
    split = split_chips(data, val_fraction=0.2, seed=3)
    assert split.kind == SPATIAL and not split.test
    assert not _touch(windows, split.train, split.val)
    assert len(split.train) + len(split.val) < len(data.chips)  # the abutting ring is left out
    assert sorted(split.refit) == list(range(len(data.chips)))  # and trains in a refit: no test block here


def test_split_is_deterministic_by_seed(overlapping):
    data, _ = overlapping
    assert split_chips(data, 0.2, seed=5) == split_chips(data, 0.2, seed=5)
    assert len({split_chips(data, 0.2, seed=s).val for s in range(4)}) > 1


def test_random_split_without_georeferencing(tmp_path):
    data, _ = _write_grid(tmp_path / "plain", 3, 4, CHIP // 2, georeferenced=False)
    split = split_chips(data, val_fraction=0.25, seed=1)
    assert split.kind == RANDOM and "no world file" in split.note
    assert len(split.val) == 3 and not split.test and sorted(split.train + split.val) == list(range(12))
    assert split.refit == tuple(range(12))
    assert split == split_chips(data, val_fraction=0.25, seed=1)
    assert split_chips(data, val_fraction=0.25, seed=2) != split


def test_random_split_when_blocks_would_leave_too_little_to_train(tmp_path):
    data, _ = _write_grid(tmp_path / "stacked", 3, 3, 1)  # every chip overlaps every other
    split = split_chips(data, val_fraction=0.2, seed=0)
    assert split.kind == RANDOM and "overlap too much" in split.note
    assert len(split.train) == 7 and len(split.val) == 2


def test_datasets_follow_the_split(overlapping):
    data, _ = overlapping
    split = split_chips(data, 0.2, seed=0)
    train, val = make_datasets(data, augment=False, split=split)
    assert (tuple(train.indices), tuple(val.indices)) == (split.train, split.val)


def test_real_export_is_split_in_space(real_data):
    data = TrainingData.open(real_data / "palm_pascal_voc_west")
    split = split_chips(data, 0.2, seed=0)
    assert split.kind == SPATIAL and split.test
    extents = []
    for chip in data.chips:  # the chip extents from their world files (pixel-centre origin, Esri's convention)
        dx, _, _, dy, cx, cy = (float(v) for v in chip.image.with_suffix(".jgw").read_text().split())
        x0, y0 = cx - dx / 2, cy - dy / 2
        extents.append((x0, y0 + 448 * dy, x0 + 448 * dx, y0))
    extents = np.array(extents)
    for a, b in ((split.train, split.val), (split.train, split.test), (split.val, split.test)):
        assert not _touch(extents, a, b)
    assert len(split.train) >= 0.6 * len(data.chips)
