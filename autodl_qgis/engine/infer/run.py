"""Using a .dlpk on a raster: detect objects (to polygons in a vector file) or classify pixels (to a GeoTIFF).

Tiles overlap; each tile is trusted only in its core (the overlap halved off its inner edges), which removes seams
in class maps and the duplicates of objects across tile edges; a final non-maximum suppression over the whole
result removes what is left. Tiles are read, predicted and written a batch at a time, so memory does not grow with
the raster. Outputs are written under a temporary name and moved into place when complete.
"""
from __future__ import annotations

import os
import shutil
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
from ..errors import InputDataError
from ..package import open_package
from ..progress import Callbacks, SilentCallbacks, check_cancel
from .raster import Mask, Window, core, normaliser, open_raster, pixel_to_map, region_window, tile_windows

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
    tile: int
    overlap: int
    region: Window
    windows: list[Window]
    mask: Mask | None

    def batches(self, batch_size: int, callbacks: Callbacks, what: str) -> Iterator[tuple[list[Window], torch.Tensor]]:
        """Batches of tiles as normalised tensors on the device, with cancel checks and progress. The next batch is
        read on another thread while the model works on this one (GDAL reads without holding the GIL)."""
        normalise = normaliser(self.package.emd["NormalizationStats"], len(self.source.bands))
        batches = [self.windows[start:start + batch_size] for start in range(0, len(self.windows), batch_size)]
        row = [batches[0][0].y] if batches else []

        def read(batch: list[Window]) -> np.ndarray:
            if batch[0].y != row[0]:  # a new row of tiles: GDAL's cache would otherwise keep every block read
                self.source.dataset.FlushCache()
                row[0] = batch[0].y
            return np.stack([normalise(self.source.read(w, self.tile)) for w in batch])

        done = 0
        with ThreadPoolExecutor(max_workers=1) as reader:
            pending = reader.submit(read, batches[0]) if batches else None
            for i, batch in enumerate(batches):
                check_cancel(callbacks)
                images = pending.result()
                pending = reader.submit(read, batches[i + 1]) if i + 1 < len(batches) else None
                yield batch, torch.from_numpy(images).to(self.device)
                done += len(batch)
                callbacks.progress(done / len(self.windows), f"{what}: tile {done} of {len(self.windows)}")


