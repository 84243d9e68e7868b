"""The report a reviewer reads: scores on validation and test chips, precision-recall per class or a normalised
confusion matrix, a per-class table, the timeline of the time limit, marked training curves with the learning rate,
and the learning rate actually used in the leaderboard; and the same sections in a real search's package."""

import numpy as np
import pytest
import torch

from autodl_qgis.engine.data import PASCAL_VOC
from autodl_qgis.engine.package import open_package
from autodl_qgis.engine.search import AutoDL
from autodl_qgis.engine.search import report
from autodl_qgis.engine.search.config import CandidateResult, LeaderboardRow
from autodl_qgis.engine.train.metrics import DetectionMetrics, PixelMetrics, metrics_for
from conftest import TickingClock

pytestmark = pytest.mark.filterwarnings("ignore")


def _detection_metrics():
    metrics = DetectionMetrics(["pool", "building"])
    truth = torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], dtype=torch.float32)
    found = torch.tensor([[0, 0, 10, 10], [21, 20, 31, 30], [60, 60, 70, 70]], dtype=torch.float32)
    metrics.update([{"boxes": found, "scores": torch.tensor([0.9, 0.8, 0.3]), "labels": torch.tensor([1, 2, 1])}],
                   [{"boxes": truth, "labels": torch.tensor([1, 2, 1])}])
    return metrics.compute()


CURVE = [{"epoch": 1, "step": 10, "seconds": 50.0, "loss": 1.2, "metric": 0.41, "learning_rate": 3e-4}]
SEGMENTS = [
    CandidateResult("c00-r0", "c00", "FasterRCNN", "resnet18", "rung", 0, "completed", start=2.0, end=60.0,
                    metric=0.41, curve=CURVE),
    CandidateResult("c01-r0", "c01", "RetinaNet", "resnet18", "rung", 0, "not_reached", start=60.0, end=61.0),
    CandidateResult("c00-final", "c00", "FasterRCNN", "resnet18", "final", 1, "deadline", start=61.0, end=170.0,
                    metric=0.62, curve=[{"epoch": 2, "step": 20, "seconds": 140.0, "loss": 0.8, "metric": 0.62,
                                         "learning_rate": 1e-4}]),
]
ROWS = [LeaderboardRow(1, SEGMENTS[2].replace(test_metric=0.58, epochs=2)),
        LeaderboardRow(2, SEGMENTS[1].replace(reason="needs about 90 s"))]


def test_detection_report_has_scores_pr_curves_timeline_and_the_learning_rate_used():
    metrics = _detection_metrics()
    text = report.render_report(title="t", summary={"network": "FasterRCNN"}, rows=ROWS,
                                metric_name="average_precision", history=CURVE,
                                predictions_png=None, metrics=metrics,
                                test_metric=0.58, segments=SEGMENTS, limit_seconds=180)
    for heading in ("Scores of the shipped model", "Per class (validation chips; precision, recall, F1 and counts "
                    "keeping objects from confidence 0.50)",
                    "Precision-recall per class (IoU 0.5)", "How the time limit was spent (170 s of 180 s)",
                    "Training of the shipped model", "All candidates"):
        assert heading in text, heading
    assert "test (held out)" in text and "<td>0.58</td>" in text
    assert "<th>false positives</th>" in text and "<td>pool</td>" in text
    # FasterRCNN ran with the default rate: the table shows the peak the optimiser used (3e-4), not a blank
    assert "<td>0.0003</td>" in text
    assert text.count("data:image/png;base64,") == 4  # PR, timeline, leaderboard, curves


def test_validation_counts_a_detector_from_its_own_threshold_not_from_half():
    """A detector trained for minutes scores its objects below 0.5: counted at 0.5 its report said precision 0,
    recall 0 (0 of 179 palms) for a model with AP50 0.25. Validation counts from the F1-best threshold, the one
    its package keeps objects from, and the report says so."""
    truth = torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], dtype=torch.float32)
    found = torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30], [60, 60, 70, 70], [40, 40, 50, 50]], dtype=torch.float32)
    prediction = {"boxes": found, "scores": torch.tensor([0.42, 0.35, 0.3, 0.125]),
                  "labels": torch.tensor([1, 1, 1, 1])}
    at_half, validation = DetectionMetrics(["palm"]), metrics_for("object_detection", ["palm"])
    for metrics in (at_half, validation):
        metrics.update([prediction], [{"boxes": truth, "labels": torch.tensor([1, 1, 1])}])
    at_half, validation = at_half.compute(), validation.compute()
    assert (at_half.confidence, at_half.recall, at_half.per_class[0].true_positives) == (0.5, 0.0, 0)
    # F1: 0.8 keeping the two above 0.35 (2 of 3 found, no false one), 6/7 keeping all four: the lowest wins
    assert validation.best_confidence == validation.confidence == 0.12
    assert validation.per_class[0].true_positives == 3 and validation.per_class[0].false_positives == 1
    assert validation.recall == 1.0 and validation.precision == 0.75
    assert validation.average_precision == at_half.average_precision  # AP counts every detection either way
    text = report.render_report(title="t", summary={}, rows=ROWS[:1], metric_name="average_precision", history=[],
                                predictions_png=None, metrics=validation)
    assert "keeping objects from confidence 0.12)" in text and "<td>0.75</td>" in text


