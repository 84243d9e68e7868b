"""Train Using AutoDL in QGIS, headless: parameters, processing.run, cancel, validation, and qgis_process."""
import os
import subprocess
import sys
import threading
import time
import zipfile

import pytest

from autodl_qgis.engine.data import CLASSIFIED_TILES, PASCAL_VOC
from conftest import REPO
from qgis_app import QGIS_PROCESS, processing_registry, qgis_process_env

pytestmark = pytest.mark.usefixtures("no_autodl_temp_left")

ALGORITHM = "autodl:trainusingautodl"


@pytest.fixture(scope="module")
def processing_ready():
    return processing_registry()


def test_parameters_are_named_like_arcpy_with_its_defaults(processing_ready):
    from qgis.core import QgsProcessingParameterDefinition

    algorithm = processing_ready.algorithmById(ALGORITHM)
    assert algorithm.displayName() == "Train Using AutoDL" and algorithm.groupId() == "deeplearning"
    defs = {d.name(): d for d in algorithm.parameterDefinitions()}
    assert list(defs) == ["in_data", "out_model", "pretrained_model", "total_time_limit", "autodl_mode", "networks",
                          "save_evaluated_models", "device"]
    assert defs["total_time_limit"].defaultValue() == 2.0
    assert defs["autodl_mode"].options() == ["BASIC", "ADVANCED"] and defs["autodl_mode"].usesStaticStrings()
    assert defs["autodl_mode"].defaultValue() == "BASIC"
    # names separated by commas (a string: QGIS 3.22's multiple static enum cannot be ticked nor kept in History)
    assert defs["networks"].type() == "string" and "widget_wrapper" in defs["networks"].metadata()
    assert defs["networks"].flags() & QgsProcessingParameterDefinition.FlagOptional
    assert defs["pretrained_model"].flags() & QgsProcessingParameterDefinition.FlagOptional
    assert defs["save_evaluated_models"].defaultValue() is False
    assert defs["device"].defaultValue() == "auto" and defs["device"].options()[:2] == ["auto", "cpu"]
    assert defs["device"].flags() & QgsProcessingParameterDefinition.FlagAdvanced
    # out_model is listed too: QGIS adds an output for every destination parameter
    assert {o.name() for o in algorithm.outputDefinitions()} == {"out_model", "output_model_file", "report_file",
                                                                  "leaderboard_file"}
    assert "in_data" in algorithm.shortHelpString() and "ADVANCED" in algorithm.shortHelpString()


@pytest.mark.parametrize("fmt,network", [(CLASSIFIED_TILES, "UnetClassifier"), (PASCAL_VOC, "FasterRCNN")])
def test_processing_run_writes_a_loadable_package(processing_ready, synthetic, tmp_path, fmt, network):
    import processing
    from qgis.core import QgsProcessingFeedback

    from autodl_qgis.engine.package import open_package

    messages = []

    class Feedback(QgsProcessingFeedback):
        def pushInfo(self, info):  # noqa: N802 - QGIS API name
            messages.append(info)

    result = processing.run(ALGORITHM, {"in_data": str(synthetic(fmt, num_chips=12)),
                                        "out_model": str(tmp_path / "model"), "total_time_limit": 0.02,
                                        "networks": [network]}, feedback=Feedback())
    assert result["output_model_file"] == str(tmp_path / "model.dlpk")  # .dlpk added
    assert (tmp_path / "model_report.html").is_file() and (tmp_path / "model_leaderboard.csv").is_file()
    with open_package(result["output_model_file"]) as package:
        assert package.network == network
    assert any(network in m for m in messages)


