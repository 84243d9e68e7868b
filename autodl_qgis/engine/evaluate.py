"""Scoring a model package on any labelled training-data folder (another area, another date) with the metrics the
training reports (train/metrics.py). Chips are read and normalised exactly as inference reads rasters (the
package's bands and NormalizationStats, infer/raster.py); labels are matched to the model's classes by value, or
by name when the values differ."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from . import validate
from .data import TrainingData
from .data.esri import OBJECT_DETECTION
from .devices import resolve_device
from .errors import InputDataError
from .infer.backend import load_model
from .infer.raster import Window, normaliser, open_raster
from .infer.run import MAX_BATCH_SIZE
from .package import open_package
from .progress import Callbacks, SilentCallbacks, check_cancel
from .train.metrics import DetectionMetrics, PixelMetrics
from .train.records import Scores


@dataclass(frozen=True)
class Evaluation:
    """A package's scores on a folder: ``metric`` is the primary metric (AP50 or mIoU), ``metrics`` everything
    train/metrics.py computes (per class included)."""

    model: str
    data: str
    network: str
    backbone: str
    task: str
    chips: int
    metric_name: str
    metric: float
    metrics: Scores | None = None
    confidence: float | None = None  # detection: the score at which precision / recall / F1 are counted
    warnings: tuple[str, ...] = ()
    test_time_augmentation: bool = False  # predicted over each chip's eight flips and quarter turns

    def as_dict(self) -> dict:
        return {"model": self.model, "data": self.data, "network": self.network, "backbone": self.backbone,
                "task": self.task, "chips": self.chips, "metric_name": self.metric_name, "metric": self.metric,
                "confidence": self.confidence, "metrics": self.metrics.as_dict() if self.metrics is not None else {},
                "warnings": list(self.warnings), "test_time_augmentation": self.test_time_augmentation}


def _class_map(package, data: TrainingData) -> tuple[dict[int, int], list[str]]:
    """Folder class value -> the model's class index (1..K), by name first (another export may number classes
    differently), else by value; and a warning for the classes the model does not know."""
    by_value = {c.value: i for i, c in enumerate(package.classes, start=1)}
    by_name = {c.name.casefold(): i for i, c in enumerate(package.classes, start=1)}
    mapping, unknown = {}, []
    for c in data.classes:
        index = by_name.get(c.name.casefold(), by_value.get(c.value))
        if index is None:
            unknown.append(f"{c.value} ({c.name})")
        else:
            mapping[c.value] = index
    if not mapping:
        raise InputDataError(f"has none of the model's classes ({', '.join(c.name for c in package.classes)})",
                             data.folder, "Evaluate on labels of the classes the model was trained on")
    notes = [f"classes the model does not know are left out: {', '.join(unknown)}"] if unknown else []
    return mapping, notes


def evaluate_package(model_path: str | os.PathLike, in_data: str | os.PathLike | TrainingData, *,
                     confidence: float | None = None, batch_size: int = 4, device: str = "auto",
                     callbacks: Callbacks | None = None, test_time_augmentation: bool | None = None) -> Evaluation:
    """Predicts every chip of ``in_data`` with the package and scores the predictions against the labels;
    ``test_time_augmentation``: as inference predicts with it (each chip's eight flips and quarter turns) or without;
    None: as the package predicts by default; ``confidence`` None: the package's threshold, as Detect Objects."""
    if confidence is not None:
        validate.fraction("confidence", confidence)
    validate.positive_int("batch_size", batch_size, MAX_BATCH_SIZE)
    callbacks = callbacks or SilentCallbacks()
    data = in_data if isinstance(in_data, TrainingData) else TrainingData.open(in_data)
    with open_package(model_path) as package:
        if package.task != data.task:
            raise InputDataError(f"is a {package.task.replace('_', ' ')} model but the training data is "
                                 f"{data.format} ({data.task.replace('_', ' ')})", package.path,
                                 "Evaluate a model of the same kind as the labels")
        mapping, notes = _class_map(package, data)
        for note in notes:
            callbacks.log(f"warning: {note}")
        device = resolve_device(device)
        extract = package.extract_bands
        normalise = normaliser(package.normalisation, len(extract))
        height, width = data.chip_size
        tile = max(package.chip_size[0], height, width)  # smaller chips are padded as inference pads
        if test_time_augmentation is None:
            test_time_augmentation = package.test_time_augmentation
        if confidence is None:
            confidence = package.detection_confidence
        model = load_model(package, device, "torch", tile, test_time_augmentation)
        lut = np.zeros(max([*mapping, 0]) + 1, np.int64)
        for value, index in mapping.items():
            lut[value] = index
        names = [c.name for c in package.classes]
        metrics = DetectionMetrics(names, confidence) if data.task == OBJECT_DETECTION else PixelMetrics(names)
        chips = data.chips
        with torch.no_grad():
            for start in range(0, len(chips), batch_size):
                check_cancel(callbacks)
                batch = chips[start:start + batch_size]
                images = []
                for chip in batch:
                    source = open_raster(chip.image, extract)
                    images.append(normalise(source.read(Window(0, 0, width, height), tile)))
                    source = None
                predictions = model.predict(torch.from_numpy(np.stack(images)).to(device))
                targets = [_target(data, chip, lut) for chip in batch]
                if data.task == OBJECT_DETECTION:
                    metrics.update(predictions, targets)
                else:
                    metrics.update(predictions[:, :, :height, :width].float(), torch.stack(targets))
                done = start + len(batch)
                callbacks.progress(done / len(chips), f"evaluating: chip {done} of {len(chips)}")
        scores = metrics.compute()
        return Evaluation(str(package.path), str(data.folder), package.network, package.backbone, data.task,
                          len(chips), scores.primary_name, scores.primary, scores,
                          confidence if data.task == OBJECT_DETECTION else None, tuple(notes),
                          test_time_augmentation)


def _target(data: TrainingData, chip, lut: np.ndarray):
    """A chip's label as the model's class indices; classes it does not know are left out (pixels: background)."""
    label = data.read_label_values(chip)
    values = np.asarray(label.values)
    known = (values < len(lut)) & (values >= 0)
    index = np.where(known, lut[np.where(known, values, 0)], 0)
    if data.task != OBJECT_DETECTION:
        return torch.from_numpy(index.astype(np.int64))
    keep = index > 0
    return {"boxes": torch.from_numpy(np.asarray(label.boxes, np.float32).reshape(-1, 4)[keep]),
            "labels": torch.from_numpy(index[keep].astype(np.int64))}
