"""Graphs of a trained network that run without this plugin: ONNX, for ArcGIS Pro (through the package's own
inference function), QGIS' Deepness plugin and any onnxruntime user.

The graph takes normalised tiles ((x - mean) / std with the package's statistics, bands as in ``ExtractBands``) and
returns, for pixel classification, class probabilities (B, K + 1, H, W), index 0 being background; for object
detection, one image at a time, Deepness' ``YOLO_v5_v7_DEFAULT`` layout (1, D, 5 + K): centre x, centre y, width,
height (pixels of the tile), confidence, then one column per class (1 for the detected class), best first, rows of
zeros after the last object. Non-maximum suppression across tiles is the caller's.

Every export is checked: the graph runs in onnxruntime on an input other than the one it was traced with and must
give what the network gives; otherwise it is dropped and the reason recorded, so no package carries a graph that
answers differently from its weights.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

import numpy as np
import torch
from torch import nn
from torchvision.ops import box_convert

from ..data.esri import OBJECT_DETECTION
from ..errors import InputDataError

if TYPE_CHECKING:
    from .dlpk import ModelPackage

GRAPH_FILE = "model.onnx"
FUNCTION_FILE = "AutoDLInference.py"  # ArcGIS loads the class named like the file
FUNCTION_TEMPLATE = Path(__file__).with_name("arcgis_function.py")  # shipped as text, never imported here
OPSET = 17
MAX_DETECTIONS = 300  # rows of a detection graph's output
PROBABILITY_TOLERANCE = 2e-3  # class probabilities: float rounding (batch norm folded into convolutions) stays below
BOX_TOLERANCE = 1e-2  # pixels


@dataclass(frozen=True)
class GraphExport:
    """What export gave for one network: the files written (names in the package), or why there are none."""

    files: tuple[str, ...]
    formats: tuple[str, ...]  # "onnx"
    seconds: float
    reason: str | None = None  # why nothing could be exported
    max_difference: float | None = None  # graph against network on the check input
    checked_objects: int | None = None  # detection: objects in that comparison

    def as_dict(self) -> dict:
        return {"files": list(self.files), "formats": list(self.formats), "seconds": round(self.seconds, 3),
                "reason": self.reason, "max_difference": self.max_difference,
                "checked_objects": self.checked_objects}

    @classmethod
    def from_dict(cls, record) -> "GraphExport":
        """The export :meth:`as_dict` recorded in a model definition (``AutoDL.exports``); ValueError when
        ``record`` is not one (a package is untrusted data)."""
        if not isinstance(record, dict):
            raise ValueError(f"is {type(record).__name__}, not an object")
        files, formats = record.get("files", []), record.get("formats", [])
        if not all(isinstance(names, list) and all(isinstance(n, str) for n in names) for names in (files, formats)):
            raise ValueError("lists files or formats that are not names")
        reason = record.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise ValueError("has a reason that is not text")
        return cls(tuple(files), tuple(formats), float(record.get("seconds", 0.0)), reason,
                   record.get("max_difference"), record.get("checked_objects"))


class PixelGraph(nn.Module):
    """The network's class scores as probabilities, which is what Deepness' segmentor expects."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.predict(images).float().softmax(1)


class DetectionGraph(nn.Module):
    """One image's detections as a fixed (1, MAX_DETECTIONS, 5 + K) tensor (see the module's docstring)."""

    def __init__(self, model: nn.Module, num_classes: int):
        super().__init__()
        self.model, self.num_classes = model, num_classes

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        found = self.model.predict(images)[0]
        order = found["scores"].float().argsort(descending=True)
        boxes, scores = found["boxes"].float()[order], found["scores"].float()[order]
        labels = found["labels"][order]
        classes = torch.arange(1, self.num_classes + 1, device=labels.device)
        rows = torch.cat([box_convert(boxes, "xyxy", "cxcywh"), scores[:, None],
                          (labels[:, None] == classes[None, :]).float()], dim=1)
        padding = torch.zeros(MAX_DETECTIONS, 5 + self.num_classes, dtype=rows.dtype, device=rows.device)
        return torch.cat([rows, padding])[:MAX_DETECTIONS][None]


