"""Training at a chip scale: the network sees the chips resampled by a factor (0.5: half the pixels per side) and
answers in the chips' own pixels. On a CPU a lighter input lets a network take several times more steps in the
same time, which can matter more than resolution (the portfolio measures it). The wrapping changes no weight names,
so a package rebuilds the network and wraps it again from the scale its model definition records."""
from __future__ import annotations

import math
import types
from typing import Sequence

import numpy as np
import torch
from torch.nn import functional as F

from ..networks import build_network

MIN_SCALED_PIXELS = 64  # a scale that would make chips smaller than this is not applied
# the small objects (the tenth percentile of the labelled boxes' shorter sides) keep at least this many pixels: one
# cell of the finest (stride 8) feature map of the detectors here. Not more: on det_rgb_2cls_small (objects of 16 to
# 43 px) every detector the portfolio measured at both scales learnt more at half scale in the same CPU time
MIN_OBJECT_PIXELS = 8
SMALL_OBJECT_PERCENTILE = 10
# the size default boxes start from: the boxes' square-root area at this percentile. The tenth, as above, is mostly
# boxes cut by the chip's edge (palm: a twentieth of the chip against a tenth for a whole crown)
TYPICAL_OBJECT_PERCENTILE = 25


def effective_scale(scale: float, chip_size: tuple[int, int]) -> float:
    return float(scale) if scale != 1.0 and min(chip_size) * scale >= MIN_SCALED_PIXELS else 1.0


def object_scale(scale: float, chip_size: tuple[int, int], object_sides: Sequence[float],
                 scales: Sequence[float] = (0.5, 0.75, 1.0)) -> tuple[float, str]:
    """The chip scale to train at, and why: the smallest of ``scales`` from ``scale`` (the portfolio's) up that
    keeps the small labelled objects (``object_sides``: each box's shorter side in chip pixels) at
    ``MIN_OBJECT_PIXELS`` or more; full scale when none does."""
    scale = effective_scale(scale, chip_size)
    if not len(object_sides) or scale == 1.0:
        return scale, "the portfolio's scale" if len(object_sides) else "the portfolio's scale (no labelled objects)"
    small = float(np.percentile(np.asarray(object_sides, dtype=float), SMALL_OBJECT_PERCENTILE))
    chosen = next((s for s in sorted(scales) if s >= scale and small * effective_scale(s, chip_size)
                   >= MIN_OBJECT_PIXELS), 1.0)
    chosen = effective_scale(chosen, chip_size)
    why = (f"small objects ({SMALL_OBJECT_PERCENTILE}th percentile of the boxes' shorter sides) are {small:.0f} px: "
           f"{small * chosen:.0f} px at scale {chosen:g}")
    if chosen == scale:
        return scale, f"the portfolio's scale; {why}"
    return chosen, (f"scale {chosen:g} instead of the portfolio's {scale:g}: {why} (at least {MIN_OBJECT_PIXELS} px "
                    "wanted)")


