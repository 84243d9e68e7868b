"""A training-data folder written by an "Export Training Data For Deep Learning" tool, opened and checked."""
from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import InputDataError
from . import esri
from .esri import BandStatistics, ClassInfo, ExportMetadata, default_color
from .labels import READERS, RASTER_EXTENSIONS, BoxLabel, PixelLabel
from .raster import RasterHeader, read_header, read_raster

EXPORT_HINT = ("Point it at a folder written by 'Export Training Data For Deep Learning' "
               "(it holds images/, labels/ and esri_accumulated_stats.json)")
STATISTICS_SAMPLE = 64  # chips read to compute band statistics when the export has none
# ArcGIS Pro writes the chips of the Additional Input Raster (in_raster2) here, listed second in map.txt
SECOND_RASTER_DIR = "images2"


@dataclass(frozen=True)
class Chip:
    stem: str
    image: Path
    labels: tuple[Path, ...]


class _ClassCatalogue:
    """Resolves class tokens found in labels. With declared classes, an undeclared one is an error; without any
    (labels made by another tool), classes are discovered as they appear."""

    def __init__(self, declared: list[ClassInfo], declared_in: str):
        self.classes = {c.value: c for c in declared}
        self.by_name = {c.name.casefold(): c.value for c in declared}
        self.discover = not declared
        self.declared_in = declared_in

    def resolve(self, token: str, path: Path) -> int:
        value = int(token) if re.fullmatch(r"-?\d+", token) else None
        if value is not None and value in self.classes:
            return value
        if token.casefold() in self.by_name:
            return self.by_name[token.casefold()]
        if not self.discover:
            known = ", ".join(f"{c.value} ({c.name})" for c in self.classes.values())
            raise InputDataError(f"names class {token!r}, which {self.declared_in} does not declare "
                                 f"(declared: {known})", path,
                                 f"Add the class to 'Classes' in {self.declared_in} or correct the label")
        if value is None:
            value = max(self.classes, default=0) + 1
        self.classes[value] = ClassInfo(value, token, default_color(len(self.classes)))
        self.by_name[token.casefold()] = value
        return value


