"""Engine messages: English text for the terminal, template and values for QGIS to translate (engine/messages.py)."""
import copy
import json
import pickle

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
