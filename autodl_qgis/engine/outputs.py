"""Checks on where a result will be written, made before hours of training rather than after."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import InputDataError

MODEL_BYTES = 512 * 2 ** 20  # room a model package (and its sidecars) may need: the largest networks' weights


def check_output_location(path: str | os.PathLike, needed_bytes: int = MODEL_BYTES) -> Path:
    """``path`` can be written: it is not a folder, its (nearest existing) folder takes a new file, and its disk has
    ``needed_bytes`` free. Returns the path."""
    path = Path(path)
    if path.is_dir():
        raise InputDataError("is a folder", path, "Give a file name for the output, e.g. model.dlpk")
    folder = path.parent.resolve()
    while not folder.exists():  # missing folders are made when writing
        folder = folder.parent
    if not folder.is_dir():
        raise InputDataError(f"cannot be written: {folder} is a file, not a folder", path, "Choose another path")
    try:  # a real file, since permissions say little (root, network shares, read-only mounts)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise InputDataError(f"cannot be written: {folder} does not take new files ({exc.strerror})", path,
                             "Choose a folder you can write to") from None
    free = shutil.disk_usage(folder).free
    if free < needed_bytes:
        raise InputDataError(f"cannot be written: {free / 2 ** 20:.0f} MB free on its disk, "
                             f"{needed_bytes / 2 ** 20:.0f} MB needed", path,
                             "Free some space, or write the model to another disk")
    return path
