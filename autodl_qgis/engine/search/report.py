"""The HTML report shipped in every .dlpk: what was shipped and how good it is (validation and, when held out, test
scores; precision-recall curve per class or normalised confusion matrix; a per-class table), how the time limit was
spent (a timeline of every candidate's training), the chosen model's training curves with the learning rate it
used, the leaderboard, and predictions on validation chips next to the truth. Self-contained (images inline), no
network access needed. Every input beyond the leaderboard is optional, so a partial record still renders."""
from __future__ import annotations

import base64
import dataclasses
import html
import io

import numpy as np
import torch

from ..detection_matching import DEFAULT_CONFIDENCE
from ..status import Status
from ..train.records import DetectionClassScores, DetectionScores, PixelScores, Scores
from .config import CandidateResult, LeaderboardRow

PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000")
STATUS_COLORS = {Status.COMPLETED: "#2b6f8f", Status.EARLY_STOPPED: "#009e73", Status.DEADLINE: "#e69f00",
                 Status.PRUNED: "#999999", Status.FAILED: "#d55e00", Status.NOT_REACHED: "#dddddd",
                 Status.SKIPPED: "#dddddd"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    _pyplot().close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _display_rgb(image: torch.Tensor) -> np.ndarray:
    """First three bands (or the one band as grey), stretched 2-98 percent for display."""
    array = image[:3].float().numpy() if image.shape[0] >= 3 else image[:1].repeat(3, 1, 1).float().numpy()
    low, high = np.percentile(array, 2), np.percentile(array, 98)
    return np.clip((array - low) / max(high - low, 1e-6), 0, 1).transpose(1, 2, 0)


def leaderboard_chart(rows: list[LeaderboardRow], metric_name: str) -> str:
    plt = _pyplot()
    scored = [r.result for r in rows if r.result.metric is not None]
    figure, axis = plt.subplots(figsize=(7, 0.35 * max(len(scored), 3) + 1))
    labels = [f"{r.network} ({r.backbone})" for r in scored]
    axis.barh(labels[::-1], [r.metric for r in scored][::-1], color="#2b6f8f")
    axis.set_xlabel(metric_name)
    axis.set_xlim(0, 1)
    return _png(figure)


def _point(point: dict, *names, default=None):
    """A curve point's value under its current name or an older one."""
    for name in names:
        if point.get(name) is not None:
            return point[name]
    return default


def curves_chart(history: list[dict], metric_name: str) -> str:
    return _png(curves_figure(history, metric_name))


def curves_figure(history: list[dict], metric_name: str):
    """Training loss and validation metric against training seconds (each validation a marked point, so a run of
    one epoch reads as one measurement), and below it the learning rate the optimiser used."""
    plt = _pyplot()
    seconds = [_point(h, "seconds", "epoch", default=i) for i, h in enumerate(history, start=1)]
    x_label = "training seconds" if history and "seconds" in history[0] else "epoch"
    rates = [_point(h, "learning_rate", "lr") for h in history]
    rows = 2 if any(r is not None for r in rates) else 1
    figure, axes = plt.subplots(rows, 1, figsize=(7, 3 + 1.6 * (rows - 1)), sharex=True, squeeze=False,
                                gridspec_kw={"height_ratios": [3, 1.4][:rows]})
    axis = axes[0][0]
    axis.plot(seconds, [_point(h, "loss", "train_loss") for h in history], "o-", label="training loss",
              color="#d55e00", markersize=5)
    axis.set_ylabel("training loss")
    other = axis.twinx()
    other.plot(seconds, [_point(h, "metric", metric_name) for h in history], "s-", color="#0072b2", markersize=5,
               label=f"validation {metric_name}")
    other.set_ylabel(metric_name)
    other.set_ylim(0, 1)
    for x, h in zip(seconds, history):
        if _point(h, "epoch") is not None:
            other.annotate(f"ep {h['epoch']}", (x, _point(h, "metric", metric_name) or 0), textcoords="offset points",
                           xytext=(0, 6), ha="center", fontsize=7, color="#0072b2")
    figure.legend(loc="upper center", ncol=2)
    if rows == 2:
        lr = axes[1][0]
        lr.plot(seconds, [r if r is not None else np.nan for r in rates], "o-", color="#009e73", markersize=4)
        lr.set_ylabel("learning rate")
        lr.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    axes[-1][0].set_xlabel(x_label)
    return figure


def precision_recall_chart(per_class: tuple[DetectionClassScores, ...], confidence: float) -> str | None:
    """Each class's precision-recall curve at IoU 0.5 (COCO's interpolated precision, up to the recall reached),
    the point at ``confidence`` (the threshold the class scores were counted at) marked."""
    curves = [c for c in per_class if c.precision_curve]
    if not curves:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5.5, 4))
    recall_points = np.linspace(0, 1, 101)
    for i, c in enumerate(curves):
        color = PALETTE[i % len(PALETTE)]
        reach = recall_points <= (c.max_recall or 0) + 1e-9
        ap = c.average_precision
        axis.plot(recall_points[reach], np.asarray(c.precision_curve)[reach], "-", color=color,
                  label=f"{c.name} (AP50 {ap:.3f})" if ap is not None else c.name)
        if c.recall is not None and c.precision is not None:
            axis.plot([c.recall], [c.precision], "o", color=color, markersize=7, markeredgecolor="black")
    axis.set_xlabel("recall")
    axis.set_ylabel("precision")
    axis.set_xlim(0, 1.02)
    axis.set_ylim(0, 1.05)
    axis.set_title(f"dots: keeping objects from confidence {confidence:.2f}", fontsize=9)
    axis.legend(loc="lower left", fontsize=8)
    return _png(figure)


