"""How outputs look when QGIS loads them: detections outlined by class in the model's colours over a transparent
fill (the imagery stays visible), class rasters paletted with the class names in the legend."""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from qgis.core import (QgsCategorizedSymbolRenderer, QgsFillSymbol, QgsPalettedRasterRenderer,
                       QgsProcessingLayerPostProcessorInterface, QgsRasterLayer, QgsRendererCategory,
                       QgsVectorLayer)
from qgis.PyQt.QtGui import QColor

MAX_EMD_BYTES = 4 * 2 ** 20
FILL_ALPHA = 40  # of 255: the class shows, the imagery under it too


@dataclass(frozen=True)
class ModelClass:
    value: int
    name: str
    color: tuple[int, int, int]


def model_classes(model: str | Path) -> list[ModelClass]:
    """The classes of a .dlpk (or .emd) as its model definition lists them; [] when it cannot be read (the output is
    then shown with QGIS' defaults: styling never fails a run). Read as data: one JSON member, size-limited."""
    path = Path(model)
    try:
        if path.suffix.lower() == ".emd":
            text = path.read_bytes()[:MAX_EMD_BYTES]
        else:
            with zipfile.ZipFile(path) as archive:
                entry = next(e for e in archive.infolist() if e.filename.lower().endswith(".emd")
                             and "/" not in e.filename and e.file_size <= MAX_EMD_BYTES)
                text = archive.read(entry)
        entries = json.loads(text).get("Classes") or []
        return [ModelClass(int(c["Value"]), str(c["Name"]), tuple(int(v) for v in c["Color"][:3]))
                for c in entries]
    except (OSError, ValueError, KeyError, TypeError, StopIteration, zipfile.BadZipFile):
        return []


def detection_renderer(classes: list[ModelClass], field: str = "ClassValue") -> QgsCategorizedSymbolRenderer:
    categories = []
    for c in classes:
        color = QColor(*c.color)
        fill = QColor(*c.color, FILL_ALPHA)
        symbol = QgsFillSymbol.createSimple({"color": fill.name(QColor.HexArgb), "outline_color": color.name(),
                                             "outline_width": "0.66", "outline_style": "solid"})
        symbol.symbolLayer(0).setFillColor(fill)  # createSimple drops the alpha of a #AARRGGBB colour
        categories.append(QgsRendererCategory(c.value, symbol, c.name))
    return QgsCategorizedSymbolRenderer(field, categories)


def class_raster_renderer(layer: QgsRasterLayer, classes: list[ModelClass]) -> QgsPalettedRasterRenderer:
    entries = [QgsPalettedRasterRenderer.Class(c.value, QColor(*c.color), c.name) for c in classes]
    return QgsPalettedRasterRenderer(layer.dataProvider(), 1, entries)


class ClassStyle(QgsProcessingLayerPostProcessorInterface):
    """Styles the loaded output with a model's classes (a post-processor QGIS calls once the layer is loaded)."""

    def __init__(self, classes: list[ModelClass]):
        super().__init__()
        self.classes = classes

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS API name
        if not self.classes:
            return
        if isinstance(layer, QgsVectorLayer) and layer.fields().indexOf("ClassValue") >= 0:
            layer.setRenderer(detection_renderer(self.classes))
        elif isinstance(layer, QgsRasterLayer):
            layer.setRenderer(class_raster_renderer(layer, self.classes))
        else:
            return
        layer.triggerRepaint()


# Post-processors must outlive the algorithm run that sets them (QGIS keeps a bare pointer).
_KEPT: list[ClassStyle] = []


def style_on_load(context, output: str, model: str) -> None:
    """When ``output`` is loaded into the project after the run, style it with the classes of ``model``."""
    if not context.willLoadLayerOnCompletion(output):
        return
    style = ClassStyle(model_classes(model))
    _KEPT.append(style)
    del _KEPT[:-256]
    context.layerToLoadOnCompletionDetails(output).setPostProcessor(style)
