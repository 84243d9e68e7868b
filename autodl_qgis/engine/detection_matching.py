"""Matching detections to ground truth and scoring the match, with numpy only: shared by the validation metrics
(train/metrics.py) and Compute Accuracy For Object Detection (accuracy.py), so that the AP the training reports is
the AP a user computes afterwards.

Detections are matched to the truth as COCO does: class by class, the highest-scoring detection takes the unmatched
truth it overlaps most, if their IoU reaches the threshold. AP is COCO's 101-point interpolated average precision.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from .errors import InputDataError

RECALL_POINTS = np.linspace(0.0, 1.0, 101)  # COCO's recall thresholds
DEFAULT_CONFIDENCE = 0.5  # the score above which Detect Objects keeps a detection (its default threshold)


@dataclass(frozen=True)
class ClassDetectionScore:
    """One class (or all classes together) at a confidence threshold and an IoU threshold."""

    name: str
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float | None  # None: nothing detected at the threshold
    recall: float | None  # None: no ground truth of this class
    f1: float | None
    average_precision: float | None  # None: no ground truth of this class
    precision_curve: tuple[float, ...]  # interpolated precision at recall 0, 0.01, ..., 1 (empty for "all")
    max_recall: float | None  # recall with every detection kept, whatever its score

    def as_dict(self) -> dict:
        return {"true_positives": self.true_positives, "false_positives": self.false_positives,
                "false_negatives": self.false_negatives, "precision": self.precision, "recall": self.recall,
                "f1": self.f1, "average_precision": self.average_precision,
                "precision_curve": list(self.precision_curve), "max_recall": self.max_recall}


@dataclass(frozen=True)
class DetectionAccuracy:
    iou_threshold: float
    confidence: float
    classes: tuple[ClassDetectionScore, ...]
    overall: ClassDetectionScore  # counts summed over classes, AP averaged over the classes with ground truth


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None if precision is None and recall is None else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


class DetectionMatcher:
    """Accumulates the matching of detections to ground truth, image by image (or layer by layer)."""

    def __init__(self, iou_threshold: float = 0.5):
        if not 0 < iou_threshold <= 1:
            raise InputDataError(f"the IoU threshold {iou_threshold} is outside (0, 1]", None, "Use e.g. 0.5")
        self.iou_threshold = iou_threshold
        self._scores: dict[int, list[float]] = defaultdict(list)
        self._hits: dict[int, list[bool]] = defaultdict(list)
        self._truths: Counter = Counter()

    def add(self, ious: np.ndarray, scores, labels, truth_labels) -> None:
        """``ious`` (detections x truths) of one image; ``scores``/``labels`` per detection, ``truth_labels`` per
        truth. Labels are any hashable class keys."""
        ious = np.asarray(ious, np.float64).reshape(len(np.atleast_1d(scores)), len(np.atleast_1d(truth_labels)))
        detections, truths = np.nonzero(ious > 0)
        self.add_pairs(detections, truths, ious[detections, truths], scores, labels, truth_labels)

    def add_pairs(self, detections, truths, ious, scores, labels, truth_labels) -> None:
        """Like :meth:`add`, given only the overlapping pairs: detection ``detections[n]`` and truth ``truths[n]``
        overlap by ``ious[n]`` (> 0); memory follows the pairs, not detections x truths."""
        scores, labels = np.asarray(scores, np.float64).reshape(-1), np.asarray(labels).reshape(-1)
        truth_labels = np.asarray(truth_labels).reshape(-1)
        detections, truths = np.asarray(detections, np.int64), np.asarray(truths, np.int64)
        order = np.lexsort((truths, detections))  # each detection's pairs together, truths in order
        truths, ious = truths[order], np.asarray(ious, np.float64)[order]
        starts = np.searchsorted(detections[order], np.arange(len(scores) + 1))
        taken = np.zeros(len(truth_labels), bool)
        for key in set(labels.tolist()) | set(truth_labels.tolist()):
            mine = np.flatnonzero(labels == key)
            self._truths[key] += int(np.count_nonzero(truth_labels == key))
            for i in mine[np.argsort(-scores[mine], kind="mergesort")]:
                hit = False
                near, overlaps = truths[starts[i]:starts[i + 1]], ious[starts[i]:starts[i + 1]]
                if len(near):
                    overlaps = np.where((truth_labels[near] == key) & ~taken[near], overlaps, -1.0)
                    best = int(np.argmax(overlaps))
                    if overlaps[best] >= self.iou_threshold:
                        taken[near[best]] = hit = True
                self._scores[key].append(float(scores[i]))
                self._hits[key].append(hit)

    def keys(self) -> list:
        return sorted(set(self._truths) | set(self._scores), key=str)

    def score(self, key, name: str, confidence: float = DEFAULT_CONFIDENCE) -> ClassDetectionScore:
        scores, hits = np.asarray(self._scores.get(key, []), np.float64), np.asarray(self._hits.get(key, []), bool)
        truths = self._truths.get(key, 0)
        kept = scores >= confidence
        tp, fp = int(hits[kept].sum()), int((~hits[kept]).sum())
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, truths)
        curve, ap, max_recall = (), None, None
        if truths:
            order = np.argsort(-scores, kind="mergesort")
            cum_tp = np.cumsum(hits[order])
            recalls = cum_tp / truths
            precisions = cum_tp / np.arange(1, len(order) + 1)
            envelope = np.maximum.accumulate(precisions[::-1])[::-1] if len(order) else precisions
            at = np.searchsorted(recalls, RECALL_POINTS, side="left")
            curve = tuple(float(envelope[i]) if i < len(envelope) else 0.0 for i in at)
            ap = float(np.mean(curve))
            max_recall = float(recalls[-1]) if len(recalls) else 0.0
        return ClassDetectionScore(name, tp, fp, truths - tp, precision, recall, _f1(precision, recall), ap, curve,
                                   max_recall)

    def best_confidence(self) -> tuple[float, float] | None:
        """The confidence threshold at which F1 over all classes together is highest, and that F1, rounded down to
        a hundredth (as the threshold is shown and typed) so that the detections it counted are kept; None without
        ground truth or detections. Tied F1: the higher threshold (fewer objects to draw, as good)."""
        scores = np.concatenate([np.asarray(s, np.float64) for s in self._scores.values()] or [np.zeros(0)])
        hits = np.concatenate([np.asarray(h, bool) for h in self._hits.values()] or [np.zeros(0, bool)])
        truths = sum(self._truths.values())
        if not truths or not len(scores):
            return None
        order = np.argsort(-scores, kind="mergesort")
        scores, cum_tp = scores[order], np.cumsum(hits[order])
        last = np.r_[scores[1:] != scores[:-1], True]  # a threshold keeps every detection of equal score
        kept = np.arange(1, len(scores) + 1)[last]
        f1 = 2 * cum_tp[last] / (kept + truths)
        best = int(np.argmax(f1))  # the first maximum: the highest threshold
        return math.floor(scores[last][best] * 100) / 100, float(f1[best])

    def result(self, names: dict | None = None, confidence: float = DEFAULT_CONFIDENCE) -> DetectionAccuracy:
        """Per class (``names`` maps class keys to names; default: the keys as text) and overall."""
        names = names or {}
        classes = tuple(self.score(k, str(names.get(k, k)), confidence) for k in self.keys())
        tp, fp, fn = (sum(getattr(c, f) for c in classes)
                      for f in ("true_positives", "false_positives", "false_negatives"))
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        aps = [c.average_precision for c in classes if c.average_precision is not None]
        overall = ClassDetectionScore("All", tp, fp, fn, precision, recall, _f1(precision, recall),
                                      float(np.mean(aps)) if aps else None, (), None)
        return DetectionAccuracy(self.iou_threshold, confidence, classes, overall)


def box_ious(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every XYXY box of ``a`` with every one of ``b``."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    width = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    height = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = width * height
    area = lambda boxes: (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
