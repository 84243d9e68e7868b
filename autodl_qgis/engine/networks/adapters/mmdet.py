"""MMDetection networks (YOLOv3, ATSS, CARAFE, CascadeRCNN, CascadeRPN, DCN, DETReg, DynamicRCNN,
EmpiricalAttention, FCOS, FoveaBox, FSAF, GHM, LibraRCNN, PaFPN, Res2Net, SABL, VFNet; beyond ArcGIS' list RTMDet
and YOLOX), built from the configs
mmdet ships and fitted to the data: classes, bands, backbone. One code path for all of them; what differs between
networks is data: the registry's config, and the few tables below."""
from __future__ import annotations

import math
import re

import torch

from .base import BuildRequest, ModelAdapter
from .openmmlab import (build_detector_or_segmentor, checkpoint_url, first_conv, image_metas, load_model_config,
                        loss_terms, pad_to_divisor, walk)

# networks trained with a label-free pre-training on the chips before the supervised training (see detreg.py)
SELF_SUPERVISED = {"DETReg"}

# smallest input some networks' operators accept: mmcv's CPU deformable convolution fails ("input image is smaller
# than kernel") on the 2x2 stride-32 maps of 64-pixel chips; a 3x3 map (96 pixels) is enough
MINIMUM_INPUT = {"DCN": 96}

# backbones that are not a depth of the config's own backbone: the sibling config mmdet ships for them (the neck
# and head widths change with the backbone, so the whole model section is taken from there)
BACKBONE_CONFIGS = {("YOLOv3", "mobilenet_v2"): "yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py",
                    ("RTMDet", "cspnext_s"): "rtmdet/rtmdet_s_8xb32-300e_coco.py",
                    ("YOLOX", "cspdarknet_s"): "yolox/yolox_s_8xb8-300e_coco.py"}

# output channels of ResNet / Res2Net stages 1-4 by depth: the neck must match when the depth changes
_RESNET_CHANNELS = {18: [64, 128, 256, 512], 34: [64, 128, 256, 512], 50: [256, 512, 1024, 2048],
                    101: [256, 512, 1024, 2048]}

# the chips come normalised by the dataset, any number of bands (one mean / std value broadcasts to all bands)
_DATA_PREPROCESSOR = dict(type="mmdet.DetDataPreprocessor", mean=[0.0], std=[1.0], bgr_to_rgb=False,
                          pad_size_divisor=32)


def _set_num_classes(config, num_classes: int) -> None:
    """Every classifying head gets the data's classes (cascade heads are lists); the RPN stays class-agnostic."""
    def visit(node: dict) -> None:
        if "num_classes" in node:
            node["num_classes"] = num_classes

    walk({k: v for k, v in config.items() if k not in ("backbone", "neck", "rpn_head")}, visit)


def _backbone_depth(backbone: str) -> int | None:
    found = re.fullmatch(r"res(?:2)?net(\d+)", backbone)
    return int(found.group(1)) if found else None


def _set_depth(config, depth: int) -> None:
    """The requested depth, the neck's input widths to match, and the pretrained checkpoint of that depth."""
    before = config.backbone["depth"]
    config.backbone["depth"] = depth
    neck = config.get("neck")
    for one in neck if isinstance(neck, (list, tuple)) else [neck]:
        if isinstance(one, dict) and isinstance(one.get("in_channels"), list):
            used = config.backbone.get("out_indices", (0, 1, 2, 3))
            one["in_channels"] = [_RESNET_CHANNELS[depth][i] for i in used]
    init = config.backbone.get("init_cfg")
    if before == depth or not isinstance(init, dict) or not init.get("checkpoint"):
        return
    # e.g. torchvision://resnet50 -> resnet18, open-mmlab://detectron2/resnet50_caffe -> resnet101_caffe
    checkpoint = re.sub(rf"(res2?net){before}(?!\d)", rf"\g<1>{depth}", init["checkpoint"])
    if checkpoint_url(checkpoint) is None and config.backbone["type"] == "ResNet":
        # no caffe-style weights of this depth (ResNet-18/34): torchvision's, in pytorch style (the same for the
        # basic blocks of these depths)
        checkpoint = f"torchvision://resnet{depth}"
        config.backbone["style"] = "pytorch"
    init["checkpoint"] = checkpoint


