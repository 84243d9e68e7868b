"""The values that cross the search's components, listed once: the run's parameters (:class:`SearchConfig`), one
piece of training to do (:class:`CandidateJob`) and what came of it (:class:`CandidateResult`, a leaderboard row).

The CLI and the Processing algorithm build the one ``SearchConfig`` (the plan recorded with the search, which workers
and a resumed run read back); the search hands ``CandidateJob`` values to whoever trains (this process, a worker, the
DistributedDataParallel followers) and records the ``CandidateResult`` each returns.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import validate
from ..data.esri import OBJECT_DETECTION
from ..detection_matching import DEFAULT_CONFIDENCE
from ..errors import InputDataError
from ..status import RECORDED, Status
from ..train.records import Scores, scores_from_dict
from ..train.records import Checkpoint, EpochRecord

if TYPE_CHECKING:  # the trainer's types (torch) are imported when a job is trained, not to read a record
    from ..train import TrainConfig
    from ..train.candidate import TrainRequest
    from ..train.trainer import TrainResult

BASIC, ADVANCED = "BASIC", "ADVANCED"
HALVING, FLAT = "halving", "flat"  # FLAT: the old equal-share sweep, kept only for scripts/bench_search.py

# a job's place in the search
RUNG, TUNING, FINAL = "rung", "tuning", "final"

VAL_CHIPS = 64  # validation chips of the rungs (the same first ones for every candidate); the finalist uses all
# the finalist's last share of its training, on the training + validation chips (SearchConfig.refit): half, so that
# its first half still validates (the health of the run and the moving average's worth are known before)
REFIT_SHARE = 0.5
# the probability of a training chip being a mosaic of four (data/augment.py Mosaic) where SearchConfig.mosaic is
# None: detection's measured on the real palm chips (docs/benchmarks.md, *Mosaic at 30 minutes*); pixel
# classification's is not measured, so it stays off there
DEFAULT_MOSAIC = {OBJECT_DETECTION: 0.5}
# the finalist's last share of its training without mosaics (TrainConfig.plain_share)
PLAIN_SHARE = 0.15


@dataclass(frozen=True)
class SearchConfig:
    """One run's parameters (arcpy's names where arcpy has them). ``total_time_limit`` is in hours and covers the
    whole run, packaging included."""
    data: str
    total_time_limit: float = 2.0
    mode: str = BASIC
    networks: tuple[str, ...] = ()  # empty: every network that suits the data
    pretrained_model: str | None = None
    save_evaluated_models: bool = False
    device: str = "auto"
    work_dir: str | None = None
    storage: str | None = None
    study_name: str | None = None
    resume: bool = False
    seed: int = 42
    val_fraction: float = 0.2
    pretrained_backbones: bool = True
    max_epochs: int | None = None  # a cap per training segment (tests); None: the time decides
    strategy: str = HALVING
    # the recipe of the shipped model, each part on unless switched off (README, AutoDL: "Why these three")
    # the finalist keeps a moving average of its weights, shipped if it validates better, and after a refit always
    weight_averaging: bool = True
    refit: bool = True  # the finalist's last stretch trains on the training + validation chips
    # mixed precision: on CUDA, and on a CPU where bfloat16 steps measure faster (train/batch_size.py)
    mixed_precision: bool = True
    # probability of a training chip being a mosaic of four (at augmentation strength 1); None: the task's default
    mosaic: float | None = None
    fitted_boxes: bool = True  # detectors' default boxes fitted to the labelled objects (train/scale.py)
    # the finalist's last validation decides whether its package predicts over the eight flips and quarter turns of
    # each tile by default (off: it predicts each tile once, as ArcGIS' default)
    choose_test_time_augmentation: bool = True

    def __post_init__(self):
        limit = self.total_time_limit
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit) or limit <= 0:
            raise InputDataError(f"total_time_limit must be a positive number of hours, not {limit!r}", None,
                                 "For example 2 (hours) or 0.5")
        if str(self.mode).upper() not in (BASIC, ADVANCED):
            raise InputDataError(f"autodl_mode must be BASIC or ADVANCED, not {self.mode!r}", None,
                                 "Use BASIC or ADVANCED")
        object.__setattr__(self, "mode", str(self.mode).upper())
        if self.strategy not in (HALVING, FLAT):
            raise InputDataError(f"search strategy must be {HALVING} or {FLAT}, not {self.strategy!r}", None,
                                 f"Use {HALVING}")
        if not 0 < self.val_fraction < 1:
            raise InputDataError(f"validation fraction {self.val_fraction} is outside (0, 1)", None,
                                 "Use a fraction such as 0.2")
        if self.mosaic is not None:
            validate.fraction("mosaic", self.mosaic)
        if self.max_epochs is not None and self.max_epochs < 1:
            raise InputDataError(f"max_epochs must be at least 1, not {self.max_epochs}", None, "For example 10")
        if self.resume and not self.work_dir:
            raise InputDataError("resuming needs the work folder of the search", None, "Give work_dir (--work-dir)")
        networks = self.networks
        if isinstance(networks, str):
            networks = networks.split(",")
        object.__setattr__(self, "networks", tuple(n.strip() for n in networks or () if n and n.strip()))
        for name in ("data", "pretrained_model", "work_dir"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(value))

    def mosaic_for(self, task: str) -> float:
        """The probability of a training chip being a mosaic for ``task``'s networks."""
        return DEFAULT_MOSAIC.get(task, 0.0) if self.mosaic is None else self.mosaic

    @property
    def total_seconds(self) -> float:
        return float(self.total_time_limit) * 3600.0

    def as_plan(self) -> dict:
        """The config as JSON-able values (recorded with the search)."""
        return {**dataclasses.asdict(self), "networks": list(self.networks)}

    @classmethod
    def from_plan(cls, plan: dict, **changes) -> "SearchConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{**{k: v for k, v in plan.items() if k in known}, **changes})


