"""Training data: Esri export folders (Classified_Tiles, PASCAL_VOC_rectangles, KITTI_rectangles, RCNN_Masks).

The format names and class types are light; the readers (numpy, GDAL) load on first use, so the QGIS provider can
name formats and networks without importing them."""
from .esri import (CLASSIFIED_TILES, FORMATS, KITTI, OBJECT_DETECTION, PASCAL_VOC, PIXEL_CLASSIFICATION,
                   RCNN_MASKS, BandStatistics, ClassInfo)

__all__ = ["CLASSIFIED_TILES", "FORMATS", "KITTI", "OBJECT_DETECTION", "PASCAL_VOC", "PIXEL_CLASSIFICATION",
           "RCNN_MASKS", "BandStatistics", "Chip", "ClassInfo", "TrainingData"]


def __getattr__(name):
    if name in ("Chip", "TrainingData"):
        from . import training_data

        return getattr(training_data, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