def test_cancel_through_feedback_stops_quickly_and_writes_nothing(processing_ready, synthetic, tmp_path):
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    from autodl_qgis.processing.engine_process import CANCEL_GRACE_S

    class CancelOnceTheEngineReports(QgsProcessingFeedback):
        """Cancels at the engine's first progress event: the engine is up and working, whatever this machine's
        speed (a fixed wait could cancel before it started or after it finished)."""

        def setProgress(self, progress):  # noqa: N802 - QGIS API name
            super().setProgress(progress)
            if not self.isCanceled():
                cancelled_at.append(time.monotonic())
                self.cancel()

    feedback, cancelled_at = CancelOnceTheEngineReports(), []
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run(ALGORITHM, {"in_data": str(synthetic(CLASSIFIED_TILES, num_chips=12)),
                                   "out_model": str(tmp_path / "never.dlpk"), "total_time_limit": 1.0,
                                   "networks": ["UnetClassifier"]}, feedback=feedback)
    # the wall: a real engine answers the cancel by itself, before the grace after which it would be killed (that
    # decision: test_qgis_process_isolation.py, on a fake clock; no step after a cancel: test_trainer.py)
    assert cancelled_at and time.monotonic() - cancelled_at[0] < CANCEL_GRACE_S
    assert list(tmp_path.iterdir()) == []


def test_cancel_while_training_logs_one_line(processing_ready, synthetic, tmp_path):
    """Cancelled once a network trains (inside Optuna's study): after the cancel the log gets nothing (no Optuna
    traceback, no echo of the engine's own line); the one line is the algorithm's error."""
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    class Feedback(QgsProcessingFeedback):
        after_cancel = []

        def setProgressText(self, text):  # noqa: N802 - QGIS API name
            if "UnetClassifier" in text and not self.isCanceled():
                self.cancel()  # as the user pressing Cancel while the network trains

        def pushInfo(self, info):  # noqa: N802 - QGIS API name
            self.record(info)

        def pushConsoleInfo(self, info):  # noqa: N802 - QGIS API name
            self.record(info)

        def reportError(self, error, fatalError=False):  # noqa: N802, N803 - QGIS API names
            self.record(error)

        def record(self, line):
            if self.isCanceled():
                self.after_cancel.append(line)

    feedback = Feedback()
    with pytest.raises(QgsProcessingException) as raised:
        processing.run(ALGORITHM, {"in_data": str(synthetic(CLASSIFIED_TILES, num_chips=12)),
                                   "out_model": str(tmp_path / "never.dlpk"), "total_time_limit": 1.0,
                                   "networks": "UnetClassifier"}, feedback=feedback)
    assert feedback.isCanceled() and str(raised.value) == "Cancelled: nothing was written."
    assert feedback.after_cancel == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_batch_dialog_runs_to_the_end_and_shows_only_written_reports(processing_ready, synthetic, tmp_path):
    """QGIS 3.22's batch dialog, as the Run button drives it: a row that trains and a row that fails. It ends
    without a Python error; the Results Viewer gets the written report, named after its model, and the summary
    of the failure, no report of the failed row."""
    from processing.core.ProcessingResults import resultsList
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from processing.tools import dataobjects

    dialog = BatchAlgorithmDialog(processing_ready.algorithmById(ALGORITHM).create())
    panel = dialog.mainWidget()
    panel.addRow()
    context = dataobjects.createContext()
    rows = [{"in_data": str(synthetic(CLASSIFIED_TILES, num_chips=12)), "networks": "UnetClassifier"},
            {"in_data": str(tmp_path / "missing"), "networks": "UnetClassifier"}]
    for row, values in enumerate(rows):
        for name, value in {**values, "total_time_limit": 0.02}.items():
            panel.wrappers[row][panel.parameter_to_column[name]].setParameterValue(value, context)
        panel.tblParameters.cellWidget(row + 1, panel.parameter_to_column["out_model"]).setValue(
            str(tmp_path / f"row{row}.dlpk"))
    before = len(resultsList.getResults())
    dialog.runAlgorithm()
    assert (tmp_path / "row0.dlpk").is_file() and not (tmp_path / "row1.dlpk").exists()
    added = resultsList.getResults()[before:]
    assert [r.name for r in added] == ["row0: training report", "trainusingautodl [summary]"]
    assert added[0].filename == str(tmp_path / "row0_report.html")


