"""Runs a model trained by AutoDL for QGIS in ArcGIS Pro's Detect Objects / Classify Pixels Using Deep Learning.

This file travels inside every .dlpk as ``AutoDLInference.py``, named by the .emd's ``InferenceFunction``; the engine
of AutoDL for QGIS never imports it. It follows Esri's Python raster function protocol and needs only numpy and
onnxruntime, both in ArcGIS Pro's deep-learning environment: the network is the package's ONNX graph (model.onnx),
and band extraction (``extractBands``), normalisation with the package's statistics and non-maximum suppression
are done here.

Graph contract (see autodl_qgis/engine/package/export.py): input "images", float32 (B, bands, H, W) normalised as
(x - mean) / std. Pixel classification: class probabilities (B, K + 1, H, W), index 0 background. Object detection
(B = 1): (1, D, 5 + K) rows of centre x, centre y, width, height, confidence, one column per class.
"""
import json
import os

import numpy as np


class GeometryType:
    Polygon = 4


MERGE_IOU = 0.6  # as the engine's infer/backend.py: boxes of one class from several views overlapping more are one


def _ious(box, boxes):
    """IoU of one x0 y0 x1 y1 box with each of (N, 4) boxes."""
    x0, y0 = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    x1, y1 = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum((box[2] - box[0]) * (box[3] - box[1]) + area - inter, 1e-9)


def _nms(boxes, scores, labels, threshold):
    """Indices kept by greedy per-class non-maximum suppression (best first)."""
    keep = []
    for label in np.unique(labels):
        index = np.flatnonzero(labels == label)
        index = index[np.argsort(-scores[index], kind="stable")]
        while index.size:
            best, rest = index[0], index[1:]
            keep.append(best)
            index = rest[_ious(boxes[best], boxes[rest]) <= threshold]
    keep = np.asarray(keep, dtype=np.int64)
    return keep[np.argsort(-scores[keep], kind="stable")]


def _fuse(boxes, scores, labels, views, count):
    """Objects from the boxes ``count`` views found, as the engine's infer/backend.py ``fuse_views``: boxes of a
    class overlapping its best box by more than MERGE_IOU are one object, scored by the mean over the views of each
    view's best score for it, its box those boxes averaged by score."""
    keep = _nms(boxes, scores, labels, MERGE_IOU)
    fused_boxes, fused_scores = boxes[keep].copy(), np.zeros(len(keep), np.float32)
    for row, k in enumerate(keep):
        member = (_ious(boxes[k], boxes) > MERGE_IOU) & (labels == labels[k])
        weighted = np.zeros(4)
        for view in range(count):
            index = np.flatnonzero(member & (views == view))
            if index.size:
                best = index[np.argmax(scores[index])]
                fused_scores[row] += scores[best]
                weighted += scores[best] * boxes[best]
        if fused_scores[row] > 0:
            fused_boxes[row] = weighted / fused_scores[row]
    return fused_boxes, fused_scores / count, labels[keep]


