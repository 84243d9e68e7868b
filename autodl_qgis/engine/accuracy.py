"""Accuracy of results against ground truth, with numpy, GDAL / OGR and shapely's R-tree only (no torch, no QGIS):
what ArcGIS' *Compute Accuracy For Object Detection* and *Compute Accuracy For Pixel Classification* compute.

Detections are matched to the truth by detection_matching.py, the matching the validation metrics use, so the AP
here agrees with the AP50 the training reports. Confusion matrices follow ArcGIS' layout: rows are the classified
values, columns the reference (ground truth) values.
"""
from __future__ import annotations

import math
import os
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import validate
from .detection_matching import DetectionAccuracy, DetectionMatcher
from .errors import InputDataError
from .geo import Grid, quiet_gdal
SAMPLING = ("STRATIFIED_RANDOM", "EQUALIZED_STRATIFIED_RANDOM", "RANDOM")  # ArcGIS' sampling strategies
CLASS_FIELDS = ("classvalue", "value", "grndtruth")  # looked for, in this order, when no class field is given
CONFIDENCE_FIELDS = ("confidence", "score")
TABLE_DRIVERS = {".gpkg": "GPKG", ".csv": "CSV"}
PAIR_BLOCK = 65_536  # detections whose overlaps are looked up together
MAX_POINTS = 1_000_000  # random points: ArcGIS' default is 500; beyond a million, sampling alone takes hours


# -- vector layers -----------------------------------------------------------------------------------------------------

def _open_layer(path, what: str):
    from osgeo import ogr

    path = Path(path)
    source = ogr.Open(str(path)) if path.exists() else None
    if source is None or source.GetLayerCount() == 0:
        raise InputDataError("does not exist" if not path.exists() else "is not a vector layer OGR can read", path,
                             f"Give the {what} as a GeoPackage, Shapefile, GeoJSON or other OGR vector file")
    return source, source.GetLayer(0)


def _field(layer, wanted: str | None, candidates: tuple[str, ...], path, what: str) -> str | None:
    definition = layer.GetLayerDefn()
    names = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
    if wanted:
        for name in names:
            if name.casefold() == wanted.casefold():
                return name
        raise InputDataError(f"has no field {wanted!r} (fields: {', '.join(names) or 'none'})", path,
                             f"Give the field that holds the {what}")
    for candidate in candidates:
        for name in names:
            if name.casefold() == candidate:
                return name
    return None


