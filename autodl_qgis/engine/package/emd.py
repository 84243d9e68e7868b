"""The ``.emd`` model definition of a trained model: the keys ArcGIS tools read (formats.md), plus everything our
loader needs to rebuild the exact network under the namespaced ``"AutoDL"`` object. No inference script: our
loader rebuilds the network from the registry and never runs code from a package."""
from __future__ import annotations

import platform
from pathlib import Path

from ..data.esri import OBJECT_DETECTION, ClassInfo, parse_classes
from ..errors import InputDataError

SCHEMA_VERSION = 1
MODEL_FILE = "model.safetensors"


def model_type(task: str, network: str) -> str:
    if task != OBJECT_DETECTION:
        return "ImageClassification"
    return "InstanceDetection" if network == "MaskRCNN" else "ObjectDetection"


def _versions() -> dict:
    import torch

    versions = {"python": platform.python_version(), "torch": torch.__version__}
    try:
        from importlib.metadata import version

        versions["autodl_qgis"] = version("autodl_qgis")
    except Exception:  # noqa: BLE001 - running from a source tree
        versions["autodl_qgis"] = "source"
    return versions


def build_model_definition(*, network: str, library: str, backbone: str, task: str, classes: list[ClassInfo],
                           chip_size: tuple[int, int], bands: int, dtype: str, image_space: str,
                           statistics, metrics: dict, metric_name: str, training: dict,
                           data_format: str) -> dict:
    """The .emd of one trained model. ``statistics`` is the :class:`BandStatistics` the chips were normalised
    with; inference must use the same."""
    rgb8 = bands == 3 and dtype == "uint8"
    emd = {
        "Framework": "PyTorch",
        "ModelConfiguration": "autodl_qgis",
        "ModelType": model_type(task, network),
        "ModelFile": MODEL_FILE,
        "ModelName": network,
        "ModelParameters": {"backbone": backbone},
        "ImageHeight": int(chip_size[0]),
        "ImageWidth": int(chip_size[1]),
        "ExtractBands": list(range(bands)),
        "ImageSpaceUsed": image_space,
        "DatasetType": data_format,
        "Classes": [{"Value": c.value, "Name": c.name, "Color": list(c.color)} for c in classes],
        "IsMultispectral": not rgb8,
        "SupportsVariableTileSize": True,
        "NormalizationStats": {
            "band_min_values": list(statistics.min), "band_max_values": list(statistics.max),
            "band_mean_values": list(statistics.mean), "band_std_values": list(statistics.std),
        },
    }
    names = [c.name for c in classes]
    per_class = metrics.get("per_class", {})
    if task == OBJECT_DETECTION:
        emd["average_precision_score"] = {n: per_class.get(n, {}).get("average_precision") for n in names}
    else:
        emd["accuracy"] = metrics.get("accuracy")
        emd["per_class_metrics"] = per_class
    emd["AutoDL"] = {
        "schema_version": SCHEMA_VERSION,
        "network": network,
        "library": library,
        "backbone": backbone,
        "task": task,
        "num_classes": len(classes),
        "in_channels": bands,
        "chip_size": [int(chip_size[0]), int(chip_size[1])],
        "dtype": dtype,
        "metric_name": metric_name,
        "metric": metrics.get(metric_name),
        "metrics": metrics,
        "training": training,
        "versions": _versions(),
    }
    return emd


_REQUIRED = {"ModelType": str, "ModelFile": str, "ModelName": str, "ImageHeight": int, "ImageWidth": int,
             "ExtractBands": list, "Classes": list}
_REQUIRED_AUTODL = {"schema_version": int, "network": str, "backbone": str, "task": str, "num_classes": int,
                    "in_channels": int, "chip_size": list}


def validate_model_definition(emd: dict, path: Path) -> list[ClassInfo]:
    """Checks the keys our loader relies on; returns the classes. Errors say what is missing and where."""
    fix = "Use a .dlpk or .emd written by Train Using AutoDL for QGIS"
    for table, where in ((_REQUIRED, ""), (_REQUIRED_AUTODL, "AutoDL.")):
        source = emd if not where else emd.get("AutoDL")
        if not isinstance(source, dict):
            raise InputDataError("has no 'AutoDL' section: it was not written by autodl_qgis (models written "
                                 "by arcgis.learn cannot be rebuilt without running their code)", path, fix)
        for key, kind in table.items():
            value = source.get(key)
            if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
                raise InputDataError(f"key '{where}{key}' is missing or not a {kind.__name__}", path, fix)
    auto = emd["AutoDL"]
    if auto["schema_version"] > SCHEMA_VERSION:
        raise InputDataError(f"uses model definition version {auto['schema_version']}, newer than this plugin "
                             f"understands ({SCHEMA_VERSION})", path, "Update the AutoDL for QGIS plugin")
    if Path(emd["ModelFile"]).name != emd["ModelFile"] or not emd["ModelFile"]:
        raise InputDataError(f"'ModelFile' must be a file name beside the .emd, not {emd['ModelFile']!r}", path, fix)
    classes = parse_classes(emd["Classes"], path)
    if len(classes) != auto["num_classes"]:
        raise InputDataError(f"declares {len(classes)} classes but AutoDL.num_classes is {auto['num_classes']}",
                             path, fix)
    return classes
