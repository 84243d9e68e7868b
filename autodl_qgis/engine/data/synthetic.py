"""Small synthetic but real training-data folders (georeferenced chips written with GDAL through
:class:`TrainingDataWriter`), for the demo and the tests: each class is a bright rectangle with its own spectral
signature on a textured background, so a network can learn it from a few chips."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from osgeo import osr

from . import esri
from .esri import ClassInfo, default_color
from .labels import BoxLabel, PixelLabel
from .writer import TrainingDataWriter

CLASS_NAMES = ("pool", "building", "solar panel", "tree", "car", "road")


def _value_range(dtype: str) -> float:
    return 255.0 if dtype == "uint8" else 4000.0  # 16-bit imagery rarely uses the full range


def synthetic_chip(rng: np.random.Generator, size: int, bands: int, dtype: str, classes: list[ClassInfo],
                   max_objects: int = 3):
    """One chip: (image (bands, H, W), class map (H, W), boxes (N, 4), class values (N,), masks (N, H, W))."""
    top = _value_range(dtype)
    image = rng.normal(0.3 * top, 0.05 * top, (bands, size, size))
    class_map = np.zeros((size, size), np.int64)
    boxes, values, masks = [], [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        cls_i = int(rng.integers(len(classes)))
        h, w = (int(v) for v in rng.integers(size // 8, size // 3, 2))
        y, x = int(rng.integers(0, size - h)), int(rng.integers(0, size - w))
        if class_map[y:y + h, x:x + w].any():  # keep objects apart so boxes and masks agree exactly
            continue
        signature = 0.55 + 0.4 * ((np.arange(bands) + cls_i) % bands) / max(bands - 1, 1)
        image[:, y:y + h, x:x + w] = signature[:, None, None] * top + rng.normal(0, 0.02 * top, (bands, h, w))
        class_map[y:y + h, x:x + w] = classes[cls_i].value
        mask = np.zeros((size, size), bool)
        mask[y:y + h, x:x + w] = True
        boxes.append([x, y, x + w, y + h])
        values.append(classes[cls_i].value)
        masks.append(mask)
    image = np.clip(image, 0, top).astype(dtype)
    return (image, class_map, np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(values, np.int64),
            np.asarray(masks, bool).reshape(-1, size, size))


def write_synthetic_dataset(folder: str | Path, metadata_format: str, num_chips: int = 8, chip_size: int = 64,
                            bands: int = 3, dtype: str = "uint8", num_classes: int = 2, image_format: str = "tif",
                            seed: int = 0, epsg: int = 32633, pixel_size: float = 0.5) -> Path:
    """Writes an export folder as the exporter would: chips in a projected CRS, laid out left to right."""
    classes = [ClassInfo(v, CLASS_NAMES[(v - 1) % len(CLASS_NAMES)], default_color(v - 1))
               for v in range(1, num_classes + 1)]
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    rng = np.random.default_rng(seed)
    with TrainingDataWriter(folder, metadata_format, classes, image_format=image_format) as writer:
        for i in range(num_chips):
            image, class_map, boxes, values, masks = synthetic_chip(rng, chip_size, bands, dtype, classes)
            if metadata_format == esri.CLASSIFIED_TILES:
                label = PixelLabel(class_map)
            else:
                label = BoxLabel(boxes, values, masks if metadata_format == esri.RCNN_MASKS else None)
            origin_x = 500000.0 + i * chip_size * pixel_size
            geotransform = (origin_x, pixel_size, 0.0, 4100000.0, 0.0, -pixel_size)
            writer.add(image, label, geotransform, srs.ExportToWkt())
    return Path(folder)