def test_validation_errors_are_clear(processing_ready, synthetic, tmp_path):
    """The engine checks the inputs (in its own process) and its one-line message is the algorithm's error."""
    import processing
    from qgis.core import QgsProcessingException

    def error(parameters):
        with pytest.raises(QgsProcessingException) as raised:
            processing.run(ALGORITHM, {"out_model": str(tmp_path / "m.dlpk"), **parameters})
        assert "\n" not in str(raised.value) and "Traceback" not in str(raised.value)
        return str(raised.value)

    assert "missing: does not exist" in error({"in_data": str(tmp_path / "missing")})
    assert "UnetClassifier does not suit PASCAL_VOC_rectangles" in error(
        {"in_data": str(synthetic(PASCAL_VOC)), "networks": "UnetClassifier"})
    (tmp_path / "fake.dlpk").write_text("not a zip")
    assert "is not a .dlpk (zip) package" in error(
        {"in_data": str(synthetic(PASCAL_VOC)), "pretrained_model": str(tmp_path / "fake.dlpk")})
    assert not (tmp_path / "m.dlpk").exists()


def _qgis_process_env(tmp_path):
    return qgis_process_env(tmp_path, REPO)


@pytest.mark.parametrize("fmt,network", [(CLASSIFIED_TILES, "UnetClassifier"), (PASCAL_VOC, "SingleShotDetector")])
def test_qgis_process_runs_the_algorithm(synthetic, tmp_path, fmt, network):
    env = _qgis_process_env(tmp_path)
    help_text = subprocess.run([QGIS_PROCESS, "help", ALGORITHM], env=env, capture_output=True, text=True,
                               timeout=300).stdout
    assert "total_time_limit" in help_text and "autodl_mode" in help_text
    out = tmp_path / "model.dlpk"
    run = subprocess.run([QGIS_PROCESS, "run", ALGORITHM, "--", f"in_data={synthetic(fmt, num_chips=12)}",
                          f"out_model={out}", "total_time_limit=0.02", f"networks={network}"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert zipfile.is_zipfile(out) and f"output_model_file:\t{out}" in run.stdout


@pytest.mark.slow
def test_modeler_chains_training_into_fine_tuning(processing_ready, synthetic, tmp_path):
    """A .model3 that trains, then fine-tunes from the first step's output model, loaded from file and run."""
    import processing
    from qgis.core import (QgsProcessingModelAlgorithm, QgsProcessingModelChildAlgorithm,
                           QgsProcessingModelChildDependency, QgsProcessingModelChildParameterSource,
                           QgsProcessingModelOutput,
                           QgsProcessingModelParameter, QgsProcessingParameterFile)

    from autodl_qgis.engine.package import open_package

    def static(value):
        return [QgsProcessingModelChildParameterSource.fromStaticValue(value)]

    model = QgsProcessingModelAlgorithm("train then fine-tune", "autodl tests")
    model.addModelParameter(QgsProcessingParameterFile("chips", "Chips", behavior=QgsProcessingParameterFile.Folder),
                            QgsProcessingModelParameter("chips"))
    chips = [QgsProcessingModelChildParameterSource.fromModelParameter("chips")]
    first = QgsProcessingModelChildAlgorithm(ALGORITHM)
    first.setChildId("train")
    first.addParameterSources("in_data", chips)
    first.addParameterSources("out_model", static(str(tmp_path / "first.dlpk")))
    first.addParameterSources("total_time_limit", static(0.015))
    first.addParameterSources("networks", static("UnetClassifier"))
    model.addChildAlgorithm(first)
    second = QgsProcessingModelChildAlgorithm(ALGORITHM)
    second.setChildId("finetune")
    second.addParameterSources("in_data", chips)
    second.addParameterSources("pretrained_model", [
        QgsProcessingModelChildParameterSource.fromChildOutput("train", "output_model_file")])
    second.addParameterSources("total_time_limit", static(0.015))
    output = QgsProcessingModelOutput("tuned", "Fine-tuned model")
    output.setChildId("finetune")
    output.setChildOutputName("out_model")
    second.setModelOutputs({"tuned": output})
    second.setDependencies([QgsProcessingModelChildDependency("train")])
    model.addChildAlgorithm(second)
    path = tmp_path / "chain.model3"
    assert model.toFile(str(path))

    loaded = QgsProcessingModelAlgorithm()
    assert loaded.fromFile(str(path))
    result = processing.run(loaded, {"chips": str(synthetic(CLASSIFIED_TILES, num_chips=12)),
                                     "finetune:tuned": str(tmp_path / "tuned.dlpk")})
    tuned = result["finetune:tuned"]
    assert tuned.endswith("tuned.dlpk") and (tmp_path / "first.dlpk").is_file()
    with open_package(tuned) as package:
        assert package.network == "UnetClassifier"
        assert package.info["training"]["fine_tuned_from"].endswith("first.dlpk")


def test_qgis_python_without_torch_trains_through_the_engine_process(synthetic, tmp_path):
    """QGIS' own Python needs no torch: the engine's interpreter has it. One without the libraries is a clear error."""
    code = f"""
import sys
sys.modules["torch"] = None  # as in a QGIS whose Python has no PyTorch
sys.path.append("/usr/share/qgis/python/plugins")
from qgis.testing import start_app
start_app()
from processing.core.Processing import Processing
Processing.initialize()
import processing
from qgis.core import QgsApplication, QgsProcessingException
import autodl_qgis
plugin = autodl_qgis.classFactory(None)
plugin.initProcessing()
assert QgsApplication.processingRegistry().algorithmById("{ALGORITHM}") is not None
try:
    processing.run("{ALGORITHM}", {{"in_data": r"{synthetic(CLASSIFIED_TILES, num_chips=12)}",
                                    "out_model": r"{tmp_path / 'm.dlpk'}", "total_time_limit": 0.01,
                                    "networks": "UnetClassifier"}})
    print("MESSAGE none")
except QgsProcessingException as exc:
    print("MESSAGE", exc)
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "MESSAGE none" in run.stdout and zipfile.is_zipfile(tmp_path / "m.dlpk")
    (tmp_path / "m.dlpk").unlink()
    # an engine interpreter without the libraries (Debian's Python alone): says what is missing and what to do
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600,
                         env={**env, "AUTODL_PYTHON": "/usr/bin/python3"})
    message = next(line for line in run.stdout.splitlines() if line.startswith("MESSAGE"))
    assert "a library is missing" in message and "\"Install AutoDL Engine\"" in message, message
    assert not (tmp_path / "m.dlpk").exists()


def test_ctrl_c_in_qgis_process_stops_quickly_and_writes_nothing(synthetic, tmp_path):
    import signal

    from autodl_qgis.processing.engine_process import CANCEL_GRACE_S

    env = _qgis_process_env(tmp_path)
    out = tmp_path / "out" / "model.dlpk"
    out.parent.mkdir()
    # stdbuf: qgis_process' std::cout into a pipe is block-buffered, which held "epoch 1" back until the run ended
    process = subprocess.Popen(["stdbuf", "-oL", QGIS_PROCESS, "run", ALGORITHM, "--",
                                f"in_data={synthetic(CLASSIFIED_TILES, num_chips=12)}", f"out_model={out}",
                                "total_time_limit=1", "networks=UnetClassifier"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # Interrupt once the first epoch is logged: a fixed delay let a fast machine finish (early stopping) first.
    training = threading.Event()
    stdout = []

    def watch():
        for line in process.stdout:
            stdout.append(line)
            if "epoch 1 " in line:
                training.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    training.wait(timeout=300)
    assert training.is_set() and process.poll() is None, "".join(stdout)[-3000:]
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    process.wait(timeout=60)
    assert time.monotonic() - sent < CANCEL_GRACE_S  # the wall: a real engine stops by itself, before the grace
    assert list(out.parent.iterdir()) == []
