"""Time is owned by one object that every loop consults per iteration."""
from __future__ import annotations

import math
import time


class TimeBudget:
    """A deadline on the monotonic clock; ``None`` seconds means unlimited. Children never outlive parents."""

    def __init__(self, seconds: float | None, parent: "TimeBudget | None" = None, clock=time.monotonic):
        self.clock = clock
        self.start = clock()
        own = math.inf if seconds is None else self.start + max(0.0, seconds)
        self.deadline = min(own, parent.deadline) if parent is not None else own

    @property
    def total(self) -> float:
        return self.deadline - self.start

    def elapsed(self) -> float:
        return self.clock() - self.start

    def remaining(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.deadline

    def fraction_used(self) -> float:
        return 0.0 if math.isinf(self.total) else min(1.0, self.elapsed() / max(self.total, 1e-9))

    def child(self, seconds: float | None) -> "TimeBudget":
        return TimeBudget(seconds, parent=self, clock=self.clock)
