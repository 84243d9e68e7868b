"""The metadata files an "Export Training Data For Deep Learning" tool writes beside the chips.

See docs/formats.md: ``esri_accumulated_stats.json``, ``esri_model_definition.emd`` (mostly a template at export
time), ``map.txt``. Every file is optional for reading; what is present must be well formed.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputDataError

CLASSIFIED_TILES = "Classified_Tiles"
PASCAL_VOC = "PASCAL_VOC_rectangles"
KITTI = "KITTI_rectangles"
RCNN_MASKS = "RCNN_Masks"
FORMATS = (CLASSIFIED_TILES, PASCAL_VOC, KITTI, RCNN_MASKS)

OBJECT_DETECTION = "object_detection"
PIXEL_CLASSIFICATION = "pixel_classification"
TASK_OF_FORMAT = {
    CLASSIFIED_TILES: PIXEL_CLASSIFICATION,
    PASCAL_VOC: OBJECT_DETECTION,
    KITTI: OBJECT_DETECTION,
    RCNN_MASKS: OBJECT_DETECTION,
}

STATS_FILE = "esri_accumulated_stats.json"
EMD_FILE = "esri_model_definition.emd"
MAP_FILE = "map.txt"

# Distinct, colour-blind-friendly colours (Okabe-Ito, then Tableau) for classes that declare none.
_PALETTE = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0),
    (204, 121, 167), (78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79),
    (237, 201, 72), (176, 122, 161), (255, 157, 167), (156, 117, 95), (186, 176, 172),
)


@dataclass(frozen=True)
class ClassInfo:
    """One class of the training data: the pixel/label value the exporter wrote, its name and display colour."""

    value: int
    name: str
    color: tuple[int, int, int]

    def as_dict(self) -> dict:
        return {"value": self.value, "name": self.name, "color": list(self.color)}


def default_color(index: int) -> tuple[int, int, int]:
    return _PALETTE[index % len(_PALETTE)]


@dataclass(frozen=True)
class BandStatistics:
    """Per-band statistics used to normalise chips: (x - mean) / std."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    min: tuple[float, ...]
    max: tuple[float, ...]
    source: str  # where they came from, for reports

    def as_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std), "min": list(self.min), "max": list(self.max),
                "source": self.source}


@dataclass
class ExportMetadata:
    """What the metadata files of an export folder say; every field may be unknown (None / empty)."""

    metadata_mode: str | None = None
    tile_size: tuple[int, int] | None = None  # (height, width)
    num_bands: int | None = None
    classes: list[ClassInfo] = field(default_factory=list)
    band_statistics: BandStatistics | None = None
    image_space: str | None = None  # MAP_SPACE (flips/rotations valid) or PIXEL_SPACE
    map_entries: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (image, labels) relative paths


MAX_JSON_BYTES = 16 * 2 ** 20  # metadata and model definitions are kilobytes; beyond this a file is not one


def read_json(path: Path) -> dict:
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise InputDataError(f"is {size / 2 ** 20:.0f} MB, too large for a metadata file", path,
                                 "Re-export the training data or restore the file")
        data = path.read_bytes()
    except OSError as exc:
        raise InputDataError(f"cannot be read ({exc.strerror})", path, "Check the file's permissions") from None
    return parse_json(data, path)


def parse_json(data: bytes, where) -> dict:
    """A JSON object from UTF-8 bytes; anything else (bad syntax, absurd nesting or numbers) is a one-line error
    naming ``where``."""
    fix = "Fix the JSON syntax or re-export the training data"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputDataError(f"is not UTF-8 text ({exc.reason})", where,
                             "Re-export the training data or restore the file") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputDataError(f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", where,
                             fix) from None
    except RecursionError:
        raise InputDataError("is not valid metadata: its JSON is nested too deeply", where, fix) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputDataError(f"is not valid metadata ({exc})", where, fix) from None
    if not isinstance(value, dict):
        raise InputDataError("must hold a JSON object at the top level", where, "Re-export the training data")
    return value


def _as_int(value) -> int | None:
    """Template placeholders such as "e.g. 256" are not numbers: None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    return None


def _valid_color(color) -> tuple[int, int, int] | None:
    if isinstance(color, (list, tuple)) and len(color) >= 3 and all(isinstance(c, (int, float)) for c in color[:3]):
        rgb = tuple(int(c) for c in color[:3])
        if all(0 <= c <= 255 for c in rgb):
            return rgb
    return None


def parse_classes(entries, path: Path) -> list[ClassInfo]:
    """Classes as ``Value/Name/Color`` or ``ClassValue/ClassName/Color`` objects; names may be numeric strings."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise InputDataError("'Classes' must be a list of {Value, Name, Color} objects", path,
                             "Fix the file or re-export the training data")
    classes: dict[int, ClassInfo] = {}
    for i, entry in enumerate(entries):
        value = _as_int(entry.get("Value", entry.get("ClassValue"))) if isinstance(entry, dict) else None
        if value is None:
            raise InputDataError(f"class entry {i + 1} has no integer 'Value' or 'ClassValue'", path,
                                 "Fix the file or re-export the training data")
        name = entry.get("Name", entry.get("ClassName"))
        name = str(name) if name not in (None, "") else str(value)
        color = _valid_color(entry.get("Color")) or default_color(len(classes))
        if value in classes:
            raise InputDataError(f"class value {value} is declared twice", path, "Keep one entry per class value")
        classes[value] = ClassInfo(value, name, color)
    return list(classes.values())


