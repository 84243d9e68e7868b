"""Device selection: auto picks the first CUDA GPU when there is one."""
from __future__ import annotations

import torch

from .errors import InputDataError


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputDataError(f"unknown device {name!r}", None, "Use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputDataError(f"device {name} was asked for but no CUDA GPU is usable here", None,
                                 "Use --device cpu (or auto), or install the NVIDIA driver and a CUDA build of torch")
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise InputDataError(f"device {name} does not exist ({torch.cuda.device_count()} GPU(s) found)", None,
                                 f"Use cuda:0 to cuda:{torch.cuda.device_count() - 1}")
        return torch.device("cuda", index)
    if device.type != "cpu":
        raise InputDataError(f"device type {device.type!r} is not supported", None, "Use auto, cpu or cuda:N")
    return device
