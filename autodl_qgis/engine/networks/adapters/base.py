"""What every network looks like to the trainer, whatever library it comes from."""
from __future__ import annotations

import contextlib
import functools
import socket
import warnings
from dataclasses import dataclass
from typing import Callable, TypeVar

import torch
from torch import nn

from ...messages import translate

T = TypeVar("T")


@dataclass(frozen=True)
class BuildRequest:
    """What the data asks of a network."""

    num_classes: int  # foreground classes K: detection labels are 1..K, pixel classes 0..K (0 = background)
    in_channels: int  # bands of the chips (any number; pretrained RGB weights kept for 3)
    chip_size: tuple[int, int]  # (H, W) of training chips
    backbone: str
    pretrained: bool = True
    # the labelled objects' typical small size as a share of the chip's shorter side (see train/scale.py
    # typical_object_size): detectors that place default boxes start them there. None: their classic layout (and
    # the layout of packages written before the size was recorded)
    object_size: float | None = None


class ModelAdapter(nn.Module):
    """One network behind the trainer's two calls.

    ``images`` are float (B, C, H, W) already normalised by the dataset. Object detection ``targets`` are a list of
    ``{"boxes": (N, 4) XYXY pixels, "labels": (N,) int64 in 1..K[, "masks": (N, H, W) uint8]}``; pixel
    classification ``targets`` are (B, H, W) int64 in 0..K.
    """

    task: str
    # whether training and validation may run under autocast (mixed precision) on CUDA
    supports_amp: bool = True
    gives_probabilities: bool = False  # pixel classification: predict() gives scores that still need a softmax
    first_conv: str = ""  # the dotted name of the convolution that takes the image bands

    def self_supervised_objective(self) -> nn.Module | None:
        """A label-free objective (``losses(images)``) to pre-train on the chips before supervised training, or None
        for networks trained on the labels alone."""
        return None

    def losses(self, images: torch.Tensor, targets) -> dict[str, torch.Tensor]:
        """Training step: named loss terms whose sum is minimised (the module is in train mode)."""
        raise NotImplementedError

    def predict(self, images: torch.Tensor):
        """Evaluation (the module is in eval mode, under no_grad). Object detection: a list of ``{"boxes",
        "scores", "labels"}`` per image, labels in 1..K. Pixel classification: class scores (B, K + 1, H, W)."""
        raise NotImplementedError


class WeightsUnavailable(Exception):
    """Pretrained weights cannot be had without waiting (offline, not cached): the message says why."""


def load_pretrained(what: str, request: BuildRequest, pretrained: Callable[[], T], random: Callable[[], T]) -> T:
    """``pretrained()`` (the network with pretrained weights, from a local cache or a host that answers) when the
    request asks for them, else, or when they cannot be had, ``random()``: random initialisation, with a
    RuntimeWarning naming ``what`` and why when pretrained weights were asked for."""
    if request.pretrained:
        try:
            return pretrained()
        except WeightsUnavailable as exc:
            reason = str(exc)
        except Exception as exc:  # noqa: BLE001 - offline and not cached, a failed download, a file that will not load
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        warnings.warn(translate("Networks", "{what}: pretrained weights unavailable ({reason}); starting from "
                                "random initialisation, which needs more data and time to reach the same "
                                "accuracy").format(what=what, reason=reason), RuntimeWarning, stacklevel=2)
    network = random()
    if isinstance(network, nn.Module):
        follow_the_data(network)
    return network


BATCH_NORM_MOMENTUM = 0.1  # PyTorch's default
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def follow_the_data(network: nn.Module) -> None:
    """BatchNorm layers of a randomly initialised network update their running statistics at PyTorch's default
    rate at least. Some architectures are defined with a slow rate (torchvision's MobileNetV3: 0.01), made for
    runs of hundreds of epochs from pretrained statistics; from random weights, after a run of a few hundred steps,
    the statistics that validation and inference use would still be mostly their arbitrary starting values."""
    for module in network.modules():
        if isinstance(module, _BATCH_NORMS) and module.momentum is not None:
            module.momentum = max(module.momentum, BATCH_NORM_MOMENTUM)


def adapt_first_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """A copy of ``conv`` taking ``in_channels`` bands. Pretrained RGB filters are kept for the first three bands
    and their mean is used for extra bands (scaled so activations keep their magnitude)."""
    if conv.in_channels == in_channels:
        return conv
    new = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    conv.groups, conv.bias is not None, conv.padding_mode)
    with torch.no_grad():
        weight = conv.weight
        mean = weight.mean(dim=1, keepdim=True)
        new.weight.copy_(mean.repeat(1, in_channels, 1, 1))
        keep = min(in_channels, weight.shape[1])
        new.weight[:, :keep] = weight[:, :keep]
        new.weight.mul_(weight.shape[1] / in_channels)
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    return new


def adapt_input_conv(network: nn.Module, first_conv: str, in_channels: int) -> None:
    """Replaces the convolution named ``first_conv`` in ``network`` by one taking ``in_channels`` bands."""
    parent, _, name = first_conv.rpartition(".")
    holder = network.get_submodule(parent)
    setattr(holder, name, adapt_first_conv(getattr(holder, name), in_channels))


@functools.lru_cache(maxsize=None)
def host_reachable(host: str, port: int = 443, timeout: float = 2.0) -> bool:
    """Whether a weights host answers at all; asked once per process so offline machines fail fast."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def temporarily(read: Callable[[], T], write: Callable[[T], None], value: T):
    """Another library's global setting at ``value`` for the block, restored afterwards (also on error): the one
    way the adapters change what they do not own."""
    previous = read()
    write(value)
    try:
        yield
    finally:
        write(previous)


def hugging_face_offline_unless_reachable():
    """The Hugging Face hub retries for half a minute when offline; use its local cache only when it is
    unreachable (a cached download still loads)."""
    import huggingface_hub.constants as hub

    return temporarily(lambda: hub.HF_HUB_OFFLINE, lambda value: setattr(hub, "HF_HUB_OFFLINE", value),
                       hub.HF_HUB_OFFLINE or not host_reachable("huggingface.co"))
