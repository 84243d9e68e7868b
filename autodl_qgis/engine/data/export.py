"""The engine of "Export Training Data For Deep Learning": cuts a georeferenced raster into chips and writes, per
chip, the labels of a vector layer (polygons, or buffered points/lines) or of a classified raster, in one of the
Esri metadata formats, through :class:`TrainingDataWriter`.

Memory does not grow with the raster: one window is read at a time. Vector features are held once, in an
in-memory OGR layer in the raster's CRS, and each window takes what it needs through a spatial filter."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import gdal, gdal_array, ogr, osr

from .. import validate
from ..errors import InputDataError
from ..geo import Grid, quiet_gdal
from ..messages import translate
from ..outputs import check_output_folder
from ..progress import Callbacks, SilentCallbacks, check_cancel
from ..validate import MAX_CHIP_SIZE
from . import esri
from .esri import ClassInfo, default_color
from .labels import BoxLabel, PixelLabel
from .writer import TrainingDataWriter

NAME_FIELDS = ("classname", "class_name")  # text fields that name the values of an integer class field
RAT_NAME_COLUMNS = ("classname", "class_name", "class", "name")
MIN_VISIBLE_FRACTION = 0.25  # an object cut by the chip edge is kept when this much of its box is inside
SCAN_PIXELS = 1 << 22  # pixels per strip when scanning a classified raster for its class values
# Data types and band counts the PNG and JPEG drivers can write (GeoTIFF takes any).
CHIP_FORMAT_LIMITS = {"png": ({"uint8", "uint16"}, (1, 2, 3, 4)), "jpg": ({"uint8"}, (1, 3, 4))}


@dataclass
class ExportResult:
    folder: Path
    chips: int  # chips written
    skipped: int  # windows skipped because they held no labelled feature/pixel
    classes: list[ClassInfo]


@dataclass
class _Raster:
    """The raster being cut: its dataset, grid and CRS."""

    ds: gdal.Dataset
    path: str
    grid: Grid
    srs: osr.SpatialReference | None


def export_training_data(raster, out_folder, labels, *, class_field: str | None = None,
                         labels_layer: str | None = None, metadata_format: str = esri.CLASSIFIED_TILES,
                         chip_size: int = 256, stride: int | None = None, image_format: str = "tif",
                         only_chips_with_features: bool = True, buffer_radius: float = 0.0,
                         callbacks: Callbacks | None = None) -> ExportResult:
    """Writes ``out_folder`` (new or empty) as Esri's exporter would; see the module docstring."""
    callbacks = callbacks or SilentCallbacks()
    if metadata_format not in esri.FORMATS:
        raise InputDataError(f"unknown metadata format {metadata_format!r}", None,
                             "Use one of " + ", ".join(esri.FORMATS))
    validate.positive_int("chip_size", chip_size, MAX_CHIP_SIZE)
    stride = validate.positive_int("stride", chip_size if stride is None else stride, MAX_CHIP_SIZE)
    validate.non_negative("buffer_radius", buffer_radius)
    image = _open_image(raster)
    check_output_folder(out_folder, inputs=[raster, labels])
    width, height = image.grid.width, image.grid.height
    if chip_size > min(width, height):
        raise InputDataError(f"is {width} x {height} px, smaller than the {chip_size} px chip size", raster,
                             f"Use a chip size of at most {min(width, height)} px")
    _check_chip_format(image, image_format)
    source = _open_labels(labels, image, class_field, labels_layer, metadata_format, buffer_radius, callbacks)

    rows = range(0, height - chip_size + 1, stride)
    cols = range(0, width - chip_size + 1, stride)
    total, skipped = len(rows) * len(cols), 0
    with TrainingDataWriter(out_folder, metadata_format, source.classes, image_format=image_format,
                            image_space="MAP_SPACE") as writer:
        for i, (yoff, xoff) in enumerate((y, x) for y in rows for x in cols):
            check_cancel(callbacks)
            callbacks.progress(i / total, translate("Export", "window {number} of {total}").format(number=i + 1,
                                                                                                 total=total))
            window = image.grid.window(xoff, yoff, chip_size, chip_size)
            label = source.label(metadata_format, xoff, yoff, window)
            has_features = bool(label.values.any()) if isinstance(label, PixelLabel) else len(label.values) > 0
            if only_chips_with_features and not has_features:
                skipped += 1
                continue
            writer.add(_read_window(image, xoff, yoff, chip_size), label, window.transform, image.grid.crs_wkt)
        if writer.num_chips == 0:
            # Raised inside the block so that the writer removes its half-made folder.
            raise InputDataError(f"no {chip_size} x {chip_size} px window of the raster holds a labelled feature",
                                 labels, "Check that the labels cover the raster, or use a smaller chip size")
        chips = writer.num_chips
    callbacks.progress(1.0, translate("Export", "{chips} chips written, {skipped} empty windows skipped").format(
        chips=chips, skipped=skipped))
    return ExportResult(Path(out_folder), chips, skipped, source.classes)


