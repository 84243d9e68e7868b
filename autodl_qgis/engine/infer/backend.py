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

    gives_probabilities = True  # the graph ends with a softmax

    def __init__(self, package, device: torch.device):
        import onnxruntime

        from ..package.export import GRAPH_FILE

        exports = package.exports
        if exports is None or "onnx" not in exports.formats:
            why = (exports.reason if exports is not None else None) or "packaged without one"
            raise InputDataError(f"carries no ONNX graph ({why})",
                                 package.path, "Run it with the torch backend (the default)")
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
        graph = package.file(GRAPH_FILE)  # that entry only: nothing else of the package is extracted
        if graph is None:
            raise InputDataError(f"carries no {GRAPH_FILE}", package.path,
                                 "Run it with the torch backend (the default)")
        try:
            self.session = onnxruntime.InferenceSession(str(graph), providers=providers)
        except Exception as exc:  # noqa: BLE001 - a damaged graph in an untrusted package
            raise InputDataError(f"has an ONNX graph onnxruntime cannot load ({type(exc).__name__}: "
                                 f"{' '.join(str(exc).split())[:200]})", package.path,
                                 "Run it with the torch backend (the default)") from None
        self.path = package.path
        self.detection = package.task == OBJECT_DETECTION
        graph_input = self._check_signature(package)
        self.input_name = graph_input.name
        self.tile = tuple(graph_input.shape[-2:])
        self.one_at_a_time = graph_input.shape[0] == 1  # a graph traced for one tile (detection, some networks)
        self.device = device

    def _check_signature(self, package):
        """The graph takes one (B, bands, H, W) float tile batch and gives (B, K + 1, H, W) probabilities or
        (1, D, 5 + K) detections (package/export.py); anything else is refused before any work."""
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        bands, classes = package.in_channels, len(package.classes)
        wanted_out = f"(1, D, {5 + classes})" if self.detection else f"(B, {classes + 1}, H, W)"
        shape = inputs[0].shape if len(inputs) == 1 else []
        output = outputs[0].shape if outputs else []
        fits_input = len(shape) == 4 and shape[1] == bands and all(isinstance(d, int) and d > 0 for d in shape[2:]) \
            and shape[2] == shape[3] and inputs[0].type == "tensor(float)"
        # named (symbolic) dimensions are decided when it runs
        fits_output = (len(output) == 3 and (output[2] == 5 + classes or isinstance(output[2], str))) \
            if self.detection else (len(output) == 4 and (output[1] == classes + 1 or isinstance(output[1], str)))
        if not (fits_input and fits_output):
            got = ", ".join(f"{i.name} {i.shape}" for i in inputs) or "none"
            raise InputDataError(f"has an ONNX graph that does not fit the model: inputs {got}, output "
                                 f"{output or 'none'} (expected one float input (B, {bands}, N, N) and output "
                                 f"{wanted_out})", package.path, "Run it with the torch backend (the default)")
        return inputs[0]

    def check_tile(self, tile: int, path) -> None:
        if (tile, tile) != self.tile:
            raise InputDataError(f"has an ONNX graph for {self.tile[0]} px tiles, not {tile}", path,
                                 f"Use tile size {self.tile[0]} (the default) or the torch backend")

    def _run(self, images: np.ndarray) -> np.ndarray:
        if self.one_at_a_time and len(images) > 1:
            return np.concatenate([self._run(image[None]) for image in images])
        try:
            return self.session.run(None, {self.input_name: np.ascontiguousarray(images, np.float32)})[0]
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors (memory, a node failing) from a foreign graph
            raise InputDataError(f"has an ONNX graph that failed while running ({type(exc).__name__}: "
                                 f"{' '.join(str(exc).split())[:200]})", self.path,
                                 "Run it with the torch backend (the default)") from None

    def predict(self, images: torch.Tensor):
        from torchvision.ops import box_convert

        batch = images.detach().float().cpu().numpy()
        if not self.detection:
            return torch.from_numpy(self._run(batch)).to(self.device)
        found = []
        for image in batch:
            rows = self._run(image[None])[0]
            rows = rows[rows[:, 4] > 0]  # padding rows have confidence 0
            boxes = box_convert(torch.from_numpy(rows[:, :4].copy()), "cxcywh", "xyxy")
            found.append({"boxes": boxes, "scores": torch.from_numpy(rows[:, 4].copy()),
                          "labels": torch.from_numpy(rows[:, 5:].argmax(1) + 1)})
        return found


VIEWS = [(turns, flip) for turns in range(4) for flip in (False, True)]  # the eight symmetries of a square
# boxes of one class found in several views that overlap more than this are one object: over six palm packages
# 0.4 / 0.5 / 0.6 / 0.7 scored test AP50 -0.006 / 0 / +0.011 / -0.019 against 0.5 (0.6: +0.005 on their own
# held-out chips), docs/benchmarks.md *How the views are fused*
MERGE_IOU = 0.6


