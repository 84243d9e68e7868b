"""The ``.emd`` model definition of a trained model: the keys ArcGIS tools read (docs/formats.md), plus everything our
loader needs to rebuild the exact network under the namespaced ``"AutoDL"`` object. No inference script: our
loader rebuilds the network from the registry and never runs code from a package."""
from __future__ import annotations

import math
import platform
from pathlib import Path
from typing import TYPE_CHECKING

from ..data.esri import OBJECT_DETECTION, ClassInfo, parse_classes
from ..errors import InputDataError
from ..validate import MAX_CHIP_SIZE

if TYPE_CHECKING:
    from ..train.records import Scores

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
                           statistics, metrics: Scores | None, metric_name: str, training: dict,
                           data_format: str, test_metric: float | None = None) -> dict:
    """The .emd of one trained model. ``statistics`` is the :class:`BandStatistics` the chips were normalised
    with; inference must use the same. ``metrics``: the validation scores (None: never validated);
    ``test_metric``: the primary metric on the held-out test chips."""
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
    recorded = metrics.as_dict() if metrics is not None else {}
    if test_metric is not None:
        recorded[f"test_{metric_name}"] = test_metric
    if task == OBJECT_DETECTION:
        scored = {c.name: c.average_precision for c in metrics.per_class} if metrics is not None else {}
        emd["average_precision_score"] = {n: scored.get(n) for n in names}
    else:
        emd["accuracy"] = metrics.accuracy if metrics is not None else None
        emd["per_class_metrics"] = recorded.get("per_class", {})
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
        "metric": metrics.primary if metrics is not None else None,
        "metrics": recorded,
        "training": training,
        "versions": _versions(),
    }
    return emd


# sane limits: far beyond any model trained here, far below what would exhaust memory when building one
MAX_BANDS = 1024
MAX_CLASSES = 1000
MAX_CLASS_VALUE = 65535  # class rasters are written as 16-bit at most
FIX = "Use a .dlpk or .emd written by Train Using AutoDL for QGIS"


class _Schema:
    """Reads typed values out of one model definition; the first wrong one raises with its key path."""

    def __init__(self, emd: dict, path):
        self.emd, self.path = emd, path

    def fail(self, key: str, problem: str):
        raise InputDataError(f"key '{key}' {problem}", self.path, FIX)

    def get(self, key: str):
        value = self.emd
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                if key.startswith("AutoDL") and not isinstance(self.emd.get("AutoDL"), dict):
                    raise InputDataError("has no 'AutoDL' section: it was not written by autodl_qgis (models "
                                         "written by arcgis.learn cannot be rebuilt without running their code)",
                                         self.path, FIX)
                self.fail(key, "is missing")
            value = value[part]
        return value

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value:
            self.fail(key, "is missing or not a str")
        return value

    def integer(self, key: str, low: int, high: int, value=None) -> int:
        value = self.get(key) if value is None else value
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(key, "is missing or not a int")
        if not low <= value <= high:
            self.fail(key, f"is {value}, outside {low}..{high}")
        return value

    def numbers(self, key: str, length: int, minimum: float = -math.inf) -> list[float]:
        values = self.get(key)
        if not isinstance(values, list) or len(values) != length:
            self.fail(key, f"must be a list of {length} numbers (one per band), not "
                           f"{len(values) if isinstance(values, list) else type(values).__name__}")
        for value in values:
            if (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
                    or value < minimum):
                self.fail(key, f"holds {value!r}, not a finite number" + (f" >= {minimum}" if minimum > -math.inf
                                                                            else ""))
        return values


def validate_model_definition(emd: dict, path: Path) -> list[ClassInfo]:
    """Checks the whole model definition against one schema before anything is built: types, ranges, lengths
    consistent with the bands and classes, finite numbers, sane limits. Returns the classes."""
    from ..networks import NETWORKS

    schema = _Schema(emd, path)
    version = schema.integer("AutoDL.schema_version", 1, 10 ** 6)
    if version > SCHEMA_VERSION:
        raise InputDataError(f"uses model definition version {version}, newer than this plugin understands "
                             f"({SCHEMA_VERSION})", path, "Update the AutoDL for QGIS plugin")
    for key in ("ModelType", "ModelName"):
        schema.text(key)
    model_file = schema.text("ModelFile")
    if Path(model_file).name != model_file or model_file in (".", ".."):
        raise InputDataError(f"'ModelFile' must be a file name beside the .emd, not {model_file!r}", path, FIX)
    network, backbone, task = (schema.text(f"AutoDL.{k}") for k in ("network", "backbone", "task"))
    spec = NETWORKS.get(network)
    if spec is None:
        schema.fail("AutoDL.network", f"names {network!r}, a network this plugin does not know")
    if task != spec.task:
        schema.fail("AutoDL.task", f"is {task!r} but {network} does {spec.task}")
    if backbone not in spec.backbones:
        schema.fail("AutoDL.backbone", f"is {backbone!r}, not a backbone of {network} "
                                       f"({', '.join(spec.backbones)})")
    height = schema.integer("ImageHeight", 1, MAX_CHIP_SIZE)
    width = schema.integer("ImageWidth", 1, MAX_CHIP_SIZE)
    chip = schema.get("AutoDL.chip_size")
    if not isinstance(chip, list) or len(chip) != 2:
        schema.fail("AutoDL.chip_size", "must be a list [height, width]")
    if [schema.integer("AutoDL.chip_size", 1, MAX_CHIP_SIZE, v) for v in chip] != [height, width]:
        schema.fail("AutoDL.chip_size", f"is {chip}, not [ImageHeight, ImageWidth] = {[height, width]}")
    bands = schema.integer("AutoDL.in_channels", 1, MAX_BANDS)
    extract = schema.get("ExtractBands")
    if not isinstance(extract, list) or len(extract) != bands:
        schema.fail("ExtractBands", f"must list the {bands} band(s) the model reads (AutoDL.in_channels)")
    for band in extract:
        schema.integer("ExtractBands", 0, MAX_BANDS - 1, band)
    stats = schema.get("NormalizationStats")
    if not isinstance(stats, dict):
        schema.fail("NormalizationStats", "must be an object of per-band statistics")
    schema.numbers("NormalizationStats.band_mean_values", bands)
    schema.numbers("NormalizationStats.band_std_values", bands, minimum=0.0)
    num_classes = schema.integer("AutoDL.num_classes", 1, MAX_CLASSES)
    entries = schema.get("Classes")
    if not isinstance(entries, list) or len(entries) > MAX_CLASSES:
        schema.fail("Classes", f"must be a list of at most {MAX_CLASSES} classes")
    classes = parse_classes(entries, path)
    if len(classes) != num_classes:
        raise InputDataError(f"declares {len(classes)} classes but AutoDL.num_classes is {num_classes}", path, FIX)
    for c in classes:
        schema.integer("Classes.Value", 1, MAX_CLASS_VALUE, c.value)
    return classes
