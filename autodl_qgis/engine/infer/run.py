"""Using a .dlpk on a raster: detect objects (to polygons in a vector file) or classify pixels (to a GeoTIFF).

Tiles overlap; each tile is trusted only in its core (the overlap halved off its inner edges), which removes seams
in class maps and the duplicates of objects across tile edges; a final non-maximum suppression over the whole
result removes what is left. With ``blend_overlap``, class maps instead sum each tile's class probabilities weighted
by a window falling linearly to the tile's edges over the overlap (the class is the argmax of the sums), so every
pixel of an overlap draws on both tiles. Tiles are read, predicted and written a batch at a time, so memory does not
grow with the raster. Outputs are written under a temporary name and moved into place when complete.
"""
from __future__ import annotations

import math
import os
import shutil
import sqlite3
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from osgeo import gdal, ogr, osr

from ..data.esri import OBJECT_DETECTION, PIXEL_CLASSIFICATION
from ..devices import resolve_device
from .. import validate
from ..validate import MAX_CHIP_SIZE
from ..errors import InputDataError
from ..messages import translate
from ..outputs import RESULT_BYTES, check_output_location
from ..package import open_package
from ..progress import Callbacks, SilentCallbacks, check_cancel
from .backend import class_probabilities, load_model
from .raster import Mask, Tile, Tiling, Window, normaliser, open_raster, region_window

MAX_BATCH_SIZE = 4096  # tiles per forward pass; beyond this a batch cannot fit any device
BLEND_BUFFER_BYTES = 256 * 2 ** 20  # what blended class probabilities may hold (one tile's height of one strip)
# pixels of tiles one forward pass may take (four 1024 px tiles): a network's activations there take a few GB;
# test-time augmentation counts twice (the views run one after another, their sum is held beside)
MAX_BATCH_PIXELS = 2 ** 22

# vector outputs by extension (GeoPackage when there is none)
VECTOR_DRIVERS = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON", ".fgb": "FlatGeobuf"}


@dataclass
class InferenceResult:
    path: Path
    tiles: int
    objects: int | None = None  # detection
    class_pixels: dict | None = None  # classification: pixels per class value written


@dataclass
class _Run:
    """What detection and classification share once the package and the raster are open."""

    package: object
    source: object
    model: object
    device: torch.device
    tiling: Tiling
    mask: Mask | None
    batch_size: int
    tiles_done: int = 0

    @property
    def region(self) -> Window:
        return self.tiling.region

    def batches(self, callbacks: Callbacks, what: str,
                with_valid: bool = False) -> Iterator[tuple[list[Tile], torch.Tensor, list]]:
        """Batches of tiles as normalised tensors on the device (and, ``with_valid``, each tile's NoData mask, or
        None where the raster has none), with cancel checks and progress. Tiles are produced as they are needed,
        never listed; the next batch is read on another thread while the model works on this one (GDAL reads
        without holding the GIL)."""
        normalise = normaliser(self.package.normalisation, len(self.source.bands))
        masked = with_valid and self.source.has_nodata
        total = len(self.tiling)
        tiles = iter(self.tiling)
        row = [None]
        seen = [0]

        def next_batch() -> list[Tile]:
            batch = []
            for tile in tiles:
                seen[0] += 1
                if self.mask is None or self.mask.touches(tile.window):
                    batch.append(tile)
                    if len(batch) == self.batch_size:
                        break
            return batch

        def read(batch: list[Tile]) -> tuple[np.ndarray, list]:
            if batch[0].window.y != row[0]:  # a new row of tiles: GDAL's cache would otherwise keep every block read
                self.source.dataset.FlushCache()
                row[0] = batch[0].window.y
            images = np.stack([normalise(self.source.read(t.window, self.tiling.tile)) for t in batch])
            return images, [self.source.valid(t.window) if masked else None for t in batch]

        with ThreadPoolExecutor(max_workers=1) as reader:
            batch = next_batch()
            pending = reader.submit(read, batch) if batch else None
            while batch:
                check_cancel(callbacks)
                images, valid = pending.result()
                following = next_batch()
                pending = reader.submit(read, following) if following else None
                yield batch, torch.from_numpy(images).to(self.device), valid
                self.tiles_done += len(batch)
                callbacks.progress(seen[0] / total, translate("Inference", "{what}: tile {number} of {total}").format(
                    what=what, number=seen[0], total=total))
                batch = following


