"""Reading a raster in overlapping tiles, in the bands and normalisation a model package was trained with.

Memory stays bounded by the batch of tiles, whatever the raster's size."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from osgeo import gdal, ogr

from ..data.raster import check_path_name
from ..errors import InputDataError
from ..geo import Grid


@dataclass(frozen=True)
class Window:
    x: int
    y: int
    width: int
    height: int


@dataclass
class RasterSource:
    """An open GDAL raster: its grid and the bands to read."""

    path: Path
    dataset: object
    bands: list[int]  # 1-based GDAL band numbers, in the order the model expects
    grid: Grid

    @property
    def width(self) -> int:
        return self.grid.width

    @property
    def height(self) -> int:
        return self.grid.height

    @property
    def crs_wkt(self) -> str:
        return self.grid.crs_wkt

    def read(self, window: Window, tile: int) -> np.ndarray:
        """The window's bands as float32 (bands, tile, tile), zero-padded past the raster's edge."""
        out = np.zeros((len(self.bands), tile, tile), np.float32)
        data = self.dataset.ReadAsArray(window.x, window.y, window.width, window.height, band_list=self.bands)
        if data is None:
            raise InputDataError(f"cannot be read at pixel {window.x}, {window.y}", self.path,
                                 "The raster is damaged or unreadable: check it with gdalinfo -checksum")
        out[:, :window.height, :window.width] = data.reshape(len(self.bands), window.height, window.width)
        return out

    @property
    def has_nodata(self) -> bool:
        """Whether some pixels may be NoData (a NoData value, an alpha band or a mask)."""
        return any(self.dataset.GetRasterBand(b).GetMaskFlags() != gdal.GMF_ALL_VALID for b in self.bands)

    def valid(self, window: Window) -> np.ndarray:
        """(height, width) booleans of the window: False where every band the model reads is NoData."""
        valid = np.zeros((window.height, window.width), bool)
        for b in self.bands:
            mask = self.dataset.GetRasterBand(b).GetMaskBand().ReadAsArray(window.x, window.y, window.width,
                                                                            window.height)
            if mask is None:
                raise InputDataError(f"cannot be read at pixel {window.x}, {window.y}", self.path,
                                     "The raster is damaged or unreadable: check it with gdalinfo -checksum")
            valid |= mask != 0
        return valid


def open_raster(path: str | os.PathLike, extract_bands: list[int]) -> RasterSource:
    path = Path(path)
    check_path_name(path)
    dataset = gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_READONLY) if path.exists() else None
    if dataset is None:
        raise InputDataError("is not a readable raster" if path.exists() else "does not exist", path,
                             "Give a raster GDAL can open (GeoTIFF, JPEG2000, VRT, ...)")
    if max(extract_bands, default=-1) >= dataset.RasterCount:
        raise InputDataError(f"has {dataset.RasterCount} band(s) but the model reads bands "
                             f"{[b + 1 for b in extract_bands]}", path,
                             "Use a raster with the bands the model was trained on, in the same order")
    # without georeferencing, the raster's own pixel coordinates (a warning says so where it is used)
    return RasterSource(path, dataset, [b + 1 for b in extract_bands], Grid.of(dataset, path, georeferenced=False))


def region_window(grid: Grid, extent=None) -> Window:
    """The pixels of the raster inside ``extent`` (xmin, ymin, xmax, ymax in the raster's CRS), or all of them."""
    if extent is None:
        return Window(0, 0, grid.width, grid.height)
    left, top, right, bottom = grid.pixel_span(extent)
    if right <= left or bottom <= top:
        raise InputDataError(f"the processing extent {tuple(extent)} does not overlap the raster", None,
                             "Give an extent inside the raster, in its coordinate reference system")
    return Window(left, top, right - left, bottom - top)


def _starts(size: int, tile: int, step: int) -> list[int]:
    """Offsets of ``tile`` px windows over ``size`` px stepping by ``step``, the last flush with the edge (a list
    as long as one row of tiles, never one entry per tile of the raster)."""
    if size <= tile:
        return [0]
    last = size - tile
    return list(range(0, last, step)) + [last]


def _cores(starts: list[int], size: int, tile: int) -> list[tuple[int, int]]:
    """The part of each window its tile is trusted for: neighbours split their overlap in the middle (the last,
    flush window overlaps more), so the cores cover ``size`` exactly once and each keeps at least half the overlap
    of context on its inner sides."""
    bounds = [0] + [(start + previous + tile) // 2 for previous, start in zip(starts, starts[1:])] + [size]
    return list(zip(bounds, bounds[1:]))


@dataclass(frozen=True)
class Tile:
    """A window to read and predict, and its core: the pixels (x0, y0, x1, y1) the window is trusted for."""

    window: Window
    core: tuple[int, int, int, int]
    columns: tuple[int, int]  # the strip of raster columns this tile belongs to (its core lies inside it)


@dataclass(frozen=True)
class Tiling:
    """Overlapping tiles over a region, produced one at a time in vertical strips of ``strip`` columns (a multiple
    of the output's 256 px blocks), top to bottom within a strip: what has to be held until its block row is
    complete is one strip wide, so memory stays flat however wide and tall the region is.

    Each tile is trusted only in its core (neighbours split their overlap in the middle); a strip's tiles reach
    half an overlap past its sides, so each pixel sees the same context as inside a strip, and every pixel and
    object centre belongs to exactly one core."""

    region: Window
    tile: int
    overlap: int
    strip: int = 8192

    def __post_init__(self):
        if self.overlap < 0 or self.overlap >= self.tile:
            raise InputDataError(f"overlap {self.overlap} must be at least 0 and less than the tile size {self.tile}",
                                 None, "Use an overlap of about a quarter of the tile size")
        object.__setattr__(self, "strip", max(self.strip, -(-4 * self.tile // 256) * 256))

    def reach(self, columns: tuple[int, int]) -> tuple[int, int]:
        """The columns the tiles of the strip of ``columns`` cover: half an overlap more on each side."""
        region, half = self.region, self.overlap // 2
        return max(region.x, columns[0] - half), min(region.x + region.width, columns[1] + half)

    def _strips(self) -> Iterator[tuple[int, int, Window]]:
        """(first column, end column, the window the strip's tiles cover)."""
        region = self.region
        for x0 in range(region.x, region.x + region.width, self.strip):
            x1 = min(region.x + region.width, x0 + self.strip)
            left, right = self.reach((x0, x1))
            yield x0, x1, Window(left, region.y, right - left, region.height)

    def ramp(self) -> np.ndarray:
        """(tile,) blending weights across a tile: rising linearly over the overlap from its edges, flat between
        (flat everywhere without overlap). Where two windows overlap by ``overlap`` (at most half a tile) their
        weights sum to 1; all stay positive, so a pixel only one tile covers (at the region's edges) keeps that
        tile's prediction."""
        if self.overlap == 0:
            return np.ones(self.tile, np.float32)
        centres = np.arange(self.tile) + 0.5
        return np.clip(np.minimum(centres, self.tile - centres) / self.overlap, 1e-3, 1).astype(np.float32)

    def weights(self) -> np.ndarray:
        """(tile, tile) blending weights of a tile: ``ramp`` across times ``ramp`` down."""
        ramp = self.ramp()
        return np.outer(ramp, ramp)

    def __len__(self) -> int:
        step = self.tile - self.overlap
        rows = len(_starts(self.region.height, self.tile, step))
        return rows * sum(len(_starts(area.width, self.tile, step)) for _, _, area in self._strips())

    def __iter__(self) -> Iterator[Tile]:
        step = self.tile - self.overlap
        ys = _starts(self.region.height, self.tile, step)
        rows = _cores(ys, self.region.height, self.tile)
        for x0, x1, area in self._strips():
            xs = _starts(area.width, self.tile, step)
            columns = _cores(xs, area.width, self.tile)
            for y, (cy0, cy1) in zip(ys, rows):
                for x, (cx0, cx1) in zip(xs, columns):
                    window = Window(area.x + x, area.y + y, min(self.tile, area.width - x),
                                    min(self.tile, area.height - y))
                    cx0, cx1 = max(area.x + cx0, x0), min(area.x + cx1, x1)
                    if cx1 > cx0:
                        yield Tile(window, (cx0, area.y + cy0, cx1, area.y + cy1), (x0, x1))


class Mask:
    """Polygons (WKT, in the raster's CRS) outside which nothing is detected or classified."""

    def __init__(self, wkt: str, grid: Grid):
        self.geometry = ogr.CreateGeometryFromWkt(wkt)
        if self.geometry is None or self.geometry.IsEmpty():
            raise InputDataError("the mask is not a valid, non-empty polygon geometry", None,
                                 "Give polygons in the raster's coordinate reference system")
        self.grid = grid
        self._source = ogr.GetDriverByName("Memory").CreateDataSource("mask")
        self._layer = self._source.CreateLayer("mask", geom_type=ogr.wkbMultiPolygon)
        feature = ogr.Feature(self._layer.GetLayerDefn())
        feature.SetGeometry(self.geometry)
        self._layer.CreateFeature(feature)

    def _polygon(self, x0: float, y0: float, x1: float, y1: float):
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for px, py in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)):
            ring.AddPoint_2D(*self.grid.to_map(px, py))
        polygon = ogr.Geometry(ogr.wkbPolygon)
        polygon.AddGeometry(ring)
        return polygon

    def touches(self, window: Window) -> bool:
        return self.geometry.Intersects(self._polygon(window.x, window.y, window.x + window.width,
                                                      window.y + window.height))

    def contains(self, x: float, y: float) -> bool:
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(*self.grid.to_map(x, y))
        return self.geometry.Contains(point)

    def pixels(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """(y1 - y0, x1 - x0) booleans: which pixels of that block have their centre inside the mask."""
        block = gdal.GetDriverByName("MEM").Create("", x1 - x0, y1 - y0, 1, gdal.GDT_Byte)
        block.SetGeoTransform(self.grid.window(x0, y0, x1 - x0, y1 - y0).transform)
        gdal.RasterizeLayer(block, [1], self._layer, burn_values=[1])
        return block.GetRasterBand(1).ReadAsArray().astype(bool)


def normaliser(normalisation: tuple[tuple[float, ...], tuple[float, ...]], bands: int):
    """(x - mean) / std with a package's per-band ``normalisation`` (mean, std), as the training chips were."""
    mean = np.asarray(normalisation[0][:bands], np.float32).reshape(-1, 1, 1)
    std = np.maximum(np.asarray(normalisation[1][:bands], np.float32), 1e-6).reshape(-1, 1, 1)
    return lambda tile: (tile - mean) / std