def _class_key(value):
    """Class values and names compare as text, so 1, 1.0 and "1" are one class."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _features(path, class_field: str | None, what: str, target_srs=None):
    """(geometries, class keys, confidences) of a layer, reprojected to ``target_srs`` when both have a CRS."""
    from osgeo import osr

    source, layer = _open_layer(path, what)
    field = _field(layer, class_field, CLASS_FIELDS, path, "class values or names")
    confidence = _field(layer, None, CONFIDENCE_FIELDS, path, "confidence")
    srs = layer.GetSpatialRef()
    transform = None
    if srs is not None and target_srs is not None and not srs.IsSame(target_srs):
        for ref in (srs, target_srs):
            ref.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        transform = osr.CoordinateTransformation(srs, target_srs)
    geometries, keys, scores = [], [], []
    with quiet_gdal():  # GEOS' own warnings about the invalid geometries repaired here
        for feature in layer:
            geometry = _repaired(feature.GetGeometryRef())
            if geometry is None:
                continue
            if transform is not None:
                geometry.Transform(transform)
            geometries.append(geometry)
            keys.append(_class_key(feature.GetField(field)) if field else "")
            scores.append(float(feature.GetField(confidence))
                          if confidence and feature.GetField(confidence) is not None else 1.0)
    return geometries, keys, scores, srs, source


def _repaired(geometry):
    """A copy of a feature's geometry, made valid (a self-intersecting ring cannot be intersected, nor can points
    be tested in it); None when it is empty."""
    if geometry is None or geometry.IsEmpty():
        return None
    geometry = geometry.Clone()
    if not geometry.IsValid():
        geometry = geometry.MakeValid()
    return None if geometry is None or geometry.IsEmpty() else geometry


def _overlapping_pairs(detected: list, truths: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(detection, truth, IoU) of every pair of polygons that overlap. The truths' envelopes go into an R-tree
    (shapely's STRtree), queried a block of detections at a time: memory follows the pairs found, never detections
    x truths (10^6 of each would be a 7 TiB matrix)."""
    import shapely

    def boxes(geometries):
        envelopes = np.array([g.GetEnvelope() for g in geometries], np.float64).reshape(-1, 4)  # x0, x1, y0, y1
        return shapely.box(envelopes[:, 0], envelopes[:, 2], envelopes[:, 1], envelopes[:, 3])

    tree = shapely.STRtree(boxes(truths))
    pairs = [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))]
    for start in range(0, len(detected), PAIR_BLOCK):
        block = detected[start:start + PAIR_BLOCK]
        rows, columns = tree.query(boxes(block), predicate="intersects")
        ious = np.zeros(len(rows))
        for n, (i, j) in enumerate(zip(rows.tolist(), columns.tolist())):
            inter = block[i].Intersection(truths[j])
            if inter is not None and not inter.IsEmpty():
                union = block[i].GetArea() + truths[j].GetArea() - inter.GetArea()
                ious[n] = inter.GetArea() / union if union > 0 else 0.0
        keep = ious > 0
        pairs.append((rows[keep] + start, columns[keep], ious[keep]))
    return tuple(np.concatenate(parts) for parts in zip(*pairs))


def compute_detection_accuracy(detected_features, ground_truth_features, out_table=None, *,
                               detected_class_field: str | None = None, ground_truth_class_field: str | None = None,
                               min_iou: float = 0.5, confidence: float = 0.0) -> DetectionAccuracy:
    """Detected polygons against ground-truth polygons (ArcGIS' Compute Accuracy For Object Detection). Class
    fields default to Classvalue or Value; without one, every feature is of one class. Detections below
    ``confidence`` (field Confidence or Score) do not count for precision, recall and F1; AP uses them all. The
    table (``out_table``: .gpkg or .csv) has one row per class and one for all classes."""
    validate.positive("min_iou", min_iou, 1.0)
    validate.fraction("confidence", confidence)
    if out_table is not None:
        _check_table_path(out_table)
    truths, truth_keys, _, truth_srs, truth_source = _features(ground_truth_features, ground_truth_class_field,
                                                               "ground-truth features")
    detected, keys, scores, _, detected_source = _features(detected_features, detected_class_field,
                                                           "detected features", truth_srs)
    if not truths:
        raise InputDataError("holds no features", ground_truth_features, "Give the ground-truth polygons")
    if any(g.GetDimension() != 2 for g in truths):
        raise InputDataError("holds points or lines", ground_truth_features,
                             "Give polygons (buffer points or lines first)")
    if bool(set(keys) - {""}) != bool(set(truth_keys) - {""}):
        # one side has classes, the other none: compare as one class, as ArcGIS does
        keys, truth_keys = [""] * len(keys), [""] * len(truth_keys)
    matcher = DetectionMatcher(min_iou)
    matcher.add_pairs(*_overlapping_pairs(detected, truths), scores, keys, truth_keys)
    del truth_source, detected_source
    result = matcher.result({"": "All objects"}, confidence)
    if out_table is not None:
        write_detection_table(result, out_table)
    return result


def write_detection_table(result: DetectionAccuracy, path) -> Path:
    """ArcGIS' accuracy table: Class, Precision, Recall, F1_Score, AP, True_Positive, False_Positive,
    False_Negative."""
    columns = [("Class", str), ("Precision", float), ("Recall", float), ("F1_Score", float), ("AP", float),
               ("True_Positive", int), ("False_Positive", int), ("False_Negative", int)]
    rows = [[c.name, c.precision, c.recall, c.f1, c.average_precision, c.true_positives, c.false_positives,
             c.false_negatives] for c in (*result.classes, result.overall)]
    return write_table(path, columns, rows)


