"""MMSegmentation networks (HRNet, ANN, APCNet, CCNet, CGNet, DMNet, DNLNet, FastSCNN, FCN, GCNet, MobileNetV2,
NonLocalNet, OCRNet, Mask2Former, PSANet, SemFPN, UperNet), built from the configs mmseg ships and fitted to the
data: classes (background included), bands, chip size, backbone. One code path for all of them; what differs
between networks is data: the registry's config, and the few tables below."""
from __future__ import annotations

import math
import re

from .base import BuildRequest, ModelAdapter
from .openmmlab import (SIZE_DIVISOR, build_detector_or_segmentor, first_conv, image_metas, load_model_config,
                        loss_terms, pad_to_divisor)

IGNORE_INDEX = 255  # padding of the targets: no loss there

# The chips come normalised by the dataset, any number of bands (one mean / std value broadcasts to all bands).
# Not called by this adapter, which pads itself (losses / predict), but model.train_step / test_step would use it.
_DATA_PREPROCESSOR = dict(type="mmseg.SegDataPreProcessor", mean=[0.0], std=[1.0], bgr_to_rgb=False,
                          size_divisor=SIZE_DIVISOR, pad_val=0, seg_pad_val=IGNORE_INDEX)

# HRNet widths (of its four branches: w, 2w, 4w, 8w) and, for the small one, fewer blocks: mmseg's hr18s / hr18 /
# hr48 configs, as edits of the hr18 configs the registry names. Their pretrained weights are msra/<name>.
_HRNET = {
    "hrnetv2_w18_small": (18, {"stage1": dict(num_blocks=(2,)), "stage2": dict(num_blocks=(2, 2)),
                               "stage3": dict(num_modules=3, num_blocks=(2, 2, 2)),
                               "stage4": dict(num_modules=2, num_blocks=(2, 2, 2, 2))}),
    "hrnetv2_w18": (18, {}),
    "hrnetv2_w48": (48, {}),
}


def _heads(head) -> list:
    return list(head) if isinstance(head, (list, tuple)) else [head] if head else []


def _stage_widths(backbone) -> list[int] | None:
    """Channels of each feature map the backbone outputs (None for backbones offered in one form only)."""
    if backbone["type"] == "HRNet":
        return list(backbone["extra"]["stage4"]["num_channels"])  # BASIC blocks: no expansion
    if "depth" in backbone:  # ResNet / ResNetV1c
        from mmseg.models.backbones import ResNet

        block = ResNet.arch_settings[backbone["depth"]][0]
        base = backbone.get("base_channels", 64)
        widths = [base * 2 ** i * block.expansion for i in range(backbone.get("num_stages", 4))]
        return [widths[i] for i in backbone.get("out_indices", range(len(widths)))]
    return None


def _set_backbone(config, backbone: str) -> bool:
    """The requested backbone as an edit of the config's own (ResNet depth, HRNet width), its pretrained checkpoint,
    and what reads the backbone's outputs (the neck, else the heads) refitted to its widths. False when the config's
    backbone has no such variant."""
    depth = re.fullmatch(r"resnet(\d+)", backbone)
    if depth and "depth" in config.backbone:
        old, new = f"resnet{config.backbone['depth']}", backbone
        config.backbone["depth"] = int(depth.group(1))
    elif backbone in _HRNET and config.backbone["type"] == "HRNet":
        width, blocks = _HRNET[backbone]
        extra = config.backbone["extra"]
        old = next(name for name, (w, b) in _HRNET.items() if not b and w == extra["stage4"]["num_channels"][0])
        new = backbone
        for stage in ("stage2", "stage3", "stage4"):
            extra[stage]["num_channels"] = tuple(width * 2 ** i for i in range(extra[stage]["num_branches"]))
        for stage, edits in blocks.items():
            extra[stage].update(edits)
    else:
        return False
    widths = _stage_widths(config.backbone)
    for consumer in _heads(config.get("neck")) or _heads(config.decode_head) + _heads(config.get("auxiliary_head")):
        _refit_inputs(consumer, widths)
    # e.g. open-mmlab://resnet50_v1c -> resnet101_v1c, torchvision://resnet50 -> resnet18, msra/hrnetv2_w18 -> w48
    if config.get("pretrained"):
        config["pretrained"] = re.sub(rf"{old}(?!\d)", new, config["pretrained"])
    init = config.backbone.get("init_cfg")
    if isinstance(init, dict) and init.get("checkpoint"):
        init["checkpoint"] = re.sub(rf"{old}(?!\d)", new, init["checkpoint"])
    return True