def confusion_chart(matrix: tuple[tuple[int, ...], ...], names: list[str]) -> str | None:
    """The confusion matrix normalised by row (share of each true class predicted as each class)."""
    counts = np.asarray(matrix, np.float64)
    if counts.ndim != 2 or not counts.size or counts.shape[0] != len(names):
        return None
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    plt = _pyplot()
    size = 1.2 + 0.7 * len(names)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axis.set_yticks(range(len(names)), names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for (row, column), share in np.ndenumerate(shares):
        axis.text(column, row, f"{share:.2f}", ha="center", va="center", fontsize=8,
                  color="white" if share > 0.5 else "black")
    figure.colorbar(image, ax=axis, fraction=0.046)
    return _png(figure)


def timeline_chart(segments: list[CandidateResult], limit_seconds: float | None) -> str | None:
    """How the time limit was spent: each candidate's training segments from the search's start, coloured by how
    they ended, the limit as a line."""
    timed = [s for s in segments if s.end > s.start]
    if not timed:
        return None
    plt = _pyplot()
    labels = list(dict.fromkeys(f"{s.network} ({s.backbone})" for s in timed))
    figure, axis = plt.subplots(figsize=(8, 0.4 * len(labels) + 1.4))
    for s in timed:
        y = labels.index(f"{s.network} ({s.backbone})")
        color = STATUS_COLORS.get(s.status, "#2b6f8f")
        axis.barh(y, s.end - s.start, left=s.start, color=color, edgecolor="black", linewidth=0.4)
        if s.metric is not None:
            axis.text(s.end, y, f" {s.metric:.3f}", va="center", fontsize=7)
    if limit_seconds:
        axis.axvline(limit_seconds, color="#d55e00", linestyle="--", linewidth=1)
        axis.text(limit_seconds, len(labels) - 0.5, " time limit", color="#d55e00", fontsize=8, va="bottom")
    axis.set_yticks(range(len(labels)), labels)
    axis.invert_yaxis()
    axis.set_xlabel("seconds from the start of the search")
    shown = sorted({s.status for s in timed} & set(STATUS_COLORS))
    if shown:
        from matplotlib.patches import Patch

        axis.legend(handles=[Patch(color=STATUS_COLORS[k], label=k) for k in shown], fontsize=7, loc="lower right")
    return _png(figure)


def _cell(value) -> str:
    if isinstance(value, float):
        value = f"{value:.4g}"
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


def _table(columns: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


# the per-class table's columns: (heading, field of the class's scores)
CLASS_COLUMNS = {
    PixelScores: (("IoU", "iou"), ("precision", "precision"), ("recall", "recall"), ("F1", "f1"),
                  ("pixels", "pixels")),
    DetectionScores: (("AP50", "average_precision"), ("COCO AP", "coco_map"), ("precision", "precision"),
                      ("recall", "recall"), ("F1", "f1"), ("true positives", "true_positives"),
                      ("false positives", "false_positives"), ("false negatives", "false_negatives")),
}


def class_table(metrics: Scores) -> str | None:
    """Per-class scores: AP50, COCO AP, and precision / recall / F1 with counts at the detection threshold; or IoU,
    precision, recall, F1 and pixels."""
    if not metrics.per_class:
        return None
    columns = CLASS_COLUMNS[type(metrics)]
    return _table(["class"] + [heading for heading, _ in columns],
                  [[c.name] + [getattr(c, name) for _, name in columns] for c in metrics.per_class])


def scores_table(validation: Scores, test_metric: float | None, test: Scores | None = None) -> str:
    """The headline scores on the validation chips and, when a test block was held out, on it (``test``; only the
    primary metric, ``test_metric``, for a search recorded before the test's other scores were)."""
    names = validation.headline_names
    rows = [["validation"] + [getattr(validation, name) for name in names]]
    if test is not None:
        rows.append(["test (held out)"] + [getattr(test, name) for name in names])
    elif test_metric is not None:
        rows.append(["test (held out)", test_metric] + [None] * (len(names) - 1))
    table = _table(["chips", *names], rows)
    if isinstance(validation, DetectionScores):
        counted = f"validation: from {validation.confidence:.2f}" + (
            ", where its F1 peaked" if validation.confidence == validation.best_confidence else "")
        if isinstance(test, DetectionScores):
            counted += f"; test: from {test.confidence:.2f}, the package's threshold, as Detect Objects keeps them"
        table += f"<p>Precision, recall and F1 count the objects kept from a confidence ({html.escape(counted)}).</p>"
    return table


def predictions_chart(model, dataset, classes, task: str, device, confidence: float = DEFAULT_CONFIDENCE,
                      count: int = 4) -> str:
    """Truth above prediction for the first ``count`` chips; a detector's boxes from ``confidence`` up (the
    package's threshold, which Detect Objects keeps by default)."""
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    count = min(count, len(dataset))
    figure, axes = plt.subplots(2, count, figsize=(3 * count, 6), squeeze=False)
    colors = [(0, 0, 0, 0)] + [tuple(c / 255 for c in cls.color) + (0.55,) for cls in classes]
    model.eval()
    for column in range(count):
        image, target = dataset[column]
        with torch.no_grad():
            prediction = model.predict(image.unsqueeze(0).to(device))
        for row, (title, what) in enumerate((("truth", target), ("prediction", prediction))):
            axis = axes[row][column]
            axis.imshow(_display_rgb(image))
            axis.set_title(title, fontsize=9)
            axis.axis("off")
            if task == "object_detection":
                found = what if row == 0 else what[0]
                keep = slice(None) if row == 0 else found["scores"] >= confidence
                for box, label in zip(found["boxes"][keep].cpu().tolist(), found["labels"][keep].cpu().tolist()):
                    color = colors[label][:3] if 0 < label < len(colors) else (1, 1, 0)
                    axis.add_patch(Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1], fill=False,
                                             edgecolor=color, linewidth=1.5))
            else:
                labels = what if row == 0 else what[0].argmax(0)
                axis.imshow(labels.cpu().numpy(), cmap=ListedColormap(colors), vmin=0, vmax=len(colors) - 1,
                            interpolation="nearest")
    return _png(figure)


