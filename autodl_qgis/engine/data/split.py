"""Which chips train, which validate and which test, chosen so that overlapping chips cannot fool validation.

Esri exports chips with a stride smaller than the tile, so neighbouring chips share pixels; a random split puts
near-copies of training chips in validation and every score comes out optimistic. When the chips are georeferenced
(world files, GeoTIFF tags) the split is spatial, in the spirit of TorchGeo's grid-cell and ROI splits
(``torchgeo/datasets/splits.py``): the extent is cut into square blocks one chip footprint wide, validation (and,
from ``TEST_MIN_CHIPS`` chips up, a test block that model selection never sees) is a compact group of blocks, and
every chip that touches a chip of another part -- overlapping or sharing an edge -- is left out (a refit, which
trains on the validation chips too, takes back those that touch only validation chips: ``DataSplit.refit``). Without
georeferencing the split is random, and ``kind`` says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..errors import InputDataError
from ..geo import Grid
from .raster import open_chip
from .training_data import TrainingData

SPATIAL, RANDOM = "spatial_blocks", "random"
TEST_MIN_CHIPS = 200  # from this many chips up a test block is held out of selection
TEST_FRACTION = 0.1
MAX_STARTS = 32  # block groups tried per part; the one losing the fewest chips to the gaps wins
MIN_KEPT = 0.4  # a spatial split leaving fewer than this share of the chips to train falls back to random
_CHUNK = 1024  # chips compared at once when finding which touch (bounds memory to ~_CHUNK x n booleans)


@dataclass(frozen=True)
class DataSplit:
    """Chip indices (into ``TrainingData.chips``) of each part; chips in none of them straddle two parts."""

    kind: str  # SPATIAL or RANDOM
    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]  # empty when no test block is held out
    note: str = ""  # why the split is random, or how many chips the gaps between blocks left out
    # chips left out only because they touch validation chips (none touches the test block): once the validation
    # chips train too, in a refit, nothing is left for them to fool
    gap: tuple[int, ...] = ()

    @property
    def refit(self) -> tuple[int, ...]:
        """The chips a refit trains on: every chip but the test block and the chips touching it."""
        return tuple(sorted(self.train + self.val + self.gap))

    def summary(self) -> dict:
        return {"kind": self.kind, "train": len(self.train), "val": len(self.val), "test": len(self.test),
                "note": self.note}


def split_chips(data: TrainingData, val_fraction: float = 0.2, seed: int = 0) -> DataSplit:
    """Deterministic for a folder and seed. Spatial blocks when every chip is georeferenced in one CRS and the
    blocks leave enough chips to train, else random; a test part from ``TEST_MIN_CHIPS`` chips up."""
    if not 0 < val_fraction < 1:
        raise InputDataError(f"validation fraction {val_fraction} is outside (0, 1)", None,
                             "Use a fraction such as 0.2")
    n = len(data.chips)
    if n < 2:
        raise InputDataError(f"has {n} chip; training needs at least 2 (one is held out for validation)",
                             data.folder / "images", "Export more chips")
    test_fraction = TEST_FRACTION if n >= TEST_MIN_CHIPS else 0.0
    footprints = chip_footprints(data)
    if isinstance(footprints, str):
        return _random_split(n, val_fraction, test_fraction, seed, footprints)
    split = _spatial_split(footprints, val_fraction, test_fraction, seed)
    if len(split.train) < MIN_KEPT * n or not split.val or (test_fraction and not split.test):
        return _random_split(n, val_fraction, test_fraction, seed,
                             f"the chips overlap too much for spatial blocks (they would leave {len(split.train)} of "
                             f"{n} chips to train)")
    return split


def chip_footprints(data: TrainingData) -> np.ndarray | str:
    """Each chip's extent (minx, miny, maxx, maxy) in the chips' CRS, half a pixel wider on every side so that
    chips sharing an edge overlap; or why there is none."""
    extents, pixel, srs0 = [], np.inf, None
    for chip in data.chips:
        ds = open_chip(chip.image)
        try:
            grid = Grid.of(ds, chip.image, georeferenced=False)
        except InputDataError as exc:  # a rotated chip: blocks of chips are cut along the map's axes
            return f"{chip.image.name} {exc.problem}"
        if not grid.georeferenced:
            return f"{chip.image.name} has no world file or georeferencing"
        srs = ds.GetSpatialRef()
        if srs is not None:
            if srs0 is None:
                srs0 = srs
            elif not srs.IsSame(srs0):
                return f"{chip.image.name} is in another coordinate system than the first chips"
        extents.append(grid.bounds())
        pixel = min(pixel, *grid.pixel_size)
    return np.asarray(extents, np.float64) + np.array([-1, -1, 1, 1]) * pixel / 2


def _touching(footprints: np.ndarray) -> sparse.csr_matrix:
    """Boolean adjacency of chips whose (widened) footprints intersect, without the diagonal."""
    rows, cols = [], []
    for start in range(0, len(footprints), _CHUNK):
        a = footprints[start:start + _CHUNK, None, :]
        b = footprints[None, :, :]
        hit = (a[..., 0] <= b[..., 2]) & (b[..., 0] <= a[..., 2]) & (a[..., 1] <= b[..., 3]) & (b[..., 1] <= a[..., 3])
        r, c = np.nonzero(hit)
        rows.append(r + start)
        cols.append(c)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    keep = rows != cols
    n = len(footprints)
    return sparse.csr_matrix((np.ones(keep.sum(), np.int8), (rows[keep], cols[keep])), shape=(n, n))


class _Blocks:
    """Square blocks one chip footprint wide; a chip belongs to the block holding its centre."""

    def __init__(self, footprints: np.ndarray):
        centres = (footprints[:, :2] + footprints[:, 2:]) / 2
        side = float(np.max(footprints[:, 2:] - footprints[:, :2]))
        cells = np.floor((centres - centres.min(0)) / side).astype(np.int64)
        self.cells, self.of_chip = np.unique(cells, axis=0, return_inverse=True)
        self.of_chip = self.of_chip.ravel()

    def grow(self, start: int, available: np.ndarray, target: int) -> np.ndarray:
        """The available chips of the blocks nearest to ``start`` (a compact group), just reaching ``target``."""
        counts = np.bincount(self.of_chip[available], minlength=len(self.cells))
        distance = np.hypot(*(self.cells - self.cells[start]).T)
        order = np.lexsort((np.arange(len(self.cells)), distance))
        order = order[counts[order] > 0]
        taken = order[:int(np.searchsorted(np.cumsum(counts[order]), target)) + 1]
        return available & np.isin(self.of_chip, taken)


def _best_group(blocks: _Blocks, touching: sparse.csr_matrix, available: np.ndarray, target: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(part, its neighbours among the available chips): of up to MAX_STARTS seeded starts, the group that loses
    the fewest chips to its border and lands nearest the target."""
    starts = np.unique(blocks.of_chip[available])
    best = None
    for start in rng.permutation(starts)[:MAX_STARTS]:
        part = blocks.grow(int(start), available, target)
        border = (touching @ part.astype(np.int8) > 0) & available & ~part
        cost = int(border.sum()) + abs(int(part.sum()) - target)
        if best is None or cost < best[0]:
            best = (cost, part, border)
    return best[1], best[2]


