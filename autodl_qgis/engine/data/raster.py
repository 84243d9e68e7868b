"""Reading chips with GDAL, any band count and data type, without touching GDAL's global exception mode
(QGIS shares the same ``osgeo.gdal`` module and expects its default)."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import gdal, gdal_array

from ..errors import InputDataError
from ..geo import quiet_gdal


@dataclass(frozen=True)
class RasterHeader:
    height: int
    width: int
    bands: int
    dtype: str  # numpy name: uint8, uint16, float32, ...


# chips are plain image files: no VRT (or other XML formats naming other files or URLs), no /vsi paths
CHIP_DRIVERS = ["GTiff", "PNG", "JPEG", "MRF"]


def check_path_name(path: Path) -> None:
    """GDAL and OGR take UTF-8 names only: a name in another encoding is a clear error, not a crash."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise InputDataError("has a name that is not valid UTF-8", str(path).encode("utf-8", "replace").decode(),
                             "Rename the file or folder with UTF-8 characters") from None


@contextmanager
def _libjpeg_warnings_as_errors():
    """A truncated JPEG decodes with grey fill and only a warning: make it a failure so the chip is reported."""
    gdal.SetThreadLocalConfigOption("GDAL_ERROR_ON_LIBJPEG_WARNING", "TRUE")
    try:
        yield
    finally:
        gdal.SetThreadLocalConfigOption("GDAL_ERROR_ON_LIBJPEG_WARNING", None)


def open_chip(path: Path):
    """The chip at ``path`` opened read-only by one of ``CHIP_DRIVERS``; an unreadable one is an InputDataError."""
    check_path_name(path)
    with quiet_gdal():
        ds = gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_READONLY, allowed_drivers=CHIP_DRIVERS)
        message = gdal.GetLastErrorMsg()
    if ds is None:
        raise InputDataError(f"is not a readable raster ({message or 'GDAL cannot open it'})", path,
                             "Replace the corrupt file or remove it with its label and re-run")
    return ds


def _header(ds, path: Path) -> RasterHeader:
    if ds.RasterCount == 0:
        raise InputDataError("has no raster bands", path, "Replace the file with a valid image chip")
    types = {ds.GetRasterBand(i + 1).DataType for i in range(ds.RasterCount)}
    if len(types) != 1:
        raise InputDataError("has bands of different data types", path, "Export chips with one pixel type")
    np_type = gdal_array.GDALTypeCodeToNumericTypeCode(types.pop())
    if np_type is None:
        raise InputDataError("has a pixel type numpy cannot hold (complex?)", path, "Export real-valued chips")
    return RasterHeader(ds.RasterYSize, ds.RasterXSize, ds.RasterCount, np.dtype(np_type).name)


def read_header(path: Path) -> RasterHeader:
    return _header(open_chip(path), path)


@contextmanager
def _no_sidecar_search():
    """On open GDAL lists the file's folder for sidecars (.aux.xml, world files, masks): in an export folder of a
    thousand files that was 25 of a chip read's 30 ms (palm, 448 px JPEG). Pixel values never come from them."""
    gdal.SetThreadLocalConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
    try:
        yield
    finally:
        gdal.SetThreadLocalConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", None)


def read_raster(path: Path) -> np.ndarray:
    """All bands as an array of shape (bands, height, width) in the file's own data type."""
    with _no_sidecar_search():
        ds = open_chip(path)
    _header(ds, path)
    with quiet_gdal(), _libjpeg_warnings_as_errors():
        array = ds.ReadAsArray()
        failed = gdal.GetLastErrorType() >= gdal.CE_Failure  # warnings are not failures
        message = gdal.GetLastErrorMsg()
    if array is None or failed:
        raise InputDataError(f"cannot be read ({message or 'GDAL read failed'})", path,
                             "The file is truncated or corrupt: replace it or remove it with its label")
    return array[np.newaxis] if array.ndim == 2 else array
