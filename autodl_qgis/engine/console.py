"""A run at a glance on a terminal: the engine's reports (engine/progress.py) as one live display when stderr is a
terminal (rich), as one line per epoch and per candidate otherwise (logs, CI), or as warnings only (``--quiet``).

Progress may come every optimiser step; the display keeps the latest and redraws a few times a second (live), or
writes a line for each validated epoch and otherwise a progress line at most once a ``heartbeat`` (lines), so a
long run prints a readable page, not one line per step. What it shows (candidate, epoch, loss, best validation score
so far) is read from the values of the trainer's epoch reports (progress.EpochEvent); any other message is shown as
it is."""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, replace

from .progress import EpochEvent, SilentCallbacks


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(max(0.0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


@dataclass(frozen=True)
class RunState:
    """What the display shows: the latest report and the best validation score seen."""

    fraction: float = 0.0
    message: str = ""
    candidate: str | None = None
    epoch: int | None = None
    loss: float | None = None
    metric_name: str | None = None
    best: float | None = None
    best_candidate: str | None = None

    def after(self, message: str, fraction: float, event: EpochEvent | None = None) -> "RunState":
        """The state once a progress report arrived."""
        state = replace(self, fraction=max(0.0, min(1.0, fraction)), message=message)
        if event is None:
            return state
        state = replace(state, candidate=event.run, epoch=event.epoch, loss=_finite(event.loss),
                        metric_name=event.metric_name)
        # the better of the weights and their moving average: the one the trainer keeps
        score = max(event.metric, event.ema_metric) if event.ema_metric is not None else event.metric
        if math.isfinite(score) and (state.best is None or score > state.best):
            state = replace(state, best=score, best_candidate=event.run)
        return state

    def summary(self) -> str:
        """The current candidate, epoch and loss, or the message when it says something else."""
        if self.candidate is not None and self.message.startswith(self.candidate):
            parts = [self.candidate]
            if self.epoch is not None:
                parts.append(f"epoch {self.epoch}")
            if self.loss is not None:
                parts.append(f"loss {self.loss:.4f}")
            return ", ".join(parts)
        return self.message

    def best_text(self) -> str:
        if self.best is None:
            return ""
        return f"best {self.metric_name} {self.best:.4f} ({self.best_candidate})"


class ConsoleCallbacks(SilentCallbacks):
    """Engine callbacks for a person at a terminal. ``limit_seconds``: the run's time limit (training), shown as
    time left; without it, the time left is estimated from the progress. ``live``: None chooses by whether
    ``stream`` is a terminal. ``clock`` is injectable for tests."""

    def __init__(self, stream=None, *, limit_seconds: float | None = None, quiet: bool = False,
                 live: bool | None = None, heartbeat: float = 60.0, clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.limit_seconds, self.quiet, self.heartbeat, self.clock = limit_seconds, quiet, heartbeat, clock
        self.started = clock()
        self.state = RunState()
        self._last_line_at: float | None = None
        self._live = None
        if live is None:
            live = not quiet and hasattr(self.stream, "isatty") and self.stream.isatty()
        if live and not quiet:
            self._start_live()

    # -- the protocol ------------------------------------------------------------------------------------------------

    def progress(self, fraction: float, message: str, event: EpochEvent | None = None) -> None:
        self.state = self.state.after(message, fraction, event)
        if self.quiet or self._live is not None:
            return  # the live display redraws itself from the state
        if event is not None:  # an epoch's validation: always a line
            self._line(" | ".join(p for p in (f"{self.state.fraction:6.1%} {message}", self.state.best_text(),
                                              f"{_clock(self.time_left())} left") if p))
        elif self._last_line_at is None or self.clock() - self._last_line_at >= self.heartbeat:
            self._line(self.status_line())

    def log(self, message: str) -> None:
        if self.quiet and not message.lower().startswith(("warning", "error")):
            return
        if self._live is not None:
            from rich.markup import escape

            self._live.console.print(f"[dim]{self._elapsed()}[/dim] {escape(message)}", highlight=False,
                                     soft_wrap=True)
        else:
            self._line(message)

    # -- shown -------------------------------------------------------------------------------------------------------

    def time_left(self) -> float | None:
        elapsed = self.clock() - self.started
        if self.limit_seconds is not None:
            return max(0.0, self.limit_seconds - elapsed)
        if self.state.fraction >= 0.02:
            return elapsed * (1 - self.state.fraction) / self.state.fraction
        return None

    def status_line(self) -> str:
        parts = [f"{self.state.fraction:6.1%}", self.state.summary()]
        if self.state.best is not None:
            parts.append(self.state.best_text())
        parts.append(f"{_clock(self.time_left())} left")
        return " | ".join(p for p in parts if p)

    def _elapsed(self) -> str:
        return f"[{_clock(self.clock() - self.started)}]"

    def _line(self, text: str) -> None:
        self._last_line_at = self.clock()
        print(f"{self._elapsed()} {text}", file=self.stream, flush=True)

    # -- live display ------------------------------------------------------------------------------------------------

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        callbacks = self

        class _View:
            def __rich__(self):
                state = callbacks.state
                filled = int(round(24 * state.fraction))
                return Text.assemble(
                    (f"{state.fraction:6.1%} ", "bold"), ("━" * filled, "green"), ("━" * (24 - filled), "bright_black"),
                    " ", (state.summary() or "starting", "cyan"), "\n",
                    (state.best_text() or "no validation yet", "green"), (" · ", "dim"),
                    _clock(callbacks.clock() - callbacks.started), (" elapsed · ", "dim"),
                    (_clock(callbacks.time_left()), "bold"), (" left", "dim"))

        console = Console(file=self.stream, force_terminal=True)
        # stdout stays the command's own (train --json prints its one document there)
        self._live = Live(_View(), console=console, refresh_per_second=4, transient=False, redirect_stdout=False)
        self._live.start()

    def close(self) -> None:
        """Ends the live display (its last state stays on the screen)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __enter__(self) -> "ConsoleCallbacks":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