def _spatial_split(footprints: np.ndarray, val_fraction: float, test_fraction: float, seed: int) -> DataSplit:
    n = len(footprints)
    rng = np.random.default_rng(seed)
    blocks, touching = _Blocks(footprints), _touching(footprints)
    available = np.ones(n, bool)
    test = np.zeros(n, bool)
    if test_fraction:
        test, border = _best_group(blocks, touching, available, max(1, round(n * test_fraction)), rng)
        available &= ~test & ~border
    val, gap = np.zeros(n, bool), np.zeros(n, bool)
    if available.any():
        val, gap = _best_group(blocks, touching, available, max(1, round(n * val_fraction)), rng)
        available &= ~val & ~gap
    left_out = n - int(available.sum() + val.sum() + test.sum())
    note = (f"{left_out} chip(s) left out because they touch chips of another part" if left_out
            else "no chip touches a chip of another part")
    return DataSplit(SPATIAL, _indices(available), _indices(val), _indices(test), note, _indices(gap))


def _random_split(n: int, val_fraction: float, test_fraction: float, seed: int, why: str) -> DataSplit:
    order = np.random.default_rng(seed).permutation(n)
    n_test = round(n * test_fraction)
    n_val = min(n - n_test - 1, max(1, round(n * val_fraction)))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return DataSplit(RANDOM, tuple(sorted(train.tolist())), tuple(sorted(val.tolist())),
                     tuple(sorted(test.tolist())), f"random split: {why}")


def _indices(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(np.flatnonzero(mask).tolist())