@dataclass
class TrainingData:
    """Chips, labels, classes and statistics of one export folder. Open with :meth:`open`."""

    folder: Path
    format: str
    chips: list[Chip]
    classes: list[ClassInfo]
    header: RasterHeader
    metadata: ExportMetadata
    num_objects: int = 0
    num_labeled_images: int = 0
    objects_per_class: dict[int, int] = field(default_factory=dict)
    pixels_per_value: dict[int, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _statistics: BandStatistics | None = None

    @property
    def task(self) -> str:
        return esri.TASK_OF_FORMAT[self.format]

    @property
    def chip_size(self) -> tuple[int, int]:
        return self.header.height, self.header.width

    @property
    def has_instance_masks(self) -> bool:
        return self.format == esri.RCNN_MASKS

    @property
    def image_space(self) -> str:
        return self.metadata.image_space or "MAP_SPACE"

    @property
    def class_index(self) -> dict[int, int]:
        """Class value -> training index; index 0 is the background (value 0 / NoData for tiles)."""
        return {c.value: i for i, c in enumerate(self.classes, start=1)}

    # -- opening -------------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, folder: str | os.PathLike) -> "TrainingData":
        folder = Path(folder).expanduser()
        if not folder.exists():
            raise InputDataError("does not exist", folder, EXPORT_HINT)
        if not folder.is_dir():
            raise InputDataError("is not a folder", folder, EXPORT_HINT)
        if not any(folder.iterdir()):
            raise InputDataError("is empty", folder, EXPORT_HINT)
        images_dir, labels_dir = folder / "images", folder / "labels"
        if not images_dir.is_dir():
            raise InputDataError("has no images/ folder", folder, EXPORT_HINT)
        if not labels_dir.is_dir():
            raise InputDataError("has no labels/ folder", folder, EXPORT_HINT)

        metadata = esri.read_export_metadata(folder)
        fmt = _detect_format(metadata, folder, labels_dir)
        reader = READERS[fmt]
        chips = _pair_chips(images_dir, reader.find_labels(labels_dir))
        data = cls(folder, fmt, chips, [], _common_header(chips), metadata)
        data._check_against_metadata()
        data._scan_labels()
        return data

    def _check_against_metadata(self) -> None:
        meta = self.metadata
        if meta.num_bands and meta.num_bands != self.header.bands:
            self.warnings.append(f"{esri.STATS_FILE} says {meta.num_bands} bands but the chips have "
                                 f"{self.header.bands}; the chips are used as they are")
        if meta.tile_size and tuple(meta.tile_size) != self.chip_size:
            self.warnings.append(f"the metadata says {meta.tile_size[0]}x{meta.tile_size[1]} px chips but they are "
                                 f"{self.chip_size[0]}x{self.chip_size[1]}; the chips are used as they are")
        present = {c.image.relative_to(self.folder).as_posix().casefold() for c in self.chips}
        missing = [image for image, _ in meta.map_entries if image.casefold() not in present]
        if missing:
            self.warnings.append(f"{esri.MAP_FILE} lists {len(missing)} chip(s) that are not in images/ "
                                 f"(first: {missing[0]}); only the {len(self.chips)} present are used")
        second = self.folder / SECOND_RASTER_DIR
        if second.is_dir():
            count = sum(1 for p in second.iterdir() if p.is_file() and p.suffix.lower() in RASTER_EXTENSIONS)
            self.warnings.append(f"{SECOND_RASTER_DIR}/ holds {count} chip(s) of a second input raster (the export's "
                                 f"Additional Input Raster), which is not used: the models train on the "
                                 f"{self.header.bands} band(s) of images/ alone. To train on both, stack them into one "
                                 "raster (QGIS: Build Virtual Raster, each input file a separate band) and export "
                                 "again")

    def _scan_labels(self) -> None:
        """Reads every label once: validates classes and sizes, and counts objects / pixels per class."""
        declared_in = esri.EMD_FILE if (self.folder / esri.EMD_FILE).is_file() else esri.STATS_FILE
        declared = [c for c in self.metadata.classes if not (self.task == esri.PIXEL_CLASSIFICATION and c.value == 0)]
        catalogue = _ClassCatalogue(declared, declared_in)
        objects, pixels, labeled, dropped = Counter(), Counter(), 0, []
        for chip in self.chips:
            label = self.read_label_values(chip, catalogue.resolve)
            if isinstance(label, PixelLabel):
                if label.values.shape != self.chip_size:
                    raise InputDataError(f"is {label.values.shape[0]}x{label.values.shape[1]} px but its chip is "
                                         f"{self.chip_size[0]}x{self.chip_size[1]}", chip.labels[0],
                                         "Labels must have the size of their chip: re-export the training data")
                values, counts = np.unique(label.values, return_counts=True)
                for value, count in zip(values.tolist(), counts.tolist()):
                    if value != 0:
                        catalogue.resolve(str(value), chip.labels[0])
                    pixels[value] += count
                labeled += bool((label.values != 0).any())
            else:
                objects.update(label.values.tolist())
                labeled += bool(len(label.values))
                dropped.append((chip.labels[0], *_unusable_boxes(label.boxes, self.chip_size)))
        outside, thin = sum(d[1] for d in dropped), sum(d[2] for d in dropped)
        if outside or thin:
            first = next(path.name for path, *counts in dropped if any(counts))
            self.warnings.append(f"{outside + thin} box(es) are left out of training: {outside} outside their chip, "
                                 f"{thin} less than 1 px wide or high within it (first in {first})")
        self.classes = [catalogue.classes[v] for v in sorted(catalogue.classes)]
        self.objects_per_class = dict(objects)
        self.num_objects = sum(objects.values())
        self.pixels_per_value = dict(sorted(pixels.items()))
        self.num_labeled_images = labeled
        if not self.classes:
            raise InputDataError("has no labelled objects or class pixels in any chip", self.folder / "labels",
                                 "Export training data where the labels contain features")

    # -- reading -------------------------------------------------------------------------------------------------

    def read_label_values(self, chip: Chip, resolve=None) -> BoxLabel | PixelLabel:
        """A chip's label in class values; ``resolve`` maps label tokens to values (default: the known classes)."""
        return READERS[self.format].read(chip.labels, resolve or self._known_classes.resolve)

    @cached_property
    def _known_classes(self) -> _ClassCatalogue:
        return _ClassCatalogue(self.classes, esri.EMD_FILE)

    def read_image(self, index: int) -> np.ndarray:
        chip = self.chips[index]
        image = read_raster(chip.image)
        if image.shape != (self.header.bands, *self.chip_size):
            raise InputDataError(f"has shape {image.shape} but the other chips are "
                                 f"{(self.header.bands, *self.chip_size)}", chip.image,
                                 "Remove the odd chip or re-export the training data")
        return image

    # -- statistics and summaries ----------------------------------------------------------------------------------

    @property
    def band_statistics(self) -> BandStatistics:
        """From the export's accumulated statistics when they match the chips, else computed on a sample."""
        if self._statistics is None:
            stats = self.metadata.band_statistics
            if stats is None or len(stats.mean) != self.header.bands:
                stats = self._compute_band_statistics()
            self._statistics = stats
        return self._statistics

    def _compute_band_statistics(self) -> BandStatistics:
        picks = np.unique(np.linspace(0, len(self.chips) - 1, min(STATISTICS_SAMPLE, len(self.chips))).astype(int))
        total = np.zeros(self.header.bands)
        squares = np.zeros(self.header.bands)
        lo = np.full(self.header.bands, np.inf)
        hi = np.full(self.header.bands, -np.inf)
        count = 0
        for i in picks:
            image = self.read_image(int(i)).reshape(self.header.bands, -1).astype(np.float64)
            total += image.sum(1)
            squares += (image ** 2).sum(1)
            lo, hi = np.minimum(lo, image.min(1)), np.maximum(hi, image.max(1))
            count += image.shape[1]
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean ** 2, 0.0))
        return BandStatistics(tuple(mean.tolist()), tuple(std.tolist()), tuple(lo.tolist()), tuple(hi.tolist()),
                              f"computed on {len(picks)} chip(s)")

    def summary(self) -> dict:
        """What ``python -m autodl_qgis inspect --json`` prints."""
        info = {
            "folder": str(self.folder),
            "format": self.format,
            "task": self.task,
            "num_images": len(self.chips),
            "num_labeled_images": self.num_labeled_images,
            "chip_size": list(self.chip_size),
            "bands": self.header.bands,
            "dtype": self.header.dtype,
            "image_space": self.image_space,
            "classes": [c.as_dict() for c in self.classes],
        }
        if self.task == esri.OBJECT_DETECTION:
            info["num_objects"] = self.num_objects
            info["objects_per_class"] = {str(c.value): self.objects_per_class.get(c.value, 0) for c in self.classes}
            info["instance_masks"] = self.has_instance_masks
        else:
            total = sum(self.pixels_per_value.values()) or 1
            info["class_pixel_fraction"] = {str(v): round(n / total, 6) for v, n in self.pixels_per_value.items()}
        info["warnings"] = list(self.warnings)
        return info


