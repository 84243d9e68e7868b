"""A search's work folder read back (``train --resume``, workers): it is input like any other file, since it may have
been damaged by a crash, a full disk or a hand. Every candidate record is checked against the one schema of
:class:`CandidateResult` (types, ranges, the files it names), weights and states are opened as data only, and links
leaving the folder are refused, all before the search changes anything in the folder."""
from __future__ import annotations

import dataclasses
import math
import os
import pickle
import types
import typing
from pathlib import Path

from ..data.esri import read_json
from ..errors import InputDataError
from ..status import RECORDED, Status
from ..train.records import Scores, scores_from_dict
from .config import CandidateResult, EpochRecord
from .storage import check_storage

RECORD_FILE = "search.json"  # in the work folder: where the study lives, for resuming
FIX = "Start the search again without --resume (or with a new --work-dir), or restore the folder from a backup"
MAX_TEXT = 10_000  # characters of any text field
MAX_WHOLE = 2 ** 53  # counts (epochs, steps, chips): exact in JSON's doubles, far beyond any real search
MAX_NUMBER = 1e12  # seconds, metrics, learning rates
PHASES = ("rung", "tuning", "final")


def check_work_folder(work_dir: Path) -> tuple[str, str]:
    """Raises InputDataError (naming the damaged file) unless the folder's record, storage, candidate results and
    the weights and states they name can all be used. Returns the record's storage URL and study name."""
    work_dir = Path(work_dir)
    record = work_dir / RECORD_FILE
    if not record.is_file():
        raise InputDataError("holds no search to resume", work_dir,
                             "Give the work folder of an earlier run (--work-dir)")
    _refuse_links_leaving(work_dir)
    where = read_json(record)
    if not (isinstance(where.get("storage"), str) and isinstance(where.get("study"), str)):
        raise InputDataError("must name the search's storage and study (two strings)", record, FIX)
    try:
        check_storage(where["storage"], existing=True)
    except InputDataError as exc:  # a fault of the URL is the record's, which holds it
        if exc.path is not None:
            raise
        raise InputDataError(exc.problem, record, exc.fix) from None
    candidates = work_dir / "candidates"
    if candidates.is_dir():
        for path in sorted(candidates.glob("*.json")):
            if not path.name.startswith("."):
                _check_files_named(read_result(path), candidates, work_dir, path)
    return where["storage"], where["study"]


def _refuse_links_leaving(work_dir: Path) -> None:
    root = Path(os.path.realpath(work_dir))
    for folder, folders, files in os.walk(work_dir):  # links are not followed
        for name in (*folders, *files):
            path = Path(folder, name)
            if path.is_symlink() and not Path(os.path.realpath(path)).is_relative_to(root):
                raise InputDataError(f"is a link to {os.readlink(path)}, outside the work folder; it was not read",
                                     path, FIX)


def read_result(path: Path) -> CandidateResult:
    """A candidate's result file, checked against :class:`CandidateResult` field by field."""
    values = read_json(path)
    result = _typed(CandidateResult, values, path)
    if result.key != path.stem:
        raise InputDataError(f"holds the result of {result.key!r}, not of {path.stem!r}", path, FIX)
    return result


def _typed(cls, values: dict, path: Path):
    """An instance of the frozen dataclass ``cls`` from JSON ``values``, each field checked against its type."""
    if not isinstance(values, dict):
        raise InputDataError("is not a record of named values", path, FIX)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    missing = [n for n, f in fields.items() if f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING and n not in values]
    if missing:
        raise InputDataError(f"lacks {', '.join(missing)}", path, FIX)
    checked = {name: _value(name, hints[name], values[name], path) for name in fields if name in values}
    if cls is CandidateResult:
        if checked["status"] not in RECORDED:
            raise InputDataError(f"has status {checked['status']!r}, not one of {', '.join(RECORDED)}", path, FIX)
        if checked["phase"] not in PHASES:
            raise InputDataError(f"has phase {checked['phase']!r}, not one of {', '.join(PHASES)}", path, FIX)
    return cls(**checked)