def _learning_rates(rows: list[LeaderboardRow], segments: list[CandidateResult]) -> list[LeaderboardRow]:
    """Leaderboard rows whose learning rate is the network's default (None) show the peak rate the optimiser
    actually used, read from the candidate's training curve."""
    peaks = {}
    for s in segments:
        rates = [p.learning_rate for p in s.curve]
        if rates:
            peaks[s.candidate] = max(peaks.get(s.candidate, 0.0), max(rates))
    return [r if r.result.learning_rate is not None or r.result.candidate not in peaks
            else dataclasses.replace(r, result=r.result.replace(learning_rate=peaks[r.result.candidate]))
            for r in rows]


# the leaderboard's columns in the report's table (leaderboard.csv has them all)
# the all-candidates table: the rank, then these fields of each row's CandidateResult
RESULT_COLUMNS = ("network", "backbone", "status", "metric", "test_metric", "epochs", "batch_size", "learning_rate",
                  "augment_strength", "chip_scale", "train_seconds", "start", "end", "phase", "reason")


def render_report(*, title: str, summary: dict, rows: list[LeaderboardRow], metric_name: str, history: list[dict],
                  predictions_png: str | None, metrics: Scores | None = None, test_metric: float | None = None,
                  test_metrics: Scores | None = None,
                  segments: list[CandidateResult] | None = None, limit_seconds: float | None = None) -> str:
    """``history``: the shipped model's training curve (EpochRecord values, or an older package's epoch dicts);
    ``metrics``: its validation metrics (train/metrics.py, per class and the confusion matrix included);
    ``test_metric``: the primary metric on the held-out test chips, ``test_metrics`` all of them (as the package
    predicts by default); ``segments``: every training segment of the
    search; ``limit_seconds``: the time limit."""
    segments = segments or []
    rows = _learning_rates(rows, segments)
    facts = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items())
    sections = []
    if metrics is not None:
        sections.append("<h2>Scores of the shipped model</h2>" + scores_table(metrics, test_metric, test_metrics))
        per_class = class_table(metrics)
        if per_class:
            counted = (f"; precision, recall, F1 and counts keeping objects from confidence {metrics.confidence:.2f}"
                       if isinstance(metrics, DetectionScores) else "")
            sections.append(f"<h3>Per class (validation chips{html.escape(counted)})</h3>" + per_class)
        if isinstance(metrics, PixelScores):
            figure = confusion_chart(metrics.confusion_matrix, [c.name for c in metrics.per_class])
            if figure:
                sections.append('<h3>Confusion matrix, normalised by true class</h3>'
                                f'<img src="data:image/png;base64,{figure}">')
        else:
            figure = precision_recall_chart(metrics.per_class, metrics.confidence)
            if figure:
                sections.append('<h3>Precision-recall per class (IoU 0.5)</h3>'
                                f'<img src="data:image/png;base64,{figure}">')
    timeline = timeline_chart(segments, limit_seconds)
    if timeline:
        used = max(s.end for s in segments)
        spent = f" ({used:.0f} s of {limit_seconds:.0f} s)" if limit_seconds else ""
        sections.append(f'<h2>How the time limit was spent{spent}</h2><img src="data:image/png;base64,{timeline}">')
    sections.append(f'<h2>Leaderboard</h2><img src="data:image/png;base64,{leaderboard_chart(rows, metric_name)}">')
    if history:
        sections.append('<h2>Training of the shipped model</h2>'
                        f'<img src="data:image/png;base64,{curves_chart(history, metric_name)}">')
    if predictions_png:
        sections.append('<h2>Validation chips: truth and prediction</h2>'
                        f'<img src="data:image/png;base64,{predictions_png}">')
    candidates = _table(["rank", *RESULT_COLUMNS],
                        [[r.rank, *(getattr(r.result, c) for c in RESULT_COLUMNS)] for r in rows])
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;margin-bottom:1em}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}}img{{max-width:100%}}</style>
</head><body><h1>{html.escape(title)}</h1><table>{facts}</table>
{''.join(sections)}
<h2>All candidates</h2>{candidates}</body></html>
"""
