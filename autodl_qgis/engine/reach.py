"""How many candidates a search's time limit reaches before anything is measured: the search's schedule
(search/schedule.py) plans with it, and QGIS' Train dialog warns with it before the run. Light: no torch."""
from __future__ import annotations

import math

ETA = 3  # each rung keeps the best third
FINAL_SHARE = 0.5  # of the limit, kept for the finalist
MIN_JOB_SECONDS = 30.0  # a rung-0 job shorter than this trains nothing worth comparing: fewer candidates enter


def packaging_reserve(limit_seconds: float) -> float:
    """Seconds kept at the end of the run for the package (weights compressed, ONNX graph), the report and the
    test chips: about 20 s for a ResNet-34 Unet on a busy 2-core machine."""
    return min(max(0.04 * limit_seconds, 20.0), 180.0)


def rung_sizes(candidates: int, eta: int = ETA) -> tuple[int, ...]:
    """Candidates per exploration rung (the finalist not counted): 9 -> (9, 3); 3 -> (3,); 1 -> ()."""
    sizes = []
    n = candidates
    while n > 1:
        sizes.append(n)
        n = math.ceil(n / eta)
    return tuple(sizes)


def candidates_within(count: int, exploration_seconds: float, job_seconds: float) -> int:
    """How many of ``count`` candidates the exploration time holds at ``job_seconds`` a first-rung job (one at
    least: it is the finalist)."""
    reach = count
    while reach > 1 and exploration_seconds / max(1, len(rung_sizes(reach))) / reach < job_seconds:
        reach -= 1
    return reach


def final_reserve(limit_seconds: float, seconds_left: float) -> float:
    """The finalist's share of the time, of ``seconds_left`` before the search's end."""
    return min(FINAL_SHARE * limit_seconds, 0.9 * seconds_left)


def first_rung_reach(count: int, limit_seconds: float) -> int:
    """At most how many of ``count`` networks a search of ``limit_seconds`` trains (fewer once the first job's
    cost is measured)."""
    search = limit_seconds - packaging_reserve(limit_seconds)
    return candidates_within(count, search - final_reserve(limit_seconds, search), MIN_JOB_SECONDS)