def _detect_format(metadata: ExportMetadata, folder: Path, labels_dir: Path) -> str:
    mode = metadata.metadata_mode
    if mode:
        if mode not in esri.FORMATS:
            source = esri.STATS_FILE if (folder / esri.STATS_FILE).is_file() else esri.EMD_FILE
            raise InputDataError(f"uses the metadata format {mode!r}, which Train Using AutoDL does not support",
                                 folder / source, "Re-export the training data as " + ", ".join(esri.FORMATS))
        return mode
    entries = [p for p in labels_dir.iterdir() if not p.name.startswith(".")]
    if any(p.is_dir() and re.fullmatch(r"\d+", p.name) for p in entries):
        return esri.RCNN_MASKS
    suffixes = Counter(p.suffix.lower() for p in entries if p.is_file())
    for suffix, fmt in ((".xml", esri.PASCAL_VOC), (".txt", esri.KITTI)):
        if suffixes[suffix]:
            return fmt
    if any(suffixes[s] for s in RASTER_EXTENSIONS):
        return esri.CLASSIFIED_TILES
    raise InputDataError("has no label files (.xml, .txt or label rasters) and no metadata naming the format",
                         labels_dir, EXPORT_HINT)


def _pair_chips(images_dir: Path, labels: dict[str, tuple[Path, ...]]) -> list[Chip]:
    images = {}
    for path in sorted(images_dir.iterdir()):
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in RASTER_EXTENSIONS:
            images.setdefault(path.stem, path)
    if not images:
        raise InputDataError("holds no image chips (.tif, .png, .jpg or .mrf)", images_dir, EXPORT_HINT)
    orphan_labels = sorted(set(labels) - set(images))
    if orphan_labels:
        first = labels[orphan_labels[0]][0]
        raise InputDataError(f"has no matching chip in images/ ({len(orphan_labels)} label(s) without a chip)",
                             first, "Restore the missing chips or delete the labels that have none")
    orphan_images = sorted(set(images) - set(labels))
    if orphan_images:
        raise InputDataError(f"has no label in labels/ ({len(orphan_images)} chip(s) without a label)",
                             images[orphan_images[0]], "Restore the missing labels or delete the chips that have none")
    return [Chip(stem, images[stem], labels[stem]) for stem in sorted(images)]


def _common_header(chips: list[Chip]) -> RasterHeader:
    headers = []
    for chip in chips:
        headers.append(read_header(chip.image))
        read_raster(chip.image)  # decoded once here, so a truncated or corrupt chip is named before training
    common, _ = Counter(headers).most_common(1)[0]
    for chip, header in zip(chips, headers):
        if header != common:
            raise InputDataError(f"is {header.height}x{header.width} px, {header.bands} band(s) of {header.dtype}, "
                                 f"but most chips are {common.height}x{common.width} px, {common.bands} band(s) of "
                                 f"{common.dtype}", chip.image,
                                 "All chips must share size, band count and pixel type: remove the odd chips or "
                                 "re-export them with the same settings")
    return common


def _unusable_boxes(boxes: np.ndarray, chip_size: tuple[int, int]) -> tuple[int, int]:
    """How many boxes training drops (augment.py clamps boxes to the chip, then drops those under 1 px): those
    entirely outside the chip, and those less than 1 px wide or high once clamped."""
    height, width = chip_size
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    outside = (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0) | (boxes[:, 0] >= width) | (boxes[:, 1] >= height)
    clamped = np.clip(boxes, 0, [width, height, width, height])
    thin = ~outside & ((clamped[:, 2] - clamped[:, 0] < 1) | (clamped[:, 3] - clamped[:, 1] < 1))
    return int(outside.sum()), int(thin.sum())
