"""Hugging Face transformers: RTDetrV2 (RT-DETRv2, a real-time DETR) with a ResNet backbone."""
from __future__ import annotations

import math

import torch
from torchvision.ops import box_convert

from .base import BuildRequest, ModelAdapter, adapt_input_conv, hugging_face_offline_unless_reachable, load_pretrained

# backbone -> (block type, blocks per stage, stage widths) of transformers' RTDetrResNet, and the hub checkpoint
_RESNETS = {
    "resnet18": ("basic", [2, 2, 2, 2], [64, 128, 256, 512], "PekingU/rtdetr_v2_r18vd"),
    "resnet34": ("basic", [3, 4, 6, 3], [64, 128, 256, 512], "PekingU/rtdetr_v2_r34vd"),
    "resnet50": ("bottleneck", [3, 4, 6, 3], [256, 512, 1024, 2048], "PekingU/rtdetr_v2_r50vd"),
    "resnet101": ("bottleneck", [3, 4, 23, 3], [256, 512, 1024, 2048], "PekingU/rtdetr_v2_r101vd"),
}
MAX_DETECTIONS = 100
# RT-DETR's own class-bias init (focal-loss prior 0.01); transformers' default, 1 / (K + 1), starts few-class models
# with a classification loss near 25 that swamps the box losses in the first steps
PRIOR_PROB = 0.01


class RTDetrAdapter(ModelAdapter):
    task = "object_detection"
    first_conv = "model.model.backbone.model.embedder.embedder.0.convolution"  # RTDetrResNet's stem
    # float32 only: on an H200 the same weights scored validation AP50 0.065 predicted under bfloat16 autocast and
    # 0.157 in float32 (scripts/check_cuda.py), which ranks it wrongly against the other candidates
    supports_amp = False

    def __init__(self, model, num_classes: int):
        super().__init__()
        self.model, self.num_classes = model, num_classes

    def losses(self, images, targets):
        height, width = images.shape[-2:]
        scale = images.new_tensor([width, height, width, height])
        labels = []
        for target in targets:
            boxes = target["boxes"].float() / scale  # transformers wants centre x, y, width, height in 0-1
            labels.append({"class_labels": target["labels"] - 1, "boxes": box_convert(boxes, "xyxy", "cxcywh")})
        # the model's own weighted total: the matching, auxiliary and denoising losses with their weights
        return {"loss": self.model(pixel_values=images, labels=labels).loss}

    def predict(self, images):
        # what RTDetrImageProcessor.post_process_object_detection does (sigmoid scores, top-k over queries x
        # classes), without a threshold (the engine filters scores) and without needing the image processor
        height, width = images.shape[-2:]
        output = self.model(pixel_values=images)
        scores = output.logits.sigmoid()  # (B, queries, K): focal-loss classification, no background column
        scale = images.new_tensor([width, height, width, height])
        results = []
        for image_scores, boxes in zip(scores, output.pred_boxes):
            top = image_scores.flatten().topk(min(MAX_DETECTIONS, image_scores.numel()))
            query, label = top.indices // self.num_classes, top.indices % self.num_classes
            xyxy = box_convert(boxes[query], "cxcywh", "xyxy").clamp(0, 1) * scale
            results.append({"boxes": xyxy, "scores": top.values, "labels": label + 1})
        return results


def build(spec, request: BuildRequest) -> RTDetrAdapter:
    from transformers import RTDetrResNetConfig, RTDetrV2Config, RTDetrV2ForObjectDetection

    block, depths, widths, checkpoint = _RESNETS[request.backbone]
    labels = {i: f"class_{i + 1}" for i in range(request.num_classes)}
    # queries are picked among the encoder's tokens (strides 8, 16, 32), which small chips have few of
    tokens = sum(math.ceil(request.chip_size[0] / s) * math.ceil(request.chip_size[1] / s) for s in (8, 16, 32))
    queries = min(300, tokens)
    # denoising queries in RT-DETR's proportion (100 for 300 queries): small chips would otherwise run the decoder
    # on two to three times more denoising than matching queries
    denoising = max(1, round(100 * queries / 300))
    def pretrained():
        with hugging_face_offline_unless_reachable():
            # anchors made for each input's own size, not precomputed for 640 px
            model = RTDetrV2ForObjectDetection.from_pretrained(checkpoint, id2label=labels, num_queries=queries,
                                                               num_denoising=denoising, anchor_image_size=None,
                                                               initializer_bias_prior_prob=PRIOR_PROB,
                                                               ignore_mismatched_sizes=True)
        # the class heads are new (K classes, not COCO's 80) but re-initialised without the prior
        bias = -math.log((1 - PRIOR_PROB) / PRIOR_PROB)
        with torch.no_grad():
            for head in (*model.model.decoder.class_embed, model.model.enc_score_head):
                head.bias.fill_(bias)
        return model

    def random():
        backbone = RTDetrResNetConfig(num_channels=request.in_channels, layer_type=block, depths=depths,
                                      hidden_sizes=widths, out_features=["stage2", "stage3", "stage4"])
        config = RTDetrV2Config(backbone_config=backbone, encoder_in_channels=widths[1:], id2label=labels,
                                num_queries=queries, num_denoising=denoising, initializer_bias_prior_prob=PRIOR_PROB,
                                freeze_backbone_batch_norms=False)  # frozen statistics only suit pretrained
        return RTDetrV2ForObjectDetection(config)

    adapter = RTDetrAdapter(load_pretrained(f"{spec.name} ({checkpoint})", request, pretrained, random),
                            request.num_classes)
    adapt_input_conv(adapter, adapter.first_conv, request.in_channels)  # pretrained: RGB filters widened
    for module in adapter.model.model.backbone.modules():  # the embeddings check the band count they were built for
        if getattr(module, "num_channels", None) == 3:
            module.num_channels = request.in_channels
    return adapter
