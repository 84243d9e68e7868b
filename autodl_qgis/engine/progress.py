"""The one small protocol through which the engine reports: progress, log lines and cancellation.
QGIS feedback, the terminal and tests each implement it."""
from __future__ import annotations

import sys
from typing import Protocol


class Cancelled(Exception):
    """The user cancelled; whatever was running stops and writes nothing."""


class Callbacks(Protocol):
    def progress(self, fraction: float, message: str) -> None: ...

    def log(self, message: str) -> None: ...

    def is_canceled(self) -> bool: ...


class SilentCallbacks:
    """Reports nothing, never cancels."""

    def progress(self, fraction: float, message: str) -> None:
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

    def progress(self, fraction: float, message: str) -> None:
        line = f"[{fraction:6.1%}] {message}"
        if line != self._last:
            print(line, file=self.stream, flush=True)
            self._last = line

    def log(self, message: str) -> None:
        print(message, file=self.stream, flush=True)


def check_cancel(callbacks: Callbacks) -> None:
    if callbacks.is_canceled():
        raise Cancelled("cancelled by the user")
