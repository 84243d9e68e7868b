"""The Networks selector of Train Using AutoDL: the parameter is a string of names separated by commas (what
qgis_process, History and the batch dialog show), edited here with a list to tick. Loaded by Processing only when a
dialog shows the parameter (the parameter's ``widget_wrapper`` metadata names this class)."""
from __future__ import annotations

from processing.gui.wrappers import DIALOG_MODELER, WidgetWrapper
from qgis.core import QgsProcessingOutputString, QgsProcessingParameterString
from qgis.gui import QgsProcessingMultipleSelectionDialog
from qgis.PyQt.QtCore import QCoreApplication, pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from ..engine.data.esri import OBJECT_DETECTION, PIXEL_CLASSIFICATION
from ..engine.extras import extra_for
from ..engine.networks.registry import NETWORKS
from ..engine.reach import first_rung_reach
from ..installer import Stamp, venv_of
from .engine_process import engine_python
from .train_using_autodl import TrainUsingAutoDL, network_names


translate = QCoreApplication.translate  # pylupdate5 reads the context from each call


def engine_has_openmmlab() -> bool | None:
    """What Install AutoDL Engine recorded in the engine's venv; None for an engine it did not make (QGIS' Python
    cannot look inside another interpreter without starting it)."""
    venv = venv_of(engine_python())
    stamp = Stamp.read(venv) if venv is not None else None
    return stamp.openmmlab if stamp is not None else None


def task_label(task: str) -> str:
    labels = {OBJECT_DETECTION: translate("NetworksSelector", "object detection"),
              PIXEL_CLASSIFICATION: translate("NetworksSelector", "pixel classification")}
    return labels.get(task, task.replace("_", " "))


def describe(name: str, openmmlab: bool | None = None) -> str:
    spec = NETWORKS.get(name)
    if spec is None:
        return name
    text = f"{name} — {task_label(spec.task)}"
    extra = extra_for(spec.library)
    if extra is None or openmmlab:
        return text
    if openmmlab is None:
        return text + " — " + translate("NetworksSelector", "{0} extra").format(extra.name)
    return text + " — " + translate("NetworksSelector", "needs the {0} extra (not installed: skipped)").format(
        extra.name)


class NetworksCombo(QComboBox):
    """Its drop-down arrow opens the list of networks, unless it offers a model's inputs (modeler)."""
    choose = pyqtSignal()

    def showPopup(self):  # noqa: N802 - Qt API name
        if self.count():
            super().showPopup()
        else:
            self.choose.emit()


class NetworksSelector(QWidget):
    """An editable line (names separated by commas; empty = all that suit the data) and a button opening the list."""
    changed = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        layout = QHBoxLayout()
        column.addLayout(layout)
        self.warning = QLabel()  # when the time limit cannot reach every ticked network
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b35900")
        self.warning.hide()
        column.addWidget(self.warning)
        self.combo = NetworksCombo()
        self.combo.choose.connect(self.choose)
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

    def warn_about_reach(self, hours: float) -> None:
        """Says, before the run, when ``hours`` cannot train all the networks named (the search's own plan)."""
        names = self.names()
        reach = first_rung_reach(len(names), hours * 3600) if names else 0
        self.warning.setText(translate(
            "NetworksSelector", "{0} h reaches at most {1} of the {2} networks chosen: the others are not trained. "
            "Give more time or choose fewer.").format(f"{hours:g}", reach, len(names)))
        self.warning.setVisible(reach < len(names))

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
    def tr(self, text: str) -> str:
        # PyQt looks self.tr up under this class's name, absent from QGIS' catalogue: the label's " [optional]"
        # stayed English. Processing's own wrappers' context has it.
        return QCoreApplication.translate("WidgetWrapper", text)

    time_limit = None  # the Total Time Limit's wrapper, in the dialog and batch (the modeler has no value)

    def postInitialize(self, wrappers):  # noqa: N802 - Processing API name
        if self.dialogType == DIALOG_MODELER:
            return
        self.time_limit = next((w for w in wrappers
                                if w.parameterDefinition().name() == TrainUsingAutoDL.TOTAL_TIME_LIMIT), None)
        if self.time_limit is not None:
            self.time_limit.widgetValueHasChanged.connect(self.check_reach)
            self.widget.changed.connect(self.check_reach)
            self.check_reach()

    def check_reach(self, *_) -> None:
        try:
            hours = float(self.time_limit.parameterValue())
        except (TypeError, ValueError):  # an expression or nothing yet
            return
        self.widget.warn_about_reach(hours)

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