def typical_object_size(boxes: np.ndarray, chip_size: tuple[int, int]) -> float | None:
    """The labelled objects' typical small size as a share of the chip's shorter side (scale-free, so the same at
    every chip scale): the square-root area of ``boxes`` (N x 4, XYXY chip pixels) at the
    ``TYPICAL_OBJECT_PERCENTILE``; None without boxes."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    if not len(boxes):
        return None
    sides = np.sqrt(np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None))
    return round(float(np.percentile(sides, TYPICAL_OBJECT_PERCENTILE)) / min(chip_size), 4)


def network_chip_size(chip_size: tuple[int, int], scale: float) -> tuple[int, int]:
    """The chips as the network sees them at ``scale``: the size it is built for. Built for the chips' own size, a
    torchvision detector resizes its input back to it (its transform's fixed or minimum size), so a scaled chip
    cost a full one (SingleShotDetector on 448 px palm chips: 1.46 s a step at every scale, 0.45 s at half scale
    built for 224 px)."""
    return (int(chip_size[0]), int(chip_size[1])) if scale == 1.0 else _size(chip_size, scale)


def build_scaled_network(name: str, num_classes: int, bands: int, chip_size: tuple[int, int], backbone: str | None,
                         scale: float, pretrained: bool, device, built_for: tuple[int, int] | None = None,
                         object_size: float | None = None):
    """The network built for chips resampled by ``scale`` (``built_for``: the size a package recorded), wrapped
    by :func:`apply_chip_scale` to take and answer in the chips' own pixels. ``object_size``: see
    :func:`typical_object_size` (None: the networks' classic default boxes)."""
    size = tuple(built_for) if built_for is not None else network_chip_size(chip_size, scale)
    return apply_chip_scale(build_network(name, num_classes, bands, size, backbone, pretrained, device, object_size),
                            scale)


def apply_chip_scale(adapter, scale: float):
    """Wraps ``adapter.losses`` and ``adapter.predict`` so that they work on resampled chips; returns the adapter.
    They are bound to the adapter, so that a copy (the moving average of the weights is a deep copy) computes with
    its own weights: closures over the original's methods made every copy predict with the original's."""
    adapter.chip_scale = float(scale)
    if scale == 1.0:
        return adapter
    adapter.losses = types.MethodType(_scaled_losses, adapter)
    adapter.predict = types.MethodType(_scaled_predict, adapter)
    return adapter


def _scaled_losses(adapter, images, targets):
    scale = adapter.chip_scale
    return type(adapter).losses(adapter, _resize(images, scale), _scale_targets(targets, scale))


def _scaled_predict(adapter, images):
    scale = adapter.chip_scale
    return _unscale(type(adapter).predict(adapter, _resize(images, scale)), scale, images.shape[-2:])


def _size(shape, scale: float) -> tuple[int, int]:
    """What ``_resize`` gives: interpolation by a scale factor floors the scaled size."""
    return max(1, math.floor(shape[-2] * scale)), max(1, math.floor(shape[-1] * scale))


def _resize(images: torch.Tensor, scale: float) -> torch.Tensor:
    # by a factor, not to a size computed in Python, so that an exported graph resamples tiles of any size; plain
    # bilinear (ONNX has no antialiased resize before opset 18): at half scale that is exactly the 2 x 2 mean
    return F.interpolate(images, scale_factor=scale, mode="bilinear", align_corners=False)


def _nearest(values: torch.Tensor, size) -> torch.Tensor:
    if values.numel() == 0:
        return values.new_zeros((*values.shape[:-2], *size))
    return F.interpolate(values[None].float(), size=size, mode="nearest")[0].to(values.dtype)


def _scale_targets(targets, scale: float):
    if isinstance(targets, torch.Tensor):  # class per pixel (B, H, W)
        return _nearest(targets, _size(targets.shape, scale))
    scaled = []
    for target in targets:
        target = {**target, "boxes": target["boxes"] * scale}
        if "masks" in target:
            target["masks"] = _nearest(target["masks"], _size(target["masks"].shape, scale))
        scaled.append(target)
    return scaled


def _unscale(predictions, scale: float, size):
    if isinstance(predictions, torch.Tensor):  # class scores (B, C, h, w)
        return F.interpolate(predictions.float(), size=tuple(size), mode="bilinear", align_corners=False)
    restored = []
    for found in predictions:
        found = {**found, "boxes": found["boxes"] / scale}
        if "masks" in found and found["masks"].ndim >= 3:
            masks = found["masks"]
            flat = masks.reshape(-1, *masks.shape[-2:]).float()
            flat = F.interpolate(flat[None], size=tuple(size), mode="bilinear", align_corners=False)[0]
            found["masks"] = flat.reshape(*masks.shape[:-2], *size).to(masks.dtype)
        restored.append(found)
    return restored
