"""Checks on where a result will be written, made before the work (hours of training, a whole raster) rather than
after it: the location takes new files, has room, and is none of the run's inputs."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable

from .errors import InputDataError

NAME_BYTES = 255  # the longest file or folder name the common file systems (ext4, NTFS, APFS) take
PATH_BYTES = 4095  # Linux's PATH_MAX less the final NUL; longer paths fail in open() with ENAMETOOLONG
MODEL_BYTES = 512 * 2 ** 20  # room a model package (and its sidecars) may need: the largest networks' weights
RESULT_BYTES = 16 * 2 ** 20  # room for the start of an inference result or training-data folder


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same resolved path (links, ``..``), or the same inode (hard links,
    case-insensitive disks)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def _inside(path: Path, folder: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def refuse_overwriting_inputs(outputs: Iterable[str | os.PathLike], inputs: Iterable[str | os.PathLike | None]) -> None:
    """Raises when an output is (or resolves to, or is a folder holding) one of the run's inputs: writing it would
    destroy the data the run reads."""
    inputs = [Path(p) for p in inputs if p]
    for output in (Path(p) for p in outputs):
        for source in inputs:
            if _same_file(output, source) or (output.is_dir() and _inside(source, output)):
                raise InputDataError(f"is the input {source}" if _same_file(output, source) else
                                     f"holds the input {source}", output,
                                     "Choose another output; an input is never overwritten")


def check_path_text(path: Path) -> None:
    """A name GDAL, OGR and the file system take: UTF-8, no part longer than NAME_BYTES, the whole not longer than
    PATH_BYTES once absolute."""
    try:
        encoded = os.fsencode(os.path.abspath(path)).decode("utf-8").encode("utf-8")
    except UnicodeDecodeError:
        raise InputDataError("has a name that is not valid UTF-8", os.fsdecode(path).encode("utf-8", "replace")
                             .decode(), "Rename the folder, or choose one whose name is UTF-8") from None
    shown = f"{str(path)[:80]}..." if len(str(path)) > 80 else path
    if len(encoded) > PATH_BYTES:
        raise InputDataError(f"is a path of {len(encoded)} bytes, more than the {PATH_BYTES} a file system takes",
                             shown, "Choose a shorter path")
    longest = max((part for part in path.parts), key=lambda part: len(part.encode("utf-8")), default="")
    if len(longest.encode("utf-8")) > NAME_BYTES:
        raise InputDataError(f"has a name of {len(longest.encode('utf-8'))} bytes, more than the {NAME_BYTES} a file "
                             "system takes", shown, "Choose a shorter file or folder name")


def files_read(path: str | os.PathLike | None) -> list[str]:
    """``path`` and every file GDAL or OGR reads with it (a VRT's sources, a shapefile's .dbf / .shx / .prj), so
    that none of them is taken as an output; just ``path`` when neither opens it."""
    if not path:
        return []
    from osgeo import gdal

    from .geo import quiet_gdal

    with quiet_gdal():
        dataset = gdal.OpenEx(os.fspath(path), gdal.OF_RASTER | gdal.OF_VECTOR | gdal.OF_READONLY) \
            if Path(path).is_file() else None
    return [os.fspath(path), *((dataset.GetFileList() or []) if dataset is not None else [])]


def _writable_folder(path: Path) -> Path:
    """The nearest existing folder of ``path`` (missing ones are made when writing), checked to take new files."""
    folder = path.parent.resolve()
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise InputDataError(f"cannot be written: {folder} is a file, not a folder", path, "Choose another path")
    try:  # a real file, since permissions say little (root, network shares, read-only mounts, immutable folders)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise InputDataError(f"cannot be written: {folder} does not take new files ({exc.strerror})", path,
                             "Choose a folder you can write to") from None
    return folder


def _check_room(path: Path, folder: Path, needed_bytes: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed_bytes:
        raise InputDataError(f"cannot be written: {free / 2 ** 20:.0f} MB free on its disk, "
                             f"{needed_bytes / 2 ** 20:.0f} MB needed", path,
                             "Free some space, or write to another disk")


def check_output_location(path: str | os.PathLike, needed_bytes: int = MODEL_BYTES,
                          inputs: Iterable[str | os.PathLike | None] = (),
                          sidecars: Iterable[str | os.PathLike] = ()) -> Path:
    """``path`` can be written: it is not a folder, its (nearest existing) folder takes a new file, its disk has
    ``needed_bytes`` free, and neither it nor its ``sidecars`` (files written beside it) is one of ``inputs``.
    Returns the path."""
    path = Path(path)
    check_path_text(path)
    refuse_overwriting_inputs([path, *sidecars], inputs)
    if path.is_dir():
        raise InputDataError("is a folder", path, f"Give a file name for the output, e.g. result{path.suffix or '.x'}")
    _check_room(path, _writable_folder(path), needed_bytes)
    return path


def check_output_folder(path: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (),
                        needed_bytes: int = RESULT_BYTES) -> Path:
    """``path`` is a folder that can be made (or is empty) and filled: not a file, not holding any of ``inputs``,
    on a disk that takes new files and has ``needed_bytes`` free. Returns the path."""
    path = Path(path)
    check_path_text(path)
    refuse_overwriting_inputs([path], inputs)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InputDataError("already exists and is not empty" if path.is_dir() else "is a file, not a folder",
                             path, "Choose a new output folder; existing data is never overwritten")
    _check_room(path, _writable_folder(path), needed_bytes)
    return path
