"""The one small protocol through which the engine reports: progress, log lines and cancellation.
QGIS feedback, the terminal and tests each implement it. A progress report may carry, beside its message, the values
it states (:class:`EpochEvent`), so that a display reads them rather than parsing the message."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Protocol

from .messages import Message


class Cancelled(Exception):
    """The user cancelled; whatever was running stops and writes nothing."""


@dataclass(frozen=True)
class EpochEvent:
    """A validated epoch of a training run: what its progress message says, as values."""
    run: str  # the run's name, e.g. "UnetClassifier (resnet34)"
    epoch: int
    loss: float  # the epoch's mean training loss
    metric_name: str
    metric: float  # on the validation chips
    ema_metric: float | None = None  # of the moving average of the weights, when one is kept


class Callbacks(Protocol):
    def progress(self, fraction: float, message: str, event: EpochEvent | None = None) -> None: ...

    def log(self, message: str) -> None: ...

    def is_canceled(self) -> bool: ...


class SilentCallbacks:
    """Reports nothing, never cancels."""

    def progress(self, fraction: float, message: str, event: EpochEvent | None = None) -> None:
        pass

    def log(self, message: str) -> None:
        pass

    def is_canceled(self) -> bool:
        return False


class TerminalCallbacks(SilentCallbacks):
    """Log lines and progress on stderr (stdout stays free for --json output)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self._last = ""

    def progress(self, fraction: float, message: str, event: EpochEvent | None = None) -> None:
        line = f"[{fraction:6.1%}] {message}"
        if line != self._last:
            print(line, file=self.stream, flush=True)
            self._last = line

    def log(self, message: str) -> None:
        print(message, file=self.stream, flush=True)


def check_cancel(callbacks: Callbacks) -> None:
    if callbacks.is_canceled():
        raise Cancelled("cancelled by the user")


# The events a child engine process writes for the program that started it (QGIS), one JSON object a line.
PROGRESS_EVENT, LOG_EVENT, ERROR_EVENT = "progress", "log", "error"


def message_event(kind: str, message: str, **fields) -> dict:
    """An event with its text, and the template and values of a translatable ``Message`` (messages.py); a progress
    event of a validated epoch also has the :class:`EpochEvent`'s fields (``run``, ``epoch``, ``loss``, ...)."""
    event = {"event": kind, **fields, "message": str(message)}
    if isinstance(message, Message):
        event.update(message.event_fields())
    return event


class EventCallbacks(SilentCallbacks):
    """Progress and log lines as JSON events on ``stream`` (a pipe the parent reads), cancellation from the parent.

    The parent cancels with SIGINT / SIGTERM (CTRL_BREAK on Windows): the first one sets the flag the engine checks
    every step, so the run stops the usual way (nothing written); a second one interrupts at once. A parent that
    goes away (its end of our stdin closes) cancels as well, so an orphaned engine does not train on for hours.
    """

    def __init__(self, stream, watch_stdin: bool = True):
        self.stream = stream
        self._cancelled = threading.Event()
        self._last = None
        for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), self._on_signal)
        if watch_stdin and _stdin_is_pipe():
            threading.Thread(target=self._watch_stdin, name="autodl-parent-watch", daemon=True).start()

    @classmethod
    def open_descriptor(cls, descriptor: int) -> "EventCallbacks":
        """On the file descriptor (POSIX) or inherited handle (Windows) the parent passed."""
        from .errors import InputDataError

        try:
            if os.name == "nt":
                import msvcrt

                descriptor = msvcrt.open_osfhandle(descriptor, os.O_WRONLY)
            os.fstat(descriptor)  # fdopen takes a closed descriptor; the first event would fail
            return cls(os.fdopen(descriptor, "w", encoding="utf-8", buffering=1))
        except (OSError, OverflowError, ValueError) as exc:
            raise InputDataError(f"--events {descriptor}: not an open file descriptor "
                                 f"({getattr(exc, 'strerror', None) or exc})", None,
                                 "Give a descriptor this process inherited open for writing, or leave --events out "
                                 "(it is for programs that start the engine)") from None

    def _on_signal(self, signum, frame) -> None:
        # Before the first report the engine is still importing and has written nothing: stop at once then.
        if self._cancelled.is_set() or self._last is None:
            raise KeyboardInterrupt
        self._cancelled.set()

    def _watch_stdin(self) -> None:
        try:  # the raw descriptor: a buffered sys.stdin read would hold its lock at interpreter shutdown
            while os.read(0, 1024):
                pass
        except OSError:
            pass
        self._cancelled.set()

    def _emit(self, event: dict) -> None:
        try:
            self.stream.write(json.dumps(event, ensure_ascii=False) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # the parent stopped reading: it has gone, so stop as if cancelled
            self._cancelled.set()

    def progress(self, fraction: float, message: str, event: EpochEvent | None = None) -> None:
        key = (round(fraction, 3), message)
        if key != self._last:  # the engine reports every step; the parent needs changes only
            self._last = key
            values = dataclasses.asdict(event) if event is not None else {}
            self._emit(message_event(PROGRESS_EVENT, message, fraction=max(0.0, min(1.0, fraction)), **values))

    def log(self, message: str) -> None:
        self._last = self._last or (None, None)
        self._emit(message_event(LOG_EVENT, message))

    def error(self, message: str) -> None:
        """The error the engine stops with (also printed as ``error: …``), for the parent to show translated."""
        self._emit(message_event(ERROR_EVENT, message))

    def is_canceled(self) -> bool:
        return self._cancelled.is_set()


def _stdin_is_pipe() -> bool:
    """Only a pipe from the parent says by its end that the parent is gone (a terminal or /dev/null says nothing)."""
    import stat

    try:
        return stat.S_ISFIFO(os.fstat(0).st_mode)
    except (OSError, ValueError):
        return False
