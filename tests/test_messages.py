"""Engine messages: English text for the terminal, template and values for QGIS to translate (engine/messages.py)."""
import copy
import json
import pickle
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from autodl_qgis.engine.messages import Message, translate
from autodl_qgis.engine.progress import LOG_EVENT, message_event


def _refit_line() -> Message:
    return translate("Trainer", "{name}: the {kept} at its end will be kept").format(
        name="SSD", kept=translate("Trainer", "moving average of the weights").format())


def test_a_phrase_inside_a_message_reads_as_text_and_travels_with_its_own_template():
    line = _refit_line()
    assert line == "SSD: the moving average of the weights at its end will be kept"
    event = json.loads(json.dumps(message_event(LOG_EVENT, line)))
    assert event["message"] == str(line) and event["template"] == "{name}: the {kept} at its end will be kept"
    assert event["values"]["kept"] == {"context": "Trainer", "template": "moving average of the weights",
                                       "values": {}, "message": "moving average of the weights"}


def test_a_message_survives_copies_and_pickles_whole():
    # results and errors that carry a message are copied (dataclasses.asdict) and sent between processes
    line = _refit_line()
    for copied in (copy.deepcopy(line), pickle.loads(pickle.dumps(line))):
        assert copied == line and isinstance(copied, Message)
        assert copied.event_fields() == line.event_fields()


REPO = Path(__file__).resolve().parents[1]


def test_every_marked_message_has_a_japanese_translation_in_the_shipped_catalogue(tmp_path):
    # a file missing from the catalogue's sources, or a message added without its translation, shows in English in a
    # Japanese QGIS (seen: the training's closing line and the pretrained-weights warning)
    project = (REPO / "i18n" / "autodl_qgis.pro").read_text(encoding="utf-8")
    listed = set(re.findall(r"\.\./(autodl_qgis/\S+\.py)", project))
    marking = {p.relative_to(REPO).as_posix() for p in (REPO / "autodl_qgis").rglob("*.py")
               if re.search(r"\btranslate\(\s*\"", p.read_text(encoding="utf-8"))}
    assert marking - listed == set(), "add these to i18n/autodl_qgis.pro's SOURCES"
    tools = [shutil.which(t) for t in ("pylupdate5", "lrelease")]
    if None in tools:
        pytest.skip("pylupdate5 / lrelease not installed (scripts/setup.sh installs pyqt5-dev-tools, "
                    "qttools5-dev-tools)")
    shutil.copytree(REPO / "i18n", tmp_path / "i18n")
    (tmp_path / "autodl_qgis").symlink_to(REPO / "autodl_qgis")
    subprocess.run([tools[0], "-noobsolete", "autodl_qgis.pro"], cwd=tmp_path / "i18n", check=True,
                   capture_output=True)
    messages = list(ElementTree.parse(tmp_path / "i18n" / "autodl_qgis_ja.ts").iter("message"))
    untranslated = [m.findtext("source") for m in messages if m.find("translation").get("type") == "unfinished"]
    assert untranslated == [], "translate these in i18n/autodl_qgis_ja.ts, then run scripts/i18n.sh"
    assert len(messages) > 150
    # the .qm QGIS loads is the committed catalogue's
    subprocess.run([tools[1], "-silent", str(REPO / "i18n" / "autodl_qgis_ja.ts"), "-qm", str(tmp_path / "ja.qm")],
                   check=True, capture_output=True)
    assert (tmp_path / "ja.qm").read_bytes() == (REPO / "i18n" / "autodl_qgis_ja.qm").read_bytes(), \
        "run scripts/i18n.sh"

