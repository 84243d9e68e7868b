"""Using a trained .dlpk on rasters: tiled, batched, georeferenced outputs."""
from .run import InferenceResult, classify_pixels, detect_objects

__all__ = ["InferenceResult", "classify_pixels", "detect_objects"]
