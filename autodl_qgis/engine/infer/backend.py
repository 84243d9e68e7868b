"""What runs the network during inference: the package's weights in torch (our own loader), or the package's ONNX
graph in onnxruntime. Both answer ``predict(images)`` as the network adapters do, so tiling, cropping and writing
are the same whichever runs."""
from __future__ import annotations

import numpy as np
import torch

from ..data.esri import OBJECT_DETECTION
from ..errors import InputDataError

BACKENDS = ("torch", "onnxruntime")


class OnnxModel:
    """The package's ONNX graph behind the adapters' ``predict``: class probabilities (B, K + 1, H, W) for pixel
    classification, a list of ``{"boxes", "scores", "labels"}`` for object detection (the graph takes one tile at a
    time; see package/export.py for its layout)."""

    def __init__(self, package, device: torch.device):
        import onnxruntime

        from ..package.export import GRAPH_FILE

        exports = package.info.get("exports") or {}
        if "onnx" not in exports.get("formats", []):
            raise InputDataError(f"carries no ONNX graph ({exports.get('reason') or 'packaged without one'})",
                                 package.path, "Run it with the torch backend (the default)")
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
        try:
            self.session = onnxruntime.InferenceSession(str(package.folder / GRAPH_FILE), providers=providers)
        except Exception as exc:  # noqa: BLE001 - a damaged graph in an untrusted package
            raise InputDataError(f"has an ONNX graph onnxruntime cannot load ({type(exc).__name__}: "
                                 f"{' '.join(str(exc).split())[:200]})", package.path,
                                 "Run it with the torch backend (the default)") from None
        graph_input = self.session.get_inputs()[0]
        self.input_name = graph_input.name
        self.tile = tuple(graph_input.shape[-2:])
        self.one_at_a_time = graph_input.shape[0] == 1  # a graph traced for one tile (detection, some networks)
        self.detection = package.task == OBJECT_DETECTION
        self.device = device

    def check_tile(self, tile: int, path) -> None:
        if (tile, tile) != self.tile:
            raise InputDataError(f"has an ONNX graph for {self.tile[0]} px tiles, not {tile}", path,
                                 f"Use tile size {self.tile[0]} (the default) or the torch backend")

    def _run(self, images: np.ndarray) -> np.ndarray:
        if self.one_at_a_time and len(images) > 1:
            return np.concatenate([self._run(image[None]) for image in images])
        return self.session.run(None, {self.input_name: np.ascontiguousarray(images, np.float32)})[0]

    def predict(self, images: torch.Tensor):
        batch = images.detach().float().cpu().numpy()
        if not self.detection:
            return torch.from_numpy(self._run(batch)).to(self.device)
        found = []
        for image in batch:
            rows = self._run(image[None])[0]
            rows = rows[rows[:, 4] > 0]  # padding rows have confidence 0
            boxes = np.stack([rows[:, 0] - rows[:, 2] / 2, rows[:, 1] - rows[:, 3] / 2,
                              rows[:, 0] + rows[:, 2] / 2, rows[:, 1] + rows[:, 3] / 2], axis=1)
            found.append({"boxes": torch.from_numpy(boxes), "scores": torch.from_numpy(rows[:, 4].copy()),
                          "labels": torch.from_numpy(rows[:, 5:].argmax(1) + 1)})
        return found


def load_model(package, device: torch.device, backend: str, tile: int):
    """The network of ``package`` on ``device`` for tiles of ``tile`` px, run by ``backend``."""
    if backend not in BACKENDS:
        raise InputDataError(f"unknown inference backend {backend!r}", None, "Choose " + " or ".join(BACKENDS))
    if backend == "torch":
        return package.build(device)
    model = OnnxModel(package, device)
    model.check_tile(tile, package.path)
    return model
