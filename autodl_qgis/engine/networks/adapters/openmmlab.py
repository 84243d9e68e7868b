"""What the MMDetection and MMSegmentation adapters share: reading the configs the packages ship, making them fit
a single process (plain BatchNorm) and the data, and building with pretrained backbones when they can be had."""
from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch.nn import functional as F

from .base import BuildRequest, adapt_input_bands, warn_random_init

SIZE_DIVISOR = 32


def walk(node, visit) -> None:
    """Applies ``visit`` to every dict of a nested config (dicts and lists)."""
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            walk(value, visit)
    elif isinstance(node, (list, tuple)):
        for value in node:
            walk(value, visit)


def _plain_batchnorm(node: dict) -> None:
    if node.get("type") == "SyncBN":  # SyncBN needs a distributed process group
        node["type"] = "BN"


def load_model_config(package, relative: str):
    """The ``model`` section of a config shipped in ``<package>/.mim/configs``, with plain BatchNorm."""
    from mmengine.config import Config

    model = Config.fromfile(str(Path(package.__file__).parent / ".mim" / "configs" / relative)).model
    walk(model, _plain_batchnorm)
    return model


def _pretrained_source(model) -> str | None:
    init = model.backbone.get("init_cfg") or {}
    return model.get("pretrained") or (init.get("checkpoint") if isinstance(init, dict) else None)


def _accepts_in_channels(registry, backbone_type: str) -> bool:
    import inspect

    return "in_channels" in inspect.signature(registry.get(backbone_type).__init__).parameters


def build_detector_or_segmentor(registry, model_config, request: BuildRequest, what: str):
    """Builds with the config's pretrained backbone when asked and reachable (download or local torch hub cache),
    else from random init with a warning. Backbones taking ``in_channels`` get the band count (their first
    convolution then starts fresh when pretrained weights are for RGB); the others are built for RGB and their first
    convolution adapted afterwards, keeping RGB filters."""
    takes_bands = _accepts_in_channels(registry, model_config.backbone["type"])
    if takes_bands:
        model_config.backbone["in_channels"] = request.in_channels
    model = None
    source = _pretrained_source(model_config)
    if request.in_channels != 3 and "frozen_stages" in model_config.backbone:
        model_config.backbone["frozen_stages"] = -1  # the first convolution is new: it must learn
    if request.pretrained and source:
        try:
            model = registry.build(copy.deepcopy(model_config))  # building writes into the config
            model.init_weights()
        except Exception as exc:  # noqa: BLE001 - offline and not cached, or a checkpoint that will not load
            warn_random_init(what, f"{source}: {type(exc).__name__}: {str(exc)[:120]}")
            model = None
    if model is None:
        if "pretrained" in model_config:  # mmseg's segmentors take it, mmdet's detectors do not
            model_config["pretrained"] = None
        model_config.backbone["init_cfg"] = None
        model_config.backbone.pop("pretrained", None)
        # frozen stages and frozen BatchNorm statistics are for fine-tuning pretrained weights, not random ones
        for key, value in (("frozen_stages", -1), ("norm_eval", False)):
            if key in model_config.backbone:
                model_config.backbone[key] = value
        model = registry.build(model_config)
        model.init_weights()
        _zero_init_residual_branches(model.backbone)
    if not takes_bands and request.in_channels != 3:
        adapt_input_bands(model.backbone, request.in_channels)
    return model


def _zero_init_residual_branches(backbone: torch.nn.Module) -> None:
    """From random init, each residual block starts as the identity (the last norm of its branch at zero), as
    mmdet's ResNet does for its own blocks but not for subclasses such as Res2Net's: deep stacks would otherwise
    amplify activations a millionfold before the first step."""
    for module in backbone.modules():
        norm = getattr(module, "norm3", None)
        if isinstance(norm, torch.nn.BatchNorm2d) and hasattr(module, "conv3"):
            torch.nn.init.zeros_(norm.weight)


def pad_to_divisor(images: torch.Tensor, targets: torch.Tensor | None = None, fill: int = 255, minimum: int = 0):
    """Pads the bottom and right to a multiple of 32 (what FPNs and strided backbones need), and to ``minimum``."""
    height, width = images.shape[-2:]
    pad = (0, max(-width % SIZE_DIVISOR, minimum - width), 0, max(-height % SIZE_DIVISOR, minimum - height))
    if not any(pad):
        return images, targets
    return F.pad(images, pad), (F.pad(targets, pad, value=fill) if targets is not None else None)


def image_metas(images: torch.Tensor, img_shape: tuple[int, int]) -> list[dict]:
    """Per-image meta information for padded ``images`` whose valid part is ``img_shape``."""
    shape = tuple(images.shape[-2:])
    meta = {"img_shape": tuple(img_shape), "pad_shape": shape, "ori_shape": tuple(img_shape),
            "batch_input_shape": shape, "scale_factor": (1.0, 1.0)}
    return [dict(meta) for _ in range(images.shape[0])]


def loss_terms(raw: dict) -> dict:
    """mmdet / mmseg loss dicts hold lists per stage and accuracies too: the summed loss terms only."""
    return {k: sum(v) if isinstance(v, (list, tuple)) else v for k, v in raw.items() if "loss" in k}