def graph_module(model: nn.Module, package: ModelPackage) -> tuple[nn.Module, int]:
    """The module to export for a package's network, and the batch size its graph takes (0 = any)."""
    if package.task == OBJECT_DETECTION:
        return DetectionGraph(model, package.num_classes).eval(), 1
    return PixelGraph(model).eval(), 0


def export_graphs(model: nn.Module, package: ModelPackage, folder: str | os.PathLike) -> GraphExport:
    """Writes the ONNX graph of ``model`` (``package``'s network, in eval mode) into ``folder`` as
    :data:`GRAPH_FILE`. A network that cannot be exported, or whose graph answers differently, gives no file and
    the reason; nothing raises, so packaging goes on."""
    start = time.perf_counter()
    target = Path(folder) / GRAPH_FILE
    try:
        try:
            difference, objects = _export_onnx(model, package, target)
        except GraphMismatch:
            if package.task == OBJECT_DETECTION:
                raise
            # some networks fold the batch size into their reshapes when traced: then one tile at a time
            difference, objects = _export_onnx(model, package, target, batch=1)
    except Exception as exc:  # noqa: BLE001 - any library's export failure is recorded, packaging goes on
        target.unlink(missing_ok=True)
        reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        return GraphExport((), (), time.perf_counter() - start, reason)
    return GraphExport((GRAPH_FILE,), ("onnx",), time.perf_counter() - start, None, difference, objects)


