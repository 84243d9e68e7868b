"""Install AutoDL Engine (autodl:installengine): makes or repairs the engine's own Python, a venv in the user's QGIS
settings folder, and points the provider's Python option at it. The work is ``python -m autodl_qgis install-engine``
(autodl_qgis/installer.py) run in QGIS' own interpreter through the engine's child-process machinery, so pip's
progress, log and cancel reach the Processing feedback; nothing is installed into QGIS' Python itself."""
from __future__ import annotations

from pathlib import Path

from qgis.core import (QgsApplication, QgsProcessingOutputFile, QgsProcessingParameterBoolean,
                       QgsProcessingParameterDefinition, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterString, QgsSettings)

from ..installer import MMCV_BUILD_MINUTES, TORCH_BUILDS, InstallError, engine_venv, qgis_python, venv_interpreter
from .algorithm import AutodlAlgorithm
from .engine_process import PYTHON_SETTING, PYTHON_SETTING_KEY, detect_devices, engine_folder, run_engine


class InstallAutodlEngine(AutodlAlgorithm):
    OPENMMLAB, WHEELS, INDEX_URL, PROXY, TORCH = "openmmlab", "wheels", "index_url", "proxy", "torch"
    ENGINE_PYTHON = "engine_python"

    def name(self) -> str:
        return "installengine"

    def displayName(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr("Install AutoDL Engine")

    def tags(self) -> list[str]:
        return self.tr("install,setup,pip,pytorch,torch,cuda,gpu,venv,python,engine,update,repair").split(",")

    def shortHelpString(self) -> str:  # noqa: N802 - QGIS API name
        return self.tr(
            "Installs the Python libraries the AutoDL algorithms need (PyTorch, torchvision, "
            "segmentation-models-pytorch, transformers, Optuna, …) into a Python environment of their own, in your "
            "QGIS profile folder: no administrator rights are needed and QGIS' own Python is not changed. It then "
            "sets Settings › Options › Processing › Providers › AutoDL › Python to it. Several GB are downloaded; "
            "a run takes minutes.\n\n"
            "Run it again at any time: it checks the environment and repairs or updates it (after a plugin "
            "upgrade, or when QGIS moved to another Python).\n\n"
            "PyTorch: with an NVIDIA driver (nvidia-smi) the CUDA build is installed, else the CPU build; the log "
            "says which.\n"
            "<b>Add OpenMMLab</b> (openmmlab): also the MMDetection and MMSegmentation networks. mmcv 2.1 is taken "
            "from the wheel folder when it holds one, else built from source: {0}, and a C++ compiler is "
            "needed. Without it those networks are listed as needing the OpenMMLab extra and skipped.\n"
            "<b>Folder of wheels</b> (wheels): for computers without internet: .whl files made elsewhere with "
            "pip download; nothing else is downloaded unless a package index is also given (e.g. a prebuilt mmcv "
            "wheel with https://pypi.org/simple for the rest).\n"
            "<b>Package index URL</b> (index_url): a PyPI mirror of your organisation.\n"
            "<b>Proxy</b> (proxy): http://[user:password@]host:port.\n"
            "<b>PyTorch build</b> (torch): auto, cuda or cpu.").format(MMCV_BUILD_MINUTES)

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterBoolean(
            self.OPENMMLAB, self.tr("Add OpenMMLab (MMDetection, MMSegmentation networks)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterFile(
            self.WHEELS, self.tr("Folder of wheels (no internet)"), behavior=QgsProcessingParameterFile.Folder,
            optional=True))
        for name, label in ((self.INDEX_URL, self.tr("Package index URL")), (self.PROXY, self.tr("Proxy"))):
            parameter = QgsProcessingParameterString(name, label, optional=True)
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(parameter)
        torch = QgsProcessingParameterEnum(self.TORCH, self.tr("PyTorch build"), options=list(TORCH_BUILDS),
                                           defaultValue="auto", usesStaticStrings=True)
        torch.setFlags(torch.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(torch)
        self.addOutput(QgsProcessingOutputFile(self.ENGINE_PYTHON, self.tr("Python of the AutoDL engine")))

    def engine_arguments(self, parameters, context, feedback, folder: Path) -> list[str]:
        arguments = ["install-engine", str(self.venv()),
                     "--torch", self.parameterAsEnumString(parameters, self.TORCH, context) or "auto"]
        for name, option in ((self.WHEELS, "--wheels"), (self.INDEX_URL, "--index-url"), (self.PROXY, "--proxy")):
            value = self.parameterAsString(parameters, name, context).strip()
            if value:
                arguments += [option, value]
        if self.parameterAsBoolean(parameters, self.OPENMMLAB, context):
            arguments.append("--openmmlab")
        return arguments

    @staticmethod
    def venv() -> Path:
        return engine_venv(QgsApplication.qgisSettingsDirPath())

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        from qgis.core import QgsProcessingException

        try:
            base = qgis_python()
        except InstallError as exc:
            raise QgsProcessingException(str(exc))
        feedback.pushInfo(self.tr("Making the engine's environment {0} from QGIS' Python {1}").format(
            self.venv(), base))
        with engine_folder() as folder:
            run_engine(self.engine_arguments(parameters, context, feedback, folder), feedback, folder,
                       python=str(base))
        python = str(venv_interpreter(self.venv()))
        set_engine_python(python)
        feedback.pushInfo(self.tr("Settings › Options › Processing › Providers › AutoDL › Python is now {0}").format(
            python))
        detect_devices()  # the Device choices of the other algorithms, from the new engine
        return {self.ENGINE_PYTHON: python}


def set_engine_python(python: str) -> None:
    """The provider's Processing option, in memory (an open Options dialog saves what it holds) and on disk."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig
    except ImportError:
        ProcessingConfig = None  # noqa: N806 - the class's name
    if ProcessingConfig is not None and PYTHON_SETTING in ProcessingConfig.settings:
        ProcessingConfig.setSettingValue(PYTHON_SETTING, python)
    settings = QgsSettings()
    settings.setValue(PYTHON_SETTING_KEY, python)
    settings.sync()
