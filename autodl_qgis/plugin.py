"""The QGIS plugin: registers the Processing provider (the shape of QGIS' own otbprovider plugin)."""
from __future__ import annotations

from pathlib import Path

from qgis.core import QgsApplication, QgsTask
from qgis.PyQt.QtCore import QCoreApplication, QTranslator

PLUGIN_DIR = Path(__file__).resolve().parent


def qgis_language() -> str:
    """The language QGIS' own texts are in: ``qgis --lang``, else the override in its options, else the system
    locale (what QGIS put in translation()); locale() alone misses --lang."""
    app = QgsApplication.instance()
    translation = app.translation() if isinstance(app, QgsApplication) else ""
    return (translation or QgsApplication.locale() or "")[:2]


def install_translator() -> QTranslator | None:
    """Loads autodl_qgis_<lang>.qm for the QGIS locale, when there is one: from i18n/ inside the installed plugin,
    or beside the package in a source checkout."""
    locale = qgis_language()
    found = [d / f"autodl_qgis_{locale}.qm" for d in (PLUGIN_DIR / "i18n", PLUGIN_DIR.parent / "i18n")]
    qm = next((q for q in found if q.is_file()), None)
    if not locale or qm is None:
        return None
    translator = QTranslator()
    if not translator.load(str(qm)):
        return None
    QCoreApplication.installTranslator(translator)
    return translator


class EngineCheck(QgsTask):
    """engine_problem() off the main thread; ``answer(problem)`` on it when done (a QgsTask subclass: its
    finished() is delivered reliably, where QgsTask.fromFunction's first callback can be lost in QGIS 3.22)."""

    def __init__(self, answer):
        super().__init__(QCoreApplication.translate("AutodlPlugin", "Checking the AutoDL engine"), QgsTask.CanCancel)
        self.answer, self.problem = answer, None

    def run(self) -> bool:
        from .processing.engine_process import engine_problem

        self.problem = engine_problem()
        return True

    def finished(self, result: bool) -> None:
        self.answer(self.problem if result else None)


class AutodlPlugin:
    def __init__(self, iface=None):
        self.iface = iface
        self.provider = None
        # the start-up check of the engine: its task (referenced while the task manager runs it), and whether it ended
        self.engine_check, self.engine_checked = None, False
        # Here rather than in initGui: qgis_process never calls initGui, and its algorithms' texts need it too.
        self.translator = install_translator()

    def initProcessing(self):  # noqa: N802 - QGIS API name
        from .processing.provider import AutodlProvider

        self.provider = AutodlProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 - QGIS API name
        self.initProcessing()
        from .processing.engine_process import detect_devices_in_background

        self.engine_check = self.check_engine_in_background()
        # the desktop asks the engine's Python for its GPUs once, in the background, for the Device choices
        self.devices_detection = detect_devices_in_background()

    def check_engine_in_background(self) -> EngineCheck:
        """Whether the engine can run is asked of its interpreter (a child process, up to 30 s on a cold disk) in a
        task, so that QGIS' start never waits for it; the answer comes back on the main thread."""
        task = EngineCheck(self.engine_check_finished)
        QgsApplication.taskManager().addTask(task)
        return task

    def engine_check_finished(self, problem: str | None) -> None:
        self.engine_checked = True
        if problem is not None and self.iface is not None and self.provider is not None:  # still loaded
            self.offer_engine_install(problem)

    def offer_engine_install(self, problem: str) -> None:
        """A message bar with a button that opens Install AutoDL Engine (the desktop only: qgis_process has no
        iface and says the fix in the error of the run instead)."""
        from qgis.core import Qgis
        from qgis.PyQt.QtWidgets import QPushButton

        bar = self.iface.messageBar()
        message = bar.createMessage(
            QCoreApplication.translate("AutodlPlugin", "AutoDL"),
            problem + " " + QCoreApplication.translate(
                "AutodlPlugin", "The AutoDL algorithms need it: install it into your QGIS profile (minutes, several "
                "GB, no administrator rights)."))
        button = QPushButton(QCoreApplication.translate("AutodlPlugin", "Install AutoDL Engine…"), message)
        button.clicked.connect(lambda: self.open_installer(message))
        message.layout().addWidget(button)
        bar.pushWidget(message, Qgis.Warning)

    def open_installer(self, message) -> None:
        import processing

        self.iface.messageBar().popWidget(message)
        processing.execAlgorithmDialog("autodl:installengine", {})

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
