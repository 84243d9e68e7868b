"""Raster grids: GDAL's six geotransform coefficients with the raster's size and CRS, and what the engine computes
from them (pixel <-> map, bounds, sub-windows), done by GDAL's ``ApplyGeoTransform`` / ``InvGeoTransform`` rather
than by hand. A grid read from a raster is north-up: :meth:`Grid.of` refuses a rotated raster where it opens, so
nothing downstream has to decide what rotation would mean for windows and extents. Also :func:`quiet_gdal`, the
one way the engine silences GDAL's error printing."""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from osgeo import gdal

from .errors import InputDataError

NO_GEOREFERENCING = (0.0, 1.0, 0.0, 0.0, 0.0, 1.0)  # what GDAL reports for a raster without georeferencing
# pixel coordinates this close to a whole number are that number: an extent drawn on pixel edges must not gain a
# row or column from the rounding of the inverse transform
SNAP_PX = 1e-6


@contextmanager
def quiet_gdal():
    """GDAL's errors and warnings are not printed inside, and the last one is that of the calls made inside (read it
    with ``gdal.GetLastErrorMsg``); GDAL's global exception mode is left as it is (QGIS shares the module)."""
    gdal.ErrorReset()
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        yield
    finally:
        gdal.PopErrorHandler()


@dataclass(frozen=True)
class Grid:
    """A raster's pixel grid in map coordinates: ``transform`` is GDAL's geotransform (x0, dx, rx, y0, ry, dy)."""

    transform: tuple[float, float, float, float, float, float]
    width: int
    height: int
    crs_wkt: str = ""

    @classmethod
    def of(cls, dataset, path=None, *, georeferenced: bool = True,
           fix: str = "Georeference the raster first (e.g. in QGIS)") -> "Grid":
        """The grid of an open GDAL dataset. Without georeferencing: refused when ``georeferenced`` (with ``fix``),
        else pixel coordinates (GDAL's default transform). A rotated raster is always refused."""
        transform = dataset.GetGeoTransform(can_return_null=True)
        if transform is None:
            if georeferenced:
                raise InputDataError("has no georeferencing", path, fix)
            transform = NO_GEOREFERENCING
        if transform[2] or transform[4]:
            raise InputDataError("is rotated", path, "Warp it north-up first (gdalwarp)")
        return cls(tuple(float(v) for v in transform), dataset.RasterXSize, dataset.RasterYSize,
                   dataset.GetProjection() or "")

    def to_map(self, x: float, y: float) -> tuple[float, float]:
        """Map coordinates of pixel position (x, y) (0, 0 is the top left corner of the top left pixel)."""
        return tuple(gdal.ApplyGeoTransform(self.transform, x, y))

    def to_pixel(self, x: float, y: float) -> tuple[float, float]:
        """Pixel position of map coordinates (x, y)."""
        return tuple(gdal.ApplyGeoTransform(self._inverse, x, y))

    def points_to_map(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 2) pixel positions to (N, 2) map coordinates (GDAL's formula, over arrays)."""
        return _apply(self.transform, pixels)

    def points_to_pixel(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) map coordinates to (N, 2) pixel positions."""
        return _apply(self._inverse, points)

    @property
    def _inverse(self) -> tuple[float, ...]:
        inverse = gdal.InvGeoTransform(self.transform)
        if inverse is None:
            raise InputDataError(f"has a degenerate geotransform {self.transform}", None,
                                 "Georeference the raster again (its pixel size is zero)")
        return tuple(inverse)

    @property
    def georeferenced(self) -> bool:
        """Whether the grid is in map coordinates, not the pixel coordinates of a raster without georeferencing."""
        return self.transform != NO_GEOREFERENCING

    @property
    def pixel_size(self) -> tuple[float, float]:
        """(width, height) of a pixel in map units, both positive: the lengths of its top and left edges."""
        origin = self.to_map(0, 0)
        return math.dist(origin, self.to_map(1, 0)), math.dist(origin, self.to_map(0, 1))

    @property
    def pixel_area(self) -> float:
        """Map units squared a pixel covers."""
        x0, dx, rx, y0, ry, dy = self.transform
        return abs(dx * dy - rx * ry)

    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the whole grid."""
        corners = [self.to_map(x, y) for x in (0, self.width) for y in (0, self.height)]
        xs, ys = zip(*corners)
        return min(xs), min(ys), max(xs), max(ys)

    def window(self, x: int, y: int, width: int, height: int) -> "Grid":
        """The grid of the ``width`` x ``height`` pixels whose top left pixel is (x, y)."""
        x0, y0 = self.to_map(x, y)
        _, dx, rx, _, ry, dy = self.transform
        return Grid((x0, dx, rx, y0, ry, dy), width, height, self.crs_wkt)

    def pixel_span(self, extent) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) pixel edges of the grid's pixels an extent (xmin, ymin, xmax, ymax) touches,
        cut to the grid (right <= left or bottom <= top when it misses the grid)."""
        corners = [self.to_pixel(x, y) for x in (extent[0], extent[2]) for y in (extent[1], extent[3])]
        xs, ys = zip(*corners)
        left, top = math.floor(_snapped(min(xs))), math.floor(_snapped(min(ys)))
        right, bottom = math.ceil(_snapped(max(xs))), math.ceil(_snapped(max(ys)))
        return max(0, left), max(0, top), min(self.width, right), min(self.height, bottom)

    def world_file(self) -> tuple[float, float, float, float, float, float]:
        """The six values of an Esri world file, in its order: the geotransform's coefficients, its origin moved
        from the top left pixel's corner to its centre."""
        _, dx, rx, _, ry, dy = self.transform
        return (dx, ry, rx, dy, *self.to_map(0.5, 0.5))

    def georeference(self, dataset) -> None:
        """Gives ``dataset`` (of this grid's size) this grid's transform and CRS."""
        dataset.SetGeoTransform(self.transform)
        if self.crs_wkt:
            dataset.SetProjection(self.crs_wkt)


def _apply(transform, points: np.ndarray) -> np.ndarray:
    x, y = points[:, 0], points[:, 1]
    return np.stack([transform[0] + x * transform[1] + y * transform[2],
                     transform[3] + x * transform[4] + y * transform[5]], 1)


def _snapped(value: float) -> float:
    nearest = round(value)
    return float(nearest) if abs(value - nearest) < SNAP_PX else value
