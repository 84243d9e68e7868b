"""MMDetection networks (YOLOv3, ATSS, CARAFE, CascadeRCNN, CascadeRPN, DCN, DETReg, DynamicRCNN,
EmpiricalAttention, FCOS, FoveaBox, FSAF, GHM, LibraRCNN, PaFPN, Res2Net, SABL, VFNet), built from the configs
mmdet ships and fitted to the data: classes, bands, backbone depth."""
from __future__ import annotations

import math

import torch

from .base import BuildRequest, ModelAdapter
from .openmmlab import build_detector_or_segmentor, image_metas, load_model_config, loss_terms, pad_to_divisor, walk

# networks trained with a label-free pre-training on the chips before the supervised training
SELF_SUPERVISED = {"DETReg"}

# smallest input some networks' operators accept (mmcv's CPU deformable convolution needs >= 3x3 stride-32 maps)
MINIMUM_INPUT = {"DCN": 128}

# output channels of ResNet stages 1-4 by depth: the neck must match when the depth changes
_RESNET_CHANNELS = {18: [64, 128, 256, 512], 34: [64, 128, 256, 512], 50: [256, 512, 1024, 2048],
                    101: [256, 512, 1024, 2048]}


def _set_num_classes(node: dict, num_classes: int) -> None:
    if "num_classes" in node:
        node["num_classes"] = num_classes


def _set_depth(config, backbone: str) -> None:
    if not backbone.startswith(("resnet", "res2net")) or "depth" not in config.backbone:
        return
    depth = int(backbone.removeprefix("res2net").removeprefix("resnet"))
    config.backbone["depth"] = depth
    neck = config.get("neck")
    for one in neck if isinstance(neck, (list, tuple)) else [neck]:
        if isinstance(one, dict) and isinstance(one.get("in_channels"), list):
            used = config.backbone.get("out_indices", (0, 1, 2, 3))
            one["in_channels"] = [_RESNET_CHANNELS[depth][i] for i in used]


class MMDetAdapter(ModelAdapter):
    task = "object_detection"

    def __init__(self, model, minimum_input: int = 0):
        super().__init__()
        self.model, self.minimum_input = model, minimum_input

    def _samples(self, images: torch.Tensor, original, targets=None):
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData

        samples = []
        for i, meta in enumerate(image_metas(images, original)):
            sample = DetDataSample(metainfo=meta)
            if targets is not None:
                sample.gt_instances = InstanceData(bboxes=targets[i]["boxes"].float(),
                                                   labels=targets[i]["labels"] - 1)  # mmdet counts from 0
            samples.append(sample)
        return samples

    def losses(self, images, targets):
        original = tuple(images.shape[-2:])
        images, _ = pad_to_divisor(images, minimum=self.minimum_input)
        return loss_terms(self.model.loss(images, self._samples(images, original, targets)))

    def predict(self, images):
        original = tuple(images.shape[-2:])
        images, _ = pad_to_divisor(images, minimum=self.minimum_input)
        results = self.model.predict(images, self._samples(images, original), rescale=False)
        return [{"boxes": r.pred_instances.bboxes, "scores": r.pred_instances.scores,
                 "labels": r.pred_instances.labels + 1} for r in results]


def build(spec, request: BuildRequest) -> MMDetAdapter:
    import mmdet
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    config = load_model_config(mmdet, spec.config)
    config.data_preprocessor = None  # chips arrive normalised; this adapter pads them
    walk({k: v for k, v in config.items() if k not in ("backbone", "neck")},
         lambda node: _set_num_classes(node, request.num_classes))
    _set_depth(config, request.backbone)
    minimum = MINIMUM_INPUT.get(spec.name, 0)
    if config.get("as_two_stage") and config.get("num_queries"):
        # two-stage DETRs pick their queries among the encoder's tokens, which small chips have few of
        size = [max(minimum, math.ceil(s / 32) * 32) for s in request.chip_size]
        tokens = sum(math.ceil(size[0] / stride) * math.ceil(size[1] / stride) for stride in (8, 16, 32, 64))
        config.num_queries = min(config.num_queries, tokens)
    model = build_detector_or_segmentor(MODELS, config, request, f"{spec.name} backbone {request.backbone}")
    adapter = MMDetAdapter(model, minimum)
    if spec.name in SELF_SUPERVISED:
        from .detreg import DetRegObjective

        adapter.self_supervised_objective = lambda: DetRegObjective(adapter)
    return adapter
