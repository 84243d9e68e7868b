"""What training hands on: the points of a training curve and the state a candidate's next run continues from.

Both cross into the search (its leaderboard rows and the ``.state.pt`` files of its work folder), so they are typed
here, below the search, and turned into plain values only at the edge (``dataclasses.asdict`` for JSON, ``as_dict``
for ``torch.save``, read back with ``torch.load(weights_only=True)``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


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
