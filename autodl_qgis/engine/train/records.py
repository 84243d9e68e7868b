"""What training hands on: the points of a training curve, the validation scores (train/metrics.py computes them)
and the state a candidate's next run continues from.

All cross into the search (its leaderboard rows and the ``.state.pt`` files of its work folder), so they are typed
here, below the search, and turned into plain values only at the edge (``dataclasses.asdict`` for JSON, ``as_dict``
for ``torch.save``, read back with ``torch.load(weights_only=True)``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class EpochRecord:
    """One point of a training curve (an intermediate or final validation)."""
    epoch: int
    step: int
    seconds: float  # training seconds of the candidate so far (all segments)
    loss: float
    metric: float
    learning_rate: float  # the rate the optimizer last used
    ema_metric: float | None = None  # of the moving average of the weights, when one was kept (TrainConfig.ema)


@dataclass(frozen=True)
class Checkpoint:
    """Where a candidate's run stopped: its last weights (not the best: continuing goes on from where training
    stopped), the optimizer's state, the schedule's position (epoch, step, training seconds), the batch size and
    the curve so far."""
    optimizer: dict
    epoch: int
    step: int
    seconds: float  # the candidate's training seconds, all runs
    batch_size: int
    history: tuple[EpochRecord, ...] = ()
    model: dict = field(default_factory=dict)  # the network's state_dict, on the CPU

    def as_dict(self) -> dict:
        """Tensors and plain values only (the layout of the work folder's ``.state.pt`` files)."""
        return {"model": self.model,
                "train": {"optimizer": self.optimizer, "epoch": self.epoch, "step": self.step,
                          "seconds": self.seconds, "batch_size": self.batch_size,
                          "history": [dataclasses.asdict(point) for point in self.history]}}

    @classmethod
    def from_dict(cls, values: dict) -> "Checkpoint":
        train = values["train"]
        return cls(optimizer=train["optimizer"], epoch=int(train["epoch"]), step=int(train["step"]),
                   seconds=float(train["seconds"]), batch_size=int(train["batch_size"]),
                   history=tuple(EpochRecord(**point) for point in train.get("history", ())),
                   model=values["model"])


def _fields(cls, values: dict) -> dict:
    """The values of a JSON record that are fields of ``cls`` (a record from another version may have more)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in names}


@dataclass(frozen=True)
class DetectionClassScores:
    """One class: AP at IoU 0.5 and COCO's AP@[.5:.95], and the matching at the detection threshold."""
    name: str
    average_precision: float | None  # AP50; None: no ground truth of this class
    coco_map: float | None
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float | None  # None: nothing detected at the threshold
    recall: float | None
    f1: float | None
    precision_curve: tuple[float, ...] = ()  # interpolated precision at recall 0, 0.01, ..., 1
    max_recall: float | None = None  # recall with every detection kept, whatever its score

    def __post_init__(self):
        object.__setattr__(self, "precision_curve", tuple(self.precision_curve))


class _ScoresRecord:
    """The JSON form of both score types: their fields, ``per_class`` as {class name: its other fields}."""
    class_type: ClassVar[type]

    def as_dict(self) -> dict:
        values = dataclasses.asdict(self)
        values["per_class"] = {c.pop("name"): c for c in values["per_class"]}
        return values

    @classmethod
    def from_dict(cls, values: dict):
        per_class = tuple(cls.class_type(name=name, **_fields(cls.class_type, c))
                          for name, c in (values.get("per_class") or {}).items())
        return cls(**{**_fields(cls, values), "per_class": per_class})


@dataclass(frozen=True)
class DetectionScores(_ScoresRecord):
    """A detector's scores on a set of chips; ``average_precision`` (mean AP50 over the classes with ground truth)
    is the primary metric."""
    average_precision: float
    confidence: float  # the score at which precision / recall / F1 are counted
    precision: float | None
    recall: float | None
    f1: float | None
    coco_map: float
    map_50: float
    map_75: float
    per_class: tuple[DetectionClassScores, ...] = ()
    # the threshold at which F1 over all classes is highest on these chips, and that F1 (None: no truth or no
    # detection; records written before they were measured)
    best_confidence: float | None = None
    best_f1: float | None = None

    class_type: ClassVar[type] = DetectionClassScores
    primary_name: ClassVar[str] = "average_precision"
    headline_names: ClassVar[tuple[str, ...]] = ("average_precision", "coco_map", "precision", "recall", "f1")

    @property
    def primary(self) -> float:
        return self.average_precision



@dataclass(frozen=True)
class PixelClassScores:
    """One class (the background included) of a pixel classification."""
    name: str
    iou: float | None  # None: the class is neither in the truth nor predicted
    precision: float | None
    recall: float | None
    f1: float | None
    pixels: int  # of the class in the truth


@dataclass(frozen=True)
class PixelScores(_ScoresRecord):
    """A pixel classifier's scores; ``miou`` (mean IoU over the foreground classes) is the primary metric."""
    miou: float
    background_iou: float | None
    accuracy: float
    per_class: tuple[PixelClassScores, ...] = ()  # the background first, then the classes in order
    confusion_matrix: tuple[tuple[int, ...], ...] = ()  # rows: truth, columns: prediction, in class order

    class_type: ClassVar[type] = PixelClassScores
    primary_name: ClassVar[str] = "miou"
    headline_names: ClassVar[tuple[str, ...]] = ("miou", "accuracy", "background_iou")

    def __post_init__(self):
        object.__setattr__(self, "confusion_matrix", tuple(tuple(int(v) for v in row)
                                                           for row in self.confusion_matrix))

    @property
    def primary(self) -> float:
        return self.miou



Scores = DetectionScores | PixelScores


def class_scores(scores: Scores, name: str):
    """The scores of the class called ``name``, or None."""
    return next((c for c in scores.per_class if c.name == name), None)


def scores_from_dict(values: dict | None) -> Scores | None:
    """Scores from their JSON form (``as_dict``: the layout the .emd and the work folder's records have always had,
    so older records read too); None for an empty record (a run that never validated)."""
    if not values:
        return None
    return PixelScores.from_dict(values) if "miou" in values else DetectionScores.from_dict(values)
