"""One training loop for every network: deadline, cancel, progress, metrics and batch size live here."""
from .trainer import (CANCELLED, COMPLETED, DEADLINE, EARLY_STOPPED, FAILED, NOT_REACHED, PRUNED, TrainConfig, Trainer,
                      TrainResult)

__all__ = ["CANCELLED", "COMPLETED", "DEADLINE", "EARLY_STOPPED", "FAILED", "NOT_REACHED", "PRUNED", "TrainConfig",
           "Trainer", "TrainResult"]
