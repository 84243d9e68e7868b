"""MMSegmentation networks (HRNet, ANN, APCNet, CCNet, CGNet, DMNet, DNLNet, FastSCNN, FCN, GCNet, MobileNetV2,
NonLocalNet, OCRNet, Mask2Former, PSANet, SemFPN, UperNet), built from the configs mmseg ships, adapted to the
data: classes, bands, chip size, plain BatchNorm (SyncBN needs a process group), our own normalisation."""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch.nn import functional as F

from .base import BuildRequest, ModelAdapter, adapt_input_bands, host_reachable, warn_random_init

IGNORE_INDEX = 255
SIZE_DIVISOR = 32


def _walk(node, visit) -> None:
    """Applies ``visit`` to every dict in a nested config (dicts and lists)."""
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, visit)


def _plain_batchnorm(node: dict) -> None:
    if node.get("type") == "SyncBN":
        node["type"] = "BN"


def _set_classes(head, num_classes: int) -> None:
    for one in head if isinstance(head, (list, tuple)) else [head]:
        one["num_classes"] = num_classes
        loss = one.get("loss_cls")
        if isinstance(loss, dict) and isinstance(loss.get("class_weight"), list):
            # Mask2Former weighs every class, plus the "no object" class last
            loss["class_weight"] = [1.0] * num_classes + [loss["class_weight"][-1]]
        decode_losses = one.get("loss_decode")
        for decode_loss in decode_losses if isinstance(decode_losses, (list, tuple)) else [decode_losses]:
            if isinstance(decode_loss, dict) and decode_loss.get("class_weight") is not None:
                decode_loss["class_weight"] = None  # weights of the config's dataset classes (e.g. Cityscapes)


def _psa_mask_size(head, chip_size) -> None:
    """PSANet's attention masks have the size of its stride-8 feature map."""
    for one in head if isinstance(head, (list, tuple)) else [head]:
        if "mask_size" in one:
            padded = [math.ceil(s / SIZE_DIVISOR) * SIZE_DIVISOR for s in chip_size]
            one["mask_size"] = tuple(math.ceil(p / 8) for p in padded)


def _config(spec, request: BuildRequest):
    import mmseg
    from mmengine.config import Config

    path = Path(mmseg.__file__).parent / ".mim" / "configs" / spec.config
    model = Config.fromfile(str(path)).model
    _walk(model, _plain_batchnorm)
    model.data_preprocessor = None  # chips arrive normalised and padded by this adapter
    backbone = model.backbone
    if _accepts(backbone["type"], "in_channels"):
        backbone["in_channels"] = request.in_channels
    if request.backbone.startswith("resnet") and "depth" in backbone:
        backbone["depth"] = int(request.backbone[len("resnet"):])
    _set_classes(model.decode_head, request.num_classes + 1)
    _psa_mask_size(model.decode_head, request.chip_size)
    if model.get("auxiliary_head") is not None:
        _set_classes(model.auxiliary_head, request.num_classes + 1)
    model.test_cfg = {"mode": "whole"}
    return model


def _accepts(backbone_type: str, argument: str) -> bool:
    import inspect

    from mmseg.registry import MODELS

    return argument in inspect.signature(MODELS.get(backbone_type).__init__).parameters


def _pretrained_source(model) -> str | None:
    return model.get("pretrained") or (model.backbone.get("init_cfg") or {}).get("checkpoint")


def _drop_pretrained(model) -> None:
    model["pretrained"] = None
    model.backbone["init_cfg"] = None


class MMSegAdapter(ModelAdapter):
    task = "pixel_classification"

    def __init__(self, model):
        super().__init__()
        self.model = model

    @staticmethod
    def _pad(images: torch.Tensor, targets: torch.Tensor | None = None):
        height, width = images.shape[-2:]
        pad = (0, -width % SIZE_DIVISOR, 0, -height % SIZE_DIVISOR)
        images = F.pad(images, pad) if any(pad) else images
        if targets is not None and any(pad):
            targets = F.pad(targets, pad, value=IGNORE_INDEX)
        return images, targets

    @staticmethod
    def _metas(images: torch.Tensor, original) -> list[dict]:
        shape = tuple(images.shape[-2:])
        return [{"img_shape": shape, "pad_shape": shape, "ori_shape": tuple(original)}] * images.shape[0]

    def losses(self, images, targets):
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample

        original = images.shape[-2:]
        images, targets = self._pad(images, targets)
        samples = []
        for meta, target in zip(self._metas(images, original), targets):
            sample = SegDataSample(metainfo=meta)
            sample.gt_sem_seg = PixelData(data=target.unsqueeze(0))
            samples.append(sample)
        raw = self.model.loss(images, samples)
        return {k: sum(v) if isinstance(v, (list, tuple)) else v for k, v in raw.items() if "loss" in k}

    def predict(self, images):
        height, width = images.shape[-2:]
        padded, _ = self._pad(images)
        scores = self.model.encode_decode(padded, self._metas(padded, (height, width)))
        return scores[..., :height, :width]


def build(spec, request: BuildRequest) -> MMSegAdapter:
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    config = _config(spec, request)
    source = _pretrained_source(config)
    use_pretrained = request.pretrained and source is not None
    if use_pretrained and not host_reachable("download.openmmlab.com"):
        # mmengine would only log a failed download and go on with random weights: say so plainly instead
        warn_random_init(f"{spec.name} backbone {request.backbone}", f"cannot download {source} (offline)")
        use_pretrained = False
    if not use_pretrained or request.in_channels != 3:
        if use_pretrained:
            warn_random_init(f"{spec.name} backbone {request.backbone}",
                             f"{source} is for 3 bands, the chips have {request.in_channels}")
        _drop_pretrained(config)
    model = MODELS.build(config)
    model.init_weights()
    first = next(m for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d))
    if first.in_channels != request.in_channels:  # backbones without an in_channels option (MobileNetV2)
        adapt_input_bands(model.backbone, request.in_channels)
    return MMSegAdapter(model)
