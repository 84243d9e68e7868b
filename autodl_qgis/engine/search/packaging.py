"""What a finished search writes: the shipped model's .dlpk with its report and leaderboard, with
save_evaluated_models every evaluated model beside it, and on request the report and leaderboard as files of their
own. It takes what the search decided (:class:`SearchOutcome`) and decides nothing about the search itself."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..data import TrainingData
from ..data.dataset import make_datasets
from ..data.split import DataSplit
from ..networks.registry import get_spec
from ..package import build_model_definition, write_package
from ..train.scale import network_chip_size
from ..progress import Callbacks
from . import report
from .config import CandidateResult, LeaderboardRow, SearchConfig, SplitSummary


@dataclass(frozen=True)
class SearchOutcome:
    """A finished search, as packaging needs it."""
    config: SearchConfig
    data: TrainingData
    split: DataSplit
    device: torch.device
    best: CandidateResult  # the shipped model's result
    results: tuple[CandidateResult, ...]  # every job's, in the order they finished
    leaderboard: tuple[LeaderboardRow, ...]
    validation: SplitSummary
    candidates: Path  # the work folder's candidates/, where results' weights are
    run_end: float  # the time limit's end on the search's clock: evaluated models are written while they fit
    fine_tuned_from: str | None = None  # the pretrained model's path
    object_size: float | None = None  # the objects' typical size the default boxes were fitted to (train/scale.py)


def save(path: str | os.PathLike, outcome: SearchOutcome, best_model: torch.nn.Module, clock: Callable[[], float],
         callbacks: Callbacks, sidecars: bool = False) -> Path:
    """Writes the shipped model as a .dlpk (atomically); with save_evaluated_models, every evaluated model too, in
    ``<name>_evaluated_models/`` beside it; with ``sidecars``, the report and leaderboard beside it as well (see
    :func:`sidecar_paths`). ``best_model``: the shipped network with its weights (for the report's predictions)."""
    path = Path(path)
    if path.suffix.lower() != ".dlpk":
        path = path.with_name(path.name + ".dlpk")
    extras = {}
    began = clock()
    best = outcome.best
    out = _write(path, outcome, best, load_weights(outcome.candidates / best.weights), best_model=best_model,
                 extras_out=extras)
    if outcome.config.save_evaluated_models:
        _save_evaluated(path.with_name(f"{path.stem}_evaluated_models"), outcome, clock, callbacks,
                        clock() - began)
    if sidecars:
        for target, name in zip(sidecar_paths(out), ("report.html", "leaderboard.csv")):
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(extras[name])
            os.replace(tmp, target)
    return out


def _save_evaluated(folder: Path, outcome: SearchOutcome, clock: Callable[[], float], callbacks: Callbacks,
                    package_seconds: float) -> None:
    """Every evaluated model, best first, without the portable export (they are for comparison), as long as the
    next one fits before the run's end: the time limit holds whatever the number of candidates."""
    rows = sorted((r for r in outcome.results if r.weights and (outcome.candidates / r.weights).is_file()),
                  key=lambda r: -math.inf if r.metric is None else -r.metric)
    folder.mkdir(parents=True, exist_ok=True)
    for i, row in enumerate(rows, start=1):
        if clock() + package_seconds >= outcome.run_end:
            callbacks.log(f"{len(rows) - i + 1} of {len(rows)} evaluated models not saved: the time limit ends "
                          f"before they can be written")
            return
        began = clock()
        _write(folder / f"{i:02d}_{row.network}_{row.backbone}_{row.key}.dlpk", outcome, row,
               load_weights(outcome.candidates / row.weights), portable=False)
        package_seconds = clock() - began


def _write(path: Path, outcome: SearchOutcome, result: CandidateResult, state: dict,
           best_model: torch.nn.Module | None = None, extras_out: dict | None = None, portable: bool = True) -> Path:
    """A package of a job's weights ``state``; with ``best_model``, the report as well."""
    config, data = outcome.config, outcome.data
    spec = get_spec(result.network)
    metrics, metric_name, test = result.metrics, result.metric_name, result.test_metric
    curve = [dataclasses.asdict(p) for p in result.curve]
    training = {
        "autodl_mode": config.mode, "total_time_limit_hours": config.total_time_limit,
        "epochs": result.epochs, "batch_size": result.batch_size, "learning_rate": result.learning_rate,
        "train_seconds": result.train_seconds, "chip_scale": result.chip_scale,
        "network_chip_size": list(network_chip_size(data.chip_size, result.chip_scale)),
        "object_size": outcome.object_size, "history": curve,
        "device": str(outcome.device), "seed": config.seed,
        "training_data": str(data.folder), "num_chips": len(data.chips),
        "validation": outcome.validation.as_dict(), "validation_metric": result.metric, "test_metric": test,
        "trained_chips": result.trained_chips, "weights": _weights_kind(result),
        "test_time_augmentation": result.test_time_augmentation,
        "detection_confidence": result.detection_confidence,
        "once_validation_metric": result.once_metric, "augmented_validation_metric": result.augmented_metric,
        "fine_tuned_from": outcome.fine_tuned_from,
        "leaderboard": [r.brief() for r in outcome.leaderboard],
    }
    emd = build_model_definition(
        network=spec.name, library=spec.library, backbone=result.backbone, task=data.task,
        classes=data.classes, chip_size=data.chip_size, bands=data.header.bands,
        dtype=data.header.dtype, image_space=data.image_space,
        statistics=data.band_statistics, metrics=metrics, metric_name=metric_name, test_metric=test,
        training=training, data_format=data.format)
    rows = [r.as_dict() for r in outcome.leaderboard]
    extras = {"leaderboard.json": json.dumps(rows, indent=2, default=float).encode(),
              "leaderboard.csv": _csv(rows).encode()}
    if best_model is not None:
        extras["report.html"] = _report(outcome, best_model, curve).encode()
    if extras_out is not None:
        extras_out.update(extras)
    return write_package(path, emd, state, extras, portable=portable)


def _report(outcome: SearchOutcome, best_model: torch.nn.Module, curve: list[dict]) -> str:
    best, data, split, config = outcome.best, outcome.data, outcome.split, outcome.config
    _, val = make_datasets(data, augment=False, split=split)
    predictions = report.predictions_chart(best_model, val, data.classes, data.task, outcome.device, best.kept_from)
    summary = {"network": best.network, "backbone": best.backbone,
               f"validation {best.metric_name}": f"{best.metric:.4f}",
               "validation": f"{split.kind} split, {len(split.val)} chips",
               "training data": f"{data.folder} ({data.format}, {len(data.chips)} chips)",
               "mode": config.mode, "time limit (hours)": f"{config.total_time_limit:.3g}",
               "device": str(outcome.device)}
    summary["final model trained on"] = f"{best.trained_chips} chips ({_trained_on(best, split)})"
    summary["weights"] = _weights_kind(best)
    summary["predicts"] = _prediction_kind(best, split)
    if best.detection_confidence is not None:
        summary["keeps objects from confidence"] = (f"{best.detection_confidence:.2f} (where F1 was highest on the "
                                                    "validation chips, predicted as above)")
    if best.test_metric is not None:
        summary[f"test {best.metric_name}"] = f"{best.test_metric:.4f} ({len(split.test)} held-out chips)"
    return report.render_report(title=f"AutoDL model: {best.network}", summary=summary,
                                rows=list(outcome.leaderboard), metric_name=best.metric_name, history=curve,
                                predictions_png=predictions, metrics=best.metrics, test_metrics=best.test_metrics,
                                test_metric=best.test_metric,
                                segments=list(outcome.results), limit_seconds=config.total_seconds)


def _refitted(result: CandidateResult, split: DataSplit) -> bool:
    """The result's weights last trained on the training + validation chips."""
    return bool(split.val) and result.trained_chips == len(split.refit)


def _trained_on(result: CandidateResult, split: DataSplit) -> str:
    """Which chips the result's weights last trained on, in words."""
    if _refitted(result, split):
        return "training + validation: its validation score was measured before they joined"
    return "training chips"


def _prediction_kind(result: CandidateResult, split: DataSplit) -> str:
    """How the package predicts by default, and why, in words."""
    if result.augmented_metric is None:
        return "each tile once (test-time augmentation was not validated)"
    scores = (f"{result.metric_name} on the validation chips at the end of training {result.augmented_metric:.4f} "
              "over them")
    if result.once_metric is not None:  # after a refit the views are not compared with predicting once
        scores += f", {result.once_metric:.4f} once"
    if _refitted(result, split):
        scores += "; the model trained on those chips, so they do not choose"
    if result.test_time_augmentation:
        return f"over the eight flips and quarter turns of each tile ({scores})"
    return f"each tile once ({scores})"


def _weights_kind(result: CandidateResult) -> str:
    return "moving average of the weights" if result.averaged else "the weights as trained"


def load_weights(path: Path, device: torch.device | str = "cpu") -> dict:
    """A job's weights file (safetensors: tensors only)."""
    from safetensors.torch import load_file

    return load_file(str(path), device=str(device))


def sidecar_paths(dlpk: Path) -> tuple[Path, Path]:
    """The report and leaderboard written beside a .dlpk when asked (QGIS shows them as outputs)."""
    return dlpk.with_name(f"{dlpk.stem}_report.html"), dlpk.with_name(f"{dlpk.stem}_leaderboard.csv")


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()