def _open(model_path, raster_path, out_path: Path, sidecars, task: str, tile_size, overlap, batch_size, device,
          extent, mask_wkt, callbacks, needed_bytes: int, backend: str = "torch",
          test_time_augmentation: bool | None = None, blend_overlap: bool = False) -> _Run:
    """Opens the package and the raster and checks every option and the output before any work is done.
    ``test_time_augmentation`` None: as the package predicts by default."""
    validate.positive_int("batch_size", batch_size, MAX_BATCH_SIZE)
    if tile_size is not None:
        validate.positive_int("tile_size", tile_size, MAX_CHIP_SIZE)
    if overlap is not None:
        validate.whole_number("overlap", overlap, 0, MAX_CHIP_SIZE - 1)
    if extent is not None:
        validate.extent(extent)
    package = open_package(model_path)
    try:
        if package.task != task:
            wanted = "Detect Objects" if package.task == OBJECT_DETECTION else "Classify Pixels"
            raise InputDataError(f"is a {package.task.replace('_', ' ')} model", model_path,
                                 f"Use it with {wanted} Using Deep Learning")
        source = open_raster(raster_path, package.extract_bands)
        inputs = [model_path, *(source.dataset.GetFileList() or [raster_path])]
        if package.weights_entry is None:
            inputs.append(package.path.parent / package.model_file)
        check_output_location(out_path, needed_bytes, inputs=inputs, sidecars=sidecars)
        if not source.crs_wkt:
            callbacks.log(translate("Inference", "warning: {raster} has no coordinate reference system; the output "
                                    "has the raster's own (pixel or geotransform) coordinates and no CRS").format(
                raster=raster_path))
        region = region_window(source.grid, extent)
        if test_time_augmentation is None:
            test_time_augmentation = package.test_time_augmentation
            if test_time_augmentation:
                callbacks.log(translate("Inference", "predicting each tile over its eight flips and quarter turns, "
                                        "as the model was chosen to (it validated higher so); turn test-time "
                                        "augmentation off for an eighth of the work").format())
        tile, batch_size = _bounded(int(tile_size or package.chip_size[0]), batch_size, region,
                                    backend == "torch", test_time_augmentation, callbacks)
        if overlap is None or (tile_size and tile < tile_size and overlap >= tile):  # the default, or it shrank
            overlap = tile // 4
        strip = blend_strip(len(package.classes) + 1, tile) if blend_overlap else Tiling.strip
        tiling = Tiling(region, tile, int(overlap), strip)
        mask = Mask(mask_wkt, source.grid) if mask_wkt else None
        device = resolve_device(device)
        model = load_model(package, device, backend, tile, test_time_augmentation)
    except BaseException:
        package.close()
        raise
    callbacks.log((translate("Inference", "{network} ({backbone}) on {device}: {tiles} tiles of {tile} px, overlap "
                             "{overlap} px, blended") if blend_overlap else
                   translate("Inference", "{network} ({backbone}) on {device}: {tiles} tiles of {tile} px, overlap "
                             "{overlap} px")).format(network=package.network, backbone=package.backbone,
                                                     device=device, tiles=len(tiling), tile=tile,
                                                     overlap=tiling.overlap))
    return _Run(package, source, model, device, tiling, mask, batch_size)