# -- pixels ------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of (classified, reference) value pairs: ``counts[i][j]`` = classified ``values[i]``, reference
    ``values[j]``."""

    values: tuple[int, ...]
    counts: tuple[tuple[int, ...], ...]
    points: int = 0  # sample points compared (0: every pixel)

    @classmethod
    def from_pairs(cls, classified, reference, points: int = 0) -> "ConfusionMatrix":
        classified, reference = np.asarray(classified).ravel(), np.asarray(reference).ravel()
        values = tuple(sorted(set(np.unique(classified).tolist()) | set(np.unique(reference).tolist())))
        index = {v: i for i, v in enumerate(values)}
        matrix = np.zeros((len(values), len(values)), np.int64)
        np.add.at(matrix, ([index[v] for v in classified.tolist()], [index[v] for v in reference.tolist()]), 1)
        return cls(tuple(int(v) for v in values), tuple(tuple(int(c) for c in row) for row in matrix), points)

    @property
    def _matrix(self) -> np.ndarray:
        return np.asarray(self.counts, np.float64).reshape(len(self.values), len(self.values))

    @property
    def user_accuracy(self) -> tuple[float, ...]:
        m = self._matrix
        return tuple(float(m[i, i] / m[i].sum()) if m[i].sum() else 0.0 for i in range(len(self.values)))

    @property
    def producer_accuracy(self) -> tuple[float, ...]:
        m = self._matrix
        return tuple(float(m[i, i] / m[:, i].sum()) if m[:, i].sum() else 0.0 for i in range(len(self.values)))

    @property
    def iou(self) -> tuple[float, ...]:
        m = self._matrix
        out = []
        for i in range(len(self.values)):
            union = m[i].sum() + m[:, i].sum() - m[i, i]
            out.append(float(m[i, i] / union) if union else 0.0)
        return tuple(out)

    @property
    def overall_accuracy(self) -> float:
        m = self._matrix
        return float(np.trace(m) / m.sum()) if m.sum() else 0.0

    @property
    def kappa(self) -> float:
        m = self._matrix
        total = m.sum()
        if not total:
            return 0.0
        expected = float((m.sum(1) * m.sum(0)).sum() / total ** 2)
        return (self.overall_accuracy - expected) / (1 - expected) if expected < 1 else 1.0

    def as_dict(self) -> dict:
        return {"values": list(self.values), "counts": [list(r) for r in self.counts], "points": self.points,
                "overall_accuracy": self.overall_accuracy, "kappa": self.kappa,
                "user_accuracy": list(self.user_accuracy), "producer_accuracy": list(self.producer_accuracy),
                "iou": list(self.iou)}


def write_confusion_table(matrix: ConfusionMatrix, path) -> Path:
    """ArcGIS' confusion matrix table: ClassValue, C_<value>..., Total, U_Accuracy, Kappa, IoU; rows C_<value>...,
    Total, P_Accuracy, Kappa."""
    names = [f"C_{v}" for v in matrix.values]
    m = np.asarray(matrix.counts, np.int64).reshape(len(names), len(names))
    columns = [("ClassValue", str)] + [(n, float) for n in names] + [("Total", float), ("U_Accuracy", float),
                                                                     ("Kappa", float), ("IoU", float)]
    rows = [[name, *m[i].tolist(), int(m[i].sum()), matrix.user_accuracy[i], 0.0, matrix.iou[i]]
            for i, name in enumerate(names)]
    rows.append(["Total", *m.sum(0).tolist(), int(m.sum()), 0.0, 0.0, 0.0])
    rows.append(["P_Accuracy", *matrix.producer_accuracy, 0.0, matrix.overall_accuracy, 0.0, 0.0])
    rows.append(["Kappa", *([0.0] * len(names)), 0.0, 0.0, matrix.kappa, 0.0])
    return write_table(path, columns, rows)


def _raster(path, what: str):
    from osgeo import gdal

    path = Path(path)
    dataset = gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_READONLY) if path.exists() else None
    if dataset is None:
        raise InputDataError("does not exist" if not path.exists() else "is not a raster GDAL can read", path,
                             f"Give the {what} as a single-band raster of class values")
    return dataset


def _srs(dataset):
    from osgeo import osr

    wkt = dataset.GetProjection()
    if not wkt:
        return None
    srs = osr.SpatialReference(wkt=wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _counts_per_class(band, nodata) -> Counter:
    counts = Counter()
    for values in _block_rows(band):
        keep = _valid(values, nodata)
        counts.update(dict(zip(*np.unique(values[keep], return_counts=True))))
    return Counter({int(k): int(v) for k, v in counts.items()})


def _block_rows(band):
    rows = max(1, band.GetBlockSize()[1])
    for y in range(0, band.YSize, rows):
        yield band.ReadAsArray(0, y, band.XSize, min(rows, band.YSize - y))


def _valid(values: np.ndarray, nodata) -> np.ndarray:
    """Reference pixels that hold a class: not NoData, not 0 (NoData in Esri's class rasters)."""
    keep = values != 0
    if nodata is not None:
        keep &= values != nodata
    return keep


def _points_per_class(area: dict, num_points: int, sampling: str, rng, pixels: bool = True) -> dict[int, int]:
    """How many sample points each reference class gets (ArcGIS' sampling strategies). ``area``: pixels of each
    class (``pixels``: a class cannot give more points than it has pixels), or the area of its polygons in any unit
    (a polygon holds any number of points, however small it is)."""
    classes = sorted(area)
    total = sum(area.values())
    if sampling == "EQUALIZED_STRATIFIED_RANDOM":
        wanted = {c: math.ceil(num_points / len(classes)) for c in classes}
    elif sampling == "STRATIFIED_RANDOM":
        wanted = {c: max(1, round(num_points * area[c] / total)) for c in classes}
    else:
        wanted = dict(zip(classes, rng.multinomial(num_points, [area[c] / total for c in classes]).tolist()))
    return {c: int(min(area[c], n) if pixels else n) for c, n in wanted.items()}


def _sample_reference_raster(dataset, grid: Grid, num_points: int, sampling: str,
                             rng) -> tuple[np.ndarray, np.ndarray]:
    """(map x, map y) pixel centres and their reference values, drawn per class without replacement in two passes
    over the raster's block rows (memory: one block row)."""
    band = dataset.GetRasterBand(1)
    nodata = band.GetNoDataValue()
    area = _counts_per_class(band, nodata)
    if not area:
        raise InputDataError("holds no class pixels (only NoData or 0)", dataset.GetDescription(),
                             "Give a reference raster of class values")
    wanted = _points_per_class(area, num_points, sampling, rng)
    ranks = {c: set(rng.choice(area[c], size=n, replace=False).tolist()) for c, n in wanted.items() if n}
    seen = Counter()
    xs, ys, values = [], [], []
    rows = max(1, band.GetBlockSize()[1])
    for block, data in enumerate(_block_rows(band)):
        keep = _valid(data, nodata)
        for value in np.unique(data[keep]).tolist():
            where = np.argwhere(data == value)  # row-major, the order the first pass counted in
            start = seen[value]
            seen[value] += len(where)
            chosen = [r - start for r in ranks.get(int(value), ()) if start <= r < start + len(where)]
            for row, col in where[chosen]:
                xs.append(col + 0.5)
                ys.append(block * rows + row + 0.5)
                values.append(int(value))
    pixels = np.stack([np.asarray(xs, np.float64), np.asarray(ys, np.float64)], 1)
    return grid.points_to_map(pixels), np.asarray(values, np.int64)


def _sample_reference_features(path, class_field, num_points: int, sampling: str, rng, target_srs):
    """Points: themselves. Polygons: random points inside them, per class as the sampling strategy says."""
    geometries, keys, _, _, source = _features(path, class_field, "ground-truth features", target_srs)
    if not geometries:
        raise InputDataError("holds no features", path, "Give ground-truth points or polygons with class values")
    try:
        values = [int(float(k)) for k in keys]
    except ValueError:
        raise InputDataError("has class values that are not whole numbers (or no Classvalue / Value field)", path,
                             "Give the field with the class values of the classified raster") from None
    if all(g.GetDimension() == 0 for g in geometries):
        points = np.array([g.GetPoint_2D(0) for g in geometries]).reshape(-1, 2)
        return points, np.asarray(values, np.int64)
    if any(g.GetDimension() != 2 for g in geometries):
        raise InputDataError("mixes polygons with points or lines", path, "Give points or polygons")
    from osgeo import ogr

    area = Counter()
    for geometry, value in zip(geometries, values):
        area[value] += geometry.GetArea()
    wanted = _points_per_class({v: max(a, 1e-300) for v, a in area.items()}, num_points, sampling, rng,
                               pixels=False)
    points, out = [], []
    for value, n in wanted.items():
        polygons = [g for g, v in zip(geometries, values) if v == value]
        weights = np.array([g.GetArea() for g in polygons])
        for _ in range(n):
            polygon = polygons[rng.choice(len(polygons), p=weights / weights.sum())]
            xmin, xmax, ymin, ymax = polygon.GetEnvelope()
            for _attempt in range(1000):
                point = ogr.Geometry(ogr.wkbPoint)
                point.AddPoint_2D(float(rng.uniform(xmin, xmax)), float(rng.uniform(ymin, ymax)))
                if polygon.Contains(point):
                    points.append(point.GetPoint_2D(0))
                    out.append(value)
                    break
    del source
    return np.asarray(points, np.float64).reshape(-1, 2), np.asarray(out, np.int64)


def _spread(points: np.ndarray, min_distance: float) -> np.ndarray:
    """Indices of points kept so that no two are closer than ``min_distance`` (first come, first kept)."""
    if min_distance <= 0 or not len(points):
        return np.arange(len(points))
    cells: dict = defaultdict(list)
    kept = []
    for i, (x, y) in enumerate(points):
        cx, cy = int(x // min_distance), int(y // min_distance)
        near = [j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in cells.get((cx + dx, cy + dy), ())]
        if all(math.hypot(x - points[j][0], y - points[j][1]) >= min_distance for j in near):
            cells[(cx, cy)].append(i)
            kept.append(i)
    return np.asarray(kept, np.int64)


def _classified_at(dataset, grid: Grid, points: np.ndarray, points_srs) -> tuple[np.ndarray, np.ndarray]:
    """The classified raster's value at each map point (0 where it is NoData) and which points fall inside it."""
    from osgeo import osr

    srs = _srs(dataset)
    if srs is not None and points_srs is not None and not srs.IsSame(points_srs) and len(points):
        transform = osr.CoordinateTransformation(points_srs, srs)
        points = np.asarray(transform.TransformPoints(points.tolist()), np.float64)[:, :2]
    pixels = grid.points_to_pixel(points.reshape(-1, 2))
    col, row = np.floor(pixels[:, 0]).astype(np.int64), np.floor(pixels[:, 1]).astype(np.int64)
    inside = (col >= 0) & (row >= 0) & (col < dataset.RasterXSize) & (row < dataset.RasterYSize)
    band = dataset.GetRasterBand(1)
    nodata = band.GetNoDataValue()
    values = np.zeros(len(points), np.int64)
    for i in np.flatnonzero(inside):
        value = int(band.ReadAsArray(int(col[i]), int(row[i]), 1, 1)[0, 0])
        values[i] = 0 if nodata is not None and value == nodata else value
    return values, inside


def compute_pixel_accuracy(classified_raster, ground_truth, out_table=None, *, num_random_points: int = 500,
                           sampling: str = "STRATIFIED_RANDOM", min_point_distance: float = 0.0,
                           ground_truth_class_field: str | None = None, seed: int = 0) -> ConfusionMatrix:
    """A classified raster against reference data (ArcGIS' Compute Accuracy For Pixel Classification): a class
    raster (points sampled from it), polygons (points sampled inside them) or points with class values (Classvalue,
    Value or GrndTruth, or ``ground_truth_class_field``). Reference NoData and 0 are never sampled; a point where
    the classified raster is NoData counts as classified 0. Points outside the classified raster are left out."""
    sampling = str(sampling).upper()
    if sampling not in SAMPLING:
        raise InputDataError(f"sampling must be one of {', '.join(SAMPLING)}, not {sampling!r}", None,
                             "Use STRATIFIED_RANDOM (the default)")
    validate.whole_number("num_random_points", num_random_points, 1, MAX_POINTS)
    validate.non_negative("min_point_distance", min_point_distance)
    validate.whole_number("seed", seed, 0, 2 ** 32 - 1)
    if out_table is not None:
        _check_table_path(out_table)
    classified = _raster(classified_raster, "classified raster")
    classified_grid = Grid.of(classified, classified_raster, georeferenced=False)
    rng = np.random.default_rng(seed)
    reference_path = Path(ground_truth)
    from osgeo import gdal

    reference = (gdal.OpenEx(str(reference_path), gdal.OF_RASTER | gdal.OF_READONLY)
                 if reference_path.exists() else None)
    if reference is not None:
        reference_grid = Grid.of(reference, reference_path, georeferenced=False)
        points, truth = _sample_reference_raster(reference, reference_grid, num_random_points, sampling, rng)
        points_srs = _srs(reference)
    else:
        if not reference_path.exists():
            raise InputDataError("does not exist", reference_path, "Give a class raster, polygons or points")
        points, truth = _sample_reference_features(reference_path, ground_truth_class_field, num_random_points,
                                                   sampling, rng, _srs(classified))
        points_srs = _srs(classified)
    keep = _spread(points, min_point_distance)
    points, truth = points[keep], truth[keep]
    predicted, inside = _classified_at(classified, classified_grid, points, points_srs)
    if not inside.any():
        raise InputDataError("does not overlap the ground truth", classified_raster,
                             "Give a classified raster and ground truth of the same area")
    matrix = ConfusionMatrix.from_pairs(predicted[inside], truth[inside], points=int(inside.sum()))
    if out_table is not None:
        write_confusion_table(matrix, out_table)
    return matrix


# -- tables ------------------------------------------------------------------------------------------------------------

def _check_table_path(path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in TABLE_DRIVERS:
        raise InputDataError("is not a table format this tool writes", path,
                             "End the file name with " + " or ".join(TABLE_DRIVERS))
    return path


def write_table(path, columns: list[tuple[str, type]], rows: list[list]) -> Path:
    """A table without geometry (GeoPackage attribute table or CSV) that QGIS and ArcGIS open; written under a
    temporary name and renamed when complete. ``None`` values are written as NULL."""
    from osgeo import ogr

    path = _check_table_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}{path.suffix}")
    kinds = {str: ogr.OFTString, int: ogr.OFTInteger64, float: ogr.OFTReal}
    try:
        source = ogr.GetDriverByName(TABLE_DRIVERS[path.suffix.lower()]).CreateDataSource(str(tmp))
        if source is None:
            raise InputDataError("cannot be written", path, "Choose a folder you can write to")
        layer = source.CreateLayer(path.stem, None, ogr.wkbNone)
        for name, kind in columns:
            layer.CreateField(ogr.FieldDefn(name, kinds[kind]))
        definition = layer.GetLayerDefn()
        layer.StartTransaction()
        for row in rows:
            feature = ogr.Feature(definition)
            for (name, kind), value in zip(columns, row):
                if value is None:
                    feature.SetFieldNull(name)
                else:
                    feature.SetField(name, kind(value))
            layer.CreateFeature(feature)
        layer.CommitTransaction()
        source = layer = None  # closes and flushes
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
