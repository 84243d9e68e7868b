"""Engine messages that QGIS shows in its own language. ``translate(context, text)`` marks a message template in
the engine's code (pylupdate5 reads these calls into the plugin's .ts catalogue; nothing of Qt is imported here);
``.format(**values)`` gives the English text as a ``Message``, a str that also keeps its template and values. The
events sent to QGIS carry both, and QGIS translates the template, then formats it (engine_process.py)."""
from __future__ import annotations

from dataclasses import dataclass


class Message(str):
    """The English text, plus what QGIS needs to say it in another language."""

    context: str
    template: str
    values: dict

    def __new__(cls, context: str, template: str, values: dict) -> "Message":
        message = super().__new__(cls, template.format(**values))
        message.context, message.template, message.values = context, template, values
        return message

    def __reduce__(self):  # copies and pickles (str's own would call __new__ with the text alone)
        return Message, (self.context, self.template, self.values)

    def event_fields(self) -> dict:
        """For a JSON event: a value that is a Message goes with its own template (QGIS translates it too), values
        that are not numbers go as text (a path, a device)."""
        values = {k: {**v.event_fields(), "message": str(v)} if isinstance(v, Message)
                  else v if isinstance(v, (int, float, str)) else str(v) for k, v in self.values.items()}
        return {"context": self.context, "template": self.template, "values": values}


@dataclass(frozen=True)
class Template:
    context: str
    text: str

    def format(self, **values) -> Message:
        """The message with these values; a value may be a Message (a translatable phrase: ``.format()`` of a
        template without placeholders)."""
        return Message(self.context, self.text, values)


def translate(context: str, text: str) -> Template:
    """A translatable message template (the name and signature pylupdate5 extracts, as Qt's translate)."""
    return Template(context, text)