def merge_classes(primary: list[ClassInfo], secondary: list[ClassInfo]) -> list[ClassInfo]:
    """Union by value, ordered by value; names and colours from ``primary`` (the .emd) win."""
    merged = {c.value: c for c in secondary}
    merged.update({c.value: c for c in primary})
    return [merged[v] for v in sorted(merged)]


def _band_statistics_from_state(states, path: Path) -> BandStatistics | None:
    """``BandStatsState: [{Min, Max, M1, M2, Num}]`` of newer exports: M1 is the sum of values.

    M2 is read as the sum of squares; a value below Num * mean^2 cannot be one, so it is then the sum of squared
    deviations (Welford's M2). For imagery (mean^2 much larger than the variance) the two readings never overlap.
    """
    if not isinstance(states, list) or not states:
        return None
    means, stds, mins, maxs = [], [], [], []
    for state in states:
        try:
            n = float(state["Num"])
            m1, m2 = float(state["M1"]), float(state["M2"])
            lo, hi = float(state["Min"]), float(state["Max"])
        except (KeyError, TypeError, ValueError):
            raise InputDataError("'BandStatsState' entries need numeric Min, Max, M1, M2 and Num", path,
                                 "Re-export the training data") from None
        if n <= 0:
            return None
        mean = m1 / n
        var = m2 / n - mean * mean if m2 >= n * mean * mean else m2 / n
        means.append(mean)
        stds.append(max(var, 0.0) ** 0.5)
        mins.append(lo)
        maxs.append(hi)
    return BandStatistics(tuple(means), tuple(stds), tuple(mins), tuple(maxs), f"{path.name} BandStatsState")


def _band_statistics_from_tiles(stats, path: Path) -> BandStatistics | None:
    """``AllTilesStats: [{Min, Max, Mean, StdDev}]`` written into the .emd by Pro 3.x."""
    if not isinstance(stats, list) or not stats:
        return None
    try:
        rows = [(float(s["Mean"]), float(s["StdDev"]), float(s["Min"]), float(s["Max"])) for s in stats]
    except (KeyError, TypeError, ValueError):
        raise InputDataError("'AllTilesStats' entries need numeric Min, Max, Mean and StdDev", path,
                             "Re-export the training data") from None
    mean, std, lo, hi = zip(*rows)
    return BandStatistics(mean, std, lo, hi, f"{path.name} AllTilesStats")


def read_map(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """``images\\000000000.jpg  labels\\000000000.xml `` per line: backslashes, one or two spaces, CRLF or LF."""
    entries = []
    for line in path.read_text(encoding="utf-8-sig", errors="replace").splitlines():
        parts = line.replace("\\", "/").split()
        if parts:
            entries.append((parts[0], tuple(parts[1:])))
    return entries


def read_export_metadata(folder: Path) -> ExportMetadata:
    meta = ExportMetadata()
    stats_path, emd_path, map_path = folder / STATS_FILE, folder / EMD_FILE, folder / MAP_FILE
    stats = read_json(stats_path) if stats_path.is_file() else {}
    emd = read_json(emd_path) if emd_path.is_file() else {}

    meta.metadata_mode = stats.get("MetaDataMode") or emd.get("MetaDataMode") or None
    height = _as_int(stats.get("TileSizeY")) or _as_int(emd.get("ImageHeight"))
    width = _as_int(stats.get("TileSizeX")) or _as_int(emd.get("ImageWidth"))
    if height and width:
        meta.tile_size = (height, width)
    meta.num_bands = _as_int(stats.get("NumBands"))
    meta.classes = merge_classes(parse_classes(emd.get("Classes"), emd_path),
                                 parse_classes(stats.get("Classes"), stats_path))
    meta.band_statistics = (_band_statistics_from_tiles(emd.get("AllTilesStats"), emd_path)
                            or _band_statistics_from_state(stats.get("BandStatsState"), stats_path))
    space = emd.get("ImageSpaceUsed")
    meta.image_space = space if space in ("MAP_SPACE", "PIXEL_SPACE") else None
    if map_path.is_file():
        meta.map_entries = read_map(map_path)
    return meta
