"""Train one network (a "candidate") on a training-data folder: data, network and loop put together."""
from __future__ import annotations

import dataclasses
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch.utils.data import Subset

from ..budget import TimeBudget
from ..data import TrainingData
from ..data.dataset import ChipDataset, make_datasets
from ..data.split import DataSplit, split_chips
from ..messages import translate
from ..networks import UnsupportedNetworkError
from ..networks.registry import get_spec
from ..progress import Callbacks, Cancelled, SilentCallbacks
from .records import Checkpoint
from .scale import build_scaled_network
from .trainer import FAILED, TrainConfig, Trainer, TrainResult, Validated


@dataclass
class Candidate:
    network: str
    backbone: str
    result: TrainResult
    warnings: list[str]
    model: torch.nn.Module | None = None  # the adapter holding the best weights; None when it failed

    def summary(self) -> dict:
        return {"network": self.network, "backbone": self.backbone, "warnings": self.warnings,
                **self.result.summary()}


@dataclass(frozen=True)
class TrainRequest:
    """One network to train, and how: what the search's job (search/config.py ``CandidateJob.train_request``), the
    portfolio script and tests hand to :func:`train_candidate`."""
    network: str
    backbone: str | None = None  # None: the network's default
    config: TrainConfig = field(default_factory=TrainConfig)
    pretrained: bool = True  # start from the library's pretrained backbone weights
    augment_strength: float = 1.0
    chip_scale: float = 1.0  # trains on resampled chips (see scale.py)
    object_size: float | None = None  # the objects' typical size, where default boxes start (scale.py)
    mosaic: float = 0.0  # probability that a training chip is a mosaic of four (see augment.py)
    val_fraction: float = 0.1  # of the chips, for validation, when no split is given
    val_chips: int | None = None  # caps the validation chips used (the first ones of the split)
    checkpoint: Checkpoint | None = None  # continues a candidate (see load_checkpoint)
    initial_state: dict[str, torch.Tensor] | None = None  # fine-tunes from another model's weights
    on_epoch: Callable[[Validated], bool] | None = None  # after each validation: True prunes the run


def train_candidate(data: TrainingData, request: TrainRequest, device: torch.device,
                    budget: TimeBudget | None = None, callbacks: Callbacks | None = None,
                    split: DataSplit | None = None) -> Candidate:
    """Never raises for a network that cannot be trained: the reason is in ``result.reason`` (status failed).
    Only cancellation propagates. ``split``: the search's chips (default: split by ``request.val_fraction``). With
    ``config.refit_share`` the run's last share trains on the split's refit chips (training + validation)."""
    config, checkpoint = request.config, request.checkpoint
    callbacks = callbacks or SilentCallbacks()
    spec = get_spec(request.network)
    backbone = request.backbone or spec.default_backbone
    if data.format not in spec.formats:
        raise UnsupportedNetworkError(f"{spec.name} does not suit {data.format} training data", data.folder,
                                      "Networks for it: python -m autodl_qgis networks")
    split = split or split_chips(data, request.val_fraction, config.seed)
    train, val = make_datasets(data, request.val_fraction, config.seed, strength=request.augment_strength,
                               split=split, mosaic=request.mosaic)
    refit = ChipDataset(data, split.refit, train.augment, train.mosaic) if config.refit_share > 0 else None
    if request.val_chips is not None and len(val) > request.val_chips:
        val = Subset(val, range(request.val_chips))
    clock = budget.clock if budget is not None else time.monotonic
    began = clock()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            model = build_scaled_network(spec.name, len(data.classes), data.header.bands, data.chip_size, backbone,
                                         request.chip_scale, request.pretrained and checkpoint is None, device,
                                         object_size=request.object_size)
        except UnsupportedNetworkError as exc:
            return Candidate(spec.name, backbone, TrainResult(FAILED, "", reason=str(exc)), [])
        except Exception as exc:  # noqa: BLE001 - a network that cannot be built is one failed candidate
            return Candidate(spec.name, backbone, TrainResult(FAILED, "", reason=f"could not build: {exc}"), [])
    # the text a warning was given (a Message keeps its translation), else its str
    notes = [w.message.args[0] if len(w.message.args) == 1 and isinstance(w.message.args[0], str) else str(w.message)
             for w in caught if issubclass(w.category, RuntimeWarning)]
    for note in notes:
        callbacks.log(translate("AutoDL", "warning: {note}").format(note=note))
    if checkpoint is not None:
        model.load_state_dict(checkpoint.model)
    elif request.initial_state is not None:
        callbacks.log(_start_from(model, request.initial_state))
    trainer = Trainer(model, train, val, train.collate_fn, data.task, [c.name for c in data.classes], device,
                      config, budget, callbacks, name=f"{spec.name} ({backbone})", on_epoch=request.on_epoch,
                      refit_data=refit)
    objective = model.self_supervised_objective() if config.self_supervised_share > 0 and checkpoint is None else None
    if objective is not None:
        _pretrain(trainer, objective, budget, config, callbacks, spec.name)
    build_seconds = clock() - began
    result = dataclasses.replace(trainer.fit(checkpoint), build_seconds=build_seconds)
    if result.best_state is not None:
        model.load_state_dict(result.best_state)
    return Candidate(spec.name, backbone, result, notes, model if result.best_state is not None else None)


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> Path:
    """A candidate's training state (weights, optimizer, schedule position), written atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(checkpoint.as_dict(), tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> Checkpoint:
    """Tensors and plain values only: nothing in the file is executed."""
    return Checkpoint.from_dict(torch.load(path, map_location=device, weights_only=True))


def _start_from(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> str:
    """Fine-tuning: every tensor of the pretrained model that fits is copied; heads sized for other classes start
    fresh (the classes were put in the pretrained model's order, so a same-named class keeps its head rows)."""
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(fitting, strict=False)
    fresh = [k for k in own if k not in fitting]
    text = f"fine-tuning: {len(fitting)} of {len(own)} tensors taken from the pretrained model"
    return text + (f"; {len(fresh)} start fresh (e.g. {fresh[0]})" if fresh else "")


def _pretrain(trainer: Trainer, objective, budget: TimeBudget | None, config: TrainConfig, callbacks,
              name: str) -> None:
    """A share of the candidate's time (or a quarter of its epochs) for the network's label-free pre-training on
    the training chips; a failure there is logged and supervised training goes on from where it got."""
    share = budget.child(budget.remaining() * config.self_supervised_share) if budget is not None else None
    epochs = max(1, (config.max_epochs or 4) // 4)
    try:
        steps = trainer.self_supervised(objective, share, epochs)
        callbacks.log(f"{name}: {steps} step(s) of self-supervised pre-training on the training chips")
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - pre-training is a bonus, never a reason to fail the candidate
        callbacks.log(f"{name}: self-supervised pre-training stopped ({type(exc).__name__}: {exc})")
    objective.reset_classification()
