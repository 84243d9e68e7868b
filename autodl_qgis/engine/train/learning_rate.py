"""The learning rate of a candidate's steps: a linear warm-up, then constant or a budget-aware linear decay."""
from __future__ import annotations

import re
import warnings

import torch
from torch.optim.lr_scheduler import LambdaLR


def learning_rate_factor(step: int, warmup_steps: int, progress: float | None) -> float:
    """Linear warm-up over the candidate's first steps; then constant while the candidate may be continued
    (``progress`` None), or falling linearly to zero as the run's time runs out (``progress`` 0 -> 1; budget-aware
    linear decay, Li, Yumer & Ramanan, ICLR 2020)."""
    warm = min(1.0, 0.1 + 0.9 * step / warmup_steps) if warmup_steps > 0 else 1.0
    if progress is None:
        return warm
    return warm * max(0.0, 1.0 - min(max(progress, 0.0), 1.0))


_STEP_ORDER = re.escape("Detected call of `lr_scheduler.step()` before `optimizer.step()`")


class LearningRateSchedule:
    """``base_lr * learning_rate_factor`` through :class:`torch.optim.lr_scheduler.LambdaLR`.

    The decay follows the run's time, not a step count known in advance, so the rate of a step is set just before
    it (:meth:`before_step`) from the candidate's step number (continued runs go on counting) and the run's progress
    at that moment; the scheduler's own counter is not used."""

    def __init__(self, optimizer: torch.optim.Optimizer, base_lr: float, warmup_steps: int, decay_to_end: bool):
        for group in optimizer.param_groups:  # a continued optimizer's saved rates are not the base
            group["initial_lr"] = base_lr
        self.step, self.progress = 0, 0.0
        self._scheduler = LambdaLR(optimizer, lambda _: learning_rate_factor(
            self.step, warmup_steps, self.progress if decay_to_end else None))

    def before_step(self, step: int, progress: float) -> float:
        """Sets the rate of the candidate's step ``step`` at ``progress`` of the run; returns it."""
        self.step, self.progress = step, progress
        with warnings.catch_warnings():
            # by design the rate is set before the optimizer's step, the first one included
            warnings.filterwarnings("ignore", _STEP_ORDER, UserWarning)
            self._scheduler.step()
        return self._scheduler.get_last_lr()[0]