class AutoDLInference:
    def __init__(self):
        self.name = "AutoDL for QGIS"
        self.description = "Runs a model trained by Train Using AutoDL for QGIS (ONNX graph, onnxruntime)"

    # --- Python raster function protocol -------------------------------------------------------------------

    def initialize(self, **kwargs):
        model = kwargs["model"]  # the .emd's path (or, from a server, its JSON text with a full ModelFile path)
        if os.path.isfile(model):
            with open(model, encoding="utf-8") as file:
                self.emd = json.load(file)
            folder = os.path.dirname(os.path.abspath(model))
        else:
            self.emd = json.loads(model)
            folder = os.path.dirname(self.emd.get("ModelFile", ""))
        info = self.emd["AutoDL"]
        exports = info.get("exports") or {}
        if "onnx" not in exports.get("formats", []):
            raise RuntimeError(
                "This {} model carries no ONNX graph ({}), so ArcGIS Pro cannot run it. Run it in QGIS with AutoDL "
                "for QGIS (Detect Objects / Classify Pixels Using Deep Learning), or train a network that exports "
                "(python -m autodl_qgis networks)".format(
                    self.emd.get("ModelName"), exports.get("reason") or "it was packaged without one"))
        import onnxruntime

        available = onnxruntime.get_available_providers()
        device = str(kwargs.get("device", ""))
        wanted = ["CUDAExecutionProvider"] if device != "-1" and "CUDAExecutionProvider" in available else []
        self.session = onnxruntime.InferenceSession(os.path.join(folder, exports["files"][0]),
                                                    providers=wanted + ["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.one_at_a_time = self.session.get_inputs()[0].shape[0] == 1  # graph traced for one tile
        self.detection = info["task"] == "object_detection"
        self.height, self.width = int(self.emd["ImageHeight"]), int(self.emd["ImageWidth"])
        bands = int(info["in_channels"])
        stats = self.emd["NormalizationStats"]
        self.mean = np.asarray(stats["band_mean_values"][:bands], np.float32).reshape(-1, 1, 1)
        self.std = np.maximum(np.asarray(stats["band_std_values"][:bands], np.float32), 1e-6).reshape(-1, 1, 1)
        self.classes = self.emd["Classes"]
        self.values = np.asarray([0] + [c["Value"] for c in self.classes])  # index 0 = background / NoData
        self.padding = self.height // 8  # our own tools' default overlap (a quarter tile) split over two edges
        self.batch_size = 4
        training = info.get("training") or {}
        # the defaults the search chose: the threshold of the best validation F1 (0.5 where not recorded), the eight
        # views where it chose them
        confidence = training.get("detection_confidence")
        self.threshold = float(confidence) if type(confidence) in (int, float) and 0 <= confidence <= 1 else 0.5
        self.nms_overlap = 0.3
        self.test_time_augmentation = training.get("test_time_augmentation") is True

    def getParameterInfo(self):
        parameters = [
            {"name": "raster", "dataType": "raster", "required": True, "displayName": "Raster",
             "description": "Input raster"},
            {"name": "model", "dataType": "string", "required": True, "displayName": "Input Model Definition (EMD)",
             "description": "The .emd of the package"},
            {"name": "padding", "dataType": "numeric", "value": self.padding, "required": False,
             "displayName": "Padding", "description": "Pixels of context read on each side of a block"},
            {"name": "batch_size", "dataType": "numeric", "value": self.batch_size, "required": False,
             "displayName": "Batch size", "description": "Tiles predicted at once"},
            {"name": "test_time_augmentation", "dataType": "string", "value": str(self.test_time_augmentation),
             "required": False,
             "displayName": "Test time augmentation",
             "description": "Average the eight flips and quarter turns of each tile (pixel classification) or "
                            "merge their boxes (object detection): slower, often more accurate"},
        ]
        if self.detection:
            parameters += [
                {"name": "threshold", "dataType": "numeric", "value": self.threshold, "required": False,
                 "displayName": "Confidence threshold", "description": "Objects below this confidence are dropped"},
                {"name": "nms_overlap", "dataType": "numeric", "value": self.nms_overlap, "required": False,
                 "displayName": "NMS overlap", "description": "Boxes of a class overlapping a better one by more "
                                                              "than this intersection over union are dropped"},
            ]
        return parameters

    def getConfiguration(self, **scalars):
        self.padding = int(scalars.get("padding", self.padding))
        self.batch_size = int(scalars.get("batch_size", self.batch_size))
        self.threshold = float(scalars.get("threshold", self.threshold))
        self.nms_overlap = float(scalars.get("nms_overlap", self.nms_overlap))
        self.test_time_augmentation = str(scalars.get("test_time_augmentation",
                                                      self.test_time_augmentation)).lower() == "true"
        if not 0 <= 2 * self.padding < min(self.height, self.width):
            raise ValueError("padding must be at least 0 and less than half the model's {} px tiles"
                             .format(self.height))
        configuration = {
            "extractBands": tuple(self.emd["ExtractBands"]),
            "padding": self.padding,
            "tx": self.width - 2 * self.padding,
            "ty": self.height - 2 * self.padding,
            "inputMask": True,
        }
        if not self.detection:
            configuration["inheritProperties"] = 2 | 4 | 8  # keep the raster's NoData, size and resampling
            configuration["invalidateProperties"] = 2 | 4 | 8  # but not its statistics, histogram, key metadata
        return configuration

    def updateRasterInfo(self, **kwargs):
        kwargs["output_info"]["bandCount"] = 1
        kwargs["output_info"]["pixelType"] = "u1" if self.values.max() < 256 else "u2"
        kwargs["output_info"]["noData"] = np.array([0])
        table = {"features": [{"attributes": {"OID": i + 1, "Value": c["Value"], "Class": c["Name"],
                                              "Red": c["Color"][0], "Green": c["Color"][1], "Blue": c["Color"][2]}}
                              for i, c in enumerate(self.classes)]}
        kwargs["output_info"]["rasterAttributeTable"] = json.dumps(table)
        return kwargs

    def updatePixels(self, tlc, shape, props, **pixelBlocks):
        pixels = np.asarray(pixelBlocks["raster_pixels"])
        blocks = pixels if pixels.ndim == 4 else pixels[None]
        out_height, out_width = shape[-2], shape[-1]
        results = []
        for start in range(0, len(blocks), max(self.batch_size, 1)):
            batch = blocks[start:start + max(self.batch_size, 1)]
            for block, probabilities in zip(batch, self.probabilities(batch)):
                classes = self.values[probabilities.argmax(0)]
                top = (block.shape[-2] - out_height) // 2  # the block carries `padding` pixels on each side
                left = (block.shape[-1] - out_width) // 2
                results.append(classes[top:top + out_height, left:left + out_width])
        output = np.stack(results) if pixels.ndim == 4 else results[0][None]
        pixelBlocks["output_pixels"] = output.astype(props.get("pixelType", "u1") if props else "u1", copy=False)
        return pixelBlocks

    def getFields(self):
        return json.dumps({"fields": [
            {"name": "OID", "type": "esriFieldTypeOID", "alias": "OID"},
            {"name": "Class", "type": "esriFieldTypeString", "alias": "Class"},
            {"name": "ClassValue", "type": "esriFieldTypeInteger", "alias": "ClassValue"},
            {"name": "Confidence", "type": "esriFieldTypeDouble", "alias": "Confidence"},
            {"name": "Shape", "type": "esriFieldTypeGeometry", "alias": "Shape"},
        ]})

    def getGeometryType(self):
        return GeometryType.Polygon

    def vectorize(self, **pixelBlocks):
        """Objects whose centre lies in the block without its padding, as polygons in the block's pixel
        coordinates (x right, y down; ArcGIS maps them)."""
        block = np.asarray(pixelBlocks["raster_pixels"])
        boxes, scores, labels = self.detect(block)
        height, width = block.shape[-2:]
        p = self.padding
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        inside = (cx >= p) & (cx < width - p) & (cy >= p) & (cy < height - p)
        boxes, scores, labels = boxes[inside], scores[inside], labels[inside]
        features = []
        for i, (box, score, label) in enumerate(zip(boxes.tolist(), scores.tolist(), labels.tolist())):
            x0, y0, x1, y1 = box
            cls = self.classes[label - 1]
            features.append({"attributes": {"OID": i + 1, "Class": cls["Name"], "ClassValue": cls["Value"],
                                            "Confidence": score},
                             "geometry": {"rings": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}})
        vectors = {"geometryType": "esriGeometryPolygon", "fields": json.loads(self.getFields())["fields"],
                   "features": features}
        return {"output_vectors": json.dumps(vectors)}

    # --- the model ---------------------------------------------------------------------------------------------

    def _normalised(self, blocks):
        """(B, bands, H, W) float32 normalised, zero-padded (raw 0) up to the graph's tile size."""
        blocks = np.asarray(blocks, np.float32)
        height, width = blocks.shape[-2:]
        if height > self.height or width > self.width:
            raise ValueError("blocks of {}x{} px are larger than the model's {}x{} px tiles: lower the padding or "
                             "the tile size".format(width, height, self.width, self.height))
        tiles = np.zeros(blocks.shape[:2] + (self.height, self.width), np.float32)
        tiles[:, :, :height, :width] = blocks
        return (tiles - self.mean) / self.std

    def _run(self, images):
        if self.one_at_a_time and len(images) > 1:
            return np.concatenate([self._run(image[None]) for image in images])
        return self.session.run(None, {self.input_name: np.ascontiguousarray(images, np.float32)})[0]

    def probabilities(self, blocks):
        """(B, K + 1, h, w) class probabilities of (B, bands, h, w) blocks of raw pixels."""
        height, width = np.asarray(blocks).shape[-2:]
        images = self._normalised(blocks)
        if not self.test_time_augmentation:
            return self._run(images)[:, :, :height, :width]
        total = 0
        for turns in range(4):  # the eight symmetries of the square: four quarter turns, each also mirrored
            for flip in (False, True):
                view = np.rot90(images, turns, axes=(2, 3))
                view = view[..., ::-1] if flip else view
                scores = self._run(view)
                scores = scores[..., ::-1] if flip else scores
                total = total + np.rot90(scores, -turns, axes=(2, 3))
        return (total / 8)[:, :, :height, :width]

    def detect(self, block):
        """Boxes (N, 4) x0 y0 x1 y1 in the block's pixels, scores (N,), labels (N,) in 1..K of one
        (bands, h, w) block, thresholded and suppressed."""
        images = self._normalised(np.asarray(block)[None])
        views = [(0, False)]
        if self.test_time_augmentation:
            views = [(turns, flip) for turns in range(4) for flip in (False, True)]
        boxes, scores, labels, found_in = [], [], [], []
        for index, (turns, flip) in enumerate(views):
            view = np.rot90(images, turns, axes=(2, 3))
            view = view[..., ::-1] if flip else view
            rows = self._run(view)[0]
            rows = rows[rows[:, 4] > 0]  # padding rows have confidence 0
            b = np.stack([rows[:, 0] - rows[:, 2] / 2, rows[:, 1] - rows[:, 3] / 2,
                          rows[:, 0] + rows[:, 2] / 2, rows[:, 1] + rows[:, 3] / 2], axis=1)
            boxes.append(self._unview(b, turns, flip))
            scores.append(rows[:, 4])
            labels.append(rows[:, 5:].argmax(1) + 1)
            found_in.append(np.full(len(rows), index))
        boxes, scores, labels = np.concatenate(boxes), np.concatenate(scores), np.concatenate(labels)
        if len(views) > 1:  # the threshold applies to the fused scores, as the engine's inference applies it
            boxes, scores, labels = _fuse(boxes, scores, labels, np.concatenate(found_in), len(views))
        confident = scores >= self.threshold
        boxes, scores, labels = boxes[confident], scores[confident], labels[confident]
        keep = _nms(boxes, scores, labels, self.nms_overlap)
        height, width = np.asarray(block).shape[-2:]
        boxes = np.clip(boxes[keep], 0, [width, height, width, height])
        return boxes, scores[keep], labels[keep]

    def _unview(self, boxes, turns, flip):
        """Boxes found on a flipped / turned square tile, back in the tile's own pixels."""
        size = self.width
        x0, y0, x1, y1 = boxes.T
        if flip:
            x0, x1 = size - x1, size - x0
        for _ in range(turns):  # undo one counter-clockwise quarter turn: (x, y) -> (size - y, x)
            x0, y0, x1, y1 = size - y1, x0, size - y0, x1
        return np.stack([x0, y0, x1, y1], axis=1)
