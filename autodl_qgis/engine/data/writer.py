"""Writes a training-data folder in the layout of Esri's "Export Training Data For Deep Learning" (docs/formats.md),
so that our readers, arcgis.learn and ArcGIS read it alike. The folder appears only when complete."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
from osgeo import gdal, gdal_array

from ..errors import InputDataError
from ..geo import Grid
from . import esri
from .esri import ClassInfo
from .labels import BoxLabel, PixelLabel

_DRIVERS = {"tif": ("GTiff", ["COMPRESS=LZW"]), "png": ("PNG", []), "jpg": ("JPEG", ["QUALITY=95"])}
_WORLD_FILE_SUFFIX = {"tif": ".tfw", "png": ".pgw", "jpg": ".jgw"}  # Esri's names (GDAL would write .wld)


def _write_world_file(path: Path, grid: Grid) -> None:
    """Six lines, pixel-centre origin, as Esri's exporter writes beside every chip."""
    path.with_suffix(_WORLD_FILE_SUFFIX[path.suffix.lower().lstrip(".")]).write_text(
        "".join(f"{v:.10f}\n" for v in grid.world_file()), encoding="ascii")


def write_raster(path: Path, array: np.ndarray, geotransform=None, crs_wkt: str | None = None,
                 color_table: dict[int, tuple[int, int, int]] | None = None) -> None:
    """Writes (bands, H, W) or (H, W) with the driver of the file's extension (tif, png, jpg)."""
    array = array[np.newaxis] if array.ndim == 2 else array
    name, options = _DRIVERS[path.suffix.lower().lstrip(".")]
    mem = gdal.GetDriverByName("MEM").Create("", array.shape[2], array.shape[1], array.shape[0],
                                             gdal_array.NumericTypeCodeToGDALTypeCode(array.dtype))
    if geotransform is not None:
        mem.SetGeoTransform(tuple(geotransform))
    if crs_wkt:
        mem.SetProjection(crs_wkt)
    for i, band in enumerate(array, start=1):
        mem.GetRasterBand(i).WriteArray(band)
    if color_table:
        table = gdal.ColorTable()
        for value, rgb in color_table.items():
            table.SetColorEntry(int(value), (*rgb, 255))
        mem.GetRasterBand(1).SetRasterColorTable(table)
    if gdal.GetDriverByName(name).CreateCopy(str(path), mem, options=options) is None:
        raise OSError(f"GDAL could not write {path}: {gdal.GetLastErrorMsg()}")
    if geotransform is not None:
        _write_world_file(path, Grid(tuple(geotransform), array.shape[2], array.shape[1]))