@dataclass(frozen=True)
class Opening:
    """The leader's first segment trains as the finalist would, to the search's end, unless at a validation after
    ``seconds`` training seconds the epoch it measured leaves room for challengers (schedule.py ``opening_yields``:
    the finalist keeps ``MIN_FINAL_EPOCHS`` of them before ``end``, the challengers explore until
    ``exploration_end`` at most): then it stops there as the leader's rung-0 segment. So a time limit that reaches
    no challenger costs nothing over training the leader alone. Times on the search's clock."""
    seconds: float
    exploration_end: float
    end: float
    candidates: int  # the rung-0 candidates, the leader's included


@dataclass(frozen=True)
class CandidateJob:
    """One training segment of one candidate: rung 0 starts it, later rungs and the final one continue it from its
    checkpoint (weights, optimizer, schedule position)."""
    key: str  # stable name of this segment, e.g. "c03-r1": a job retried after a crash keeps it
    candidate: str  # "c03": the candidate this segment belongs to
    network: str
    backbone: str
    phase: str  # RUNG, TUNING (a rung-0 segment proposed by TPE) or FINAL
    rung: int
    train_seconds: float  # training seconds this segment adds (equal for every job of a rung)
    chip_scale: float = 1.0
    scale_reason: str | None = None  # why this chip scale (detection: from the labelled objects' sizes)
    learning_rate: float | None = None  # None: the task's default
    augment_strength: float = 1.0
    batch_size: int | None = None  # None: measured
    seed: int = 42
    resume_from: str | None = None  # checkpoint file of the candidate's previous segment
    decay_to_end: bool = False  # the final segment: learning rate falls linearly to zero at its end
    full_validation: bool = False  # validate on every validation chip (else on the search's capped subset)
    deadline: float | None = None  # when the job must be over, on the search's clock (wall time, shared by workers)
    opening: Opening | None = None  # the leader's first segment (see Opening)
    min_passes: float = 0.0  # a first-rung challenger's: TrainConfig.min_passes

    def params(self) -> dict:
        """The hyper-parameters, as recorded in the trial."""
        return {"network": self.network, f"{self.network}.backbone": self.backbone, "chip_scale": self.chip_scale,
                "learning_rate": self.learning_rate, "augment_strength": self.augment_strength}

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "CandidateJob":
        opening = values.get("opening")
        return cls(**{**values, "opening": Opening(**opening) if isinstance(opening, dict) else opening})

    @property
    def trains_as_final(self) -> bool:
        """The finalist's segment, or the leader's opening, which may turn out to be it."""
        return self.phase == FINAL or self.opening is not None

    def train_config(self, search: SearchConfig) -> "TrainConfig":
        """How the trainer runs this segment under the search's options."""
        from ..train import TrainConfig

        final = self.trains_as_final
        return TrainConfig(max_epochs=search.max_epochs, learning_rate=self.learning_rate, batch_size=self.batch_size,
                           seed=self.seed, train_seconds=self.train_seconds, decay_to_end=self.decay_to_end,
                           # the finalist gives the model: whatever it can train and validate beats nothing
                           min_steps=1 if final else TrainConfig.min_steps, min_passes=self.min_passes,
                           partial_validation=final,
                           ema=final and search.weight_averaging, amp=search.mixed_precision,
                           refit_share=REFIT_SHARE if final and search.refit else 0.0,
                           plain_share=PLAIN_SHARE if final else 0.0,
                           choose_test_time_augmentation=final and search.choose_test_time_augmentation)

    def train_request(self, search: SearchConfig, checkpoint: Checkpoint | None = None,
                      initial_state: dict | None = None, object_size: float | None = None) -> "TrainRequest":
        """This segment for train_candidate: ``checkpoint`` (loaded from ``resume_from``) continues the candidate;
        ``initial_state`` (the weights of the search's pretrained model) fine-tunes; ``object_size``: the search's
        (train/scale.py ``typical_object_size``)."""
        from ..networks.registry import get_spec
        from ..train.candidate import TrainRequest

        return TrainRequest(self.network, self.backbone, self.train_config(search),
                            pretrained=search.pretrained_backbones and search.pretrained_model is None,
                            augment_strength=self.augment_strength, chip_scale=self.chip_scale,
                            val_chips=None if self.full_validation else VAL_CHIPS, checkpoint=checkpoint,
                            initial_state=initial_state, object_size=object_size,
                            mosaic=search.mosaic_for(get_spec(self.network).task))