def _view(images: torch.Tensor, turns: int, flip: bool) -> torch.Tensor:
    images = torch.rot90(images, turns, dims=(2, 3))
    return images.flip(3) if flip else images


def _unview_boxes(boxes: torch.Tensor, size: int, turns: int, flip: bool) -> torch.Tensor:
    """Boxes found on a viewed square tile, back in the tile's own pixels."""
    x0, y0, x1, y1 = boxes.unbind(1)
    if flip:
        x0, x1 = size - x1, size - x0
    for _ in range(turns):  # undo a quarter turn: rot90 moved (x, y) to (y, size - x)
        x0, y0, x1, y1 = size - y1, x0, size - y0, x1
    return torch.stack([x0, y0, x1, y1], 1)


def class_probabilities(model, images: torch.Tensor) -> torch.Tensor:
    """(B, K + 1, H, W) class probabilities of a pixel model: its scores through a softmax, unless it gives
    probabilities already."""
    scores = model.predict(images).float()
    return scores if model.gives_probabilities else scores.softmax(1)


class TestTimeAugmented:
    """A model's ``predict`` over the eight flips and quarter turns of each tile (ArcGIS'
    test_time_augmentation): class probabilities averaged, or boxes fused over the views (``fuse_views``). Eight
    times the work."""

    def __init__(self, model, detection: bool):
        self.model, self.detection = model, detection
        self.gives_probabilities = not detection

    def eval(self) -> "TestTimeAugmented":
        self.model.eval()
        return self

    def predict(self, images: torch.Tensor):
        if images.shape[-1] != images.shape[-2]:
            raise InputDataError(f"test-time augmentation needs square tiles, not {images.shape[-1]} x "
                                 f"{images.shape[-2]}", None, "Leave the tile size at the model's chip size")
        if not self.detection:
            total = 0
            for turns, flip in VIEWS:
                scores = class_probabilities(self.model, _view(images, turns, flip))
                total = total + torch.rot90(scores.flip(3) if flip else scores, -turns, dims=(2, 3))
            return total / len(VIEWS)
        pooled = [[] for _ in range(len(images))]
        for turns, flip in VIEWS:
            for i, found in enumerate(self.model.predict(_view(images, turns, flip))):
                pooled[i].append({**found, "boxes": _unview_boxes(found["boxes"].float(), images.shape[-1], turns,
                                                                  flip)})
        return [fuse_views(views) for views in pooled]


def fuse_views(views: list[dict]) -> dict:
    """One tile's objects from the boxes each of its views found (in the tile's pixels): boxes of a class that
    overlap its best-scoring box by more than MERGE_IOU are one object, scored by the mean over the views of each
    view's best score for it (0 where a view missed it), its box those boxes averaged by score (as weighted boxes
    fusion does, Solovyev et al. 2021). An object one view alone finds keeps an eighth of its score. Keeping the best
    box of each group instead lets every view's false alarms through at full score: over 31 palm packages (SSD, 10
    and 30 minutes) the views so merged scored test AP50 0.377 / 0.497 against 0.462 / 0.509 fused, 0.386 / 0.444
    predicting once."""
    from torchvision.ops import batched_nms, box_iou

    boxes = torch.cat([v["boxes"].float() for v in views])
    scores = torch.cat([v["scores"].float() for v in views])
    labels = torch.cat([v["labels"] for v in views])
    view = torch.cat([torch.full((len(v["scores"]),), i) for i, v in enumerate(views)])
    keep = batched_nms(boxes, scores, labels, MERGE_IOU)
    member = (box_iou(boxes[keep], boxes) > MERGE_IOU) & (labels[keep, None] == labels[None])
    total, weighted = scores.new_zeros(len(keep)), boxes.new_zeros(len(keep), 4)
    for i in range(len(views)):
        mine = view == i
        if mine.any():
            best, at = torch.where(member[:, mine], scores[mine], 0.0).max(1)
            total += best
            weighted += best[:, None] * boxes[mine][at]
    fused = torch.where(total[:, None] > 0, weighted / total.clamp_min(1e-12)[:, None], boxes[keep])
    return {"boxes": fused, "scores": total / len(views), "labels": labels[keep]}


def load_model(package, device: torch.device, backend: str, tile: int, test_time_augmentation: bool = False):
    """The network of ``package`` on ``device`` for tiles of ``tile`` px, run by ``backend``, over the eight views
    of each tile with ``test_time_augmentation`` (callers resolve the package's default, which they also report)."""
    if backend not in BACKENDS:
        raise InputDataError(f"unknown inference backend {backend!r}", None, "Choose " + " or ".join(BACKENDS))
    if backend == "torch":
        model = package.build(device)
    else:
        model = OnnxModel(package, device)
        model.check_tile(tile, package.path)
    return TestTimeAugmented(model, package.task == OBJECT_DETECTION) if test_time_augmentation else model