def _open(model_path, raster_path, task: str, tile_size, overlap, device, extent, mask_wkt, callbacks) -> _Run:
    package = open_package(model_path)
    try:
        if package.task != task:
            wanted = "Detect Objects" if package.task == OBJECT_DETECTION else "Classify Pixels"
            raise InputDataError(f"is a {package.task.replace('_', ' ')} model", model_path,
                                 f"Use it with {wanted} Using Deep Learning")
        source = open_raster(raster_path, package.emd["ExtractBands"])
        if not source.crs_wkt:
            callbacks.log(f"warning: {raster_path} has no coordinate reference system; the output has the raster's "
                          "own (pixel or geotransform) coordinates and no CRS")
        tile = int(tile_size or package.emd["ImageHeight"])
        overlap = int(tile // 4 if overlap is None else overlap)
        region = region_window(source.geotransform, source.width, source.height, extent)
        mask = Mask(mask_wkt, source.geotransform) if mask_wkt else None
        windows = [w for w in tile_windows(region, tile, overlap) if mask is None or mask.touches(w)]
        device = resolve_device(device)
        model = package.build(device)
    except BaseException:
        package.close()
        raise
    callbacks.log(f"{package.network} ({package.backbone}) on {device}: {len(windows)} tiles of {tile} px, "
                  f"overlap {overlap} px")
    return _Run(package, source, model, device, tile, overlap, region, windows, mask)


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


def detect_objects(model_path, raster_path, out_path, *, tile_size: int | None = None, overlap: int | None = None,
                   batch_size: int = 4, confidence: float = 0.5, nms_threshold: float = 0.3,
                   extent: tuple[float, float, float, float] | None = None, mask_wkt: str | None = None,
                   device: str = "auto", callbacks: Callbacks | None = None) -> InferenceResult:
    """Objects as polygons with their class name, class value and confidence, in the raster's CRS. ``extent``
    (xmin, ymin, xmax, ymax) and ``mask_wkt`` (polygons) are in the raster's CRS and limit where objects are
    looked for (an object counts where its centre is)."""
    from torchvision.ops import batched_nms

    callbacks = callbacks or SilentCallbacks()
    out_path = Path(out_path)
    driver = VECTOR_DRIVERS.get(out_path.suffix.lower())
    if driver is None:
        raise InputDataError("is not a vector format this tool writes", out_path,
                             "End the file name with " + ", ".join(VECTOR_DRIVERS))
    run = _open(model_path, raster_path, OBJECT_DETECTION, tile_size, overlap, device, extent, mask_wkt, callbacks)
    boxes, scores, labels = [], [], []
    with run.package, torch.no_grad():
        for batch, images in run.batches(batch_size, callbacks, "detecting objects"):
            for window, found in zip(batch, run.model.predict(images)):
                keep = found["scores"] >= confidence
                b = found["boxes"][keep].float().cpu() + torch.tensor([window.x, window.y] * 2, dtype=torch.float32)
                x0, y0, x1, y1 = core(window, run.overlap, run.region)
                cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
                inside = (cx >= x0) & (cx < x1) & (cy >= y0) & (cy < y1)
                if run.mask is not None:
                    inside &= torch.tensor([run.mask.contains(x, y) for x, y in zip(cx.tolist(), cy.tolist())],
                                           dtype=torch.bool)
                limit = torch.tensor([run.source.width, run.source.height] * 2, dtype=torch.float32)
                boxes.append(b[inside].clamp(min=0).minimum(limit))
                scores.append(found["scores"][keep].float().cpu()[inside])
                labels.append(found["labels"][keep].cpu()[inside])
        classes = {c.value: c.name for c in run.package.classes}
        values = [c.value for c in run.package.classes]
    all_boxes = torch.cat(boxes) if boxes else torch.zeros(0, 4)
    all_scores = torch.cat(scores) if boxes else torch.zeros(0)
    all_labels = torch.cat(labels) if boxes else torch.zeros(0, dtype=torch.long)
    keep = batched_nms(all_boxes, all_scores, all_labels, nms_threshold)
    with _written_in_place(out_path) as tmp:
        _write_detections(tmp, driver, run.source, all_boxes[keep], all_scores[keep], all_labels[keep], values,
                          classes)
    callbacks.log(f"{len(keep)} objects written to {out_path}")
    return InferenceResult(out_path, len(run.windows), objects=int(len(keep)))


def _write_detections(path: Path, driver: str, source, boxes, scores, labels, values, classes) -> None:
    data = ogr.GetDriverByName(driver).CreateDataSource(str(path))
    srs = osr.SpatialReference(wkt=source.crs_wkt) if source.crs_wkt else None
    if srs is not None:
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    layer = data.CreateLayer(path.stem, srs, ogr.wkbPolygon)
    for name, kind in (("Class", ogr.OFTString), ("ClassValue", ogr.OFTInteger), ("Confidence", ogr.OFTReal)):
        layer.CreateField(ogr.FieldDefn(name, kind))
    definition = layer.GetLayerDefn()
    layer.StartTransaction()
    for box, score, label in zip(boxes.tolist(), scores.tolist(), labels.tolist()):
        value = values[label - 1] if 0 < label <= len(values) else label  # the engine counts classes from 1
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for px, py in ((box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3]), (box[0], box[1])):
            ring.AddPoint_2D(*pixel_to_map(source.geotransform, px, py))
        polygon = ogr.Geometry(ogr.wkbPolygon)
        polygon.AddGeometry(ring)
        feature = ogr.Feature(definition)
        feature.SetField("Class", classes.get(value, str(value)))
        feature.SetField("ClassValue", int(value))
        feature.SetField("Confidence", float(score))
        feature.SetGeometry(polygon)
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    data = None  # closes and flushes the file


