"""The one training loop that serves every network through its adapter.

Deadline, cancel, progress, metrics, batch size, mixed precision, out-of-memory recovery, early stopping and
best-checkpoint keeping live here and nowhere else.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..budget import TimeBudget
from ..progress import Callbacks, Cancelled, SilentCallbacks, check_cancel
from . import distributed
from .batch_size import MIN_BATCH, find_batch_size, is_out_of_memory
from .metrics import metrics_for

COMPLETED, DEADLINE, EARLY_STOPPED, PRUNED = "completed", "deadline", "early_stopped", "pruned"
FAILED, CANCELLED = "failed", "cancelled"


class CandidateFailed(Exception):
    """This network cannot be trained (non-finite loss, out of memory at batch 1, ...): AutoDL records the reason
    and goes on with the next candidate."""


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
    warmup: float = 0.05  # share of the schedule spent warming the learning rate up
    amp: bool = True  # mixed precision, on CUDA only
    num_workers: int | None = None  # None: 0 on CPU (the cores train), 4 on CUDA
    seed: int = 42

    def lr_for(self, task: str) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 3e-4 if task == "object_detection" else 1e-3


@dataclass
class TrainResult:
    status: str
    metric_name: str
    best_metric: float | None = None
    metrics: dict = field(default_factory=dict)  # all validation metrics of the best epoch
    best_epoch: int = 0
    epochs: int = 0
    steps: int = 0
    batch_size: int = 0
    train_seconds: float = 0.0
    history: list[dict] = field(default_factory=list)
    best_state: dict | None = None
    reason: str | None = None

    def summary(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "best_state"}


def learning_rate_factor(progress: float, warmup: float) -> float:
    """Linear warm-up then cosine decay to 1%, over the progress fraction of the run (time or steps)."""
    progress = min(max(progress, 0.0), 1.0)
    if warmup > 0 and progress < warmup:
        return 0.1 + 0.9 * progress / warmup
    decay = (progress - warmup) / max(1e-9, 1.0 - warmup)
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * decay))


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
                 on_epoch: Callable[[int, float], bool] | None = None):
        """``on_epoch(epoch, metric)`` is told each validation result; returning True stops training (pruning)."""
        self.adapter, self.train_data, self.val_data = adapter, train_data, val_data
        self.on_epoch = on_epoch
        self.collate_fn, self.task, self.class_names = collate_fn, task, class_names
        self.device, self.config = device, config or TrainConfig()
        self.budget = budget or TimeBudget(None)
        self.callbacks = callbacks or SilentCallbacks()
        self.name = name
        if self.config.max_epochs is None and math.isinf(self.budget.total):
            raise ValueError("give max_epochs or a finite time budget")
        use_amp = self.config.amp and device.type == "cuda" and getattr(adapter, "supports_amp", True)
        self.amp_dtype = None
        if use_amp:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.base_lr = self.config.lr_for(task)
        self._val_seconds = None
        # launched by torchrun: each rank trains on its share of the chips, gradients averaged by DDP
        self.distributed = distributed.active()
        self._losses = self.adapter.losses

    # -- pieces ------------------------------------------------------------------------------------------------------

    def _optimizer(self) -> torch.optim.Optimizer:
        params = [p for p in self.adapter.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.base_lr, weight_decay=self.config.weight_decay)

    def _loader(self, data: Dataset, batch_size: int, shuffle: bool) -> DataLoader:
        workers = self.config.num_workers
        if workers is None:
            workers = 4 if self.device.type == "cuda" else 0
        generator = torch.Generator().manual_seed(self.config.seed)
        sampler = None
        if shuffle and self.distributed:  # every rank the same number of batches, of different chips
            sampler = DistributedSampler(data, shuffle=True, seed=self.config.seed)
        size = len(sampler) if sampler is not None else len(data)
        # a trailing batch of one chip breaks BatchNorm in train mode
        drop_last = shuffle and size > batch_size and size % batch_size == 1
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                          collate_fn=self.collate_fn, num_workers=workers, generator=generator,
                          drop_last=drop_last, pin_memory=self.device.type == "cuda", persistent_workers=False)

    def _autocast(self):
        if self.amp_dtype is None:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast("cuda", dtype=self.amp_dtype)

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

    def _probe_batch_size(self) -> int:
        if self.config.batch_size:
            return min(self.config.batch_size, len(self.train_data))
        state = copy.deepcopy(self.adapter.state_dict())
        optimizer = self._optimizer()
        # small datasets need several optimiser steps per epoch more than they need throughput
        max_batch = min(self.config.max_batch_size, max(MIN_BATCH, len(self.train_data) // 8))
        probe_budget = self.budget.child(0.1 * self.budget.remaining())  # inf when the budget is unlimited

        def step(batch: int) -> None:
            check_cancel(self.callbacks)
            items = [self.train_data[i % len(self.train_data)] for i in range(batch)]
            images, targets = self.collate_fn(items)
            self.adapter.train()
            self._step(optimizer, images, targets)

        try:
            return find_batch_size(step, self.device, max_batch, probe_budget.expired, self.callbacks.log)
        finally:
            self.adapter.load_state_dict(state)  # probing steps must not count as training
            del optimizer

    def self_supervised(self, objective: torch.nn.Module, budget: TimeBudget | None, epochs: int) -> int:
        """Label-free pre-training: steps on ``objective.losses(images)`` over the training chips until ``budget``
        ends (or for ``epochs`` without one), with the same deadline, cancel and failure handling. Returns steps."""
        objective.to(self.device).train()
        params = [p for p in objective.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=self.base_lr, weight_decay=self.config.weight_decay)
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
                                        f"{self.name}: self-supervised pre-training, step {steps}, loss {loss:.4f}")
        return steps

    @torch.no_grad()
    def evaluate(self, batch_size: int) -> dict:
        start = time.monotonic()
        self.adapter.eval()
        metrics = metrics_for(self.task, self.class_names)
        for images, targets in self._loader(self.val_data, batch_size, shuffle=False):
            check_cancel(self.callbacks)
            with self._autocast():
                predictions = self.adapter.predict(images.to(self.device, non_blocking=True))
            if isinstance(predictions, torch.Tensor):
                predictions = predictions.float()
            metrics.update(predictions, targets)
        self._val_seconds = time.monotonic() - start
        return metrics.compute()

    # -- the loop ------------------------------------------------------------------------------------------------------

    def fit(self) -> TrainResult:
        result = TrainResult(status=FAILED, metric_name=metrics_for(self.task, self.class_names).primary)
        started = time.monotonic()
        try:
            self._fit(result)
        except Cancelled:
            result.status, result.reason = CANCELLED, "cancelled by the user"
            raise
        except CandidateFailed as exc:
            result.status, result.reason = FAILED, str(exc)
        except Exception as exc:  # noqa: BLE001 - one network's crash must not end the search
            if is_out_of_memory(exc):
                result.reason = "out of memory even with a batch of one chip"
            else:
                result.reason = f"{type(exc).__name__}: {exc}"
            result.status = FAILED
        finally:
            result.train_seconds = time.monotonic() - started
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
        if result.status != FAILED and result.best_state is None:
            result.status, result.reason = FAILED, "the time budget ended before one epoch could be validated"
        return result

    def _fit(self, result: TrainResult) -> None:
        torch.manual_seed(self.config.seed)
        self.callbacks.progress(0.0, f"{self.name}: choosing the batch size")
        batch_size = distributed.smallest(self._probe_batch_size())
        result.batch_size = batch_size
        optimizer = self._optimizer()
        if self.distributed:
            self._losses = distributed.wrap(self.adapter, self.device)
        loader = self._loader(self.train_data, batch_size, shuffle=True)
        steps_per_epoch = max(1, len(loader))
        total_steps = self.config.max_epochs * steps_per_epoch if self.config.max_epochs else None
        started = time.monotonic()
        patience_left = self.config.patience
        step = 0
        epoch = 0
        stop = None
        while stop is None:
            epoch += 1
            self.adapter.train()
            if isinstance(loader.sampler, DistributedSampler):
                loader.sampler.set_epoch(epoch)
            losses = []
            for images, targets in loader:
                cancelled, late = distributed.any_rank(self.callbacks.is_canceled(), self._out_of_training_time())
                if cancelled:
                    raise Cancelled("cancelled by the user")
                if late:
                    stop = DEADLINE
                    break
                progress = self._progress(step, total_steps, started)
                for group in optimizer.param_groups:
                    group["lr"] = self.base_lr * learning_rate_factor(progress, self.config.warmup)
                try:
                    losses.append(self._step(optimizer, images, targets))
                except Exception as exc:  # noqa: BLE001
                    if not (is_out_of_memory(exc) and batch_size > 1) or self.distributed:
                        raise
                    batch_size = max(1, batch_size // 2)
                    result.batch_size = batch_size
                    self.callbacks.log(f"{self.name}: out of GPU memory, batch size halved to {batch_size}")
                    optimizer.zero_grad(set_to_none=True)
                    torch.cuda.empty_cache()
                    loader = self._loader(self.train_data, batch_size, shuffle=True)
                    break  # restart the epoch with the smaller batch
                step += 1
                self.callbacks.progress(self._progress(step, total_steps, started),
                                        f"{self.name}: epoch {epoch}, step {step}, loss {losses[-1]:.4f}")
            if not losses:
                if stop is None:
                    continue  # the epoch restarted after halving the batch
                break
            metrics = self.evaluate(batch_size)
            metrics = distributed.from_rank0(metrics)  # one set of decisions for all ranks
            score = metrics[result.metric_name]
            result.history.append({"epoch": epoch, "train_loss": sum(losses) / len(losses),
                                   result.metric_name: score, "lr": optimizer.param_groups[0]["lr"],
                                   "seconds": time.monotonic() - started})
            result.epochs, result.steps = epoch, step
            self.callbacks.log(f"{self.name}: epoch {epoch} train loss {sum(losses) / len(losses):.4f}, "
                               f"validation {result.metric_name} {score:.4f}")
            if result.best_metric is None or score > result.best_metric + 1e-4:
                result.best_metric, result.best_epoch, result.metrics = score, epoch, metrics
                result.best_state = {k: v.detach().to("cpu", copy=True)
                                     for k, v in self.adapter.state_dict().items()}
                patience_left = self.config.patience
            else:
                patience_left -= 1
            if stop is None:
                if self.on_epoch is not None and self.on_epoch(epoch, score):
                    stop = PRUNED
                elif self.config.max_epochs and epoch >= self.config.max_epochs:
                    stop = COMPLETED
                elif patience_left <= 0:
                    stop = EARLY_STOPPED
                elif self._out_of_training_time():
                    stop = DEADLINE
            stop = distributed.from_rank0(stop)  # pruning and the clock are rank 0's
        self._losses = self.adapter.losses
        result.status = stop

    def _progress(self, step: int, total_steps: int | None, started: float) -> float:
        fractions = []
        if total_steps:
            fractions.append(step / total_steps)
        if not math.isinf(self.budget.total):
            span = max(1e-9, self._training_deadline() - started)
            fractions.append((time.monotonic() - started) / span)
        return min(1.0, max(fractions))

    def _training_deadline(self) -> float:
        """The budget's end minus the time the final validation will take."""
        reserve = 1.2 * self._val_seconds if self._val_seconds is not None else 0.02 * self.budget.total
        return self.budget.deadline - reserve

    def _out_of_training_time(self) -> bool:
        return not math.isinf(self.budget.total) and time.monotonic() >= self._training_deadline()