# -- the raster ------------------------------------------------------------------------------------------------------

def _missing(path) -> bool:
    """A local path that is not there (GDAL also opens /vsi paths, URLs and databases, which are not files)."""
    text = os.fspath(path)
    return not text.startswith("/vsi") and "://" not in text and ":" not in text[2:] and not os.path.exists(text)


def _open_image(path) -> _Raster:
    with quiet_gdal():
        ds = gdal.Open(os.fspath(path), gdal.GA_ReadOnly)
        message = gdal.GetLastErrorMsg()
    if ds is None and _missing(path):
        raise InputDataError("does not exist", path, "Choose an existing raster")
    if ds is None or ds.RasterCount == 0:
        raise InputDataError(f"is not a readable raster ({message or 'GDAL found no raster bands'})", path,
                             "Choose a raster GDAL can read (GeoTIFF, JPEG 2000, VRT, ...)")
    grid = Grid.of(ds, path)
    srs = None
    if grid.crs_wkt:
        srs = osr.SpatialReference(wkt=grid.crs_wkt)
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return _Raster(ds, os.fspath(path), grid, srs)


def _check_chip_format(image: _Raster, image_format: str) -> None:
    if image_format not in CHIP_FORMAT_LIMITS:
        return  # tif takes anything; the writer refuses unknown formats
    dtypes, band_counts = CHIP_FORMAT_LIMITS[image_format]
    dtype = np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(image.ds.GetRasterBand(1).DataType)).name
    if dtype not in dtypes or image.ds.RasterCount not in band_counts:
        raise InputDataError(f"has {image.ds.RasterCount} band(s) of {dtype}, which {image_format} chips cannot hold",
                             image.path, "Choose tif chips")


def _read_window(image: _Raster, xoff: int, yoff: int, size: int) -> np.ndarray:
    with quiet_gdal():
        array = image.ds.ReadAsArray(xoff, yoff, size, size)
        message = gdal.GetLastErrorMsg()
    if array is None:
        raise InputDataError(f"cannot be read at pixel ({xoff}, {yoff}) ({message or 'GDAL read failed'})",
                             image.path, "The file is truncated or corrupt: repair or replace it")
    return array


def _mem_raster(window: Grid, data_type) -> gdal.Dataset:
    ds = gdal.GetDriverByName("MEM").Create("", window.width, window.height, 1, data_type)
    window.georeference(ds)
    return ds


# -- the labels ------------------------------------------------------------------------------------------------------

def _open_labels(path, image: _Raster, class_field, layer_name, metadata_format, buffer_radius, callbacks):
    """OGR vector first, then GDAL raster: a GeoPackage may hold both, and its features are meant."""
    with quiet_gdal():
        vector = gdal.OpenEx(os.fspath(path), gdal.OF_VECTOR)
    if vector is not None and vector.GetLayerCount() > 0:
        return _VectorLabels(vector, os.fspath(path), image, class_field, layer_name, metadata_format,
                             buffer_radius, callbacks)
    with quiet_gdal():
        raster = gdal.OpenEx(os.fspath(path), gdal.OF_RASTER)
        message = gdal.GetLastErrorMsg()
    if raster is None and _missing(path):
        raise InputDataError("does not exist", path, "Choose an existing vector layer or classified raster")
    if raster is None:
        raise InputDataError(f"is neither a readable vector layer nor a raster ({message or 'GDAL cannot open it'})",
                             path, "Choose a vector layer of polygons or a classified raster")
    if metadata_format != esri.CLASSIFIED_TILES:
        raise InputDataError(f"is a raster; {metadata_format} needs objects, which a classified raster does not "
                             "delineate", path, "Use a vector layer of the objects, or the Classified_Tiles format")
    return _RasterLabels(raster, os.fspath(path), image)


