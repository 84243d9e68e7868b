"""Torch datasets over a :class:`TrainingData` folder: normalised float tensors and index-valued targets."""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors

from . import esri
from .augment import Mosaic, build_augmentation, photometric_allowed
from .split import DataSplit, split_chips
from .training_data import TrainingData


class ChipDataset(Dataset):
    """Yields ``(image, target)``: image float32 (bands, H, W) normalised with the band statistics.

    Object detection: target ``{"boxes": (N, 4) XYXY float, "labels": (N,) int64 in 1..K, "masks": (N, H, W)
    uint8 for RCNN_Masks}``. Pixel classification: target (H, W) int64 in 0..K, 0 = background / NoData.

    With probability ``mosaic`` a chip is the :class:`Mosaic` of itself and three other random chips of the
    dataset, before ``augment``.
    """

    def __init__(self, data: TrainingData, indices: list[int], augment: Callable | None = None,
                 mosaic: float = 0.0):
        self.data, self.indices, self.augment, self.mosaic = data, list(indices), augment, mosaic
        self._mosaic = Mosaic(data.task, data.chip_size) if mosaic > 0 else None
        stats = data.band_statistics
        self.mean = torch.tensor(stats.mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(stats.std, dtype=torch.float32).clamp_min(1e-6).view(-1, 1, 1)
        self.keep_uint8 = photometric_allowed(data.header.bands, data.header.dtype)
        index = data.class_index
        self._lut = np.zeros(max(index, default=0) + 1, np.int64)
        for value, i in index.items():
            self._lut[value] = i

    def __len__(self) -> int:
        return len(self.indices)

    def without_mosaic(self) -> ChipDataset:
        """The same chips, augmented the same way, none of them a mosaic."""
        plain = copy.copy(self)
        plain.mosaic, plain._mosaic = 0.0, None
        return plain

    def __getitem__(self, item: int):
        image, target = self._sample(self.indices[item])
        if self._mosaic is not None and float(torch.rand(())) < self.mosaic:
            others = torch.randint(len(self.indices), (3,)).tolist()
            image, target = self._mosaic([(image, target), *(self._sample(self.indices[j]) for j in others)])
        if self.augment is not None:
            image, target = self.augment(image, target)
        image = (image.as_subclass(torch.Tensor).float() - self.mean) / self.std
        if isinstance(target, dict):
            target = {k: v.as_subclass(torch.Tensor) for k, v in target.items()}
        else:
            target = target.as_subclass(torch.Tensor)
        return image, target

    def _sample(self, i: int):
        array = self.data.read_image(i)
        image = tv_tensors.Image(torch.from_numpy(array if self.keep_uint8 else array.astype(np.float32)))
        return image, self._target(i)

    def _target(self, i: int):
        label = self.data.read_label_values(self.data.chips[i])
        if self.data.task == esri.PIXEL_CLASSIFICATION:
            return tv_tensors.Mask(torch.from_numpy(self._lut[label.values]))
        target = {
            "boxes": tv_tensors.BoundingBoxes(torch.from_numpy(label.boxes), format="XYXY",
                                              canvas_size=self.data.chip_size),
            "labels": torch.from_numpy(self._lut[label.values]),
        }
        if label.masks is not None:
            target["masks"] = tv_tensors.Mask(torch.from_numpy(label.masks.astype(np.uint8)))
        return target

    @property
    def collate_fn(self) -> Callable:
        return collate_pixels if self.data.task == esri.PIXEL_CLASSIFICATION else collate_objects


def collate_pixels(batch):
    images, targets = zip(*batch)
    return torch.stack(images), torch.stack(targets)


def collate_objects(batch):
    images, targets = zip(*batch)
    return torch.stack(images), list(targets)


def make_datasets(data: TrainingData, val_fraction: float = 0.1, seed: int = 42, augment: bool = True,
                  strength: float = 1.0, split: DataSplit | None = None,
                  mosaic: float = 0.0) -> tuple[ChipDataset, ChipDataset]:
    """Train (augmented) and validation (plain) datasets over ``split`` (default: :func:`split_chips` with this
    fraction and seed). A search computes the split once and passes it, so every candidate sees the same chips;
    its test chips, when held out, are ``ChipDataset(data, split.test)``. ``mosaic``: the probability of a
    training chip being a mosaic at full strength; it scales with ``strength`` like the rest of the augmentation
    (so tuning the strength tunes it too)."""
    split = split or split_chips(data, val_fraction, seed)
    if not augment:
        return ChipDataset(data, split.train), ChipDataset(data, split.val)
    transform = build_augmentation(data.task, data.chip_size, data.header.bands, data.header.dtype,
                                   data.image_space, strength)
    return ChipDataset(data, split.train, transform, mosaic * strength), ChipDataset(data, split.val)
