"""MMSegmentation networks (HRNet, ANN, APCNet, CCNet, CGNet, DMNet, DNLNet, FastSCNN, FCN, GCNet, MobileNetV2,
NonLocalNet, OCRNet, Mask2Former, PSANet, SemFPN, UperNet), built from the configs mmseg ships and fitted to the
data: classes (background included), bands, chip size."""
from __future__ import annotations

import math

from .base import BuildRequest, ModelAdapter
from .openmmlab import (SIZE_DIVISOR, build_detector_or_segmentor, image_metas, load_model_config, loss_terms,
                        pad_to_divisor)

IGNORE_INDEX = 255


def _heads(head) -> list:
    return list(head) if isinstance(head, (list, tuple)) else [head]


def _fit_head(head: dict, num_classes: int, chip_size) -> None:
    head["num_classes"] = num_classes
    loss_cls = head.get("loss_cls")
    if isinstance(loss_cls, dict) and isinstance(loss_cls.get("class_weight"), list):
        # Mask2Former weighs every class, plus the "no object" class last
        loss_cls["class_weight"] = [1.0] * num_classes + [loss_cls["class_weight"][-1]]
    for loss in _heads(head.get("loss_decode")):
        if isinstance(loss, dict) and loss.get("class_weight") is not None:
            loss["class_weight"] = None  # weights of the config's dataset classes (e.g. Cityscapes)
    if "mask_size" in head:  # PSANet's attention masks have the size of its stride-8 feature map
        padded = [math.ceil(s / SIZE_DIVISOR) * SIZE_DIVISOR for s in chip_size]
        head["mask_size"] = tuple(math.ceil(p / 8) for p in padded)


class MMSegAdapter(ModelAdapter):
    task = "pixel_classification"

    def __init__(self, model):
        super().__init__()
        self.model = model

    def losses(self, images, targets):
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample

        images, targets = pad_to_divisor(images, targets, IGNORE_INDEX)
        samples = []
        for meta, target in zip(image_metas(images, images.shape[-2:]), targets):
            sample = SegDataSample(metainfo=meta)
            sample.gt_sem_seg = PixelData(data=target.unsqueeze(0))
            samples.append(sample)
        return loss_terms(self.model.loss(images, samples))

    def predict(self, images):
        height, width = images.shape[-2:]
        padded, _ = pad_to_divisor(images)
        # scores come back at img_shape: the padded size, cropped to the chip here
        return self.model.encode_decode(padded, image_metas(padded, padded.shape[-2:]))[..., :height, :width]


def build(spec, request: BuildRequest) -> MMSegAdapter:
    import mmseg
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    config = load_model_config(mmseg, spec.config)
    config.data_preprocessor = None  # chips arrive normalised; this adapter pads them
    if request.backbone.startswith("resnet") and "depth" in config.backbone:
        config.backbone["depth"] = int(request.backbone[len("resnet"):])
    for head in _heads(config.decode_head) + _heads(config.get("auxiliary_head") or []):
        _fit_head(head, request.num_classes + 1, request.chip_size)
    config.test_cfg = {"mode": "whole"}
    model = build_detector_or_segmentor(MODELS, config, request, f"{spec.name} backbone {request.backbone}")
    return MMSegAdapter(model)
