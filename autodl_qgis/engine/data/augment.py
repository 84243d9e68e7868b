"""Training augmentations (torchvision.transforms.v2) that move boxes and masks with the image.

Geometry: flips and transposes make the whole dihedral group (all 90-degree rotations and mirrors) when the
imagery is in map space; in pixel space (oblique or street-level imagery "up" matters) only left-right flips.
Scale/crop zooms in by up to ~2x. Brightness/contrast only for 8-bit RGB, where they mean what they say;
multispectral or non-8-bit chips get geometry only. :class:`Mosaic` (opt-in) puts four rescaled chips in one.
"""
from __future__ import annotations

from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

# Mosaic's rescale of each source chip (YOLOv5/v8's default gain range)
MOSAIC_SCALES = (0.5, 1.5)


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


class Mosaic:
    """Four chips in one (YOLO's mosaic): a random centre splits the chip into four quadrants, and each quadrant is
    a random crop of one source chip after a random rescale (scale jitter). Objects keep about their size, more
    objects and contexts are seen per step, and objects are cut by the quadrant edges as by a chip's edge.

    v2 transforms move the boxes and masks with the pixels: :class:`v2.ScaleJitter` rescales,
    :class:`v2.RandomCrop` (padded with zeros when the rescaled chip is smaller) takes the quadrant's share and
    :class:`v2.Pad` places it, so each piece is a full-size chip, zero outside its quadrant.
    """

    def __init__(self, task: str, chip_size: tuple[int, int], scale_range: tuple[float, float] = MOSAIC_SCALES):
        self.detection = task == "object_detection"
        self.chip_size = chip_size
        self.jitter = v2.ScaleJitter(chip_size, scale_range, antialias=True)

    def __call__(self, samples: list[tuple[tv_tensors.Image, Any]]) -> tuple[tv_tensors.Image, Any]:
        """``samples``: four ``(image, target)`` of the chip size, targets as ChipDataset makes them."""
        height, width = self.chip_size
        # the centre stays in the middle half, so that no quadrant is thinner than a quarter of the chip
        cy = int(torch.randint(height // 4, height - height // 4 + 1, ()))
        cx = int(torch.randint(width // 4, width - width // 4 + 1, ()))
        pieces = []
        for (image, target), (top, left) in zip(samples, ((0, 0), (0, cx), (cy, 0), (cy, cx))):
            h, w = (cy if top == 0 else height - cy), (cx if left == 0 else width - cx)
            place = v2.Compose([self.jitter, v2.RandomCrop((h, w), pad_if_needed=True),
                                v2.Pad([left, top, width - left - w, height - top - h])])
            pieces.append(place(image, target))
        images = [image for image, _ in pieces]
        # the pieces are zero outside their own quadrants, so their sum is the mosaic
        image = tv_tensors.wrap(torch.stack(images).sum(0, dtype=images[0].dtype), like=images[0])
        targets = [target for _, target in pieces]
        if not self.detection:
            return image, tv_tensors.wrap(torch.stack(targets).sum(0, dtype=targets[0].dtype), like=targets[0])
        target = {"boxes": tv_tensors.wrap(torch.cat([t["boxes"] for t in targets]), like=targets[0]["boxes"]),
                  "labels": torch.cat([t["labels"] for t in targets])}
        if "masks" in targets[0]:
            target["masks"] = tv_tensors.Mask(torch.cat([t["masks"] for t in targets]))
        return v2.SanitizeBoundingBoxes(min_size=1.0)(image, target)  # drops boxes a quadrant edge cut to nothing
