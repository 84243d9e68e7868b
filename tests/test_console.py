"""The terminal display: a line per epoch and per candidate when stderr is not a terminal (hundreds of steps become
a few lines), a live display on a terminal, warnings only with --quiet, and stdout kept for --json."""
import io
import json

import pytest

from autodl_qgis.cli import main
from autodl_qgis.engine.console import ConsoleCallbacks
from autodl_qgis.engine.progress import EpochEvent


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _run(callbacks, clock, candidates=2, epochs=3, steps=100):
    """What a search reports: per candidate a log, per step a progress, per epoch a validation (a progress with its
    values; its message is not read)."""
    total = candidates * epochs * steps
    done = 0
    for c in range(candidates):
        name = f"Net{c} (resnet18)"
        callbacks.log(f"training {name} for up to 300 s")
        for epoch in range(1, epochs + 1):
            for _ in range(steps):
                clock.now += 1.0
                done += 1
                callbacks.progress(done / total, f"{name}: training")
            score = 0.1 * epoch + 0.05 * c
            callbacks.progress(done / total, f"{name}: epoch {epoch} train loss 0.5000, validation "
                                             f"average_precision {score:.4f}",
                               EpochEvent(name, epoch, 0.5, "average_precision", score))
    callbacks.log("warning: something the user should know")


def test_not_a_terminal_gives_a_line_per_epoch_and_candidate_and_a_heartbeat():
    stream, clock = io.StringIO(), FakeClock()
    callbacks = ConsoleCallbacks(stream, limit_seconds=900, heartbeat=60, clock=clock)
    _run(callbacks, clock)
    lines = stream.getvalue().splitlines()
    # 600 steps over 600 s: 2 candidate lines, 6 epoch lines, a warning, and a progress line a minute at most
    assert 9 < len(lines) <= 9 + 11, lines
    assert sum("training Net" in line for line in lines) == 2
    assert sum("validation average_precision" in line for line in lines) == 6
    heartbeat = [line for line in lines if "left" in line and "validation" not in line]
    assert heartbeat and all("Net" in line and " | " in line for line in heartbeat)
    # after a validated epoch a heartbeat shows the run's epoch and loss (a new run's message until its first one)
    assert all(", epoch " in line and "loss 0.5000" in line for line in heartbeat if ": training" not in line)
    assert any("Net1 (resnet18), epoch" in line and "best average_precision" in line for line in heartbeat)
    epochs = [line for line in lines if "validation" in line]
    assert epochs[-1].endswith("| best average_precision 0.3500 (Net1 (resnet18)) | 05:00 left")
    assert lines[-1].startswith("[10:00]") and lines[-1].endswith("warning: something the user should know")
    assert callbacks.time_left() == 300  # the limit minus the 600 s the fake clock moved
    assert callbacks.state.best == pytest.approx(0.35) and callbacks.state.best_candidate == "Net1 (resnet18)"


def test_quiet_keeps_warnings_only():
    stream, clock = io.StringIO(), FakeClock()
    _run(ConsoleCallbacks(stream, quiet=True, clock=clock), clock)
    assert stream.getvalue().splitlines() == ["[10:00] warning: something the user should know"]


def test_a_terminal_gets_one_live_display():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream, clock = Terminal(), FakeClock()
    with ConsoleCallbacks(stream, limit_seconds=900, clock=clock) as callbacks:
        assert callbacks._live is not None
        _run(callbacks, clock, candidates=1, epochs=1, steps=50)
        clock.now += 1
    text = stream.getvalue()
    assert "\x1b[" in text  # drawn with terminal control sequences, redrawn in place
    assert "training Net0 (resnet18)" in text and "warning: something the user should know" in text
    assert "Net0 (resnet18), epoch 1, loss 0.5000" in text and "average_precision 0.1000 (Net0 (resnet18))" in text
    assert "left" in text and "14:09" in text  # 900 s limit, 51 s gone
    assert text.count("Net0 (resnet18): epoch 1, step") == 0  # steps are not printed one by one


def test_epoch_values_are_read_from_the_event_not_the_message(tmp_path):
    """The display and the JSON events carry the epoch's values whatever the message's wording (a translation)."""
    from autodl_qgis.engine.progress import EventCallbacks

    stream, clock = io.StringIO(), FakeClock()
    callbacks = ConsoleCallbacks(stream, limit_seconds=900, clock=clock)
    event = EpochEvent("Net0 (resnet18)", 4, 0.25, "miou", 0.5, ema_metric=0.625)
    callbacks.progress(0.5, "Net0 (resnet18): エポック 4", event)
    assert (callbacks.state.epoch, callbacks.state.loss, callbacks.state.best) == (4, 0.25, 0.625)
    assert stream.getvalue().endswith("| best miou 0.6250 (Net0 (resnet18)) | 15:00 left\n")
    callbacks.progress(0.6, "Net0 (resnet18): choosing the batch size")  # no values: the state keeps the last
    assert callbacks.state.best == 0.625 and callbacks.state.summary() == "Net0 (resnet18), epoch 4, loss 0.2500"

    with open(tmp_path / "events.jsonl", "w", encoding="utf-8") as pipe:
        events = EventCallbacks(pipe, watch_stdin=False)
        events.progress(0.5, "Net0 (resnet18): epoch 4", event)
        events.progress(0.7, "writing the model package")
    first, second = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert first == {"event": "progress", "fraction": 0.5, "run": "Net0 (resnet18)", "epoch": 4, "loss": 0.25,
                     "metric_name": "miou", "metric": 0.5, "ema_metric": 0.625, "message": "Net0 (resnet18): epoch 4"}
    assert second == {"event": "progress", "fraction": 0.7, "message": "writing the model package"}


def test_evaluate_json_keeps_stdout_for_the_document(synthetic, tmp_path, capsys):
    from scenes import untrained_package

    from autodl_qgis.engine.data import CLASSIFIED_TILES

    model = untrained_package(tmp_path / "m.dlpk")
    folder = synthetic(CLASSIFIED_TILES, num_chips=6)
    assert main(["evaluate", str(model), str(folder), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["chips"] == 6  # stdout: the one JSON document, nothing else
    assert "evaluating: chip" in captured.err
    assert main(["evaluate", str(model), str(folder), "--json", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
