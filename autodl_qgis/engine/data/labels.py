"""Label readers, one per metadata format, exactly as Esri's exporter writes the ``labels/`` folder.

Each reader finds the label files of every chip and reads one chip's label into class VALUES (what the exporter
wrote); mapping values to training indices is the dataset's job.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import InputDataError
from . import esri
from .raster import read_raster

RASTER_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".mrf")

# Resolves a class token found in a label ("1", or a class name some tools write) to a class value.
ClassResolver = Callable[[str, Path], int]


@dataclass
class BoxLabel:
    """Objects of one chip: boxes (N, 4) as pixel xmin, ymin, xmax, ymax; class values (N,); instance masks
    (N, H, W) bool when the format has them (RCNN_Masks)."""

    boxes: np.ndarray
    values: np.ndarray
    masks: np.ndarray | None = None


@dataclass
class PixelLabel:
    """Class value per pixel (H, W); 0 is background / NoData as the exporter means it."""

    values: np.ndarray


def _files_by_stem(folder: Path, extensions: tuple[str, ...]) -> dict[str, Path]:
    found = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in extensions:
            found.setdefault(path.stem, path)
    return found


MAX_OBJECTS = 10_000  # per chip: far more than any export holds; beyond it a label is refused, not allocated


def _check_count(count: int, path: Path) -> None:
    if count > MAX_OBJECTS:
        raise InputDataError(f"holds {count} objects, more than the {MAX_OBJECTS} one chip can have", path,
                             "Use smaller chips or fewer, larger objects; or fix the label file")


def _check_box(box: list[float], path: Path, where: str) -> None:
    xmin, ymin, xmax, ymax = box
    if not all(np.isfinite(box)) or xmax < xmin or ymax < ymin:
        raise InputDataError(f"{where} has an invalid box (xmin={xmin}, ymin={ymin}, xmax={xmax}, ymax={ymax})",
                             path, "Boxes need xmin <= xmax and ymin <= ymax; fix or remove the object")


def _box_label(boxes: list[list[float]], values: list[int]) -> BoxLabel:
    return BoxLabel(np.asarray(boxes, dtype=np.float32).reshape(-1, 4), np.asarray(values, dtype=np.int64))


class PascalVocReader:
    """``labels/<stem>.xml``: one ``<object>`` with ``<name>`` (the class value as text) and ``<bndbox>`` each."""

    format_name = esri.PASCAL_VOC

    def find_labels(self, labels_dir: Path) -> dict[str, tuple[Path, ...]]:
        return {stem: (p,) for stem, p in _files_by_stem(labels_dir, (".xml",)).items()}

    def read(self, paths: tuple[Path, ...], resolve: ClassResolver) -> BoxLabel:
        path = paths[0]
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as exc:
            raise InputDataError(f"is not well-formed XML ({exc})", path,
                                 "Fix the XML or re-export the training data") from None
        boxes, values = [], []
        for i, obj in enumerate(root.iter("object"), start=1):
            _check_count(i, path)
            name, box = obj.findtext("name"), obj.find("bndbox")
            if name is None or box is None:
                raise InputDataError(f"<object> {i} lacks <name> or <bndbox>", path,
                                     "Each <object> needs a <name> and a <bndbox>")
            try:
                coords = [float(box.findtext(tag)) for tag in ("xmin", "ymin", "xmax", "ymax")]
            except (TypeError, ValueError):
                raise InputDataError(f"<object> {i} has a missing or non-numeric <bndbox> coordinate", path,
                                     "Give xmin, ymin, xmax and ymax as numbers") from None
            _check_box(coords, path, f"<object> {i}")
            boxes.append(coords)
            values.append(resolve(name.strip(), path))
        return _box_label(boxes, values)


class KittiReader:
    """``labels/<stem>.txt``: one line of 15 fields per object: class, truncated, occluded, alpha, xmin ymin xmax
    ymax, then 7 unused fields. The exporter pads with leading spaces."""

    format_name = esri.KITTI

    def find_labels(self, labels_dir: Path) -> dict[str, tuple[Path, ...]]:
        return {stem: (p,) for stem, p in _files_by_stem(labels_dir, (".txt",)).items()}

    def read(self, paths: tuple[Path, ...], resolve: ClassResolver) -> BoxLabel:
        path = paths[0]
        boxes, values = [], []
        for number, line in enumerate(path.read_text(encoding="utf-8-sig", errors="replace").splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            try:
                if len(fields) < 8:
                    raise ValueError
                coords = [float(f) for f in fields[4:8]]
            except ValueError:
                raise InputDataError(f"line {number} is not a KITTI label line: {line.strip()!r}", path,
                                     "Each line needs at least 8 fields: class truncated occluded alpha "
                                     "xmin ymin xmax ymax") from None
            _check_box(coords, path, f"line {number}")
            _check_count(len(boxes) + 1, path)
            boxes.append(coords)
            values.append(resolve(fields[0], path))
        return _box_label(boxes, values)


def _single_band(path: Path) -> np.ndarray:
    array = read_raster(path)
    if array.shape[0] != 1 or not np.issubdtype(array.dtype, np.integer):
        raise InputDataError(f"must be a single-band integer raster of class values, found {array.shape[0]} "
                             f"band(s) of {array.dtype}", path, "Re-export the labels as class-value rasters")
    return array[0].astype(np.int64)


class ClassifiedTilesReader:
    """``labels/<stem>.tif|.png``: single band, pixel value = class value, 0 = NoData/background."""

    format_name = esri.CLASSIFIED_TILES

    def find_labels(self, labels_dir: Path) -> dict[str, tuple[Path, ...]]:
        return {stem: (p,) for stem, p in _files_by_stem(labels_dir, RASTER_EXTENSIONS).items()}

    def read(self, paths: tuple[Path, ...], resolve: ClassResolver) -> PixelLabel:
        return PixelLabel(_single_band(paths[0]))


class RcnnMasksReader:
    """Instance masks for MaskRCNN, in either layout:

    - ``labels/<class value>/<stem>.tif`` (arcgis.learn's layout): one raster per class, each instance its own
      non-zero pixel value;
    - ``labels/<stem>.tif``: class values per pixel; instances are the connected regions of each class.
    """

    format_name = esri.RCNN_MASKS

    def find_labels(self, labels_dir: Path) -> dict[str, tuple[Path, ...]]:
        class_dirs = sorted((p for p in labels_dir.iterdir() if p.is_dir() and re.fullmatch(r"\d+", p.name)),
                            key=lambda p: int(p.name))
        if not class_dirs:
            return {stem: (p,) for stem, p in _files_by_stem(labels_dir, RASTER_EXTENSIONS).items()}
        found: dict[str, list[Path]] = {}
        for class_dir in class_dirs:
            for stem, path in _files_by_stem(class_dir, RASTER_EXTENSIONS).items():
                found.setdefault(stem, []).append(path)
        return {stem: tuple(paths) for stem, paths in found.items()}

    def read(self, paths: tuple[Path, ...], resolve: ClassResolver) -> BoxLabel:
        from scipy import ndimage

        masks, values = [], []
        for path in paths:
            array = _single_band(path)
            shape = array.shape
            if re.fullmatch(r"\d+", path.parent.name) and path.parent.parent.name == "labels":
                value = resolve(path.parent.name, path)
                ids = [i for i in np.unique(array) if i != 0]
                _check_count(len(masks) + len(ids), path)
                instances = [(array == i, value) for i in ids]
            else:
                instances = []
                for v in np.unique(array):
                    if v == 0:
                        continue
                    value = resolve(str(int(v)), path)
                    regions, count = ndimage.label(array == v)
                    _check_count(len(masks) + len(instances) + count, path)
                    instances += [(regions == i, value) for i in range(1, count + 1)]
            for mask, value in instances:
                masks.append(mask)
                values.append(value)
        if not masks:
            return BoxLabel(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros((0, *shape), bool))
        stack = np.stack(masks)
        boxes = []
        for mask in stack:
            ys, xs = np.nonzero(mask)
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        return BoxLabel(np.asarray(boxes, np.float32), np.asarray(values, np.int64), stack)


READERS = {r.format_name: r for r in (ClassifiedTilesReader(), PascalVocReader(), KittiReader(), RcnnMasksReader())}
