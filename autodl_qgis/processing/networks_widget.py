"""The Networks selector of Train Using AutoDL: the parameter is a string of names separated by commas (what
qgis_process, History and the batch dialog show), edited here with a list to tick. Loaded by Processing only when a
dialog shows the parameter (the parameter's ``widget_wrapper`` metadata names this class)."""
from __future__ import annotations

from processing.gui.wrappers import DIALOG_MODELER, WidgetWrapper
from qgis.core import QgsProcessingOutputString, QgsProcessingParameterString
from qgis.gui import QgsProcessingMultipleSelectionDialog
from qgis.PyQt.QtCore import QCoreApplication, pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QHBoxLayout, QToolButton, QWidget

from ..engine.extras import extra_for
from ..engine.networks.registry import NETWORKS
from ..installer import Stamp, venv_of
from .engine_process import engine_python
from .train_using_autodl import network_names


translate = QCoreApplication.translate  # pylupdate5 reads the context from each call


def engine_has_openmmlab() -> bool | None:
    """What Install AutoDL Engine recorded in the engine's venv; None for an engine it did not make (QGIS' Python
    cannot look inside another interpreter without starting it)."""
    venv = venv_of(engine_python())
    stamp = Stamp.read(venv) if venv is not None else None
    return stamp.openmmlab if stamp is not None else None


def describe(name: str, openmmlab: bool | None = None) -> str:
    spec = NETWORKS.get(name)
    if spec is None:
        return name
    text = f"{name} — {spec.task.replace('_', ' ')}"
    extra = extra_for(spec.library)
    if extra is None or openmmlab:
        return text
    if openmmlab is None:
        return text + " — " + translate("NetworksSelector", "{0} extra").format(extra.name)
    return text + " — " + translate("NetworksSelector", "needs the {0} extra (not installed: skipped)").format(
        extra.name)


class NetworksSelector(QWidget):
    """An editable line (names separated by commas; empty = all that suit the data) and a button opening the list."""
    changed = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.lineEdit().setPlaceholderText(
            translate("NetworksSelector", "All networks that suit the training data"))
        self.combo.editTextChanged.connect(self.changed)
        self.button = QToolButton()
        self.button.setText("…")
        self.button.setToolTip(translate("NetworksSelector", "Choose networks"))
        self.button.clicked.connect(self.choose)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.button)

    def names(self) -> list[str]:
        return network_names(self.combo.currentText())

    def set_names(self, names) -> None:
        self.combo.setEditText(",".join(network_names(names)))

    def choose(self) -> None:
        dialog = QgsProcessingMultipleSelectionDialog(list(NETWORKS), self.names(), self)
        dialog.setWindowTitle(translate("NetworksSelector", "Networks"))
        openmmlab = engine_has_openmmlab()
        dialog.setValueFormatter(lambda name: describe(name, openmmlab))
        if dialog.exec_():
            self.set_names(dialog.selectedOptions())


class NetworksWidgetWrapper(WidgetWrapper):
    def createWidget(self):  # noqa: N802 - Processing API name
        selector = NetworksSelector()
        if self.dialogType == DIALOG_MODELER:  # a model's string inputs can feed it too
            for source in self.dialog.getAvailableValuesOfType(QgsProcessingParameterString,
                                                               QgsProcessingOutputString):
                selector.combo.addItem(self.dialog.resolveValueDescription(source), source)
            selector.combo.setCurrentIndex(-1)
        selector.changed.connect(lambda: self.widgetValueHasChanged.emit(self))
        return selector

    def setValue(self, value):  # noqa: N802 - Processing API name
        if self.dialogType == DIALOG_MODELER and not isinstance(value, (str, list, tuple, type(None))):
            self.setComboValue(value, combobox=self.widget.combo)
        else:
            self.widget.set_names(value)

    def value(self):
        if self.dialogType == DIALOG_MODELER and self.widget.combo.currentIndex() >= 0 and \
                self.widget.combo.currentText() == self.widget.combo.itemText(self.widget.combo.currentIndex()):
            return self.widget.combo.currentData()
        return ",".join(self.widget.names())
