"""DETReg's self-supervised pre-training (Bar et al., "DETReg: Unsupervised Pretraining with Region Priors for Object
Detection", CVPR 2022) on the training chips themselves, for the Deformable DETR behind the DETReg network.

No labels are used. Each chip gets class-agnostic region proposals (DETReg uses Selective Search; here regions of a
multi-threshold segmentation, which needs no extra library), and the detector learns two things about them:
  - object localisation: the DETR set loss with every proposal as one "object" class;
  - object embedding: each query matched to a proposal predicts the proposal's features from a frozen copy of the
    backbone (standing in for DETReg's frozen SwAV encoder), with an L1 loss.
Afterwards the classification branches are re-initialised for the real classes; localisation and features stay.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

PROPOSALS_PER_CHIP = 30
EMBEDDING_WEIGHT = 1.0


def region_proposals(image: torch.Tensor, count: int = PROPOSALS_PER_CHIP) -> torch.Tensor:
    """Up to ``count`` class-agnostic boxes (N, 4) XYXY: connected regions above and below several brightness
    thresholds, between 0.5% and 80% of the chip, largest-contrast first, overlaps suppressed."""
    from scipy import ndimage
    from torchvision.ops import nms

    grey = image.float().mean(0).cpu().numpy()
    height, width = grey.shape
    boxes, scores = [], []
    for level in np.percentile(grey, (15, 30, 50, 70, 85)):
        for mask in (grey > level, grey <= level):
            labels, count_regions = ndimage.label(mask)
            for i, found in enumerate(ndimage.find_objects(labels), start=1):
                if found is None:
                    continue
                ys, xs = found
                area = (ys.stop - ys.start) * (xs.stop - xs.start)
                if not 0.005 * height * width <= area <= 0.8 * height * width:
                    continue
                inside = grey[found][labels[found] == i]
                boxes.append([xs.start, ys.start, xs.stop, ys.stop])
                scores.append(abs(float(inside.mean()) - float(grey.mean())))
    if not boxes:
        return torch.tensor([[0.0, 0.0, float(width), float(height)]])
    boxes_t = torch.tensor(boxes, dtype=torch.float32)
    keep = nms(boxes_t, torch.tensor(scores), 0.7)[:count]
    return boxes_t[keep]


def _cxcywh(boxes: torch.Tensor, width: int, height: int) -> torch.Tensor:
    from torchvision.ops import box_convert

    return box_convert(boxes / boxes.new_tensor([width, height, width, height]), "xyxy", "cxcywh")


class DetRegObjective(nn.Module):
    """The two DETReg losses for an :class:`MMDetAdapter` holding a (two-stage) Deformable DETR."""

    def __init__(self, adapter):
        super().__init__()
        self.adapter = adapter
        detector = adapter.model
        self.teacher = copy.deepcopy(detector.backbone)
        self.teacher.eval()  # mmdet's backbones return None from train()/eval(): not chained
        for parameter in self.teacher.parameters():
            parameter.requires_grad_(False)
        width = detector.bbox_head.embed_dims
        with torch.no_grad():
            probe = self.teacher(torch.zeros(1, adapter.get_submodule(adapter.first_conv).in_channels, 64, 64))[-1]
        self.embedding = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, probe.shape[1]))

    def losses(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        from scipy.optimize import linear_sum_assignment
        from torchvision.ops import box_convert, generalized_box_iou, roi_align

        from .openmmlab import pad_to_divisor

        detector = self.adapter.model
        height, width = images.shape[-2:]
        proposals = [region_proposals(image).to(images.device) for image in images]
        targets = [{"boxes": boxes, "labels": torch.ones(len(boxes), dtype=torch.long, device=images.device)}
                   for boxes in proposals]
        padded, _ = pad_to_divisor(images, minimum=self.adapter.minimum_input)
        samples = self.adapter.samples(padded, (height, width), targets)
        head_inputs = detector.forward_transformer(detector.extract_feat(padded), samples)
        losses = {f"localisation.{k}": v for k, v in detector.bbox_head.loss(
            **head_inputs, batch_data_samples=samples).items() if "loss" in k}
        _, coords = detector.bbox_head(head_inputs["hidden_states"], head_inputs["references"])
        hidden = head_inputs["hidden_states"][-1]
        self.teacher.eval()  # frozen statistics too, whatever mode the objective is in
        with torch.no_grad():
            features = self.teacher(padded)[-1]
        stride = padded.shape[-1] / features.shape[-1]
        predicted, wanted = [], []
        for b, boxes in enumerate(proposals):
            truth = _cxcywh(boxes, width, height)  # mmdet's DETR heads normalise by the unpadded image size
            guess = coords[-1, b]
            overlap = generalized_box_iou(box_convert(guess, "cxcywh", "xyxy"), box_convert(truth, "cxcywh", "xyxy"))
            cost = torch.cdist(guess, truth, p=1) - overlap
            rows, cols = linear_sum_assignment(cost.detach().cpu().numpy())
            predicted.append(self.embedding(hidden[b, torch.as_tensor(rows, device=hidden.device)]))
            rois = torch.cat([torch.full((len(cols), 1), float(b), device=boxes.device), boxes[cols]], dim=1)
            wanted.append(roi_align(features, rois, output_size=1, spatial_scale=1 / stride).flatten(1))
        losses["embedding.loss_l1"] = EMBEDDING_WEIGHT * F.l1_loss(torch.cat(predicted), torch.cat(wanted))
        return losses

    def reset_classification(self) -> None:
        """Before supervised training: fresh classification branches for the real classes."""
        from mmengine.model import bias_init_with_prob

        for branch in self.adapter.model.bbox_head.cls_branches:
            branch.reset_parameters()
            nn.init.constant_(branch.bias, bias_init_with_prob(0.01))