def _check_inputs(package: ModelPackage, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    (height, width), bands = package.chip_size, package.in_channels
    generator = torch.Generator().manual_seed(0)
    traced = torch.randn(batch or 1, bands, height, width, generator=generator)
    # a different batch size where the graph allows it, so a batch size frozen by tracing is caught
    checked = torch.randn(batch or 2, bands, height, width, generator=generator)
    return traced, checked


@contextlib.contextmanager
def _eager_paths_of(library: str | None):
    """OpenMMLab's code takes other paths when it sees an ONNX export in progress: paths written for mmdeploy and
    TensorRT, which import modules mmdet 3 no longer has. Its ordinary paths trace well, so they are taken (the
    check after export proves the graph right)."""
    if library not in ("mmdet", "mmseg"):
        yield
        return
    with mock.patch.object(torch.onnx, "is_in_onnx_export", lambda: False):
        yield


def _pooling_matrix(size: int, bins: int, like: torch.Tensor) -> torch.Tensor:
    """(bins, size): row i averages the inputs adaptive pooling gives bin i, [floor(i size / bins),
    ceil((i + 1) size / bins))."""
    matrix = torch.zeros(bins, size, dtype=like.dtype, device=like.device)
    for i in range(bins):
        start, end = (i * size) // bins, -(-((i + 1) * size) // bins)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


@contextlib.contextmanager
def _exportable_adaptive_pooling():
    """ONNX has no adaptive average pooling whose output size does not divide its input (PSPNet's 3 and 6 bins on
    small tiles): it is the same average written as two matrix products, exported as MatMul."""
    original = torch.nn.functional.adaptive_avg_pool2d

    def pooled(input, output_size):  # noqa: A002 - torch's own argument name
        height, width = (int(v) for v in input.shape[-2:])
        bins = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
        out_height, out_width = (size if b is None else int(b) for b, size in zip(bins, (height, width)))
        if height % out_height == 0 and width % out_width == 0:
            return original(input, output_size)
        rows, columns = _pooling_matrix(height, out_height, input), _pooling_matrix(width, out_width, input)
        return rows @ input @ columns.T

    with mock.patch.object(torch.nn.functional, "adaptive_avg_pool2d", pooled):
        yield


@contextlib.contextmanager
def _all_scores_kept(model: nn.Module):
    """Score thresholds inside a detector (torchvision's ``score_thresh``, OpenMMLab's ``test_cfg.score_thr``) set
    to 0 while it is exported and checked. A graph traced on an input where nothing passes the threshold may have
    no path for objects at all, and a check without objects proves nothing; with every score kept both see
    objects. Consumers threshold the graph's confidences themselves, so nothing they keep changes."""
    saved = []

    def lower(getter, setter):
        saved.append((setter, getter()))
        setter(0.0)

    for module in model.modules():
        if isinstance(getattr(module, "score_thresh", None), float):
            lower(lambda m=module: m.score_thresh, lambda v, m=module: setattr(m, "score_thresh", v))
        configs = [getattr(module, "test_cfg", None)]
        while configs:
            config = configs.pop()
            if not isinstance(config, dict):
                continue
            for key, value in config.items():
                if key == "score_thr" and isinstance(value, float):
                    lower(lambda c=config: c["score_thr"], lambda v, c=config: c.__setitem__("score_thr", v))
                elif isinstance(value, dict):
                    configs.append(value)
    try:
        yield
    finally:
        for setter, value in reversed(saved):
            setter(value)


class GraphMismatch(ValueError):
    """The exported graph does not answer as the network does."""


def _export_onnx(model: nn.Module, package: ModelPackage, target: Path,
                 batch: int | None = None) -> tuple[float, int | None]:
    """Exports (``batch``: the graph's fixed batch size, 0 = any; the task's default when None) and checks; the
    largest difference, and the objects the check compared (detection)."""
    import onnxruntime

    module, default = graph_module(model, package)
    batch = default if batch is None else batch
    detection = package.task == OBJECT_DETECTION
    output = "detections" if detection else "scores"
    traced, checked = _check_inputs(package, batch)
    dynamic = {"images": {0: "batch"}, output: {0: "batch"}} if batch == 0 else None
    with torch.no_grad(), warnings.catch_warnings(), _eager_paths_of(package.library), \
            _all_scores_kept(model), _exportable_adaptive_pooling():
        warnings.simplefilter("ignore")  # tracer warnings name internals of the model libraries
        torch.onnx.export(module, (traced,), str(target), dynamo=False, opset_version=OPSET,
                          input_names=["images"], output_names=[output],
                          dynamic_axes=dynamic)
        expected = module(checked).numpy()
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": checked.numpy()})[0]
    if got.shape != expected.shape:
        raise GraphMismatch(f"the graph gives shape {got.shape} where the network gives {expected.shape}")
    difference = _difference(got, expected, detection)
    tolerance = BOX_TOLERANCE if detection else PROBABILITY_TOLERANCE
    if difference > tolerance:
        raise GraphMismatch(f"the graph differs from the network by {difference:.3g} (tolerance {tolerance}) on an "
                            "input other than the traced one")
    return difference, int((expected[..., 4] > 0).sum()) if detection else None


def _difference(got: np.ndarray, expected: np.ndarray, detection: bool) -> float:
    """Largest difference between graph and network. Detections are compared as sets (objects of near-equal
    confidence may come in either order): each object against the nearest of the same class on the other side."""
    if not detection:
        return float(np.abs(got - expected).max()) if got.size else 0.0
    worst = 0.0
    for a, b in ((got[0], expected[0]), (expected[0], got[0])):
        a, b = a[a[:, 4] > 0], b[b[:, 4] > 0]
        for row in a:
            same = b[(b[:, 5:].argmax(1) == row[5:].argmax())] if len(b) else b
            if not len(same):
                return float("inf")
            worst = max(worst, float(np.abs(same[:, :5] - row[:5]).max(1).min()))
    return worst


def function_source() -> bytes:
    """The ArcGIS Pro inference function shipped in every package."""
    return FUNCTION_TEMPLATE.read_bytes()


def rebuild(package: ModelPackage, state_dict: dict[str, torch.Tensor]) -> nn.Module:
    """The package's network with its weights, at the chip scale it was trained at, in eval mode on the CPU (what
    the graph is exported from: the resampling is part of the graph)."""
    model = package.untrained_network("cpu")
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


def package_files(definition: dict, state_dict: dict[str, torch.Tensor]) -> tuple[dict[str, bytes], GraphExport]:
    """What a package carries beside its weights so that it runs without this plugin: the inference function and,
    when the network exports, its graph; and the record of the export (for the definition). The time to rebuild
    the network from its weights counts in the export's seconds."""
    from .dlpk import ModelPackage

    start = time.perf_counter()
    files = {FUNCTION_FILE: function_source()}
    package = ModelPackage(Path("the new package"), definition, [])  # its definition read as a package's is
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = rebuild(package, state_dict)
    except Exception as exc:  # noqa: BLE001 - a network that cannot be rebuilt here is recorded, not fatal
        reason = f"the network could not be rebuilt from its weights ({type(exc).__name__}: " \
                 f"{' '.join(str(exc).split())[:200]})"
        return files, GraphExport((), (), time.perf_counter() - start, reason)
    with tempfile.TemporaryDirectory(prefix="autodl-export-") as folder:
        result = export_graphs(model, package, folder)
        for name in result.files:
            files[name] = Path(folder, name).read_bytes()
    return files, GraphExport(result.files, result.formats, time.perf_counter() - start, result.reason,
                              result.max_difference, result.checked_objects)


# --- Deepness -----------------------------------------------------------------------------------------------

def deepness_metadata(package: ModelPackage, resolution_cm: float | None = None,
                      tiles_overlap_percent: int = 25) -> dict[str, str]:
    """ONNX metadata Deepness reads (JSON values). Deepness scales 8-bit tiles to [0, 1] before standardising, so
    the package's statistics are divided by 255 (the same (x - mean) / std for any data type, it being linear)."""
    names = [c.name for c in package.classes]
    pixels = package.task != OBJECT_DETECTION
    class_names = {str(i): n for i, n in enumerate((["background"] + names) if pixels else names)}
    mean, std = package.normalisation
    metadata = {
        "model_type": "Segmentor" if pixels else "Detector",
        "class_names": class_names,
        "tile_size": package.chip_size[0],
        "tiles_overlap": int(tiles_overlap_percent),
        "standardization_mean": [v / 255 for v in mean],
        "standardization_std": [max(v, 1e-6) / 255 for v in std],
    }
    if resolution_cm is not None:
        metadata["resolution"] = float(resolution_cm)
    if pixels:
        metadata["seg_thresh"] = 0.5
    else:
        metadata.update({"det_type": "YOLO_v5_v7_DEFAULT", "det_conf": 0.5, "det_iou_thresh": 0.3,
                         "det_remove_overlap": True})
    return {key: json.dumps(value) for key, value in metadata.items()}


def write_deepness_onnx(package, out_path: str | os.PathLike, resolution_cm: float | None = None) -> Path:
    """Writes the package's graph with Deepness' metadata to ``out_path`` (atomically). A package written before
    graphs were packaged is exported now from its weights."""
    import onnx

    out_path = Path(out_path)
    if out_path.suffix.lower() != ".onnx":
        raise InputDataError("is not an .onnx file name", out_path, "End the output file name with .onnx")
    from .. import validate
    from ..outputs import MODEL_BYTES, check_output_location

    if resolution_cm is not None:
        validate.positive("resolution", resolution_cm, 10 ** 6)  # cm per pixel: up to 10 km
    inputs = [package.path] + ([] if package.weights_entry else [package.path.parent / package.model_file])
    check_output_location(out_path, MODEL_BYTES, inputs=inputs)  # e.g. the package itself, named .onnx
    recorded = package.exports
    fix = "Use the model in Detect Objects / Classify Pixels of this plugin, or train a network that exports " \
          "(python -m autodl_qgis networks)"
    if recorded is not None and "onnx" not in recorded.formats:
        raise InputDataError(f"holds a {package.network} network, which cannot be exported to ONNX "
                             f"({recorded.reason})", package.path, fix)
    graph = package.file(GRAPH_FILE)
    with tempfile.TemporaryDirectory(prefix="autodl-export-") as folder:
        if graph is None:  # packaged before graphs were: exported now from the weights
            result = export_graphs(package.build("cpu"), package, folder)
            if result.reason:
                raise InputDataError(f"holds a {package.network} network, which cannot be exported to ONNX "
                                     f"({result.reason})", package.path, fix)
            graph = Path(folder, GRAPH_FILE)
        try:
            model = onnx.load(str(graph))
        except Exception as exc:  # noqa: BLE001 - a damaged graph in an untrusted package
            raise InputDataError(f"has an ONNX graph that cannot be read ({type(exc).__name__})", package.path,
                                 "Export the model again from its .dlpk written by Train Using AutoDL") from None
    del model.metadata_props[:]
    for key, value in deepness_metadata(package, resolution_cm).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    os.close(fd)
    try:
        onnx.save(model, tmp_name)
        os.replace(tmp_name, out_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return out_path