def _value(name: str, kind, value, path: Path):
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    if value is None and type(None) in options:
        return None
    kind = next(k for k in options if k is not type(None))
    wrong = InputDataError(f"has {name} = {str(value)[:40]!r}, which is not {_described(kind)}", path, FIX)
    if kind in (str, Status):  # a status is text first; which text, CandidateResult's check says
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise wrong
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_WHOLE:
            raise wrong
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong
        # a diverged epoch records its loss as NaN; nothing else may be infinite or absurd
        if not (abs(value) <= MAX_NUMBER or (name == "loss" and math.isnan(value))):
            raise wrong
        value = float(value)
    elif kind is dict:
        if not isinstance(value, dict):
            raise wrong
    elif kind in typing.get_args(Scores):
        value = _scores(value, wrong, path)
    elif typing.get_origin(kind) is tuple:  # the curve: a list of EpochRecord
        if not isinstance(value, list):
            raise wrong
        value = tuple(_typed(EpochRecord, point, path) for point in value)
    return value


def _scores(value, wrong: InputDataError, path: Path) -> Scores | None:
    """A result's metrics from their JSON form, every number checked as the result's own are."""
    if not isinstance(value, dict):
        raise wrong
    try:
        scores = scores_from_dict(value)
    except (TypeError, ValueError, AttributeError):
        raise wrong from None
    if scores is None:
        return None
    for record in (scores, *scores.per_class):  # the numbers and names; the tuples just below
        hints = typing.get_type_hints(type(record))
        _typed(type(record), {f.name: getattr(record, f.name) for f in dataclasses.fields(record)
                              if typing.get_origin(hints[f.name]) is not tuple}, path)
    curves = [v for c in scores.per_class for v in getattr(c, "precision_curve", ())]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= 1 for v in curves):
        raise wrong
    return scores


def _described(kind) -> str:
    return {str: "text", Status: "text", int: f"a whole number from 0 to {MAX_WHOLE}", float: "a finite number",
            dict: "a record"}.get(kind, "a record of scores" if kind in typing.get_args(Scores)
                                  else "a list of records")


def _check_files_named(result: CandidateResult, candidates: Path, work_dir: Path, path: Path) -> None:
    """The weights and state a result names are files of the work folder, readable as tensors only."""
    if result.weights is not None:
        if Path(result.weights).name != result.weights:
            raise InputDataError(f"names weights {result.weights!r}, not a file of candidates/", path, FIX)
        _check_weights(candidates / result.weights, path)
    if result.checkpoint is not None:
        state = Path(result.checkpoint)
        if not state.is_absolute():
            state = candidates / state
        if not Path(os.path.realpath(state)).is_relative_to(os.path.realpath(work_dir)):
            raise InputDataError(f"names the state {result.checkpoint!r}, outside the work folder", path, FIX)
        _check_state(state, path)


def _check_weights(weights: Path, named_by: Path) -> None:
    if not weights.is_file():
        raise InputDataError(f"names weights {weights.name!r}, which are not in candidates/", named_by, FIX)
    from safetensors import safe_open

    try:
        with safe_open(str(weights), framework="pt") as tensors:  # the header only; the data is mapped, not read
            for key in tensors.keys():
                tensors.get_slice(key).get_shape()
    except Exception as exc:  # noqa: BLE001 - SafetensorError and its kin: a damaged file
        raise InputDataError(f"is not a readable safetensors file ({' '.join(str(exc).split())[:120]})", weights,
                             FIX) from None


def _check_state(state: Path, named_by: Path) -> None:
    import torch

    if not state.is_file():
        raise InputDataError(f"names the state {state.name!r}, which is not in candidates/", named_by, FIX)
    try:  # mapped, not read, and tensors and plain values only: nothing in the file runs
        loaded = torch.load(state, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # noqa: BLE001 - a pickle payload, a truncated or foreign file
        kind = "holds Python objects besides tensors (refused: loading them could run code)" \
            if isinstance(exc, pickle.UnpicklingError) else "is not a training state this plugin wrote"
        raise InputDataError(kind, state, FIX) from None
    if not (isinstance(loaded, dict) and isinstance(loaded.get("model"), dict) and isinstance(loaded.get("train"), dict)
            and all(isinstance(v, torch.Tensor) for v in loaded["model"].values())):
        raise InputDataError("is not a training state this plugin wrote (model weights and training state)", state,
                             FIX)
    from ..train.records import Checkpoint

    try:  # what resuming will read: a state missing a field would fail there, not here
        Checkpoint.from_dict(loaded)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputDataError(f"is not a training state this plugin wrote (its training state lacks {exc})", state,
                             FIX) from None
