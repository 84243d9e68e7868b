"""Checks of numeric options, shared by the command line and the QGIS algorithms (through the engine functions
both call): each bad value is one line naming the option, the value and the range it must be in."""
from __future__ import annotations

import math
from numbers import Real

from .errors import InputDataError

MAX_CHIP_SIZE = 8192  # pixels of a chip or tile side: far beyond any model here, far below exhausting memory


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise InputDataError(f"{name} is {value!r}, not a finite number", None, f"Give {name} as a number")
    return value


def whole_number(name: str, value, low: int, high: int) -> int:
    """An integer in low..high."""
    _number(name, value)
    if int(value) != value or not low <= value <= high:
        raise InputDataError(f"{name} is {value!r}, outside {low}..{high}", None,
                             f"Give {name} as a whole number from {low} to {high}")
    return int(value)


def positive_int(name: str, value, high: int) -> int:
    return whole_number(name, value, 1, high)


def fraction(name: str, value) -> float:
    """A number in 0..1."""
    if not 0 <= _number(name, value) <= 1:
        raise InputDataError(f"{name} is {value!r}, outside 0..1", None, f"Give {name} as a number from 0 to 1")
    return float(value)


def positive(name: str, value, high: float = math.inf) -> float:
    """A finite number above 0 and at most ``high``."""
    if not 0 < _number(name, value) <= high:
        raise InputDataError(f"{name} is {value!r}, outside (0, {high:g}]", None,
                             f"Give {name} as a number above 0"
                             + ("" if high == math.inf else f" and at most {high:g}"))
    return float(value)


def non_negative(name: str, value) -> float:
    if _number(name, value) < 0:
        raise InputDataError(f"{name} is {value!r}, below 0", None, f"Give {name} as a number of at least 0")
    return float(value)


def extent(values) -> tuple[float, float, float, float]:
    """xmin, ymin, xmax, ymax: four finite numbers with xmin < xmax and ymin < ymax."""
    if len(values) != 4:
        raise InputDataError(f"the extent has {len(values)} numbers", None, "Give XMIN YMIN XMAX YMAX")
    xmin, ymin, xmax, ymax = (_number(n, v) for n, v in zip(("extent XMIN", "extent YMIN", "extent XMAX",
                                                            "extent YMAX"), values))
    if not (xmin < xmax and ymin < ymax):
        raise InputDataError(f"the extent {tuple(values)} is empty or inverted", None,
                             "Give XMIN YMIN XMAX YMAX with XMIN < XMAX and YMIN < YMAX")
    return xmin, ymin, xmax, ymax