def _refit_inputs(node: dict, widths: list[int]) -> None:
    """A neck or head's ``in_channels`` for the backbone's new widths; heads concatenating every input and as wide as
    the concatenation (HRNet's) stay so, as in mmseg's own configs of each width."""
    channels = node.get("in_channels")
    index = node.get("in_index")
    if isinstance(channels, int) and isinstance(index, int):
        node["in_channels"] = widths[index]
    elif isinstance(channels, (list, tuple)):
        picked = [widths[i] for i in index] if isinstance(index, (list, tuple)) else list(widths)
        if node.get("channels") == sum(channels):
            node["channels"] = sum(picked)
        node["in_channels"] = picked


def _fit_head(head: dict, num_classes: int, chip_size) -> None:
    """Config fix-ups of the heads for the data (the few that are not the same for every network are commented)."""
    head["num_classes"] = num_classes
    loss_cls = head.get("loss_cls")
    if isinstance(loss_cls, dict) and isinstance(loss_cls.get("class_weight"), list):
        # Mask2Former weighs every class, plus the "no object" class last: one weight per class + 1
        loss_cls["class_weight"] = [1.0] * num_classes + [loss_cls["class_weight"][-1]]
    for loss in _heads(head.get("loss_decode")):
        if isinstance(loss, dict) and loss.get("class_weight") is not None:
            loss["class_weight"] = None  # weights of the config's dataset classes (e.g. Cityscapes)
    if "mask_size" in head:
        # PSANet's point-wise attention masks: the size of its stride-8 feature map at the chip size, i.e. twice the
        # map the attention runs on (shrink_factor 2), covering every position from every other one
        padded = [math.ceil(s / SIZE_DIVISOR) * SIZE_DIVISOR for s in chip_size]
        head["mask_size"] = tuple(math.ceil(p / 8) for p in padded)
    train_cfg = head.get("train_cfg")
    if isinstance(train_cfg, dict) and train_cfg.get("num_points"):
        # Mask2Former's mask losses sample points of each mask (12544, for 512-pixel crops): no more than the chip
        # has pixels, which on small chips is most of its training time for nothing
        padded = [math.ceil(s / SIZE_DIVISOR) * SIZE_DIVISOR for s in chip_size]
        train_cfg["num_points"] = min(train_cfg["num_points"], padded[0] * padded[1])


class MMSegAdapter(ModelAdapter):
    task = "pixel_classification"

    def __init__(self, model, first_conv: str):
        super().__init__()
        self.model, self.first_conv = model, first_conv

    def losses(self, images, targets):
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample

        images, targets = pad_to_divisor(images.float(), targets.long(), IGNORE_INDEX)
        samples = []
        for meta, target in zip(image_metas(images, images.shape[-2:]), targets):
            sample = SegDataSample(metainfo=meta)
            sample.gt_sem_seg = PixelData(data=target.unsqueeze(0))
            samples.append(sample)
        return loss_terms(self.model.loss(images, samples))

    def predict(self, images):
        height, width = images.shape[-2:]
        padded, _ = pad_to_divisor(images.float())
        # class scores before argmax (logits; Mask2Former's class-weighted mask probabilities), resized by the heads
        # to img_shape, the padded size: cropped back to the chips here
        return self.model.encode_decode(padded, image_metas(padded, padded.shape[-2:]))[..., :height, :width]


def build(spec, request: BuildRequest) -> MMSegAdapter:
    import mmseg
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    config = load_model_config(mmseg, spec.config)  # SyncBN made BN there
    config.data_preprocessor = dict(_DATA_PREPROCESSOR)
    if not _set_backbone(config, request.backbone) and request.backbone != spec.default_backbone:
        # the config's own backbone is the only one of CGNet, FastSCNN, MobileNetV2
        raise ValueError(f"{spec.name}: no backbone {request.backbone!r} in mmseg's {spec.config}")
    for head in _heads(config.decode_head) + _heads(config.get("auxiliary_head")):
        _fit_head(head, request.num_classes + 1, request.chip_size)
    config.test_cfg = {"mode": "whole"}

    model = build_detector_or_segmentor(MODELS, config, request, f"{spec.name} backbone {request.backbone}")
    return MMSegAdapter(model, f"model.{first_conv(config)}")
