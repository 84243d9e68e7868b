"""``python -m autodl_qgis doctor``: is the whole stack here and working? Exit 0 when it is, 1 otherwise."""
from __future__ import annotations

import importlib
import json
import sys

from .engine.extras import ENGINE_FIX as FIX
from .engine.extras import OPENMMLAB


def _version(module) -> str:
    return str(getattr(module, "__version__", "") or getattr(module, "VERSION", "") or "unknown")


def _qgis(module) -> str:
    from qgis.core import Qgis

    return Qgis.QGIS_VERSION


def _gdal(module) -> str:
    return module.__version__


def _torch(module) -> str:
    build = f"CUDA {module.version.cuda}" if module.version.cuda else "CPU build"
    return f"{module.__version__} ({build})"


def _mmcv(module) -> str:
    """The version alone is not enough: mmdet and mmseg need mmcv's compiled operators."""
    import torch
    from mmcv.ops import nms

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0]])
    _, keep = nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
    if keep.tolist() != [0]:
        raise RuntimeError("compiled ops load but nms gives a wrong answer")
    return f"{module.__version__} (compiled ops load)"


# (label, module to import, how to describe it, the optional extra it comes with or None)
COMPONENTS = (
    ("QGIS", "qgis.core", _qgis, None),
    ("GDAL", "osgeo.gdal", _gdal, None),
    ("numpy", "numpy", _version, None),
    ("torch", "torch", _torch, None),
    ("torchvision", "torchvision", _version, None),
    ("mmcv", "mmcv", _mmcv, OPENMMLAB),
    ("mmengine", "mmengine", _version, OPENMMLAB),
    ("mmdet", "mmdet", _version, OPENMMLAB),
    ("mmseg", "mmseg", _version, OPENMMLAB),
    ("segmentation_models_pytorch", "segmentation_models_pytorch", _version, None),
    ("transformers", "transformers", _version, None),
    ("segment_anything", "segment_anything", lambda m: "available", None),
    ("optuna", "optuna", _version, None),
    ("torchmetrics", "torchmetrics", _version, None),
    ("pycocotools", "pycocotools.coco", lambda m: "available", None),
    ("safetensors", "safetensors", _version, None),
)


def import_module(name: str):
    return importlib.import_module(name)


def check_components() -> dict:
    results = {}
    for label, module_name, describe, extra in COMPONENTS:
        optional = extra.name if extra else None
        try:
            results[label] = {"ok": True, "version": describe(import_module(module_name)), "detail": "",
                              "extra": optional}
        except ModuleNotFoundError as exc:
            # an optional extra that is not installed is not a fault; one that is installed but broken is
            results[label] = {"ok": extra is not None, "version": None, "detail": f"{type(exc).__name__}: {exc}",
                              "extra": optional}
        except Exception as exc:  # noqa: BLE001 - anything that stops a component from working is reported
            results[label] = {"ok": False, "version": None, "detail": f"{type(exc).__name__}: {exc}",
                              "extra": optional}
    return results


def devices() -> list[str]:
    try:
        import torch
    except Exception:  # noqa: BLE001 - reported with the torch component
        return []
    found = ["cpu"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            found.append(f"cuda:{i} {props.name} ({props.total_memory / 2 ** 30:.1f} GiB)")
    return found


def run_doctor(as_json: bool = False, stream=None) -> int:
    stream = stream or sys.stdout
    components = check_components()
    found = devices()
    ok = all(c["ok"] for c in components.values())
    if as_json:
        print(json.dumps({"python": sys.version.split()[0], "executable": sys.executable,
                          "components": components, "devices": found, "ok": ok}, indent=2), file=stream)
        return 0 if ok else 1
    print(f"{'ok':<8} Python {sys.version.split()[0]} ({sys.executable})", file=stream)
    for label, c in components.items():
        if c["ok"] and c["version"] is None:
            print(f"{'absent':<8} {label}: optional, the {c['extra']} extra (its networks are skipped) — "
                  f"{OPENMMLAB.fix}", file=stream)
        elif c["ok"]:
            print(f"{'ok':<8} {label} {c['version']}", file=stream)
        else:
            print(f"{'MISSING':<8} {label}: {c['detail']} — {FIX}", file=stream)
    print(f"{'ok':<8} devices: {', '.join(found) or 'none'}" if found else
          f"{'MISSING':<8} devices: torch is not usable — {FIX}", file=stream)
    print("the stack is complete" if ok else "the stack is incomplete: see the MISSING lines", file=stream)
    return 0 if ok else 1