class _BlockRowWriter:
    """Writes a single-band raster from the tiles' cores, which arrive row of tiles by row of tiles: rows are
    buffered until whole rows of the file's blocks are complete, so each (compressed) block is written once and
    memory holds about one block row, whatever the raster's size."""

    def __init__(self, dataset, dtype):
        self.dataset, self.band = dataset, dataset.GetRasterBand(1)
        self.block_rows = self.band.GetBlockSize()[1]
        self.buffer = np.zeros((0, dataset.RasterXSize), dtype)
        self.top = 0  # file row of the buffer's first row

    def put(self, x: int, y: int, values: np.ndarray) -> None:
        bottom = y - self.top + values.shape[0]
        if bottom > self.buffer.shape[0]:
            grown = np.zeros((bottom, self.buffer.shape[1]), self.buffer.dtype)
            grown[:self.buffer.shape[0]] = self.buffer
            self.buffer = grown
        self.buffer[y - self.top:bottom, x:x + values.shape[1]] = values

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
        self.band.WriteArray(self.buffer[:rows], 0, self.top)
        self.dataset.FlushCache()  # to disk now, not held in GDAL's cache
        self.buffer, self.top = self.buffer[rows:].copy(), self.top + rows


def classify_pixels(model_path, raster_path, out_path, *, tile_size: int | None = None, overlap: int | None = None,
                    batch_size: int = 4, extent: tuple[float, float, float, float] | None = None,
                    mask_wkt: str | None = None, device: str = "auto",
                    callbacks: Callbacks | None = None) -> InferenceResult:
    """A single-band GeoTIFF of class values (0 = NoData) with the classes' colours, on the raster's grid, covering
    ``extent`` (the whole raster by default); pixels outside ``mask_wkt`` are NoData."""
    callbacks = callbacks or SilentCallbacks()
    out_path = Path(out_path)
    if out_path.suffix.lower() not in (".tif", ".tiff"):
        raise InputDataError("is not a GeoTIFF file name", out_path, "End the file name with .tif")
    run = _open(model_path, raster_path, PIXEL_CLASSIFICATION, tile_size, overlap, device, extent, mask_wkt,
                callbacks)
    lut = np.array([0] + [c.value for c in run.package.classes])  # index 0 = background / NoData
    dtype, numpy_type = (gdal.GDT_Byte, np.uint8) if lut.max() < 256 else (gdal.GDT_UInt16, np.uint16)
    lut = lut.astype(numpy_type)
    region = run.region
    counts = np.zeros(len(lut), np.int64)  # pixels per class index written
    with run.package, _written_in_place(out_path) as tmp:
        target = gdal.GetDriverByName("GTiff").Create(str(tmp), region.width, region.height, 1, dtype,
                                                      options=["COMPRESS=LZW", "TILED=YES", "BIGTIFF=IF_SAFER"])
        x0, dx, rx, y0, ry, dy = run.source.geotransform
        target.SetGeoTransform((x0 + region.x * dx + region.y * rx, dx, rx, y0 + region.x * ry + region.y * dy, ry, dy))
        if run.source.crs_wkt:
            target.SetProjection(run.source.crs_wkt)
        band = target.GetRasterBand(1)
        table = gdal.ColorTable()
        table.SetColorEntry(0, (0, 0, 0, 0))
        for c in run.package.classes:
            table.SetColorEntry(int(c.value), (*c.color, 255))
        band.SetRasterColorTable(table)
        band.SetNoDataValue(0)
        writer = _BlockRowWriter(target, numpy_type)
        with torch.no_grad():
            for batch, images in run.batches(batch_size, callbacks, "classifying pixels"):
                indices = run.model.predict(images).argmax(1).cpu().numpy()
                for window, index in zip(batch, indices):
                    cx0, cy0, cx1, cy1 = core(window, run.overlap, region)
                    writer.complete_above(cy0 - region.y)
                    kept = index[cy0 - window.y:cy1 - window.y, cx0 - window.x:cx1 - window.x]
                    if run.mask is not None:
                        kept = np.where(run.mask.pixels(cx0, cy0, cx1, cy1), kept, 0)
                    writer.put(cx0 - region.x, cy0 - region.y, lut[kept])
                    counts += np.bincount(kept.ravel(), minlength=len(lut))
        writer.close()
        band = target = writer = None  # closes the file before it moves
    callbacks.log(f"classified raster written to {out_path}")
    return InferenceResult(out_path, len(run.windows),
                           class_pixels={int(v): int(n) for v, n in zip(lut, counts) if n})
