"""Training data: Esri export folders (Classified_Tiles, PASCAL_VOC_rectangles, KITTI_rectangles, RCNN_Masks)."""
from .esri import (CLASSIFIED_TILES, FORMATS, KITTI, OBJECT_DETECTION, PASCAL_VOC, PIXEL_CLASSIFICATION,
                   RCNN_MASKS, BandStatistics, ClassInfo)
from .training_data import Chip, TrainingData

__all__ = ["CLASSIFIED_TILES", "FORMATS", "KITTI", "OBJECT_DETECTION", "PASCAL_VOC", "PIXEL_CLASSIFICATION",
           "RCNN_MASKS", "BandStatistics", "Chip", "ClassInfo", "TrainingData"]