def test_the_test_row_counts_objects_from_the_packages_threshold():
    validation = _detection_metrics()
    test = DetectionMetrics(["pool", "building"], 0.25)
    truth = torch.tensor([[0, 0, 10, 10], [40, 40, 50, 50]], dtype=torch.float32)
    found = torch.tensor([[0, 0, 10, 10], [40, 40, 50, 50]], dtype=torch.float32)
    test.update([{"boxes": found, "scores": torch.tensor([0.9, 0.3]), "labels": torch.tensor([1, 1])}],
                [{"boxes": truth, "labels": torch.tensor([1, 1])}])
    test = test.compute()
    assert test.recall == 1.0  # 0.3 counts from 0.25
    text = report.scores_table(validation, test.primary, test)
    assert "<tr><td>test (held out)</td><td>1</td><td>1</td><td>1</td><td>1</td><td>1</td></tr>" in text
    assert ("validation: from 0.50; test: from 0.25, the package&#x27;s threshold, as Detect Objects keeps them"
            in text)
    # a search recorded before the test's other scores: its AP alone, as before
    assert "<tr><td>test (held out)</td><td>0.58</td><td></td>" in report.scores_table(validation, 0.58)


def test_pixel_report_has_a_normalised_confusion_matrix():
    metrics = PixelMetrics(["water", "forest"])
    truth = torch.tensor([[[0, 1, 1, 2]]])
    scores = torch.nn.functional.one_hot(torch.tensor([[[0, 1, 2, 2]]]), 3).permute(0, 3, 1, 2).float()
    metrics.update(scores, truth)
    computed = metrics.compute()
    assert computed.confusion_matrix == ((1, 0, 0), (0, 1, 1), (0, 0, 1))
    text = report.render_report(title="t", summary={}, rows=ROWS[:1], metric_name="miou", history=[],
                                predictions_png=None, metrics=computed)
    assert "Confusion matrix, normalised by true class" in text and "Precision-recall" not in text
    assert "<th>IoU</th>" in text and "<td>forest</td>" in text
    assert "How the time limit was spent" not in text  # no segments given: the section is left out


def test_one_epoch_curves_are_marked_points_with_the_learning_rate_below():
    figure = report.curves_figure(CURVE, "average_precision")
    lines = [line for axis in figure.axes for line in axis.get_lines()]
    assert len(figure.axes) == 3  # loss, metric (twin), learning rate
    assert all(line.get_marker() not in ("None", "", None) for line in lines)
    assert all(len(line.get_xdata()) == 1 for line in lines)  # one epoch: one visible point per curve
    assert figure.axes[1].get_ylabel() == "learning rate"
    old = report.curves_figure([{"epoch": 1, "train_loss": 0.9, "miou": 0.5, "lr": 1e-3}], "miou")
    assert len(old.axes) == 3  # an older package's history (epoch, train_loss, lr) still draws


def test_a_search_ships_the_new_sections(synthetic, tmp_path):
    # time passes with the work, the same on a busy machine: the one candidate is never starved
    autodl = AutoDL(synthetic(PASCAL_VOC, num_chips=12), networks=["FasterRCNN"], total_time_limit=0.05,
                    pretrained_backbones=False, max_epochs=1, clock=TickingClock(0.1)).fit()
    with open_package(autodl.save(tmp_path / "m.dlpk")) as package:
        text = (package.folder / "report.html").read_text()
    counted = f"Per class (validation chips; precision, recall, F1 and counts keeping objects from confidence " \
              f"{autodl.best.metrics.confidence:.2f})"
    for heading in ("Scores of the shipped model", counted, "Precision-recall per class",
                    "How the time limit was spent", "Training of the shipped model"):
        assert heading in text, heading
    assert np.isfinite([autodl.best.metric]).all()
