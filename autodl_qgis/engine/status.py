"""How a training run ended: the one list of statuses that the trainer returns, the search records and the report
colours. A member is a ``str`` equal to its value ("completed", ...), so JSON, CSV and the leaderboard read the same
as plain strings did. (``enum.StrEnum`` does this from Python 3.11; the engine also runs on QGIS 3.22's Python 3.9.)"""
from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    COMPLETED = "completed"  # trained the time or epochs it was given
    EARLY_STOPPED = "early_stopped"  # the validation metric stopped improving
    DEADLINE = "deadline"  # the time ran out before the run had trained what it was given
    PRUNED = "pruned"  # stopped, or not continued, because others were better
    FAILED = "failed"  # cannot be trained; the reason says why
    SKIPPED = "skipped"  # never started: the device cannot run the network
    NOT_REACHED = "not_reached"  # the time limit came before the run could give a validated model
    CANCELLED = "cancelled"  # the user cancelled (never recorded: the search stops)

    __str__ = str.__str__  # "completed", not "Status.COMPLETED", in CSV cells, f-strings and messages
    __format__ = str.__format__


# what a recorded job (a leaderboard row) may have ended with
RECORDED = tuple(s for s in Status if s is not Status.CANCELLED)