class MMDetAdapter(ModelAdapter):
    task = "object_detection"

    def __init__(self, model, first_conv: str, minimum_input: int = 0, detreg_pretraining: bool = False):
        super().__init__()
        self.model, self.first_conv = model, first_conv
        self.minimum_input, self.detreg_pretraining = minimum_input, detreg_pretraining

    def self_supervised_objective(self):
        if not self.detreg_pretraining:
            return None
        from .detreg import DetRegObjective

        return DetRegObjective(self)

    def samples(self, images: torch.Tensor, original, targets=None) -> list:
        """mmdet's data samples of a padded batch whose images are ``original`` (H, W) px, with ``targets`` (the
        adapters' boxes and labels) as ground truth when given."""
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData

        samples = []
        for i, meta in enumerate(image_metas(images, original)):
            sample = DetDataSample(metainfo=meta)
            if targets is not None:
                boxes = targets[i]["boxes"].to(images.device, torch.float32).reshape(-1, 4)
                labels = targets[i]["labels"].to(images.device, torch.long).reshape(-1) - 1  # mmdet counts from 0
                sample.gt_instances = InstanceData(bboxes=boxes, labels=labels)
            samples.append(sample)
        return samples

    def losses(self, images, targets):
        original = tuple(images.shape[-2:])
        images, _ = pad_to_divisor(images.float(), minimum=self.minimum_input)
        terms = loss_terms(self.model.loss(images, self.samples(images, original, targets)))
        if torch.is_grad_enabled():  # constant terms (e.g. a stage with no positives) add nothing to train on
            terms = {k: v for k, v in terms.items() if torch.is_tensor(v) and v.requires_grad}
        return terms

    def predict(self, images):
        original = tuple(images.shape[-2:])
        images, _ = pad_to_divisor(images.float(), minimum=self.minimum_input)
        results = self.model.predict(images, self.samples(images, original), rescale=False)
        return [{"boxes": r.pred_instances.bboxes.float(), "scores": r.pred_instances.scores.float(),
                 "labels": r.pred_instances.labels.long() + 1} for r in results]


def build(spec, request: BuildRequest) -> MMDetAdapter:
    import mmdet
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    config = load_model_config(mmdet, BACKBONE_CONFIGS.get((spec.name, request.backbone), spec.config))
    config.data_preprocessor = dict(_DATA_PREPROCESSOR)  # not called: losses() / predict() pad themselves
    _set_num_classes(config, request.num_classes)
    depth = _backbone_depth(request.backbone)
    if depth is not None and "depth" in config.backbone:
        _set_depth(config, depth)
    minimum = MINIMUM_INPUT.get(spec.name, 0)
    if config.get("as_two_stage") and config.get("num_queries"):
        # two-stage DETRs pick their queries among the encoder's tokens, which small chips have few of
        size = [max(minimum, math.ceil(s / 32) * 32) for s in request.chip_size]
        tokens = sum(math.ceil(size[0] / stride) * math.ceil(size[1] / stride) for stride in (8, 16, 32, 64))
        config.num_queries = min(config.num_queries, tokens)
        test_cfg = config.get("test_cfg") or {}
        if test_cfg.get("max_per_img", 0) > config.num_queries:  # the top-k over queries (x classes) must fit
            test_cfg["max_per_img"] = config.num_queries

    model = build_detector_or_segmentor(MODELS, config, request, f"{spec.name} backbone {request.backbone}")
    return MMDetAdapter(model, f"model.{first_conv(config)}", minimum, detreg_pretraining=spec.name in SELF_SUPERVISED)