def _transform_to(source: osr.SpatialReference | None, image: _Raster, path: str):
    """A transformation into the raster's CRS, or None when either CRS is unknown or both are the same."""
    if source is None or image.srs is None or source.IsSame(image.srs):
        return None
    source = source.Clone()
    source.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    with quiet_gdal():
        transform = osr.CreateCoordinateTransformation(source, image.srs)
    if transform is None:
        raise InputDataError(f"has a CRS ({source.GetName()}) that cannot be transformed to the raster's "
                             f"({image.srs.GetName()})", path, "Reproject the labels to the raster's CRS")
    return transform


class _VectorLabels:
    """Features with their class value in an in-memory layer in the raster's CRS (field ``value``)."""

    def __init__(self, ds, path: str, image: _Raster, class_field, layer_name, metadata_format, buffer_radius,
                 callbacks):
        self.path, self.image = path, image
        if layer_name:
            source = ds.GetLayerByName(layer_name)
            if source is None:
                names = ", ".join(ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount()))
                raise InputDataError(f"has no layer {layer_name!r} (layers: {names})", path,
                                     "Name one of its layers")
        else:
            source = ds.GetLayer(0)
        defn = source.GetLayerDefn()
        fields = [defn.GetFieldDefn(i) for i in range(defn.GetFieldCount())]
        listing = ", ".join(f.GetName() for f in fields) or "none"
        index = defn.GetFieldIndex(class_field) if class_field else -1
        if index < 0:
            problem = f"has no field {class_field!r}" if class_field else "needs a class field"
            raise InputDataError(f"{problem} (fields: {listing})", path, "Name the field that holds the class")
        field_type = fields[index].GetType()
        if field_type not in (ogr.OFTInteger, ogr.OFTInteger64, ogr.OFTString, ogr.OFTReal):
            raise InputDataError(f"field {class_field!r} is of type {fields[index].GetTypeName()}; the class field "
                                 "must hold integers or text", path, "Name an integer or text field")
        value_of, self.classes = self._classes(source, index, field_type, fields)
        transform = _transform_to(source.GetSpatialRef(), image, path)

        self._ds = ogr.GetDriverByName("Memory").CreateDataSource("labels")  # keeps the layer alive
        self.layer = self._ds.CreateLayer("labels", srs=image.srs, geom_type=ogr.wkbUnknown)
        self.layer.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
        failed = 0
        for feature in source:
            geometry = feature.GetGeometryRef()
            if geometry is None or geometry.IsEmpty() or not feature.IsFieldSetAndNotNull(index):
                continue
            value = value_of(feature.GetField(index))
            if value is None:
                continue
            geometry = geometry.Clone()
            if transform is not None and geometry.Transform(transform) != 0:
                failed += 1
                continue
            if geometry.GetDimension() < 2:
                if buffer_radius <= 0:
                    kind = "point" if geometry.GetDimension() == 0 else "line"
                    raise InputDataError(f"holds {kind} features, which delineate no area", path,
                                         "Give a buffer radius above 0 (in the raster's map units) to turn them "
                                         "into polygons, or use polygon labels")
                geometry = geometry.Buffer(buffer_radius)
                if geometry is None:
                    raise InputDataError("cannot be buffered: this GDAL lacks GEOS", path, "Use polygon labels")
            out = ogr.Feature(self.layer.GetLayerDefn())
            out.SetGeometry(geometry)
            out.SetField("value", value)
            self.layer.CreateFeature(out)
        if failed:
            callbacks.log(f"{path}: {failed} feature(s) could not be transformed to the raster's CRS and were left out")
        self._check_overlap()
        self.instance_masks = metadata_format == esri.RCNN_MASKS

    def _classes(self, source, index, field_type, fields):
        """(feature value -> class value or None to skip, classes). Text classes are numbered 1..N sorted."""
        if field_type == ogr.OFTString:
            names = sorted({f.GetField(index) for f in source if f.IsFieldSetAndNotNull(index)} - {""})
            numbers = {name: n for n, name in enumerate(names, start=1)}
            return numbers.get, [ClassInfo(n, name, default_color(n - 1)) for name, n in numbers.items()]

        def value_of(raw):
            if not float(raw).is_integer() or not 1 <= int(raw) <= 65535:
                raise InputDataError(f"class field {fields[index].GetName()!r} holds {raw}; class values must be "
                                     "whole numbers from 1 to 65535 (0 is the background)", self.path,
                                     "Correct the values or name another field")
            return int(raw)

        name_index = next((i for i, f in enumerate(fields) if i != index and f.GetType() == ogr.OFTString
                           and f.GetName().casefold() in NAME_FIELDS), -1)
        names: dict[int, str | None] = {}
        for feature in source:
            if feature.IsFieldSetAndNotNull(index):
                value = value_of(feature.GetField(index))
                if not names.get(value):  # the first non-empty name of a value wins
                    names[value] = feature.GetField(name_index) if name_index >= 0 else None
        return value_of, [ClassInfo(v, names[v] or str(v), default_color(i)) for i, v in enumerate(sorted(names))]

    def _check_overlap(self) -> None:
        if self.layer.GetFeatureCount() == 0:
            raise InputDataError("has no features with a geometry and a class value", self.path,
                                 "Choose a layer with labelled features")
        self.layer.SetSpatialFilterRect(*self.image.grid.bounds())
        inside = self.layer.GetFeatureCount()
        self.layer.SetSpatialFilter(None)
        if inside == 0:
            raise InputDataError("no feature overlaps the raster", self.path,
                                 "Check that labels and raster cover the same area and that both declare the right "
                                 "CRS")

    def label(self, metadata_format: str, xoff: int, yoff: int, window: Grid) -> BoxLabel | PixelLabel:
        self.layer.SetSpatialFilterRect(*window.bounds())
        if metadata_format == esri.CLASSIFIED_TILES:
            ds = _mem_raster(window, gdal.GDT_UInt16)
            gdal.RasterizeLayer(ds, [1], self.layer, options=["ATTRIBUTE=value"])
            return PixelLabel(ds.ReadAsArray())
        return self._boxes(window)

    def _boxes(self, window: Grid) -> BoxLabel:
        size = window.width
        boxes, values, fids = [], [], []
        for feature in self.layer:
            minx, maxx, miny, maxy = feature.GetGeometryRef().GetEnvelope()
            (left, top), (right, bottom) = window.to_pixel(minx, maxy), window.to_pixel(maxx, miny)
            left, right = sorted((left, right))
            top, bottom = sorted((top, bottom))
            box = [max(left, 0.0), max(top, 0.0), min(right, size), min(bottom, size)]
            inside = max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)
            if inside > 0 and inside >= MIN_VISIBLE_FRACTION * (right - left) * (bottom - top):
                boxes.append(box)
                values.append(feature.GetField("value"))
                fids.append(feature.GetFID())
        masks = None
        if self.instance_masks:
            masks = np.zeros((len(fids), size, size), bool)
            for n, fid in enumerate(fids):
                # Each instance on its own, so that overlapping objects keep whole masks.
                self.layer.SetAttributeFilter(f"FID = {fid}")
                ds = _mem_raster(window, gdal.GDT_Byte)
                gdal.RasterizeLayer(ds, [1], self.layer, burn_values=[1])
                masks[n] = ds.ReadAsArray().astype(bool)
            self.layer.SetAttributeFilter(None)
        return BoxLabel(np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(values, np.int64), masks)


