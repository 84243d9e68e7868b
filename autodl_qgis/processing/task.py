"""Engine work inside a QgsTask, with QGIS feedback bridged both ways (progress and log out, cancel in).

An algorithm runs the task synchronously on its own thread (Processing already put the algorithm in the
background); the same task can also go to ``QgsApplication.taskManager()`` for work started outside Processing.
Cancel arrives by polling ``feedback.isCanceled()`` on every engine iteration: a queued signal would never be
delivered while this thread is busy (toolchain.md).
"""
from __future__ import annotations

from typing import Callable

from qgis.core import QgsProcessingFeedback, QgsTask


class FeedbackCallbacks:
    """The engine's callback protocol over a QgsProcessingFeedback (and the task's own progress and cancel)."""

    def __init__(self, feedback: QgsProcessingFeedback | None, task: QgsTask | None = None):
        self.feedback, self.task = feedback, task

    def progress(self, fraction: float, message: str) -> None:
        percent = max(0.0, min(100.0, 100.0 * fraction))
        if self.task is not None:
            self.task.setProgress(percent)
        if self.feedback is not None:
            self.feedback.setProgress(percent)
            self.feedback.setProgressText(message)

    def log(self, message: str) -> None:
        if self.feedback is not None:
            self.feedback.pushInfo(message)

    def is_canceled(self) -> bool:
        return bool((self.feedback is not None and self.feedback.isCanceled())
                    or (self.task is not None and self.task.isCanceled()))


class EngineTask(QgsTask):
    """Runs ``work(callbacks)``; its result or exception is kept for the caller."""

    def __init__(self, description: str, work: Callable[[FeedbackCallbacks], object],
                 feedback: QgsProcessingFeedback | None = None):
        super().__init__(description, QgsTask.CanCancel)
        self.work = work
        self.callbacks = FeedbackCallbacks(feedback, self)
        self.result = None
        self.error: BaseException | None = None

    def run(self) -> bool:
        try:
            self.result = self.work(self.callbacks)
            return True
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which turns it into a clear message
            self.error = exc
            return False

    def run_here(self):
        """Runs on the calling thread; returns the result or re-raises the work's exception."""
        if not self.run():
            raise self.error
        return self.result
