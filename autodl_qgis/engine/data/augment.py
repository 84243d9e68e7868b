"""Training augmentations (torchvision.transforms.v2) that move boxes and masks with the image.

Geometry: flips and transposes make the whole dihedral group (all 90-degree rotations and mirrors) when the
imagery is in map space; in pixel space (oblique or street-level imagery "up" matters) only left-right flips.
Scale/crop zooms in by up to ~2x. Brightness/contrast only for 8-bit RGB, where they mean what they say;
multispectral or non-8-bit chips get geometry only.
"""
from __future__ import annotations

from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2


class RandomTranspose(v2.Transform):
    """Swaps rows and columns with probability ``p``; with random flips this gives every 90-degree rotation."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = p

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        return {"apply": bool(torch.rand(()) < self.p)}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not params["apply"]:
            return inpt
        if isinstance(inpt, tv_tensors.BoundingBoxes):
            if inpt.format != tv_tensors.BoundingBoxFormat.XYXY:
                raise ValueError("RandomTranspose expects XYXY boxes")
            height, width = inpt.canvas_size
            return tv_tensors.wrap(inpt[..., [1, 0, 3, 2]], like=inpt, canvas_size=(width, height))
        out = inpt.transpose(-1, -2)
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else out


def photometric_allowed(bands: int, dtype: str) -> bool:
    return bands == 3 and dtype == "uint8"


def build_augmentation(task: str, chip_size: tuple[int, int], bands: int, dtype: str,
                       image_space: str = "MAP_SPACE", strength: float = 1.0) -> v2.Compose:
    """``strength`` in [0, 1] scales zoom and lighting (0: flips only), so tuning can search over it."""
    ops: list[v2.Transform] = [v2.RandomHorizontalFlip()]
    if image_space != "PIXEL_SPACE":
        ops.append(v2.RandomVerticalFlip())
        if chip_size[0] == chip_size[1]:
            ops.append(RandomTranspose())
    if strength > 0:
        ops.append(v2.RandomApply([v2.RandomResizedCrop(chip_size, scale=(1.0 - 0.75 * strength, 1.0),
                                                        ratio=(0.8, 1.25), antialias=True)], p=0.5))
        if photometric_allowed(bands, dtype):
            ops.append(v2.ColorJitter(brightness=0.4 * strength, contrast=0.4 * strength))
    if task == "object_detection":
        ops += [v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes(min_size=1.0)]
    return v2.Compose(ops)