class _RasterLabels:
    """A single-band raster of class values, read on the raster's grid (warped by nearest neighbour if needed)."""

    def __init__(self, ds, path: str, image: _Raster):
        self.path, self.image = path, image
        if ds.RasterCount != 1:
            raise InputDataError(f"has {ds.RasterCount} bands; a classified raster has one band of class values",
                                 path, "Choose a single-band classified raster")
        source_band = ds.GetRasterBand(1)
        numeric = gdal_array.GDALTypeCodeToNumericTypeCode(source_band.DataType)
        if numeric is None or not np.issubdtype(numeric, np.integer):
            raise InputDataError(f"holds {gdal.GetDataTypeName(source_band.DataType)} values; class values must be "
                                 "integers", path, "Convert it to an integer raster of class values")
        labels_grid = Grid.of(ds, path, fix="Georeference the classified raster first")
        self._source = ds  # the warped VRT reads from it
        self._ds = ds if self._on_grid(labels_grid) else self._warp(ds)
        self.band = self._ds.GetRasterBand(1)
        self.nodata = self.band.GetNoDataValue()
        values = self._scan()
        if not values:
            raise InputDataError("has no class pixels (values other than 0 and NoData) within the raster's extent",
                                 path, "Check that labels and raster cover the same area and both declare their CRS")
        names, colors = _raster_class_names(source_band), source_band.GetColorTable()
        self.classes = [ClassInfo(v, names.get(v, f"class {v}"),
                                  colors.GetColorEntry(v)[:3] if colors is not None and v < colors.GetCount()
                                  else default_color(i))
                        for i, v in enumerate(values)]

    def _on_grid(self, labels: Grid) -> bool:
        raster = self.image.grid
        same_crs = (not labels.crs_wkt or self.image.srs is None
                    or osr.SpatialReference(wkt=labels.crs_wkt).IsSame(self.image.srs))
        return ((labels.width, labels.height) == (raster.width, raster.height) and same_crs
                and np.allclose(labels.transform, raster.transform, rtol=0, atol=1e-9 * max(raster.pixel_size)))

    def _warp(self, ds):
        # A missing CRS on either side means "the same coordinates": warp without reprojecting.
        reproject = bool(ds.GetProjection()) and self.image.srs is not None
        bounds = self.image.grid.bounds()
        with quiet_gdal():
            warped = gdal.Warp("", ds, format="VRT", outputBounds=bounds,
                               width=self.image.grid.width, height=self.image.grid.height, resampleAlg="near",
                               dstSRS=self.image.grid.crs_wkt if reproject else None, dstNodata=0)
            message = gdal.GetLastErrorMsg()
        if warped is None:
            raise InputDataError(f"cannot be resampled onto the raster's grid ({message})", self.path,
                                 "Resample it onto the raster's grid yourself (gdalwarp)")
        return warped

    def _read(self, xoff: int, yoff: int, width: int, height: int) -> np.ndarray:
        with quiet_gdal():
            array = self.band.ReadAsArray(xoff, yoff, width, height)
            message = gdal.GetLastErrorMsg()
        if array is None:
            raise InputDataError(f"cannot be read ({message or 'GDAL read failed'})", self.path,
                                 "The file is truncated or corrupt: repair or replace it")
        if self.nodata is not None:
            array[array == self.nodata] = 0
        return array

    def _scan(self) -> list[int]:
        """The class values present, read in strips so that memory stays bounded."""
        width, height = self.image.grid.width, self.image.grid.height
        rows = max(1, SCAN_PIXELS // width)
        found: set[int] = set()
        for yoff in range(0, height, rows):
            found.update(np.unique(self._read(0, yoff, width, min(rows, height - yoff))).tolist())
        found.discard(0)
        if found and (min(found) < 0 or max(found) > 65535):
            raise InputDataError(f"holds class values from {min(found)} to {max(found)}; they must lie in "
                                 "1..65535 (0 and NoData are the background)", self.path,
                                 "Renumber the classes or set the NoData value")
        return sorted(found)

    def label(self, metadata_format: str, xoff: int, yoff: int, window: Grid) -> PixelLabel:
        return PixelLabel(self._read(xoff, yoff, window.width, window.height))


def _raster_class_names(band) -> dict[int, str]:
    """Class names from the band's attribute table: its Name column by usage, else by a usual column name."""
    rat = band.GetDefaultRAT()
    if rat is None:
        return {}
    columns = {rat.GetNameOfCol(i).casefold(): i for i in range(rat.GetColumnCount())}
    value_col = rat.GetColOfUsage(gdal.GFU_MinMax)
    value_col = value_col if value_col >= 0 else columns.get("value", -1)
    name_col = rat.GetColOfUsage(gdal.GFU_Name)
    name_col = name_col if name_col >= 0 else next((columns[n] for n in RAT_NAME_COLUMNS if n in columns), -1)
    if name_col < 0:
        return {}
    names = {}
    for row in range(rat.GetRowCount()):
        # Without a value column, a thematic table's row number is the value.
        value = rat.GetValueAsInt(row, value_col) if value_col >= 0 else row
        name = rat.GetValueAsString(row, name_col)
        if name:
            names[value] = name
    return names
