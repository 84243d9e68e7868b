"""``python -m autodl_qgis doctor``: is the whole stack here and working? Exit 0 when it is, 1 otherwise."""
from __future__ import annotations

import importlib
import json
import sys

FIX = "run scripts/setup.sh (or install it into QGIS' Python)"


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


# (label, module to import, how to describe it)
COMPONENTS = (
    ("QGIS", "qgis.core", _qgis),
    ("GDAL", "osgeo.gdal", _gdal),
    ("numpy", "numpy", _version),
    ("torch", "torch", _torch),
    ("torchvision", "torchvision", _version),
    ("mmcv", "mmcv", _mmcv),
    ("mmengine", "mmengine", _version),
    ("mmdet", "mmdet", _version),
    ("mmseg", "mmseg", _version),
    ("segmentation_models_pytorch", "segmentation_models_pytorch", _version),
    ("transformers", "transformers", _version),
    ("segment_anything", "segment_anything", lambda m: "available"),
    ("optuna", "optuna", _version),
    ("torchmetrics", "torchmetrics", _version),
    ("pycocotools", "pycocotools.coco", lambda m: "available"),
    ("safetensors", "safetensors", _version),
)


def import_module(name: str):
    return importlib.import_module(name)


def check_components() -> dict:
    results = {}
    for label, module_name, describe in COMPONENTS:
        try:
            results[label] = {"ok": True, "version": describe(import_module(module_name)), "detail": ""}
        except Exception as exc:  # noqa: BLE001 - anything that stops a component from working is reported
            results[label] = {"ok": False, "version": None, "detail": f"{type(exc).__name__}: {exc}"}
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
        if c["ok"]:
            print(f"{'ok':<8} {label} {c['version']}", file=stream)
        else:
            print(f"{'MISSING':<8} {label}: {c['detail']} — {FIX}", file=stream)
    print(f"{'ok':<8} devices: {', '.join(found) or 'none'}" if found else
          f"{'MISSING':<8} devices: torch is not usable — {FIX}", file=stream)
    print("the stack is complete" if ok else "the stack is incomplete: see the MISSING lines", file=stream)
    return 0 if ok else 1
