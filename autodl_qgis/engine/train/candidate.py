"""Train one network (a "candidate") on a training-data folder: data, network and loop put together."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from ..budget import TimeBudget
from ..data import TrainingData
from ..data.dataset import make_datasets
from ..networks import UnsupportedNetworkError, build_network
from ..networks.registry import get_spec
from ..progress import Callbacks, Cancelled, SilentCallbacks
from .trainer import FAILED, TrainConfig, Trainer, TrainResult


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


def train_candidate(data: TrainingData, network: str, device: torch.device, config: TrainConfig | None = None,
                    budget: TimeBudget | None = None, callbacks: Callbacks | None = None,
                    backbone: str | None = None, pretrained: bool = True, val_fraction: float = 0.1,
                    augment_strength: float = 1.0, on_epoch=None,
                    initial_state: dict[str, torch.Tensor] | None = None) -> Candidate:
    """Never raises for a network that cannot be trained: the reason is in ``result.reason`` (status failed).
    Only cancellation propagates."""
    config = config or TrainConfig()
    callbacks = callbacks or SilentCallbacks()
    spec = get_spec(network)
    backbone = backbone or spec.default_backbone
    if data.format not in spec.formats:
        raise UnsupportedNetworkError(f"{spec.name} does not suit {data.format} training data", data.folder,
                                      "Networks for it: python -m autodl_qgis networks")
    train, val = make_datasets(data, val_fraction, config.seed, strength=augment_strength)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            model = build_network(spec.name, len(data.classes), data.header.bands, data.chip_size, backbone,
                                  pretrained, device)
        except UnsupportedNetworkError as exc:
            return Candidate(spec.name, backbone, TrainResult(FAILED, "", reason=str(exc)), [])
        except Exception as exc:  # noqa: BLE001 - a network that cannot be built is one failed candidate
            return Candidate(spec.name, backbone, TrainResult(FAILED, "", reason=f"could not build: {exc}"), [])
    notes = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    for note in notes:
        callbacks.log(f"warning: {note}")
    if initial_state is not None:
        callbacks.log(_start_from(model, initial_state))
    trainer = Trainer(model, train, val, train.collate_fn, data.task, [c.name for c in data.classes], device,
                      config, budget, callbacks, name=f"{spec.name} ({backbone})", on_epoch=on_epoch)
    make_objective = getattr(model, "self_supervised_objective", None)
    if make_objective is not None and config.self_supervised_share > 0:
        _pretrain(trainer, make_objective(), budget, config, callbacks, spec.name)
    result = trainer.fit()
    if result.best_state is not None:
        model.load_state_dict(result.best_state)
    return Candidate(spec.name, backbone, result, notes, model if result.status != FAILED else None)


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
