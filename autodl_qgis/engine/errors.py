"""Errors the user can fix. The CLI and the QGIS layer print them as one line, never a traceback."""
from __future__ import annotations

import os


class InputDataError(Exception):
    """Bad input: says what is wrong, where (a path), and how to fix it."""

    def __init__(self, problem: str, path: str | os.PathLike | None = None, fix: str | None = None):
        self.problem = problem
        self.path = os.fspath(path) if path is not None else None
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.path}: {self.problem}" if self.path else self.problem
        return f"{text}. {self.fix}" if self.fix else text


class SearchFailed(Exception):
    """Every candidate failed: there is no model to package."""