class TrainingDataWriter:
    """Use as a context manager; ``add`` one chip at a time. The folder is written under a temporary name and
    renamed when the ``with`` block ends without error, so a failed export leaves nothing half-written."""

    def __init__(self, folder: str | os.PathLike, metadata_format: str, classes: list[ClassInfo],
                 image_format: str = "tif", digits: int = 9, image_space: str = "MAP_SPACE"):
        if metadata_format not in esri.FORMATS:
            raise InputDataError(f"unknown metadata format {metadata_format!r}", None,
                                 "Use one of " + ", ".join(esri.FORMATS))
        if image_format not in _DRIVERS:
            raise InputDataError(f"unknown chip format {image_format!r}", None, "Use tif, png or jpg")
        self.folder = Path(folder)
        if self.folder.exists() and (not self.folder.is_dir() or any(self.folder.iterdir())):
            raise InputDataError("already exists and is not empty", self.folder,
                                 "Choose a new output folder; existing training data is never overwritten")
        self.format, self.classes, self.image_format = metadata_format, classes, image_format
        self.digits, self.image_space = digits, image_space
        self.task = esri.TASK_OF_FORMAT[metadata_format]
        self._stems: list[tuple[str, str]] = []
        self._shape: tuple[int, int, int] | None = None
        self._band_sums = self._band_squares = self._band_min = self._band_max = None
        self._objects_per_image: list[Counter] = []
        self._pixels_per_image: list[Counter] = []
        self._areas: dict[int, list[float]] = {c.value: [] for c in classes}
        self._pixel_area = 1.0

    def __enter__(self) -> "TrainingDataWriter":
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        self._work = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.", dir=self.folder.parent))
        (self._work / "images").mkdir()
        (self._work / "labels").mkdir()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            return
        self._write_metadata()
        if self.folder.exists():
            self.folder.rmdir()  # empty (checked in __init__)
        os.replace(self._work, self.folder)

    @property
    def num_chips(self) -> int:
        return len(self._stems)

    def add(self, image: np.ndarray, label: BoxLabel | PixelLabel, geotransform=None,
            crs_wkt: str | None = None) -> str:
        image = image[np.newaxis] if image.ndim == 2 else image
        if self._shape is None:
            self._shape = image.shape
            self._init_band_stats(image.shape[0])
            if geotransform is not None:
                self._pixel_area = Grid(tuple(geotransform), image.shape[2], image.shape[1]).pixel_area
        elif image.shape != self._shape:
            raise ValueError(f"chip shape {image.shape} differs from the first chip's {self._shape}")
        stem = f"{len(self._stems):0{self.digits}d}"
        image_path = self._work / "images" / f"{stem}.{self.image_format}"
        write_raster(image_path, image, geotransform, crs_wkt)
        label_rel = self._write_label(stem, label, image, geotransform, crs_wkt)
        self._stems.append((f"images/{image_path.name}", label_rel))
        self._accumulate(image)
        return stem

    # -- labels ----------------------------------------------------------------------------------------------------

    def _write_label(self, stem, label, image, geotransform, crs_wkt) -> str:
        label_ext = "tif" if self.image_format == "tif" else "png"
        if self.format == esri.CLASSIFIED_TILES:
            path = self._work / "labels" / f"{stem}.{label_ext}"
            colors = {c.value: c.color for c in self.classes}
            write_raster(path, label.values.astype(np.uint8 if label.values.max(initial=0) < 256 else np.uint16),
                         geotransform, crs_wkt, colors)
            values, counts = np.unique(label.values, return_counts=True)
            self._pixels_per_image.append(Counter(dict(zip(values.tolist(), counts.tolist()))))
            return f"labels/{path.name}"
        self._objects_per_image.append(Counter(label.values.tolist()))
        for box, value in zip(label.boxes, label.values.tolist()):
            self._areas.setdefault(value, []).append(float((box[2] - box[0]) * (box[3] - box[1])) * self._pixel_area)
        if self.format == esri.PASCAL_VOC:
            path = self._work / "labels" / f"{stem}.xml"
            path.write_text(self._pascal_xml(f"{stem}.{self.image_format}", image.shape, label), encoding="utf-8")
        elif self.format == esri.KITTI:
            path = self._work / "labels" / f"{stem}.txt"
            lines = ["  {} 0.00 0 0 {:7.2f} {:7.2f} {:7.2f} {:7.2f} 0 0 0 0 0 0 0".format(v, *box)
                     for box, v in zip(label.boxes.tolist(), label.values.tolist())]
            path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
        else:  # RCNN_Masks, arcgis.learn layout: labels/<class value>/<stem>.tif, one id per instance
            first = None
            for c in self.classes:
                ids = np.zeros(image.shape[1:], np.uint16)
                for n, (mask, v) in enumerate(zip(label.masks, label.values.tolist()), start=1):
                    if v == c.value:
                        ids[mask] = n
                folder = self._work / "labels" / str(c.value)
                folder.mkdir(exist_ok=True)
                path = folder / f"{stem}.{label_ext}"
                write_raster(path, ids, geotransform, crs_wkt)
                first = first or path
            path = first
        return path.relative_to(self._work).as_posix()

    @staticmethod
    def _pascal_xml(filename: str, shape, label: BoxLabel) -> str:
        root = ET.Element("annotation")
        ET.SubElement(root, "filename").text = filename
        ET.SubElement(ET.SubElement(root, "source"), "annotation").text = "autodl_qgis"
        size = ET.SubElement(root, "size")
        for tag, value in (("width", shape[2]), ("height", shape[1]), ("depth", shape[0])):
            ET.SubElement(size, tag).text = str(value)
        for box, value in zip(label.boxes.tolist(), label.values.tolist()):
            obj = ET.SubElement(root, "object")
            ET.SubElement(obj, "name").text = str(value)
            bndbox = ET.SubElement(obj, "bndbox")
            for tag, coord in zip(("xmin", "ymin", "xmax", "ymax"), box):
                ET.SubElement(bndbox, tag).text = f"{coord:.2f}"
        ET.indent(root, space="    ")
        return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

    # -- statistics and metadata -----------------------------------------------------------------------------------

    def _init_band_stats(self, bands: int) -> None:
        self._band_sums, self._band_squares = np.zeros(bands), np.zeros(bands)
        self._band_min, self._band_max = np.full(bands, np.inf), np.full(bands, -np.inf)

    def _accumulate(self, image: np.ndarray) -> None:
        flat = image.reshape(image.shape[0], -1).astype(np.float64)
        self._band_sums += flat.sum(1)
        self._band_squares += (flat ** 2).sum(1)
        self._band_min = np.minimum(self._band_min, flat.min(1))
        self._band_max = np.maximum(self._band_max, flat.max(1))

    def _write_metadata(self) -> None:
        if not self._stems:
            raise InputDataError("no chips were written", self.folder,
                                 "Check that the raster and the labels overlap (and the chip size fits the raster)")
        bands, height, width = self._shape
        pixels_per_band = float(self.num_chips * height * width)
        stats = {
            "Version": 1, "NumBands": bands, "TileSizeX": width, "TileSizeY": height,
            "NumClasses": len(self.classes), "NumTiles": self.num_chips,
            "OutputFeatures": self.task == esri.OBJECT_DETECTION, "MetaDataMode": self.format,
            "Classes": [{"ClassValue": c.value, "ClassName": c.name} for c in self.classes],
            # M1 = sum, M2 = sum of squares, as esri.py reads them.
            "BandStatsState": [{"Min": float(lo), "Max": float(hi), "M1": float(s), "M2": float(q),
                                "Num": pixels_per_band}
                               for lo, hi, s, q in zip(self._band_min, self._band_max, self._band_sums,
                                                       self._band_squares)],
        }
        stats.update(self._feature_stats() if self.task == esri.OBJECT_DETECTION else self._pixel_stats())
        emd = {
            "Framework": "e.g. PyTorch", "ModelConfiguration": "some description",
            "ModelType": "e.g. ObjectDetection or ImageClassification", "ModelFile": "e.g. .\\trained.model",
            "ImageHeight": height, "ImageWidth": width, "ExtractBands": list(range(bands)),
            "MetaDataMode": self.format, "ImageSpaceUsed": self.image_space,
            "Classes": [{"Value": c.value, "Name": c.name, "Color": list(c.color)} for c in self.classes],
            "AllTilesStats": [{"Min": float(lo), "Max": float(hi), "Mean": float(s / pixels_per_band),
                               "StdDev": float(max(q / pixels_per_band - (s / pixels_per_band) ** 2, 0.0) ** 0.5)}
                              for lo, hi, s, q in zip(self._band_min, self._band_max, self._band_sums,
                                                      self._band_squares)],
        }
        (self._work / esri.STATS_FILE).write_text(json.dumps(stats, indent=2), encoding="utf-8")
        (self._work / esri.EMD_FILE).write_text(json.dumps(emd, indent=2), encoding="utf-8")
        with open(self._work / esri.MAP_FILE, "w", encoding="utf-8", newline="\r\n") as out:
            for image, label in self._stems:
                out.write(f"{image.replace('/', chr(92))} {label.replace('/', chr(92))} \n")
        (self._work / "stats.txt").write_text(self._stats_text(stats), encoding="utf-8")

    def _feature_stats(self) -> dict:
        per_image = [sum(c.values()) for c in self._objects_per_image]

        def summary(values):
            values = values or [0.0]
            return {"Min": min(values), "Max": max(values), "Mean": float(np.mean(values)), "Sum": sum(values),
                    "Count": len(values)}

        return {"FeatureStats": {
            "NumClasses": len(self.classes), "NumImagesTotal": self.num_chips,
            "NumFeaturesTotal": sum(per_image),
            "NumImagesPerClass": [sum(1 for c in self._objects_per_image if c[k.value]) for k in self.classes],
            "NumFeaturesPerClass": [sum(c[k.value] for c in self._objects_per_image) for k in self.classes],
            "NumFeaturesPerImage": summary(per_image),
            "FeatureAreaPerClass": [summary(self._areas.get(k.value, [])) for k in self.classes],
        }}

    def _pixel_stats(self) -> dict:
        return {"ClassPixelStats": {
            "NumClasses": len(self.classes), "NumImagesTotal": self.num_chips,
            "NumImagesPerClass": [sum(1 for c in self._pixels_per_image if c[k.value]) for k in self.classes],
            "NumPixelsPerClass": [sum(c[k.value] for c in self._pixels_per_image) for k in self.classes],
        }}

    def _stats_text(self, stats: dict) -> str:
        bands, height, width = self._shape
        lines = [f"images = {self.num_chips} *{bands}*{height}*{width}"]
        if "FeatureStats" in stats:
            fs = stats["FeatureStats"]
            lines += [f"features = {fs['NumFeaturesTotal']}", f"classes = {len(self.classes)}",
                      f"{'cls name':<20}{'cls value':>12}{'images':>10}{'features':>10}"]
            lines += [f"{c.name:<20}{c.value:>12}{n_img:>10}{n_feat:>10}" for c, n_img, n_feat in
                      zip(self.classes, fs["NumImagesPerClass"], fs["NumFeaturesPerClass"])]
        else:
            ps = stats["ClassPixelStats"]
            lines += [f"classes = {len(self.classes)}",
                      f"{'cls name':<20}{'cls value':>12}{'images':>10}{'pixels':>12}"]
            lines += [f"{c.name:<20}{c.value:>12}{n_img:>10}{n_pix:>12}" for c, n_img, n_pix in
                      zip(self.classes, ps["NumImagesPerClass"], ps["NumPixelsPerClass"])]
        return "\n".join(lines) + "\n"
