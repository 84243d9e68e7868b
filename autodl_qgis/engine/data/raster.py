"""Reading chips with GDAL, any band count and data type, without touching GDAL's global exception mode
(QGIS shares the same ``osgeo.gdal`` module and expects its default)."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import gdal, gdal_array

from ..errors import InputDataError


@dataclass(frozen=True)
class RasterHeader:
    height: int
    width: int
    bands: int
    dtype: str  # numpy name: uint8, uint16, float32, ...


@contextmanager
def _quiet_gdal():
    gdal.ErrorReset()
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        yield
    finally:
        gdal.PopErrorHandler()


def _open(path: Path):
    with _quiet_gdal():
        ds = gdal.Open(str(path), gdal.GA_ReadOnly)
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
    return _header(_open(path), path)


def read_raster(path: Path) -> np.ndarray:
    """All bands as an array of shape (bands, height, width) in the file's own data type."""
    ds = _open(path)
    _header(ds, path)
    with _quiet_gdal():
        array = ds.ReadAsArray()
        failed = gdal.GetLastErrorType() >= gdal.CE_Failure  # warnings are not failures
        message = gdal.GetLastErrorMsg()
    if array is None or failed:
        raise InputDataError(f"cannot be read ({message or 'GDAL read failed'})", path,
                             "The file is truncated or corrupt: replace it or remove it with its label")
    return array[np.newaxis] if array.ndim == 2 else array
