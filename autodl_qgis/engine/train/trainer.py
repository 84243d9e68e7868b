"""The one training loop that serves every network through its adapter.

Deadline, cancel, progress, metrics, batch size, mixed precision, out-of-memory recovery, early stopping,
best-checkpoint keeping and continued training (weights, optimizer and schedule position carried from one segment
to the next) live here and nowhere else. Time is read from the budget's clock only.

As in torchvision's reference scripts, :meth:`Trainer.fit` is a loop over :meth:`Trainer.train_one_epoch`; when the
run ends is :class:`StopPolicy`'s decision, the learning rate is learning_rate.py's ``LambdaLR``, and what a run hands
on is typed in records.py.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..budget import TimeBudget
from ..data.dataset import ChipDataset
from ..data.esri import OBJECT_DETECTION
from ..messages import Message, translate
from ..progress import Callbacks, Cancelled, EpochEvent, SilentCallbacks, check_cancel
from . import distributed
from .batch_size import (CPU_PRECISION_MIN_SECONDS, MIN_BATCH, MIN_RUN_STEPS, choose_cpu_bfloat16, find_batch_size,
                         is_out_of_memory)
from .learning_rate import LearningRateSchedule
from .metrics import metrics_for
from ..status import Status
from .records import Checkpoint, EpochRecord, Scores

COMPLETED, DEADLINE, EARLY_STOPPED, PRUNED = Status.COMPLETED, Status.DEADLINE, Status.EARLY_STOPPED, Status.PRUNED
FAILED, CANCELLED, NOT_REACHED = Status.FAILED, Status.CANCELLED, Status.NOT_REACHED
VALIDATION_SHARE = 0.1  # validations at epoch ends stop once they have taken this share of the training time
# the moving average of the weights spans this share of the run's planned steps (decay 1 - 1 / span), at most
# EMA_MAX_SPAN steps: long enough to smooth the last steps' noise, short enough to forget the early weights
EMA_SPAN_SHARE, EMA_MAX_SPAN = 0.1, 2000
# choosing test-time augmentation validates the weights kept once more and over the eight views: nine validations,
# tried when they cost at most TTA_SHARE of the run's budget (at 10 minutes on a CPU about an eighth of the
# finalist's time, at 30 minutes a twenty-fifth). A tenth left 10-minute runs predicting once, where the fused views
# scored 0.462 test AP50 against 0.386 on sixteen 10-minute palm packages (infer/backend.py fuse_views)
TTA_VALIDATIONS, TTA_SHARE = 9, 0.15
FUSED_ADAMW_DEVICES = ("cpu", "cuda")  # where torch.optim.AdamW(fused=True) has kernels for float parameters


def views_validations(refitted: bool) -> int:
    """The validations the pass choosing test-time augmentation costs: the weights kept predicted once and over the
    eight views; after a refit over the views alone (the chips it trained on cannot choose, so predicting once
    informs nothing)."""
    return TTA_VALIDATIONS - 1 if refitted else TTA_VALIDATIONS


class CandidateFailed(Exception):
    """This network cannot be trained (non-finite loss, out of memory at batch 1, ...): AutoDL records the reason
    and goes on with the next candidate."""


def prediction_phrase(views: bool) -> Message:
    """How a model predicts by default, a phrase that other messages hold (QGIS translates it with them)."""
    return (translate("Trainer", "over the eight views") if views else translate("Trainer", "each tile once")).format()


@dataclass
class TrainConfig:
    max_epochs: int | None = None  # None: until the time budget ends or early stopping
    learning_rate: float | None = None  # None: the task's default
    weight_decay: float = 1e-4
    batch_size: int | None = None  # None: inferred with real steps (batch_size.py)
    max_batch_size: int = 64
    grad_clip: float = 10.0
    self_supervised_share: float = 0.25  # of a candidate's time, for networks with a label-free pre-training
    patience: int = 8  # epochs without improvement of the validation metric before stopping
    warmup_steps: int = 20  # the learning rate rises linearly over a candidate's first steps
    train_seconds: float | None = None  # training seconds this run adds (equal for the candidates of a rung)
    decay_to_end: bool = True  # learning rate falls linearly to zero at the run's end; False: constant after warm-up
    min_steps: int = 5  # steps before a first validation means anything: a run that cannot afford them is not_reached
    # passes over its chips that a run's ``train_seconds`` must buy at its measured step time, else it is not_reached
    # as soon as that is measured (the search asks it of first-rung challengers: schedule.py ``MIN_FIRST_PASSES``)
    min_passes: float = 0.0
    partial_validation: bool = False  # the run's result counts even if its validation's time allows only some chips
    # mixed precision: on CUDA always; on a CPU bfloat16 autocast where its training steps measure faster
    # (batch_size.py), validation staying in float32 there, as a package predicts
    amp: bool = True
    # None: 0 on CPU (the cores train: a loader process gave 1.03x the chips per second on the palm chips,
    # scripts/bench_train.py --real), 4 on CUDA
    num_workers: int | None = None
    seed: int = 42
    # an exponential moving average of the weights (torch.optim.swa_utils.AveragedModel) is validated beside them
    # at each validation; the better of the two is kept, and after a refit the average always (its validation
    # chips are no judge then; docs/benchmarks.md *The average after a refit*)
    ema: bool = False
    # the last share of a run whose rate decays to its end trains on the training + validation chips (the
    # trainer's refit_data) without validating: every labelled chip teaches the model kept
    refit_share: float = 0.0
    # the last share of a run whose rate decays to its end trains on its chips as they are, no mosaic (YOLO's
    # close_mosaic): the model's last steps see objects as it will predict them, whole and at their scale
    plain_share: float = 0.0
    # at the run's end the weights kept are validated once more and over the eight flips and quarter turns of each
    # chip (infer/backend.py TestTimeAugmented), on the same chips (after a refit, the validation chips it trained
    # on): TrainResult.test_time_augmentation says whether the model predicts over the views by default (after a
    # refit always, those chips being no judge; else where the views scored higher)
    choose_test_time_augmentation: bool = False

    def lr_for(self, task: str) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 3e-4 if task == OBJECT_DETECTION else 1e-3


@dataclass(frozen=True)
class TrainResult:
    """What one run of :meth:`Trainer.fit` gave: the trainer keeps it as the run goes (``dataclasses.replace``)
    and hands it on when the run ends."""
    status: str
    metric_name: str
    best_metric: float | None = None
    metrics: Scores | None = None  # all validation metrics of the best epoch
    best_epoch: int = 0
    epochs: int = 0  # the candidate's, all runs
    steps: int = 0  # the candidate's, all runs
    epoch_steps: int = 0  # steps of one epoch at the batch size used
    batch_size: int = 0
    precision: str = "float32"  # of the training steps: float32, or the autocast's bfloat16 / float16
    train_seconds: float = 0.0  # the candidate's training seconds (steps only), all runs
    run_seconds: float = 0.0  # this run's training seconds
    seconds_per_step: float | None = None
    validation_seconds: float | None = None  # of one validation
    build_seconds: float | None = None  # building the network (and loading its starting weights)
    validation_chips: int = 0  # chips the last validation used (fewer than all when its time ran out)
    averaged: bool = False  # the weights kept are the moving average of the weights (TrainConfig.ema)
    trained_chips: int = 0  # chips the weights kept last trained on (training, or training + validation)
    # TrainConfig.choose_test_time_augmentation: the weights kept validated at the run's end predicting each chip once
    # and over its eight views, on the same chips (None: not measured), and whether the model predicts over the views
    # (after a refit always; else where they scored higher)
    once_metric: float | None = None
    augmented_metric: float | None = None
    test_time_augmentation: bool = False
    # object detection: the confidence threshold with the best F1 on the validation chips as the model predicts by
    # default: the end-of-run pass's (TrainConfig.choose_test_time_augmentation: the weights kept, after a refit
    # too), else the kept validation's; None: not measured
    detection_confidence: float | None = None
    history: tuple[EpochRecord, ...] = ()  # the validations of the candidate's runs
    best_state: dict | None = None
    checkpoint: Checkpoint | None = None  # where training stopped
    reason: str | None = None

    def summary(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("best_state",
                                                                                                  "checkpoint")}


@dataclass(frozen=True)
class Validated:
    """What ``on_epoch`` is told after each validation of a run."""
    epoch: int
    score: float
    trained_seconds: float  # this run's training seconds so far
    epoch_seconds: float | None  # training seconds an epoch takes, as measured (None before a step was)
    last: bool = False  # the run's last validation: it ends or begins its refit after it


class StopPolicy:
    """When a run stops, and how far it is towards its end, on the budget's clock only: the run's training seconds
    or the budget's end (less a reserve for the final validation), its epochs, patience with the anneal a plateau
    starts, the pruning callback and the switch to the refit. One per run: the trainer tells it each step's and each
    validation's seconds and counts the epochs; ``epoch_steps`` is the steps of the run's current epochs."""

    def __init__(self, config: TrainConfig, budget: TimeBudget, val_chips: int, name: str = "model",
                 log: Callable[[str], None] | None = None, on_epoch: Callable[[Validated], bool] | None = None,
                 can_refit: bool = False, validation_seconds: float | None = None):
        self.config, self.budget, self.clock = config, budget, budget.clock
        self.val_chips, self.name, self.on_epoch, self.can_refit = val_chips, name, on_epoch, can_refit
        self.log = log or (lambda message: None)
        self.started = self.clock()
        self.trained = self.validating = 0.0  # this run's seconds of training steps, and of validations
        self.steps = self.epochs = 0  # this run's
        self.patience_left = config.patience
        self.anneal: tuple[int, int, float] | None = None  # (run step it began at, its steps, progress then)
        self.validation_seconds = validation_seconds  # of one validation, once measured
        self.step_estimate: tuple[float, int] | None = None  # (seconds a step, batch size) once measured

    def stepped(self, seconds: float) -> None:
        self.trained += seconds
        self.steps += 1

    def validated(self, seconds: float, one_validation: float | None) -> None:
        """Epoch-end validation took ``seconds``, of which the last validation ``one_validation``."""
        self.validating += seconds
        self.validation_seconds = one_validation

    def progress(self, epoch_steps: int) -> float:
        """How far the run is towards its end, by training seconds, by the clock, by its epochs or by an anneal
        begun on a plateau, whichever is nearer."""
        fractions = [0.0]
        if self.anneal is not None:
            began, steps, at = self.anneal
            fractions.append(at + (1.0 - at) * min(1.0, (self.steps - began) / steps))
        if self.config.max_epochs and epoch_steps:
            fractions.append(self.steps / (self.config.max_epochs * epoch_steps))
        if self.config.train_seconds:
            fractions.append(self.trained / self.config.train_seconds)
        if not math.isinf(self.budget.total):
            fractions.append((self.clock() - self.started) / max(1e-9, self.training_deadline() - self.started))
        return max(fractions)

    def segment_done(self) -> bool:
        return self.config.train_seconds is not None and self.trained >= self.config.train_seconds

    def run_over(self) -> bool:
        """The run trained its seconds, or the budget's end minus one validation is here."""
        return self.segment_done() or (not math.isinf(self.budget.total) and self.clock() >= self.training_deadline())

    @property
    def refits(self) -> bool:
        """The run ends training on the training + validation chips: its last validation comes before."""
        return self.can_refit and self.config.refit_share > 0 and self.config.decay_to_end

    def refit_due(self, progress: float) -> bool:
        """The run has reached its last ``refit_share`` and has the training + validation chips to train on."""
        return self.refits and progress >= 1.0 - self.config.refit_share

    def annealed(self) -> bool:
        return self.anneal is not None and self.steps >= self.anneal[0] + self.anneal[1]

    def epochs_done(self) -> bool:
        return bool(self.config.max_epochs) and self.epochs >= self.config.max_epochs

    def ending(self) -> bool:
        """Whatever else happens, the run stops after this epoch."""
        return self.run_over() or self.annealed() or self.epochs_done()

    def validation_due(self, ending: bool) -> bool:
        """Epoch-end validations stop once they have taken ``VALIDATION_SHARE`` of the training time; the run's last
        one always happens."""
        return ending or self.validating <= VALIDATION_SHARE * self.trained

    def after_validation(self, epoch: int, score: float, improved: bool, epoch_steps: int,
                         refit_next: bool = False) -> str | None:
        """The decision after a validation (``refit_next``: the refit begins after it): pruned (``on_epoch``),
        completed (epochs), early stopped (an anneal ended, or a plateau in a constant-rate run), completed /
        deadline (time), else None: go on."""
        self.patience_left = self.config.patience if improved else self.patience_left - 1
        epoch_seconds = self.step_estimate[0] * epoch_steps if self.step_estimate is not None else None
        point = Validated(epoch, score, self.trained, epoch_seconds, refit_next or self.ending())
        if self.on_epoch is not None and self.on_epoch(point):
            return PRUNED
        if self.epochs_done():
            return COMPLETED
        if self.annealed():
            return EARLY_STOPPED
        if self.patience_left <= 0 and self.anneal is None:
            return None if self._start_anneal(epoch_steps) else EARLY_STOPPED
        if self.run_over():
            return COMPLETED if self.segment_done() else DEADLINE
        return None

    def after_refit_epoch(self) -> str | None:
        if self.annealed() or self.epochs_done():
            return COMPLETED
        if self.run_over():
            return COMPLETED if self.segment_done() else DEADLINE
        return None

    def final_status(self, stop: str) -> str:
        return COMPLETED if stop == DEADLINE and self.segment_done() else stop  # the run trained its seconds

    def _start_anneal(self, epoch_steps: int) -> bool:
        """On a plateau (``patience`` validations without improvement) in a run whose learning rate decays to its
        end: rather than stopping at a still high rate, let the rate fall to zero over the next epochs (``patience``,
        or half the run's epochs so far if more), where a decaying schedule gains most, then stop. Returns False
        (stop now) for a constant-rate run, which a later segment may continue."""
        if not self.config.decay_to_end:
            return False
        epochs = max(self.config.patience, self.epochs // 2)
        self.anneal = (self.steps, max(1, epochs * epoch_steps), self.progress(epoch_steps))
        self.log(f"{self.name}: no improvement in {self.config.patience} validations; the learning rate "
                 f"falls to zero over the next {epochs} epochs, then training stops")
        return True

    def cannot_afford(self, seconds_per_step: float, batch_size: int, epoch_steps: int) -> str | None:
        """After the first measured step: why the run cannot give a result worth having, or None. Either the
        minimum a validated result needs (``min_steps`` steps and a validation, estimated as a forward pass over the
        validation chips at a third of a training step's cost per chip) does not fit in what is left of the budget,
        or its ``train_seconds`` buy fewer than ``min_passes`` passes over its ``epoch_steps`` steps."""
        if self.config.min_passes and self.config.train_seconds and seconds_per_step > 0:  # 0: a clock standing still
            passes = self.config.train_seconds / seconds_per_step / epoch_steps
            if passes < self.config.min_passes:
                return (f"its {self.config.train_seconds:.0f} training seconds buy {passes:.1f} passes over its "
                        f"{epoch_steps * batch_size} chips at {batch_size / seconds_per_step:.1f} chips/s, fewer than "
                        f"the {self.config.min_passes:.1f} asked of it")
        if math.isinf(self.budget.total):
            return None
        validation = self._validation_estimate(seconds_per_step, batch_size)
        if self.config.partial_validation:  # one batch of chips will do
            validation *= min(1.0, batch_size / max(1, self.val_chips))
        needed = self.config.min_steps * seconds_per_step + validation
        if needed <= self.budget.remaining():
            return None
        return (f"needs about {needed:.0f} s for {self.config.min_steps} steps and a validation "
                f"({seconds_per_step:.1f} s a step), {self.budget.remaining():.0f} s were left")

    def training_deadline(self) -> float:
        """The budget's end minus the time the final validation (and the choice of test-time augmentation after it)
        will take: as measured, else estimated from the step time, else 2% of the budget."""
        if self.validation_seconds is not None:
            measured = self.validation_seconds
        elif self.step_estimate is not None:
            measured = self._validation_estimate(*self.step_estimate)
        else:
            measured = 0.02 * self.budget.total / 1.2
        one = 1.2 * measured  # a margin for a slower validation
        if self.refits:  # no final validation (the refit validated as it began): its end predicts over the views,
            # or measures a detector's threshold once
            reserve = views_validations(True) * one if self.views_affordable(measured, True) else one
        else:
            reserve = 2 * one if self.config.ema else one  # the moving average is validated too
            if self.views_affordable(measured, False):  # as the run's end judges it, so what it reserves for is tried
                reserve += views_validations(False) * one
        if self.config.partial_validation:  # training matters more than validating every chip
            reserve = min(reserve, 0.2 * self.budget.total)
        return self.budget.deadline - reserve

    def views_affordable(self, one_validation: float, refitted: bool) -> bool:
        """The run chooses test-time augmentation and its pass (``views_validations`` validations of
        ``one_validation`` seconds) costs at most TTA_SHARE of the budget."""
        return self.config.choose_test_time_augmentation and (
            math.isinf(self.budget.total)
            or views_validations(refitted) * one_validation <= TTA_SHARE * self.budget.total)

    def _validation_estimate(self, seconds_per_step: float, batch_size: int) -> float:
        """A forward pass over the validation chips, at a third of a training step's cost per chip."""
        return self.val_chips * seconds_per_step / max(1, batch_size) / 3


@dataclass(frozen=True)
class EpochStats:
    """What one epoch of training gave."""
    losses: tuple[float, ...] = ()  # of its steps
    stop: str | None = None  # DEADLINE: the run's time ended in it; NOT_REACHED: the run cannot afford a result
    restarted: bool = False  # out of memory: it begins again with half the batch, its losses dropped

    @property
    def mean_loss(self) -> float:
        return sum(self.losses) / len(self.losses)


@dataclass
class _Run:
    """The moving parts of one run of :meth:`Trainer.fit`, from epoch to epoch."""
    optimizer: torch.optim.Optimizer
    schedule: LearningRateSchedule
    policy: StopPolicy
    batch_size: int
    chips: Dataset  # the training chips; the training + validation chips once the refit began
    step: int  # the candidate's steps, all runs
    first_step: int  # of this run
    epoch: int  # the candidate's epochs, all runs
    trained_before: float  # the candidate's training seconds before this run
    loader: DataLoader | None = None  # of the current epoch
    refitting: bool = False
    ema_better: bool = False  # the moving average is kept: it validated better at the last validation (or refit)
    last_validated: tuple[float, Scores] | None = None  # the score kept and its metrics, at the last validation
    average_validated: tuple[float, Scores] | None = None  # the moving average's, at the last validation
    stop: str | None = None
    epoch_progress: float = 0.0  # the run's progress at its last epoch's end


def to_device(targets, device):
    if targets is None:
        return None
    if isinstance(targets, torch.Tensor):
        return targets.to(device, non_blocking=True)
    return [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]


class Trainer:
    """Trains one adapter on a train / validation dataset pair within a :class:`TimeBudget`."""

    def __init__(self, adapter, train_data: Dataset, val_data: Dataset, collate_fn: Callable, task: str,
                 class_names: list[str], device: torch.device, config: TrainConfig | None = None,
                 budget: TimeBudget | None = None, callbacks: Callbacks | None = None, name: str = "model",
                 on_epoch: Callable[[Validated], bool] | None = None, refit_data: Dataset | None = None):
        """``on_epoch`` is told each validation result; returning True stops training (pruning).
        ``refit_data``: the training + validation chips the run's last ``config.refit_share`` trains on."""
        self.adapter, self.train_data, self.val_data = adapter, train_data, val_data
        self.refit_data = refit_data
        self.on_epoch = on_epoch
        self.collate_fn, self.task, self.class_names = collate_fn, task, class_names
        self.device, self.config = device, config or TrainConfig()
        self.budget = budget or TimeBudget(None)
        self.clock = self.budget.clock
        self.callbacks = callbacks or SilentCallbacks()
        self.name = name
        if self.config.max_epochs is None and math.isinf(self.budget.total) and self.config.train_seconds is None:
            raise ValueError("give max_epochs, train_seconds or a finite time budget")
        use_amp = self.config.amp and device.type == "cuda" and adapter.supports_amp
        self.amp_dtype = None
        if use_amp:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.base_lr = self.config.lr_for(task)
        self._val_seconds = None
        self.evaluated_chips = 0
        self._result: TrainResult | None = None  # the run's result so far, while fit() runs
        # launched by torchrun: each rank trains on its share of the chips, gradients averaged by DDP
        self.distributed = distributed.active()
        self._losses = self.adapter.losses

    # -- pieces ------------------------------------------------------------------------------------------------------

    def _optimizer(self, module: torch.nn.Module | None = None) -> torch.optim.Optimizer:
        """AdamW over the trainable parameters of ``module`` (default: the network), as one fused kernel per step
        where torch has it for the device: on a CPU torch's default updates each parameter tensor in turn, a tenth of
        SingleShotDetector's step on the palm chips; fused, 1.05-1.19x the chips per second on one core
        (scripts/bench_train.py --compare optimizer). The same update, the same state."""
        params = [p for p in (module or self.adapter).parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.base_lr, weight_decay=self.config.weight_decay,
                                 fused=self.device.type in FUSED_ADAMW_DEVICES)

    def _loader(self, data: Dataset, batch_size: int, shuffle: bool, epoch: int = 0) -> DataLoader:
        workers = self.config.num_workers
        if workers is None:
            workers = 4 if self.device.type == "cuda" else 0
        # a continued run does not replay the chip order of the epochs already trained
        generator = torch.Generator().manual_seed(self.config.seed + epoch)
        sampler = None
        if shuffle and self.distributed:  # every rank the same number of batches, of different chips
            sampler = DistributedSampler(data, shuffle=True, seed=self.config.seed)
        size = len(sampler) if sampler is not None else len(data)
        # a trailing batch of one chip breaks BatchNorm in train mode
        drop_last = shuffle and size > batch_size and size % batch_size == 1
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                          collate_fn=self.collate_fn, num_workers=workers, generator=generator,
                          drop_last=drop_last, pin_memory=self.device.type == "cuda", persistent_workers=False)

    @property
    def precision(self) -> str:
        return str(self.amp_dtype or torch.float32).removeprefix("torch.")

    def _autocast(self, validating: bool = False):
        """Training's autocast, and validation's on CUDA; on a CPU validation predicts in float32, as a package
        does."""
        if self.amp_dtype is None or (validating and self.device.type == "cpu"):
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _step(self, optimizer, images, targets, objective=None) -> float:
        images = images.to(self.device, non_blocking=True)
        targets = to_device(targets, self.device)
        optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            losses = objective.losses(images) if objective is not None else self._losses(images, targets)
            loss = sum(losses.values())
        non_finite = not torch.isfinite(loss)
        if self.distributed and objective is None:
            non_finite, = distributed.any_rank(non_finite)  # all ranks give up together
        if non_finite:
            terms = ", ".join(f"{k}={v.item():.4g}" for k, v in losses.items())
            raise CandidateFailed(f"the loss became non-finite ({terms}); a lower learning rate may help")
        self.scaler.scale(loss).backward()
        if self.config.grad_clip:
            self.scaler.unscale_(optimizer)
            clipped = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(clipped, self.config.grad_clip)
        self.scaler.step(optimizer)
        self.scaler.update()
        return loss.item()

    def _probe(self, start: Checkpoint | None) -> int:
        """Real training steps, which do not count as training: on a CPU, whether bfloat16 autocast trains faster
        (batch_size.py), then the batch size (unless fixed, or the continued run's). Returns the batch size."""
        fixed = (start.batch_size if start is not None and start.batch_size else
                 min(self.config.batch_size, len(self.train_data)) if self.config.batch_size else None)
        small = min(fixed or MIN_BATCH, MIN_BATCH)  # the gain hardly depends on the batch; its memory does
        # only where time bounds the run (faster steps are more steps; a run of fixed epochs would only trade
        # precision for minutes) and its seconds and epochs can pay for the measuring steps
        seconds = self.config.train_seconds if self.config.train_seconds is not None else self.budget.remaining()
        cpu_precision = (self.device.type == "cpu" and self.config.amp and self.adapter.supports_amp
                         and CPU_PRECISION_MIN_SECONDS <= seconds < math.inf
                         and self._affordable_steps(fixed or MIN_BATCH, 1e-9) >= MIN_RUN_STEPS)
        if fixed and not cpu_precision:
            return fixed
        state = copy.deepcopy(self.adapter.state_dict())
        optimizer = self._optimizer()

        def step(batch: int) -> None:
            check_cancel(self.callbacks)
            items = [self.train_data[i % len(self.train_data)] for i in range(batch)]
            images, targets = self.collate_fn(items)
            self.adapter.train()
            self._step(optimizer, images, targets)

        def precision_step(bfloat16: bool) -> None:
            self.amp_dtype = torch.bfloat16 if bfloat16 else None
            step(small)

        try:
            measured = None  # a warm step at MIN_BATCH in the precision the run trains in: the batch probe's first
            if cpu_precision:
                precision = choose_cpu_bfloat16(
                    precision_step, lambda seconds: self._affordable_steps(fixed or MIN_BATCH, seconds),
                    self.callbacks.log, self.clock)
                bfloat16 = distributed.from_rank0(precision.bfloat16)
                self.amp_dtype = torch.bfloat16 if bfloat16 else None
                if bfloat16 == precision.bfloat16 and small == MIN_BATCH:
                    measured = precision.seconds_per_step
            if fixed:
                return fixed
            # small datasets need several optimiser steps per epoch more than they need throughput
            max_batch = min(self.config.max_batch_size, max(MIN_BATCH, len(self.train_data) // 8))
            probe_budget = self.budget.child(0.1 * self.budget.remaining())  # inf when the budget is unlimited
            return find_batch_size(step, self.device, max_batch, probe_budget.expired, self.callbacks.log,
                                   self._affordable_steps, self.clock, measured)
        finally:
            self.adapter.load_state_dict(state)  # probing steps must not count as training

    def _affordable_steps(self, batch: int, seconds_per_step: float) -> float:
        """Optimiser steps this run can make at ``batch``: its epochs, its training seconds or its budget allow."""
        limits = [math.inf]
        if self.config.max_epochs:
            limits.append(self.config.max_epochs * math.ceil(len(self.train_data) / batch))
        if self.config.train_seconds is not None:
            limits.append(self.config.train_seconds / seconds_per_step)
        elif not math.isinf(self.budget.total):
            limits.append(self.budget.remaining() / seconds_per_step)
        return min(limits)

    def self_supervised(self, objective: torch.nn.Module, budget: TimeBudget | None, epochs: int) -> int:
        """Label-free pre-training: steps on ``objective.losses(images)`` over the training chips until ``budget``
        ends (or for ``epochs`` without one), with the same deadline, cancel and failure handling. Returns steps."""
        objective.to(self.device).train()
        optimizer = self._optimizer(objective)
        loader = self._loader(self.train_data, self.config.batch_size or MIN_BATCH, shuffle=True)
        steps = 0
        for epoch in range(1, (epochs if budget is None else 10 ** 9) + 1):
            for images, _ in loader:
                check_cancel(self.callbacks)
                if budget is not None and budget.expired():
                    return steps
                loss = self._step(optimizer, images, None, objective)
                steps += 1
            self.callbacks.progress(budget.fraction_used() if budget is not None else epoch / epochs,
                                    f"{self.name}: self-supervised pre-training, epoch {epoch}, loss {loss:.4f}")
        return steps

    def evaluate(self, batch_size: int, deadline: float | None = None, alone: bool = False,
                 model: torch.nn.Module | None = None, confidence: float | None = None) -> Scores:
        """Metrics of ``model`` (default: the adapter) over the validation chips, in order; past ``deadline`` (on
        the budget's clock) the chips seen so far decide (at least one batch), so that a slow network cannot hold
        the run past its time limit. ``self.evaluated_chips`` says how many were used. ``alone``: the other DDP
        ranks are not evaluating. ``confidence``: metrics_for's."""
        return self.evaluate_models(batch_size, (model if model is not None else self.adapter,), deadline, alone,
                                    confidence)[0]

    @torch.no_grad()
    def evaluate_models(self, batch_size: int, models, deadline: float | None = None, alone: bool = False,
                        confidence: float | None = None) -> list[Scores]:
        """:meth:`evaluate` for several models (anything with ``eval()`` and ``predict``) in one pass: each batch
        goes through all of them, so that their scores always count the same chips."""
        start = self.clock()
        for model in models:
            model.eval()
        metrics = [metrics_for(self.task, self.class_names, confidence) for _ in models]
        self.evaluated_chips = 0
        for images, targets in self._loader(self.val_data, batch_size, shuffle=False):
            check_cancel(self.callbacks)
            late = deadline is not None and self.evaluated_chips > 0 and self.clock() >= deadline
            if not alone:
                late, = distributed.any_rank(late)
            if late:
                break
            self.evaluated_chips += len(images)
            images = images.to(self.device, non_blocking=True)
            for model, scores in zip(models, metrics):
                with self._autocast(validating=True):
                    predictions = model.predict(images)
                if isinstance(predictions, torch.Tensor):
                    predictions = predictions.float()
                scores.update(predictions, targets)
        self._val_seconds = (self.clock() - start) / len(models)  # of one model
        return [scores.compute() for scores in metrics]

    # -- the loop ------------------------------------------------------------------------------------------------------

    def fit(self, start: Checkpoint | None = None) -> TrainResult:
        """Trains until the run's training seconds, epochs, patience or budget end. ``start`` continues a
        candidate from a previous run's ``result.checkpoint`` (the adapter already holds that run's last weights)."""
        self._result = TrainResult(status=FAILED, metric_name=metrics_for(self.task, self.class_names).primary)
        try:
            self._fit(start)
        except Cancelled:
            raise  # the search stops: no result
        except CandidateFailed as exc:
            self._update(status=FAILED, reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - one network's crash must not end the search
            self._update(status=FAILED, reason="out of memory even with a batch of one chip" if is_out_of_memory(exc)
                         else f"{type(exc).__name__}: {exc}")
        finally:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
        result, self._result = self._result, None
        if result.status not in (FAILED, NOT_REACHED) and result.best_state is None:
            result = dataclasses.replace(result, status=FAILED,
                                         reason="the time budget ended before one epoch could be validated")
        return result

    def _update(self, **changes) -> None:
        """The run's result so far, with ``changes``."""
        self._result = dataclasses.replace(self._result, **changes)

    def _fit(self, start: Checkpoint | None) -> None:
        run = self._begin(start)
        while run.stop is None:
            stats = self.train_one_epoch(run, run.epoch + 1)
            if stats.stop == NOT_REACHED:
                self._update(status=NOT_REACHED)
                return
            if stats.restarted:
                continue  # the same epoch again, with the smaller batch
            run.epoch += 1
            run.policy.epochs += 1
            run.stop = stats.stop
            if not stats.losses:
                continue
            if run.refitting:  # no validation: the validation chips are training chips now
                if run.stop is None:
                    run.stop = run.policy.after_refit_epoch()
                run.stop = distributed.from_rank0(run.stop)
            else:
                self._end_epoch(run, stats)
        self._finish(run)

    def _begin(self, start: Checkpoint | None) -> _Run:
        torch.manual_seed(self.config.seed + (start.step if start is not None else 0))
        if start is None or not start.batch_size:
            self.callbacks.progress(0.0, translate("Trainer", "{name}: choosing the batch size").format(name=self.name))
        batch_size = distributed.smallest(self._probe(start))
        self._update(batch_size=batch_size, precision=self.precision)
        optimizer = self._optimizer()
        if start is not None and start.optimizer:
            optimizer.load_state_dict(start.optimizer)
        if self.distributed:
            self._losses = distributed.wrap(self.adapter, self.device)
        self._ema = None  # the moving average of the weights, once the step time tells its span
        self._update(history=start.history if start is not None else (), trained_chips=len(self.train_data))
        policy = StopPolicy(self.config, self.budget, len(self.val_data), name=self.name, log=self.callbacks.log,
                            on_epoch=self.on_epoch, can_refit=self.refit_data is not None,
                            validation_seconds=self._val_seconds)
        schedule = LearningRateSchedule(optimizer, self.base_lr, self.config.warmup_steps, self.config.decay_to_end)
        step = start.step if start is not None else 0
        return _Run(optimizer, schedule, policy, batch_size, chips=self.train_data, step=step, first_step=step,
                    epoch=start.epoch if start is not None else 0,
                    trained_before=start.seconds if start is not None else 0.0)

    def train_one_epoch(self, run: _Run, epoch: int) -> EpochStats:
        """One pass over the run's chips, unless the run's time ends or its refit is due before the pass does (a
        partial epoch, validated as such). Out of memory: the batch is halved and the epoch restarts, its losses
        dropped."""
        policy = run.policy
        if self._plain_due(run):
            run.chips = run.chips.without_mosaic()
            self.callbacks.log(translate("Trainer", "{name}: the last {share:.0%} of the run trains on chips as they "
                                                    "are, no mosaics").format(name=self.name,
                                                                              share=self.config.plain_share))
        loader = run.loader = self._loader(run.chips, run.batch_size, shuffle=True, epoch=epoch - 1)
        if isinstance(loader.sampler, DistributedSampler):
            loader.sampler.set_epoch(epoch)
        self.adapter.train()
        losses = []
        for images, targets in loader:
            progress = policy.progress(len(loader))
            cancelled, late, refit_due = distributed.any_rank(
                self.callbacks.is_canceled(), policy.run_over(),
                bool(losses) and not run.refitting and policy.refit_due(progress))
            if cancelled:
                raise Cancelled("cancelled by the user")
            if late:
                return EpochStats(tuple(losses), DEADLINE)
            if refit_due:  # mid-epoch: epochs may be long against the run; validated, then the refit
                break
            run.schedule.before_step(run.step, progress)
            began = self.clock()
            try:
                losses.append(self._step(run.optimizer, images, targets))
            except Exception as exc:  # noqa: BLE001
                if not (is_out_of_memory(exc) and run.batch_size > 1) or self.distributed:
                    raise
                run.batch_size = max(1, run.batch_size // 2)
                self._update(batch_size=run.batch_size)
                self.callbacks.log(f"{self.name}: out of GPU memory, batch size halved to {run.batch_size}")
                run.optimizer.zero_grad(set_to_none=True)
                torch.cuda.empty_cache()
                return EpochStats(restarted=True)
            if not self._stepped(run, self.clock() - began):
                return EpochStats(tuple(losses), NOT_REACHED)
        return EpochStats(tuple(losses))

    def _plain_due(self, run: _Run) -> bool:
        """The run's chips are mosaics at times and the run has reached its last ``plain_share`` (checked as an
        epoch begins; the refit's chips, switched to mid-epoch, are checked as the next one does)."""
        return (self.config.plain_share > 0 and self.config.decay_to_end and run.loader is not None
                and isinstance(run.chips, ChipDataset) and run.chips.mosaic > 0
                and run.policy.progress(len(run.loader)) >= 1.0 - self.config.plain_share)

    def _stepped(self, run: _Run, spent: float) -> bool:
        """Counts a training step of ``spent`` seconds: the step time, the moving average of the weights. False when
        the first measured step shows that the run cannot afford a result worth having (the result's reason says
        why)."""
        policy = run.policy
        policy.stepped(spent)
        run.step += 1
        # the first step of a run pays for lazy initialisation: it is not the step time
        if run.step > run.first_step + 1 or len(run.loader) <= 1:
            before = self._result.seconds_per_step
            measured = spent if before is None else 0.8 * before + 0.2 * spent
            self._update(seconds_per_step=measured)
            policy.step_estimate = (measured, run.batch_size)
            if before is None and not self._result.history:
                # rank 0 decides: ranks measuring slightly different step times must not part here
                reason = distributed.from_rank0(policy.cannot_afford(measured, self._result.batch_size,
                                                                     len(run.loader)))
                if reason is not None:
                    self._update(reason=reason)
                    return False
            if self.config.ema and self._ema is None:
                self._ema = self._averaged(self._affordable_steps(run.batch_size, measured))
        if self._ema is not None:
            self._ema.update_parameters(self.adapter)
        return True

    def _end_epoch(self, run: _Run, stats: EpochStats) -> None:
        """Validates (unless epoch-end validations have taken their share of the time and the run is not ending),
        keeps the best weights, decides whether to stop, and switches to the refit when it is due."""
        policy, epoch_steps = run.policy, len(run.loader)
        progress = policy.progress(epoch_steps)
        refit_now = distributed.from_rank0(run.stop is None and policy.refit_due(progress))
        ending = run.stop is not None or refit_now or policy.ending()
        # the refit validates as it begins: a validation it would follow within another epoch like this one informs
        # no decision (on a slow CPU a 10-minute palm run validated 23 s before it, a validation taking about 20 s)
        refit_soon = distributed.from_rank0(not ending and policy.refit_due(2 * progress - run.epoch_progress))
        run.epoch_progress = progress
        # epoch-end validations stay a bounded share of the time; the run's last one always happens
        if refit_soon or not policy.validation_due(ending):
            return
        score, improved = self._validate(run, stats)
        if run.stop is None:
            run.stop = policy.after_validation(run.epoch, score, improved, epoch_steps, refit_now)
        run.stop = distributed.from_rank0(run.stop)  # pruning and the clock are rank 0's
        if self.config.choose_test_time_augmentation and run.stop not in (None, PRUNED):  # its last; pruned: unused
            self._choose_test_time_augmentation(run)
        if run.stop is None and refit_now:
            run.refitting, run.chips = True, self.refit_data
            if run.average_validated is not None:  # the average is kept, and recorded as it validated here
                run.ema_better, run.last_validated = True, run.average_validated
            self.callbacks.log(translate(
                "Trainer", "{name}: the rest of the run ({share:.0%} of it) trains on the {chips} training + "
                "validation chips without validating; the {kept} at its end will be kept").format(
                name=self.name, share=self.config.refit_share, chips=len(run.chips),
                kept=(translate("Trainer", "moving average of the weights") if run.ema_better
                      else translate("Trainer", "weights")).format()))

    def _validate(self, run: _Run, stats: EpochStats) -> tuple[float, bool]:
        """The weights' (and their moving average's) validation: the curve's point, the progress message, the best
        weights kept. Returns the score kept (the better of the two) and whether it improved on the best."""
        began = self.clock()
        deadline = self.budget.deadline if not math.isinf(self.budget.total) else None
        models = (self.adapter,) if self._ema is None else (self.adapter, self._ema.module)
        metrics, *averaged = self.evaluate_models(run.batch_size, models, deadline)
        averaged = averaged[0] if averaged else None
        run.policy.validated(self.clock() - began, self._val_seconds)
        metrics, averaged = distributed.from_rank0((metrics, averaged))  # one set of decisions for all ranks
        metric_name = self._result.metric_name
        score = metrics.primary
        ema_score = averaged.primary if averaged is not None else None
        run.ema_better = ema_score is not None and ema_score > score
        run.average_validated = (ema_score, averaged) if averaged is not None else None
        point = EpochRecord(run.epoch, run.step, run.trained_before + run.policy.trained, stats.mean_loss, score,
                            run.optimizer.param_groups[0]["lr"], ema_score)
        self._update(validation_chips=self.evaluated_chips, validation_seconds=self._val_seconds,
                     history=self._result.history + (point,))
        self._report_epoch(point, metric_name, run.policy.progress(len(run.loader)))
        if run.ema_better:
            score, metrics = ema_score, averaged
        run.last_validated = (score, metrics)
        improved = self._result.best_metric is None or score > self._result.best_metric + 1e-4
        if improved:
            self._update(best_metric=score, best_epoch=run.epoch, metrics=metrics,
                         best_state=self._kept_state(run.ema_better), averaged=run.ema_better)
        return score, improved

    def _choose_test_time_augmentation(self, run: _Run) -> None:
        """At the run's end: validates the weights kept (:meth:`_kept_model`) once more and
        over the eight flips and quarter turns of each chip, in one pass over the same chips, and records whether the
        eight views score higher, and the threshold where the way chosen peaks in F1 (detection). After a refit the
        chips are the validation chips it trained on, on which predicting once is favoured (a model scores about 0.92
        AP50 on them either way): there the model predicts over the views, which scored higher on unseen ground on 47 of
        52 palm packages (docs/benchmarks.md), and the pass, over the views alone (a validation cheaper: on a slow CPU's
        10-minute runs the one that tipped it past its share), gives the threshold of the model shipped (one from the
        validation before the refit, of a less trained model, erred low). Without a refit the validation chips, unseen,
        choose. In the time the final validation's reserve kept for it (when the pass costs at most TTA_SHARE of the
        budget), decided on the chips that time reaches when they are half the validation chips or more (else not
        tried)."""
        from ..infer.backend import TestTimeAugmented

        remaining = self.budget.remaining()
        cost = views_validations(run.refitting) * (self._val_seconds or 0.0)
        affordable = run.policy.views_affordable(self._val_seconds or 0.0, run.refitting) and cost / 2 <= remaining
        if not distributed.from_rank0(affordable):  # rank 0's clock decides for every rank
            self.callbacks.log(translate("Trainer", "{name}: test-time augmentation not tried: validating it would "
                                         "take about {cost:.0f} s, more than {share:.0%} of the {total:.0f} s of this "
                                         "training or twice the {remaining:.0f} s left").format(
                name=self.name, cost=cost, share=TTA_SHARE, total=self.budget.total, remaining=remaining))
            return
        kept = self._kept_model(run)
        views = TestTimeAugmented(kept, self.task == OBJECT_DETECTION)
        scores, chips = self._end_pass(run, (views,) if run.refitting else (kept, views))
        plain, augmented = (None, *scores) if run.refitting else scores  # plain: predicted once, where it can choose
        if chips < len(self.val_data) / 2:
            self.callbacks.log(translate("Trainer", "{name}: test-time augmentation not chosen: its validation "
                                         "reached {chips} of {total} chips before the time ran out").format(
                name=self.name, chips=chips, total=len(self.val_data)))
            return
        once = None if plain is None else plain.primary
        better = once is None or augmented.primary > once
        self._update(once_metric=once, augmented_metric=augmented.primary, test_time_augmentation=better,
                     detection_confidence=getattr(augmented if better else plain, "best_confidence", None))
        line = (translate("Trainer", "{name}: {metric_name} {augmented:.4f} over eight flips and quarter turns "
                          "({chips} validation chips, which the refit trained on and so cannot choose): the model "
                          "will predict over the eight views by default")
                if once is None else  # one template each: QGIS translates them whole
                translate("Trainer", "{name}: {metric_name} {plain:.4f} as predicted, {augmented:.4f} over eight "
                          "flips and quarter turns ({chips} validation chips): the model will predict {how} by "
                          "default"))
        self.callbacks.log(line.format(name=self.name, metric_name=self._result.metric_name, plain=once,
                                       augmented=augmented.primary, chips=chips, how=prediction_phrase(better)))

    def _measure_threshold(self, run: _Run) -> None:
        """After a refit whose end did not measure the weights kept (the eight views not tried): a detector's
        threshold from one pass of them over the validation chips, in the reserve of the final validation that a
        refit does not make. The validation before the refit measured a less trained model, which scores lower: on
        four 10-minute palm packages its threshold gave F1 0.374 on the unseen test block, this pass's 0.448."""
        if not distributed.from_rank0(self.budget.remaining() >= (self._val_seconds or 0.0)):
            return
        (plain,), chips = self._end_pass(run, (self._kept_model(run),))
        if chips < len(self.val_data) / 2 or plain.best_confidence is None:
            return  # the last validation's threshold stays
        self._update(detection_confidence=plain.best_confidence)
        self.callbacks.log(translate("Trainer", "{name}: keeps objects from confidence {confidence:.2f}, where F1 "
                                     "peaked on {chips} validation chips after the refit").format(
            name=self.name, confidence=plain.best_confidence, chips=chips))

    def _end_pass(self, run: _Run, models) -> tuple[list[Scores], int]:
        """The models' scores over the validation chips the time left reaches, and how many it reached (rank
        0's); the pass is no measure of one validation's time."""
        one_validation = self._val_seconds
        deadline = None if math.isinf(self.budget.remaining()) else self.budget.deadline
        scores = self.evaluate_models(run.batch_size, models, deadline)
        chips, self._val_seconds = self.evaluated_chips, one_validation
        return distributed.from_rank0((scores, chips))

    def _report_epoch(self, point: EpochRecord, metric_name: str, progress: float) -> None:
        line = (translate("Trainer", "{name}: epoch {epoch} train loss {loss:.4f}, validation {metric_name} "
                          "{metric:.4f}") if point.ema_metric is None else  # one template: QGIS translates it whole
                translate("Trainer", "{name}: epoch {epoch} train loss {loss:.4f}, validation {metric_name} "
                          "{metric:.4f} (moving average {average:.4f})"))
        self.callbacks.progress(progress, line.format(name=self.name, epoch=point.epoch, loss=point.loss,
                                                      metric_name=metric_name, metric=point.metric,
                                                      average=point.ema_metric),
                                EpochEvent(self.name, point.epoch, point.loss, metric_name, point.metric,
                                           point.ema_metric))

    def _finish(self, run: _Run) -> None:
        """The run's status, counts and the checkpoint to continue from."""
        stop = run.policy.final_status(run.stop)
        if stop == DEADLINE and run.step == run.first_step:
            self._update(status=NOT_REACHED, reason=f"the time ran out before its first training step "
                                                    f"({self.clock() - run.policy.started:.0f} s after building and "
                                                    "choosing the batch size)")
            return
        self._losses = self.adapter.losses
        if run.refitting:  # what the refit ends with is kept; its metric is the last validation's, before the refit
            if self.config.choose_test_time_augmentation:
                self._choose_test_time_augmentation(run)
            if self.task == OBJECT_DETECTION and self._result.detection_confidence is None:
                self._measure_threshold(run)
            best_metric, metrics = run.last_validated
            self._update(best_metric=best_metric, metrics=metrics, best_epoch=run.epoch,
                         best_state=self._kept_state(run.ema_better), averaged=run.ema_better,
                         trained_chips=len(run.chips))
        if self._result.detection_confidence is None:  # no end-of-run pass measured the weights kept
            self._update(detection_confidence=getattr(self._result.metrics, "best_confidence", None))
        train_seconds = run.trained_before + run.policy.trained
        self._update(status=stop, epochs=run.epoch, steps=run.step, epoch_steps=len(run.loader),
                     run_seconds=run.policy.trained, train_seconds=train_seconds,
                     checkpoint=Checkpoint(optimizer=_to_cpu(run.optimizer.state_dict()), epoch=run.epoch,
                                           step=run.step, seconds=train_seconds, batch_size=run.batch_size,
                                           history=self._result.history, model=self._kept_state(False)))

    def _averaged(self, planned_steps: float) -> torch.optim.swa_utils.AveragedModel:
        """The moving average of the weights (parameters and buffers, e.g. BatchNorm statistics), spanning
        ``EMA_SPAN_SHARE`` of the ``planned_steps`` the run can make at its measured step time. (Not the steps so far
        over the run's progress: at the second step that progress is mostly the batch-size probe and set-up, so the
        span came out a step or two and the average equalled the weights.)"""
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        span = min(EMA_MAX_SPAN, max(1.0, EMA_SPAN_SHARE * planned_steps))
        return AveragedModel(self.adapter, multi_avg_fn=get_ema_multi_avg_fn(1.0 - 1.0 / span), use_buffers=True)

    def _kept_model(self, run: _Run) -> torch.nn.Module:
        """The weights the run keeps: their moving average where it validated better, and after a refit."""
        return self._ema.module if run.ema_better else self.adapter

    def _kept_state(self, averaged: bool) -> dict:
        model = self._ema.module if averaged else self.adapter
        return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value
