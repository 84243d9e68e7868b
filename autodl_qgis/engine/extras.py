"""Optional parts of the engine: the networks of a library that the base install lacks are listed as needing the
extra that brings it (``networks``, the Networks selector, ``skipped`` in the leaderboard) rather than failing.
Plain Python; availability is asked of importlib without importing anything."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

# The fix for a missing or broken engine, in QGIS terms first (the CLI, doctor and the installer say it).
ENGINE_FIX = ('in QGIS run "Install AutoDL Engine" (Processing Toolbox › AutoDL › Deep learning), or set Settings › '
              'Options › Processing › Providers › AutoDL › Python to a Python that has the libraries; from a checkout '
              'run scripts/setup.sh')


@dataclass(frozen=True)
class Extra:
    name: str
    modules: tuple[str, ...]  # every module the extra installs
    fix: str


OPENMMLAB = Extra("OpenMMLab", ("mmcv", "mmengine", "mmdet", "mmseg"),
                  'in QGIS run "Install AutoDL Engine" with "Add OpenMMLab" ticked; from a checkout run '
                  'scripts/setup.sh')
# network library -> the extra it comes with, and the modules its adapter imports
LIBRARY_EXTRAS = {"mmdet": (OPENMMLAB, ("mmcv", "mmengine", "mmdet")),
                  "mmseg": (OPENMMLAB, ("mmcv", "mmengine", "mmseg"))}


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def extra_for(library: str) -> Extra | None:
    entry = LIBRARY_EXTRAS.get(library)
    return entry[0] if entry else None


def missing_extra(library: str) -> Extra | None:
    """The extra a network library needs when it is not installed here, else None."""
    entry = LIBRARY_EXTRAS.get(library)
    if entry is None or all(installed(m) for m in entry[1]):
        return None
    return entry[0]


def needs_text(extra: Extra) -> str:
    """Why a network of this extra is skipped (leaderboard, logs; the fix follows)."""
    return f"needs the {extra.name} extra, which this engine lacks"