def _bounded(tile: int, batch_size: int, region: Window, resizable: bool, test_time_augmentation: bool,
             callbacks: Callbacks) -> tuple[int, int]:
    """Tile size and batch size within MAX_BATCH_PIXELS, decided before any work: a tile larger than the area
    would only be padding, so it shrinks to the area (a multiple of 32, the networks' stride) when the network
    takes any size (torch); then the batch shrinks to fit; a tile too large even alone is refused."""
    if resizable:
        tile = min(tile, max(32, -(-max(region.width, region.height) // 32) * 32))
    views = 2 if test_time_augmentation else 1
    largest = math.isqrt(MAX_BATCH_PIXELS // views)
    if tile > largest:
        raise InputDataError(f"tile_size {tile}{' with test-time augmentation' if views > 1 else ''} needs more "
                             f"memory than inference is sized for (at most {largest} px tiles)", None,
                             f"Give --tile-size {largest} or less (the model's chip size is the usual choice)")
    fitting = max(1, MAX_BATCH_PIXELS // (views * tile * tile))
    if fitting < batch_size:
        callbacks.log(translate("Inference", "batches of {fitting} tile(s) of {tile} px instead of {batch_size}, to "
                                "stay within memory").format(fitting=fitting, tile=tile, batch_size=batch_size))
    return tile, min(batch_size, fitting)


def blend_strip(classes: int, tile: int) -> int:
    """Columns per strip when blending, a multiple of 256: the strip's reach (at most a tile wider) times a tile's
    height of ``classes`` float32 sums and a validity byte stays within BLEND_BUFFER_BYTES (Tiling keeps strips at
    least four tiles wide, which only a model of very many classes on large tiles would need to exceed)."""
    columns = BLEND_BUFFER_BYTES // ((4 * classes + 1) * tile) - tile
    return max(256, columns // 256 * 256)


@contextmanager
def _written_in_place(out_path: Path):
    """A path in a temporary folder beside ``out_path``; its files (sidecars included) move into place when the
    block ends without error, and vanish otherwise. An existing output is replaced only then."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_path.name}.", dir=out_path.parent))
    try:
        yield work / out_path.name
        for file in work.iterdir():
            os.replace(file, out_path.parent / file.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _DetectionStore:
    """Detections spilled to an SQLite file as they are found, so memory does not grow with the raster; the final
    non-maximum suppression runs over it with an R-tree of the boxes kept so far (greedy, by descending score,
    per class: what torchvision's batched_nms does in memory)."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE box (id INTEGER PRIMARY KEY, x0 REAL, y0 REAL, x1 REAL, y1 REAL, "
                        "score REAL, label INTEGER)")
        self.db.execute("CREATE VIRTUAL TABLE kept USING rtree(id, x0, x1, y0, y1, +label INTEGER)")

    def add(self, boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor) -> None:
        self.db.executemany("INSERT INTO box (x0, y0, x1, y1, score, label) VALUES (?, ?, ?, ?, ?, ?)",
                            [(*b, s, c) for b, s, c in zip(boxes.tolist(), scores.tolist(), labels.tolist())])

    def suppressed(self, iou_threshold: float) -> Iterator[tuple[list[float], float, int]]:
        """(box, score, label) of the boxes no better-scoring box of their class overlaps by more than
        ``iou_threshold``, best first."""
        rows = self.db.execute("SELECT id, x0, y0, x1, y1, score, label FROM box ORDER BY score DESC, id")
        for id_, x0, y0, x1, y1, score, label in rows:
            area = (x1 - x0) * (y1 - y0)
            overlapping = self.db.execute("SELECT b.x0, b.y0, b.x1, b.y1 FROM kept k JOIN box b ON b.id = k.id "
                                          "WHERE k.label = ? AND k.x0 <= ? AND k.x1 >= ? AND k.y0 <= ? AND "
                                          "k.y1 >= ?", (label, x1, x0, y1, y0))
            if any(_iou(x0, y0, x1, y1, area, *other) > iou_threshold for other in overlapping):
                continue
            self.db.execute("INSERT INTO kept VALUES (?, ?, ?, ?, ?, ?)", (id_, x0, x1, y0, y1, label))
            yield [x0, y0, x1, y1], score, label

    def close(self) -> None:
        self.db.close()


def _iou(x0, y0, x1, y1, area, ox0, oy0, ox1, oy1) -> float:
    w, h = min(x1, ox1) - max(x0, ox0), min(y1, oy1) - max(y0, oy0)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (area + (ox1 - ox0) * (oy1 - oy0) - inter)


def detect_objects(model_path, raster_path, out_path, *, tile_size: int | None = None, overlap: int | None = None,
                   batch_size: int = 4, confidence: float | None = None, nms_threshold: float = 0.3,
                   extent: tuple[float, float, float, float] | None = None, mask_wkt: str | None = None,
                   device: str = "auto", callbacks: Callbacks | None = None,
                   backend: str = "torch", test_time_augmentation: bool | None = None) -> InferenceResult:
    """Objects as polygons with their class name, class value and confidence, in the raster's CRS. ``extent``
    (xmin, ymin, xmax, ymax) and ``mask_wkt`` (polygons) are in the raster's CRS and limit where objects are
    looked for (an object counts where its centre is). Objects are always taken from tiles' cores: keeping whole
    tiles' objects and ranking duplicates by the blending weight at their centre (as ``blend_overlap`` blends class
    maps) measured worse -- boxes cut by a tile's edge survive beside the whole object. ``confidence`` None: the
    package's threshold (package/dlpk.py ``detection_confidence``)."""
    from torchvision.ops import box_convert

    callbacks = callbacks or SilentCallbacks()
    out_path = Path(out_path)
    driver = VECTOR_DRIVERS.get(out_path.suffix.lower())
    if driver is None:
        raise InputDataError("is not a vector format this tool writes", out_path,
                             "End the file name with " + ", ".join(VECTOR_DRIVERS))
    if confidence is not None:
        validate.fraction("confidence", confidence)
    validate.fraction("nms", nms_threshold)
    sidecars = [out_path.with_suffix(s) for s in (".shx", ".dbf", ".prj", ".cpg")] if driver == "ESRI Shapefile" \
        else []
    run = _open(model_path, raster_path, out_path, sidecars, OBJECT_DETECTION, tile_size, overlap, batch_size,
                device, extent, mask_wkt, callbacks, RESULT_BYTES, backend, test_time_augmentation)
    if confidence is None:
        confidence = run.package.detection_confidence
        callbacks.log(translate("Inference", "keeping objects from confidence {confidence:.2f}, the model's "
                                "threshold (where its F1 was highest on its validation chips; 0.5 for models that do "
                                "not record one)").format(confidence=confidence))
    with run.package, _written_in_place(out_path) as tmp:
        store = _DetectionStore(tmp.parent / ".detections.sqlite")
        try:
            limit = torch.tensor([run.source.width, run.source.height] * 2, dtype=torch.float32)
            with torch.no_grad():
                for batch, images, _ in run.batches(callbacks, translate("Inference", "detecting objects").format()):
                    for tile, found in zip(batch, run.model.predict(images)):
                        window = tile.window
                        keep = found["scores"] >= confidence
                        b = found["boxes"][keep].float().cpu() + torch.tensor([window.x, window.y] * 2,
                                                                              dtype=torch.float32)
                        x0, y0, x1, y1 = tile.core
                        cx, cy = box_convert(b, "xyxy", "cxcywh")[:, :2].unbind(1)
                        inside = (cx >= x0) & (cx < x1) & (cy >= y0) & (cy < y1)
                        if run.mask is not None:
                            inside &= torch.tensor([run.mask.contains(x, y) for x, y in zip(cx.tolist(),
                                                                                             cy.tolist())],
                                                   dtype=torch.bool)
                        store.add(b[inside].clamp(min=0).minimum(limit), found["scores"][keep].float().cpu()[inside],
                                  found["labels"][keep].cpu()[inside])
            classes = {c.value: c.name for c in run.package.classes}
            values = [c.value for c in run.package.classes]
            written = _write_detections(tmp, driver, run.source, store.suppressed(nms_threshold), values, classes)
        finally:
            store.close()
            (tmp.parent / ".detections.sqlite").unlink(missing_ok=True)
    callbacks.log(translate("Inference", "{written} objects written to {path}").format(written=written, path=out_path))
    return InferenceResult(out_path, run.tiles_done, objects=written)


def _write_detections(path: Path, driver: str, source, detections, values, classes) -> int:
    """Writes (box, score, label) as they come, committing every so often; returns how many were written."""
    data = ogr.GetDriverByName(driver).CreateDataSource(str(path))
    if data is None:
        raise InputDataError(f"cannot be created by GDAL's {driver} driver", path, "Choose another file name")
    srs = osr.SpatialReference(wkt=source.crs_wkt) if source.crs_wkt else None
    if srs is not None:
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    layer = data.CreateLayer(path.stem, srs, ogr.wkbPolygon)
    for name, kind in (("Class", ogr.OFTString), ("ClassValue", ogr.OFTInteger), ("Confidence", ogr.OFTReal)):
        layer.CreateField(ogr.FieldDefn(name, kind))
    definition = layer.GetLayerDefn()
    written = 0
    layer.StartTransaction()
    for box, score, label in detections:
        value = values[label - 1] if 0 < label <= len(values) else label  # the engine counts classes from 1
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for px, py in ((box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3]), (box[0], box[1])):
            ring.AddPoint_2D(*source.grid.to_map(px, py))
        polygon = ogr.Geometry(ogr.wkbPolygon)
        polygon.AddGeometry(ring)
        feature = ogr.Feature(definition)
        feature.SetField("Class", classes.get(value, str(value)))
        feature.SetField("ClassValue", int(value))
        feature.SetField("Confidence", float(score))
        feature.SetGeometry(polygon)
        layer.CreateFeature(feature)
        written += 1
        if written % 10_000 == 0:
            layer.CommitTransaction()
            layer.StartTransaction()
    layer.CommitTransaction()
    data = None  # closes and flushes the file
    return written


class _BlockRowWriter:
    """Writes one strip of columns of a single-band raster from the tiles' cores, which arrive row of tiles by row
    of tiles: rows are buffered until whole rows of the file's blocks are complete, so each (compressed) block is
    written once and memory holds about one block row of one strip, whatever the raster's size."""

    def __init__(self, dataset, dtype, columns: tuple[int, int]):
        self.dataset, self.band = dataset, dataset.GetRasterBand(1)
        self.block_rows = self.band.GetBlockSize()[1]
        self.x0 = columns[0]
        self.columns = columns
        self.buffer = np.zeros((0, columns[1] - columns[0]), dtype)
        self.top = 0  # file row of the buffer's first row

    def put(self, x: int, y: int, values: np.ndarray) -> None:
        bottom = y - self.top + values.shape[0]
        if bottom > self.buffer.shape[0]:
            grown = np.zeros((bottom, self.buffer.shape[1]), self.buffer.dtype)
            grown[:self.buffer.shape[0]] = self.buffer
            self.buffer = grown
        self.buffer[y - self.top:bottom, x - self.x0:x - self.x0 + values.shape[1]] = values

    def complete_above(self, y: int) -> None:
        """Rows above ``y`` are final: write the whole block rows among them."""
        rows = (y - self.top) // self.block_rows * self.block_rows
        if rows > 0:
            self._write(rows)

    def close(self) -> None:
        if self.buffer.shape[0]:
            self._write(self.buffer.shape[0])
        self.dataset.FlushCache()

    def _write(self, rows: int) -> None:
        self.band.WriteArray(self.buffer[:rows], self.x0, self.top)
        self.dataset.FlushCache()  # to disk now, not held in GDAL's cache
        self.buffer, self.top = self.buffer[rows:].copy(), self.top + rows


class _BlendedStrip:
    """Blended class probabilities of one strip of columns: each tile's, weighted by Tiling.weights, summed over
    the strip's reach for the rows tiles still to come can touch -- at most a tile's height, so the buffer,
    (classes, tile, reach) float32, is the same however tall the raster is. Rows above a new row of tiles are final
    and leave as class indices cropped to the strip's columns (the argmax of the sums: dividing by the summed
    weights would not change it)."""

    def __init__(self, classes: int, tile: int, reach: tuple[int, int], columns: tuple[int, int], top: int,
                 with_valid: bool):
        self.x0, self.columns, self.top = reach[0], columns, top
        self.sums = np.zeros((classes, tile, reach[1] - reach[0]), np.float32)
        self.valid = np.zeros(self.sums.shape[1:], bool) if with_valid else None

    def add(self, window: Window, weighted: np.ndarray, valid: np.ndarray | None) -> None:
        rows = slice(window.y - self.top, window.y - self.top + window.height)
        columns = slice(window.x - self.x0, window.x - self.x0 + window.width)
        self.sums[:, rows, columns] += weighted[:, :window.height, :window.width]
        if valid is not None:
            self.valid[rows, columns] = valid

    def final_above(self, y: int) -> tuple[int, np.ndarray, np.ndarray | None] | None:
        """(first row, class indices, validity or None) of the buffered rows above ``y``, which leave the buffer;
        None when there are none. Rows past the buffer (a whole row of tiles the mask skipped) had no tile."""
        rows = min(y - self.top, self.sums.shape[1])
        if rows <= 0:
            return None
        first, (left, right) = self.top, (self.columns[0] - self.x0, self.columns[1] - self.x0)
        final = (first, self.sums[:, :rows, left:right].argmax(0),
                 None if self.valid is None else self.valid[:rows, left:right].copy())
        height = self.sums.shape[1]
        for start in range(0, height - rows, rows):  # up by ``rows``, in slices that do not overlap (no copy)
            moved = slice(start + rows, min(height, start + 2 * rows))
            self.sums[:, start:moved.stop - rows] = self.sums[:, moved]
            if self.valid is not None:
                self.valid[start:moved.stop - rows] = self.valid[moved]
        self.sums[:, height - rows:] = 0
        if self.valid is not None:
            self.valid[height - rows:] = False
        self.top = y
        return final


def classify_pixels(model_path, raster_path, out_path, *, tile_size: int | None = None, overlap: int | None = None,
                    batch_size: int = 4, extent: tuple[float, float, float, float] | None = None,
                    mask_wkt: str | None = None, device: str = "auto",
                    callbacks: Callbacks | None = None, backend: str = "torch",
                    test_time_augmentation: bool | None = None, blend_overlap: bool = False) -> InferenceResult:
    """A single-band GeoTIFF of class values (0 = NoData) with the classes' colours, on the raster's grid, covering
    ``extent`` (the whole raster by default); pixels outside ``mask_wkt`` or NoData in the raster are NoData. Each
    pixel takes the class of the tile whose core holds it, or with ``blend_overlap`` the argmax of the tiles' class
    probabilities weighted by Tiling.weights (strips are then as wide as BLEND_BUFFER_BYTES allows; the tiles of
    neighbouring strips meet as cores do)."""
    callbacks = callbacks or SilentCallbacks()
    out_path = Path(out_path)
    if out_path.suffix.lower() not in (".tif", ".tiff"):
        raise InputDataError("is not a GeoTIFF file name", out_path, "End the file name with .tif")
    run = _open(model_path, raster_path, out_path, [Path(f"{out_path}.aux.xml")], PIXEL_CLASSIFICATION, tile_size,
                overlap, batch_size, device, extent, mask_wkt, callbacks, RESULT_BYTES, backend,
                test_time_augmentation, blend_overlap)
    with run.package, _written_in_place(out_path) as tmp:
        class_map = _ClassMap(run, tmp, out_path, blend_overlap)
        weights = torch.from_numpy(run.tiling.weights()).to(run.device) if blend_overlap else None
        with torch.no_grad():
            for batch, images, valid in run.batches(callbacks, translate("Inference", "classifying pixels").format(),
                                                       with_valid=True):
                if blend_overlap:
                    predicted = (class_probabilities(run.model, images) * weights).cpu().numpy()
                else:
                    predicted = run.model.predict(images).argmax(1).cpu().numpy()
                for tile, tile_predicted, tile_valid in zip(batch, predicted, valid):
                    class_map.add(tile, tile_predicted, tile_valid)
        class_pixels = class_map.close()
    callbacks.log(translate("Inference", "classified raster written to {path}").format(path=out_path))
    return InferenceResult(out_path, run.tiles_done, class_pixels=class_pixels)


class _ClassMap:
    """The GeoTIFF of class values being written, a strip of columns at a time: each tile's core (or, blending,
    its weighted class probabilities) goes in as the tiles arrive; NoData outside the mask and where the raster is."""

    def __init__(self, run: _Run, path: Path, out_path: Path, blend_overlap: bool):
        self.run, self.region, self.blend_overlap = run, run.region, blend_overlap
        lut = np.array([0] + [c.value for c in run.package.classes])  # index 0 = background / NoData
        dtype, self.numpy_type = (gdal.GDT_Byte, np.uint8) if lut.max() < 256 else (gdal.GDT_UInt16, np.uint16)
        self.lut = lut.astype(self.numpy_type)
        self.counts = np.zeros(len(lut), np.int64)  # pixels per class index written
        self.target = _class_raster(path, out_path, run, dtype)
        self.writer: _BlockRowWriter | None = None
        self.blended: _BlendedStrip | None = None

    def add(self, tile: Tile, predicted: np.ndarray, valid: np.ndarray | None) -> None:
        """A tile's class indices (or weighted probabilities when blending) and its NoData mask (or None)."""
        region = self.region
        columns = (tile.columns[0] - region.x, tile.columns[1] - region.x)
        if self.writer is None or self.writer.columns != columns:  # a new strip of columns
            self._close_strip()
            self.writer = _BlockRowWriter(self.target, self.numpy_type, columns)
            if self.blend_overlap:
                tiling = self.run.tiling
                self.blended = _BlendedStrip(len(self.lut), tiling.tile, tiling.reach(tile.columns), tile.columns,
                                             region.y, self.run.source.has_nodata)
        window = tile.window
        if self.blend_overlap:
            self._put_final_rows(window.y)
            self.blended.add(window, predicted, valid)
            return
        cx0, cy0, cx1, cy1 = tile.core
        self.writer.complete_above(cy0 - region.y)
        core = (slice(cy0 - window.y, cy1 - window.y), slice(cx0 - window.x, cx1 - window.x))
        self._put(cx0, cy0, predicted[core], None if valid is None else valid[core])

    def close(self) -> dict[int, int]:
        """Writes what is left and closes the file; the pixels written per class value."""
        self._close_strip()
        self.target = self.writer = self.blended = None  # closes the file before it moves
        return {int(v): int(n) for v, n in zip(self.lut, self.counts) if n}

    def _close_strip(self) -> None:
        if self.blended is not None:
            self._put_final_rows(self.region.y + self.region.height)
        if self.writer is not None:
            self.writer.close()

    def _put(self, x: int, y: int, kept: np.ndarray, valid: np.ndarray | None) -> None:
        """Class indices whose top left pixel is (x, y) in the raster: NoData outside the mask and where the raster
        is, then written."""
        if self.run.mask is not None:
            kept = np.where(self.run.mask.pixels(x, y, x + kept.shape[1], y + kept.shape[0]), kept, 0)
        if valid is not None:
            kept = np.where(valid, kept, 0)
        self.writer.put(x - self.region.x, y - self.region.y, self.lut[kept])
        self.counts[:] += np.bincount(kept.ravel(), minlength=len(self.lut))

    def _put_final_rows(self, y: int) -> None:
        """Blended rows above ``y`` are final: written, and the block rows they complete."""
        final = self.blended.final_above(y)
        if final is not None:
            self._put(self.blended.columns[0], final[0], final[1], final[2])
        self.writer.complete_above(y - self.region.y)


def _class_raster(path: Path, out_path: Path, run: _Run, dtype) -> gdal.Dataset:
    """The empty, compressed GeoTIFF of class values covering the run's region, with the classes' colours and 0 as
    NoData."""
    region = run.region
    target = gdal.GetDriverByName("GTiff").Create(str(path), region.width, region.height, 1, dtype,
                                                  options=["COMPRESS=LZW", "TILED=YES", "BIGTIFF=IF_SAFER",
                                                           "SPARSE_OK=TRUE"])
    if target is None:
        raise InputDataError(f"cannot be created ({gdal.GetLastErrorMsg()})", out_path,
                             "Choose another file name or folder")
    run.source.grid.window(region.x, region.y, region.width, region.height).georeference(target)
    band = target.GetRasterBand(1)
    table = gdal.ColorTable()
    table.SetColorEntry(0, (0, 0, 0, 0))
    for c in run.package.classes:
        table.SetColorEntry(int(c.value), (*c.color, 255))
    band.SetRasterColorTable(table)
    band.SetNoDataValue(0)
    return target
