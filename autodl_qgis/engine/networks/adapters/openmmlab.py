"""What the MMDetection and MMSegmentation adapters share: reading the configs the packages ship, making them fit
a single process (plain BatchNorm) and the data, and building with pretrained backbones when they can be had."""
from __future__ import annotations

import copy
import logging
import os
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch.nn import functional as F

from .base import BuildRequest, WeightsUnavailable, adapt_input_conv, host_reachable, load_pretrained, temporarily

SIZE_DIVISOR = 32
# the convolution of each backbone the registry's configs use that takes the image bands
FIRST_CONV = {"ResNet": "conv1", "ResNetV1c": "stem.0", "Res2Net": "stem.0", "HRNet": "conv1", "Darknet": "conv1.conv",
              "MobileNetV2": "conv1.conv", "CSPNeXt": "stem.0.conv", "CSPDarknet": "stem.conv.conv",
              "CGNet": "stem.0.conv", "FastSCNN": "learning_to_downsample.conv.conv"}


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


def _pretrained_source(config) -> tuple[dict, str] | tuple[None, None]:
    """Where the config names its pretrained backbone: (the dict holding it, its key)."""
    if config.get("pretrained"):  # mmseg's segmentors
        return config, "pretrained"
    init = config.backbone.get("init_cfg")
    if isinstance(init, dict) and init.get("checkpoint"):
        return init, "checkpoint"
    return None, None


def checkpoint_url(checkpoint: str) -> str | None:
    """The download address of an mmengine checkpoint name (open-mmlab://, torchvision://, mmcls://, http)."""
    from mmengine.runner import checkpoint as mm

    for prefix in ("open-mmlab://", "openmmlab://"):
        if checkpoint.startswith(prefix):
            name = checkpoint[len(prefix):]
            name = mm.get_deprecated_model_names().get(name, name)
            url = mm.get_external_models().get(name)
            return url if url and url.startswith(("http://", "https://")) else None
    if checkpoint.startswith(("torchvision://", "modelzoo://")):
        return mm.get_torchvision_models().get(checkpoint.split("://", 1)[1])
    if checkpoint.startswith("mmcls://"):
        return mm.get_mmcls_models().get(checkpoint[len("mmcls://"):])
    return checkpoint if checkpoint.startswith(("http://", "https://")) else None


def _unavailable(checkpoint: str) -> str | None:
    """Why the backbone's weights cannot be had without waiting (None when a local file, the torch hub cache or an
    answering host has them): an offline download can hang on a silent network."""
    if os.path.isfile(checkpoint):
        return None
    url = checkpoint_url(checkpoint)
    if url is None:
        return f"no published checkpoint {checkpoint}"
    cached = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(urlparse(url).path))
    host = urlparse(url).hostname or ""
    if os.path.isfile(cached) or host_reachable(host):
        return None
    return f"{checkpoint}: {host} unreachable and not in the local cache {cached}"


def _quiet_mmengine():
    """mmengine logs every parameter's initialisation at INFO, to its current logger (created when there is none
    yet): warnings only while building."""
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    return temporarily(lambda: logger.level, logger.setLevel, logging.WARNING)


def first_conv(model_config) -> str:
    """The dotted name, in the detector or segmentor of ``model_config``, of the convolution taking the bands."""
    return "backbone." + FIRST_CONV[model_config.backbone["type"]]


def _adapt_input_bands(model, model_config, bands: int) -> None:
    adapt_input_conv(model, first_conv(model_config), _stem_channels(model.backbone, bands))


def _accepts_in_channels(registry, backbone_type: str) -> bool:
    import inspect

    return "in_channels" in inspect.signature(registry.get(backbone_type).__init__).parameters


def build_detector_or_segmentor(registry, model_config, request: BuildRequest, what: str):
    """Builds with the config's pretrained backbone when asked and at hand (local file, torch hub cache, or a host
    that answers), else from random init with a warning. Pretrained RGB weights load as they are and the first
    convolution is then widened to the bands, keeping the RGB filters; from random init, backbones taking
    ``in_channels`` are built for the bands directly."""

    def pretrained():
        holder, key = _pretrained_source(model_config)
        reason = "the config names no pretrained backbone" if holder is None else _unavailable(holder[key])
        if reason is not None:
            raise WeightsUnavailable(reason)
        if request.in_channels != 3 and "frozen_stages" in model_config.backbone:
            model_config.backbone["frozen_stages"] = -1  # the widened first convolution must learn
        try:
            # the checkpoint name stays: mmengine loads it from the cache (or downloads it) with the processing its
            # scheme needs (mmcls:// strips a prefix)
            with _quiet_mmengine():
                model = registry.build(copy.deepcopy(model_config))  # building writes into the config
                model.init_weights()
            _adapt_input_bands(model, model_config, request.in_channels)
        except Exception as exc:  # noqa: BLE001 - a download that failed, or a checkpoint that will not load
            raise WeightsUnavailable(f"{holder[key]}: {type(exc).__name__}: {str(exc)[:120]}") from exc
        return model

    return load_pretrained(what, request, pretrained, lambda: _random_model(registry, model_config, request))


def _random_model(registry, model_config, request: BuildRequest):
    """The network from random initialisation, fine-tuning settings undone; backbones taking ``in_channels`` are
    built for the bands directly."""
    takes_bands = _accepts_in_channels(registry, model_config.backbone["type"])
    if takes_bands:
        model_config.backbone["in_channels"] = request.in_channels
    if "pretrained" in model_config:  # mmseg's segmentors take it, mmdet's detectors do not
        model_config["pretrained"] = None
    model_config.backbone["init_cfg"] = None
    model_config.backbone.pop("pretrained", None)
    # frozen stages and frozen BatchNorm statistics are for fine-tuning pretrained weights, not random ones
    for key, value in (("frozen_stages", -1), ("norm_eval", False)):
        if key in model_config.backbone:
            model_config.backbone[key] = value
    with _quiet_mmengine():
        model = registry.build(model_config)
        model.init_weights()
    _zero_init_residual_branches(model.backbone)
    _unfreeze_norms(model.backbone)
    if not takes_bands:
        _adapt_input_bands(model, model_config, request.in_channels)
    return model


def _stem_channels(backbone: torch.nn.Module, bands: int) -> int:
    """Channels the backbone's first convolution takes for ``bands``: YOLOX's Focus stem stacks the four pixels of
    each 2x2 block as channels before it."""
    return 4 * bands if type(getattr(backbone, "stem", None)).__name__ == "Focus" else bands


def _unfreeze_norms(backbone: torch.nn.Module) -> None:
    """Norm layers a config freezes for fine-tuning (``requires_grad=False``, e.g. Mask2Former's ResNet) must learn
    from random init: with the residual branches starting at zero (below) they would stay dead."""
    for module in backbone.modules():
        if isinstance(module, torch.nn.modules.batchnorm._NormBase):
            module.requires_grad_(True)


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
