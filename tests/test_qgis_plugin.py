"""The plugin loads in QGIS (headless) and in qgis_process, without heavy imports."""
import configparser
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from qgis_app import QGIS_PROCESS, qgis_app


def test_class_factory_imports_no_deep_learning_library():
    # A clean interpreter: other tests in this process have imported torch already.
    code = ("import sys; from qgis.testing import start_app; start_app(); import autodl_qgis; "
            "plugin = autodl_qgis.classFactory(None); plugin.initProcessing(); plugin.unload(); "
            "heavy = [m for m in ('torch', 'mmcv', 'mmdet', 'mmseg', 'segmentation_models_pytorch', 'optuna', "
            "'numpy', 'autodl_qgis.engine.data.training_data') if m in sys.modules]; print(heavy); "
            "sys.exit(1 if heavy else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert run.returncode == 0, run.stdout + run.stderr


def test_provider_registers_and_unloads(shared_provider_aside):
    qgis_app()
    from qgis.core import QgsApplication

    import autodl_qgis

    plugin = autodl_qgis.classFactory(None)
    plugin.initProcessing()
    try:
        provider = QgsApplication.processingRegistry().providerById("autodl")
        assert provider is not None and provider.name() == "AutoDL" and not provider.icon().isNull()
    finally:
        plugin.unload()
    assert QgsApplication.processingRegistry().providerById("autodl") is None


def test_japanese_catalogue_loads_for_a_japanese_qgis(monkeypatch, shared_provider_aside):
    qgis_app()
    import autodl_qgis
    from autodl_qgis import plugin as plugin_module

    assert (REPO / "i18n" / "autodl_qgis_ja.qm").is_file(), "compile it: scripts/i18n.sh"
    monkeypatch.setattr(plugin_module, "qgis_language", lambda: "ja")
    plugin = autodl_qgis.classFactory(None)
    plugin.initProcessing()
    try:
        assert plugin.provider.longName() == "AutoDL: ラスターのためのディープ ラーニング"
        algorithm = plugin.provider.algorithm("trainusingautodl")
        assert algorithm.displayName() == "AutoDL を使用したトレーニング"
        assert algorithm.parameterDefinition("total_time_limit").description() == "合計時間制限 (時間)"
        assert "入力トレーニング データ" in algorithm.shortHelpString()
        # ArcGIS Pro's Japanese names, one term throughout: the group, the tools, and the tools the help cites
        arcgis_names = {"trainusingautodl": "AutoDL を使用したトレーニング",
                        "detectobjectsusingdeeplearning": "ディープ ラーニングを使用したオブジェクトの検出",
                        "classifypixelsusingdeeplearning": "ディープ ラーニングを使用したピクセル分類",
                        "exporttrainingdatafordeeplearning": "ディープ ラーニング用のトレーニング データをエクスポート"}
        for name, japanese in arcgis_names.items():
            assert plugin.provider.algorithm(name).displayName() == japanese
        for algorithm in plugin.provider.algorithms():
            assert algorithm.group() == "ディープ ラーニング"
            texts = [algorithm.displayName(), algorithm.shortHelpString(), ",".join(algorithm.tags())] + [
                d.description() for d in algorithm.parameterDefinitions()]
            for text in texts:
                assert "深層学習" not in text and "Train Using AutoDL" not in text, (algorithm.id(), text)
        detect_help = plugin.provider.algorithm("detectobjectsusingdeeplearning").shortHelpString()
        assert "「AutoDL を使用したトレーニング」" in detect_help
        train_help = plugin.provider.algorithm("trainusingautodl").shortHelpString()
        assert "「ディープ ラーニング用のトレーニング データをエクスポート」" in train_help
    finally:
        plugin.unload()
    from autodl_qgis.processing.provider import AutodlProvider

    assert AutodlProvider().longName() == "AutoDL: deep learning for rasters"
    # no catalogue for the language: nothing installed, no error
    monkeypatch.setattr(plugin_module, "qgis_language", lambda: "de")
    assert autodl_qgis.classFactory(None).translator is None


def test_metadata_is_complete_and_inside_the_plugin_folder():
    parser = configparser.ConfigParser()
    parser.read(REPO / "metadata.txt", encoding="utf-8")
    general = parser["general"]
    for key in ("name", "description", "about", "version", "author", "email", "repository", "tracker", "tags",
                "category", "icon", "experimental"):
        assert general.get(key), key
    assert general["qgisMinimumVersion"] == "3.22" and general["hasProcessingProvider"] == "yes"
    assert (REPO / "autodl_qgis" / "metadata.txt").read_text() == (REPO / "metadata.txt").read_text()
    assert (REPO / "autodl_qgis" / general["icon"]).is_file()


def test_qgis_process_lists_the_provider(tmp_path):
    if not shutil.which(QGIS_PROCESS):
        pytest.skip(f"{QGIS_PROCESS} is not installed (apt-get install qgis)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QGIS_PLUGINPATH": str(REPO),
           "QGIS_CUSTOM_CONFIG_PATH": str(tmp_path)}
    enable = subprocess.run([QGIS_PROCESS, "plugins", "enable", "autodl_qgis"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert enable.returncode == 0, enable.stderr
    plugins = subprocess.run([QGIS_PROCESS, "plugins"], env=env, capture_output=True, text=True, timeout=300)
    assert "* autodl_qgis" in plugins.stdout.splitlines()
    listing = subprocess.run([QGIS_PROCESS, "list"], env=env, capture_output=True, text=True, timeout=300)
    assert listing.returncode == 0, listing.stderr
    assert "AutoDL" in [line.strip() for line in listing.stdout.splitlines()]


def test_qgis_lang_ja_gives_a_japanese_plugin_and_engine_messages(monkeypatch, shared_provider_aside, tmp_path):
    """``qgis --lang ja`` sets QGIS' translation, not its locale: the plugin follows the translation. Under it the
    Networks selector's labels are Japanese, and an engine message crosses the events pipe as template and values
    and is shown translated, its numbers formatted."""
    qgis_app()
    from qgis.core import QgsApplication
    from qgis.PyQt.QtCore import QCoreApplication, QTranslator

    import autodl_qgis
    from autodl_qgis.engine.messages import translate
    from autodl_qgis.engine.progress import EventCallbacks
    from autodl_qgis.processing.engine_process import event_text

    monkeypatch.setattr(QgsApplication, "translation", lambda self: "ja")
    monkeypatch.setattr(QgsApplication, "locale", staticmethod(lambda: "en_US"))
    plugin = autodl_qgis.classFactory(None)
    plugin.initProcessing()
    qgis_catalogue = QTranslator()  # QGIS' own, as the desktop under --lang ja installs it
    assert qgis_catalogue.load("/usr/share/qgis/i18n/qgis_ja.qm")
    QCoreApplication.installTranslator(qgis_catalogue)
    try:
        assert plugin.translator is not None
        assert plugin.provider.algorithm("trainusingautodl").displayName() == "AutoDL を使用したトレーニング"
        from qgis.PyQt.QtWidgets import QWidget

        sys.path.append("/usr/share/qgis/python/plugins")  # Processing's wrappers, as in the desktop
        from autodl_qgis.processing.networks_widget import NetworksWidgetWrapper, describe

        assert describe("FasterRCNN") == "FasterRCNN — オブジェクト検出"
        wrapper = NetworksWidgetWrapper(plugin.provider.algorithm("trainusingautodl").parameterDefinition("networks"),
                                        type("AlgorithmDialog", (QWidget,), {})())
        assert wrapper.tr(" [optional]") == " [オプション]"

        events = tmp_path / "events.jsonl"
        with open(events, "w", encoding="utf-8") as stream:
            callbacks = EventCallbacks(stream, watch_stdin=False)
            callbacks.progress(0.5, translate("Trainer", "{name}: epoch {epoch} train loss {loss:.4f}, validation "
                                                         "{metric_name} {metric:.4f}").format(
                name="UnetClassifier", epoch=3, loss=0.123456, metric_name="mIoU", metric=0.5))
            callbacks.log("a line with no template")
            # a phrase inside a message (its own template) is translated too
            callbacks.log(translate("Trainer", "{name}: the rest of the run ({share:.0%} of it) trains on the {chips} "
                                    "training + validation chips without validating; the {kept} at its end will be "
                                    "kept").format(
                name="SSD", share=0.5, chips=15, kept=translate("Trainer", "moving average of the weights").format()))
        first, second, nested = [__import__("json").loads(line)
                                 for line in events.read_text(encoding="utf-8").splitlines()]
        assert first["message"] == "UnetClassifier: epoch 3 train loss 0.1235, validation mIoU 0.5000"
        assert event_text(first) == "UnetClassifier: エポック 3 トレーニング損失 0.1235、検証 mIoU 0.5000"
        assert event_text(second) == "a line with no template"
        assert "the moving average of the weights at its end" in nested["message"]
        assert "50%" in event_text(nested) and "終了時点の重みの移動平均を残します" in event_text(nested)
    finally:
        QCoreApplication.removeTranslator(qgis_catalogue)
        plugin.unload()


def test_provider_unloads_when_processing_dropped_its_setting_first(shared_provider_aside):
    """Seen on exit after a batch: Processing's settings no longer held the provider's Python setting, and
    unload() raised KeyError."""
    qgis_app()
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.ProcessingConfig import ProcessingConfig

    from autodl_qgis.processing.engine_process import PYTHON_SETTING
    from autodl_qgis.processing.provider import AutodlProvider

    provider = AutodlProvider()
    assert provider.load() and PYTHON_SETTING in ProcessingConfig.settings
    ProcessingConfig.removeSetting(PYTHON_SETTING)
    provider.unload()
    assert PYTHON_SETTING not in ProcessingConfig.settings
