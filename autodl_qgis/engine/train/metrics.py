"""Validation metrics, computed with torchmetrics (COCO-style AP through pycocotools).

Object detection: AP at IoU 0.5 per class and its mean (the primary metric, ``average_precision``), COCO
mAP@[.5:.95], the threshold where F1 over all classes peaks (engine/detection_matching.py; a package keeps objects
from it by default), precision / recall / F1 at a threshold (in validation that one: the objects the model would keep)
with each class's precision-recall curve. ArcGIS ranks by AP at IoU 0.1; we use 0.5, which users of other tools expect.
Pixel classification: per-class IoU, precision, recall and F1 from one confusion matrix; mIoU over the
foreground classes is the primary metric (``miou``), the background's IoU is reported separately, and the
confusion matrix itself.
Both computations give a typed value (records.py: :class:`DetectionScores`, :class:`PixelScores`) that the trainer,
the search, the report, the .emd and the accuracy command read by attribute.
"""
from __future__ import annotations

import math

import torch

from ..detection_matching import DEFAULT_CONFIDENCE, DetectionMatcher, box_ious
from .records import DetectionClassScores, DetectionScores, PixelClassScores, PixelScores


def _finite_or_none(value: float) -> float | None:
    return None if value is None or math.isnan(value) or value < 0 else float(value)


class DetectionMetrics:
    primary = DetectionScores.primary_name

    def __init__(self, class_names: list[str], confidence: float | None = DEFAULT_CONFIDENCE):
        """``confidence``: the score from which precision, recall and F1 count a detection; None: where F1 over
        all classes peaks on these chips (DEFAULT_CONFIDENCE without truth or detections)."""
        from torchmetrics.detection import MeanAveragePrecision

        self.class_names, self.confidence = class_names, confidence
        self._coco = MeanAveragePrecision(iou_type="bbox", class_metrics=True, backend="pycocotools")
        self._ap50 = MeanAveragePrecision(iou_type="bbox", iou_thresholds=[0.5], class_metrics=True,
                                          backend="pycocotools")
        # COCO's protocol scores the 100 best detections of a chip; the eight views' low-score finds pass 100
        # often, and torchmetrics' warning about it asks nothing of a user
        for metric in (self._coco, self._ap50):
            metric.warn_on_many_detections = False
        self._matcher = DetectionMatcher(0.5)  # precision / recall / F1 at the detection threshold, PR curves

    def update(self, predictions: list[dict], targets: list[dict]) -> None:
        preds = [{k: p[k].detach().cpu().float() if k != "labels" else p[k].detach().cpu().long()
                  for k in ("boxes", "scores", "labels")} for p in predictions]
        truth = [{"boxes": t["boxes"].detach().cpu().float(), "labels": t["labels"].detach().cpu().long()}
                 for t in targets]
        self._coco.update(preds, truth)
        self._ap50.update(preds, truth)
        for p, t in zip(preds, truth):
            self._matcher.add(box_ious(p["boxes"].numpy(), t["boxes"].numpy()), p["scores"].numpy(),
                              p["labels"].numpy(), t["labels"].numpy())

    def compute(self) -> DetectionScores:
        coco, ap50 = self._coco.compute(), self._ap50.compute()
        best_confidence, best_f1 = self._matcher.best_confidence() or (None, None)
        confidence = self.confidence
        if confidence is None:
            confidence = best_confidence if best_confidence is not None else DEFAULT_CONFIDENCE
        per_class = []
        classes = ap50["classes"].flatten().tolist()
        ap50_values = ap50["map_per_class"].flatten().tolist()
        coco_values = dict(zip(coco["classes"].flatten().tolist(), coco["map_per_class"].flatten().tolist()))
        for label, value in zip(classes, ap50_values):
            name = self.class_names[label - 1] if 0 < label <= len(self.class_names) else str(label)
            matched = self._matcher.score(label, name, confidence)
            per_class.append(DetectionClassScores(
                name=name, average_precision=_finite_or_none(value),
                coco_map=_finite_or_none(coco_values.get(label, float("nan"))),
                true_positives=matched.true_positives, false_positives=matched.false_positives,
                false_negatives=matched.false_negatives, precision=matched.precision, recall=matched.recall,
                f1=matched.f1, precision_curve=matched.precision_curve, max_recall=matched.max_recall))
        known = [c.average_precision for c in per_class if c.average_precision is not None]
        overall = self._matcher.result(confidence=confidence).overall
        return DetectionScores(
            average_precision=float(sum(known) / len(known)) if known else 0.0,
            confidence=confidence, precision=overall.precision, recall=overall.recall, f1=overall.f1,
            coco_map=_finite_or_none(coco["map"].item()) or 0.0,
            map_50=_finite_or_none(coco["map_50"].item()) or 0.0,
            map_75=_finite_or_none(coco["map_75"].item()) or 0.0,
            per_class=tuple(per_class), best_confidence=best_confidence, best_f1=best_f1)


class PixelMetrics:
    primary = PixelScores.primary_name

    def __init__(self, class_names: list[str]):
        from torchmetrics.classification import MulticlassConfusionMatrix

        self.class_names = ["background"] + list(class_names)
        self._matrix = MulticlassConfusionMatrix(num_classes=len(self.class_names))

    def update(self, scores: torch.Tensor, targets: torch.Tensor) -> None:
        self._matrix.update(scores.detach().argmax(1).cpu(), targets.detach().cpu())

    def compute(self) -> PixelScores:
        matrix = self._matrix.compute().double()  # rows: truth, columns: prediction
        tp = matrix.diag()
        truth, predicted = matrix.sum(1), matrix.sum(0)
        union = truth + predicted - tp
        per_class = []
        for i, name in enumerate(self.class_names):
            present = bool(truth[i] > 0 or predicted[i] > 0)
            precision = (tp[i] / predicted[i]).item() if predicted[i] > 0 else None
            recall = (tp[i] / truth[i]).item() if truth[i] > 0 else None
            f1 = (2 * precision * recall / (precision + recall)
                  if precision is not None and recall is not None and precision + recall > 0 else
                  (0.0 if precision is not None or recall is not None else None))
            per_class.append(PixelClassScores(name, (tp[i] / union[i]).item() if present else None, precision,
                                              recall, f1, int(truth[i].item())))
        foreground = [c.iou for c in per_class[1:] if c.iou is not None]
        return PixelScores(
            miou=float(sum(foreground) / len(foreground)) if foreground else 0.0,
            background_iou=per_class[0].iou,
            accuracy=(tp.sum() / matrix.sum()).item() if matrix.sum() > 0 else 0.0,
            per_class=tuple(per_class), confusion_matrix=matrix.long().tolist())


def metrics_for(task: str, class_names: list[str], confidence: float | None = None):
    """A validation's metrics: a detector's precision, recall and F1 count from ``confidence``, by default from the
    threshold where its F1 peaks, the one a package records (a model trained for minutes scores most objects below
    0.5: counted there, its report would show it finding nothing)."""
    return DetectionMetrics(class_names, confidence) if task == "object_detection" else PixelMetrics(class_names)