@dataclass(frozen=True)
class CandidateResult:
    """What came of a job: a leaderboard row. Times are seconds; ``start`` / ``end`` from the search's start."""
    key: str
    candidate: str
    network: str
    backbone: str
    phase: str
    rung: int
    status: Status
    metric_name: str | None = None
    metric: float | None = None  # at the end of the segment, on the validation chips it used
    test_metric: float | None = None  # on the held-out test chips (the shipped model only)
    validation_chips: int = 0  # chips the metric was computed on
    test_chips: int = 0
    trained_chips: int = 0  # chips the segment's weights last trained on (training, or training + validation)
    averaged: bool = False  # the weights are the moving average of the segment's weights
    # the finalist's weights validated at its end predicting each chip once and over its eight flips and quarter
    # turns, on the same chips (None: not measured), and whether the package predicts over the views by default
    # (after a refit always, the chips being ones it trained on; else where the views scored higher)
    once_metric: float | None = None
    augmented_metric: float | None = None
    test_time_augmentation: bool = False
    detection_confidence: float | None = None  # the threshold with the best validation F1, as it predicts by default
    epochs: int = 0
    steps: int = 0
    epoch_steps: int = 0  # steps of one epoch at ``batch_size``
    batch_size: int | None = None
    precision: str | None = None  # of the segment's training steps (TrainResult.precision)
    train_seconds: float = 0.0  # the candidate's training seconds so far, all segments
    segment_seconds: float = 0.0  # this segment's training seconds
    seconds_per_step: float | None = None
    validation_seconds: float | None = None
    build_seconds: float | None = None
    start: float = 0.0
    end: float = 0.0
    chip_scale: float = 1.0
    scale_reason: str | None = None
    learning_rate: float | None = None
    augment_strength: float = 1.0
    reason: str | None = None
    worker: str | None = None
    weights: str | None = None  # the segment's best weights (safetensors), a file in the work folder's candidates/
    checkpoint: str | None = None  # state to continue from (weights, optimizer, schedule)
    metrics: Scores | None = None  # every metric of the weights kept (a JSON record's dict is read back typed)
    # every metric on the held-out test chips as the package predicts by default (a detector's from its threshold)
    test_metrics: Scores | None = None
    curve: tuple[EpochRecord, ...] = ()

    def __post_init__(self):
        if self.status not in RECORDED:
            raise ValueError(f"unknown status {self.status!r}")
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "curve", tuple(p if isinstance(p, EpochRecord) else EpochRecord(**p)
                                                for p in self.curve))
        for name in ("metrics", "test_metrics"):
            if isinstance(getattr(self, name), dict):
                object.__setattr__(self, name, scores_from_dict(getattr(self, name)))

    def as_dict(self) -> dict:
        """The JSON record (the metrics in train/metrics.py's JSON form, {} when there are none)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["curve"] = [dataclasses.asdict(p) for p in self.curve]
        for name in ("metrics", "test_metrics"):
            values[name] = getattr(self, name).as_dict() if getattr(self, name) is not None else {}
        return values

    @property
    def kept_from(self) -> float:
        """The confidence from which the package keeps a detector's objects by default."""
        return self.detection_confidence if self.detection_confidence is not None else DEFAULT_CONFIDENCE

    @classmethod
    def from_training(cls, job: CandidateJob, trained: "TrainResult", *, start: float, end: float,
                      build_seconds: float | None, worker: str, weights: str | None,
                      checkpoint: str | None) -> "CandidateResult":
        """The row of a trained job: the trainer's result, ``start`` / ``end`` from the search's start, and the
        files its weights and state were written to."""
        return cls(
            key=job.key, candidate=job.candidate, network=job.network, backbone=job.backbone, phase=job.phase,
            rung=job.rung, status=trained.status, metric_name=trained.metric_name or None,
            metric=trained.best_metric if trained.best_state is not None else None,  # of the weights kept
            validation_chips=trained.validation_chips, trained_chips=trained.trained_chips,
            averaged=trained.averaged, once_metric=trained.once_metric, augmented_metric=trained.augmented_metric,
            test_time_augmentation=trained.test_time_augmentation,
            detection_confidence=trained.detection_confidence, epochs=trained.epochs, steps=trained.steps,
            epoch_steps=trained.epoch_steps,
            batch_size=trained.batch_size or None, precision=trained.precision,
            train_seconds=round(trained.train_seconds, 2), segment_seconds=round(trained.run_seconds, 2),
            seconds_per_step=trained.seconds_per_step, validation_seconds=trained.validation_seconds,
            build_seconds=build_seconds, start=round(start, 2), end=round(end, 2), chip_scale=job.chip_scale,
            scale_reason=job.scale_reason, learning_rate=job.learning_rate, augment_strength=job.augment_strength,
            reason=trained.reason, worker=worker, weights=weights, checkpoint=checkpoint,
            metrics=trained.metrics, curve=tuple(trained.history))

    @classmethod
    def from_dict(cls, values: dict) -> "CandidateResult":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def replace(self, **changes) -> "CandidateResult":
        return dataclasses.replace(self, **changes)

    def pruned(self) -> "CandidateResult":
        """This completed segment's candidate is not continued: the schedule kept others."""
        return self.replace(status=Status.PRUNED, reason=f"not continued after round {self.rung}: others were better "
                                                         "at equal training time")

    def unpruned(self) -> "CandidateResult":
        """A pruned segment's candidate continues or ships after all: completed, as the segment ended (only
        completed segments are pruned, and they have no reason)."""
        return self.replace(status=Status.COMPLETED, reason=None) if self.status == Status.PRUNED else self


@dataclass(frozen=True)
class LeaderboardRow:
    """A candidate's place on the leaderboard: its last segment's result (with the status it ends the search
    with) and its rank."""
    rank: int
    result: CandidateResult

    def as_dict(self) -> dict:
        """leaderboard.json's and leaderboard.csv's row: the rank, then the result without its curve and metrics."""
        row = {k: v for k, v in self.result.as_dict().items() if k not in ("curve", "metrics", "test_metrics")}
        return {"rank": self.rank, **row}

    def brief(self) -> dict:
        """The row as the .emd records it."""
        r = self.result
        return {"rank": self.rank, "network": r.network, "backbone": r.backbone, "status": r.status, "metric": r.metric}


@dataclass(frozen=True)
class SplitSummary:
    """How the chips were split: ``kind`` (spatial_blocks or random), chips per part, and why."""
    kind: str
    chips: int  # validation chips
    train_chips: int
    test_chips: int  # the held-out chips the shipped model was scored on
    note: str = ""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)
