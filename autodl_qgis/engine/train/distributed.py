"""Training one candidate on several processes through DistributedDataParallel: one process per GPU (NCCL), or
CPU processes (gloo), launched by torchrun. Rank 0 runs the search; the other ranks train the candidates it
announces. What the loop needs to stay in step lives here: every decision that depends on a clock, a user or a
failure is taken by all ranks together, or else one rank would wait for the others forever.
"""
from __future__ import annotations

import os
from datetime import timedelta

import torch
from torch import distributed as dist
from torch import nn

TIMEOUT = timedelta(minutes=10)  # a rank that died is noticed by the others after this long


def init_from_environment(device_type: str) -> str | None:
    """Joins the process group torchrun describes in the environment; the backend, or None when not launched by
    torchrun with several processes."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend, timeout=TIMEOUT)
    return dist.get_backend()


def leave() -> None:
    """Leaves the process group (local: no collective), so that gloo's threads are joined here and not by static
    destructors at exit, which sometimes abort a rank ("terminate called without an active exception")."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def _tensor(values: list[float]) -> torch.Tensor:
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    return torch.tensor(values, dtype=torch.float64, device=device)


def any_rank(*flags: bool) -> tuple[bool, ...]:
    """Each flag, true on every rank when it is true on one (a deadline reached, a cancel, a failure)."""
    if not active():
        return flags
    combined = _tensor([1.0 if f else 0.0 for f in flags])
    dist.all_reduce(combined, op=dist.ReduceOp.MAX)
    return tuple(bool(v) for v in combined.tolist())


def smallest(value: int) -> int:
    """The smallest of the ranks' values (e.g. the batch size every rank can afford)."""
    if not active():
        return value
    combined = _tensor([float(value)])
    dist.all_reduce(combined, op=dist.ReduceOp.MIN)
    return int(combined.item())


def from_rank0(value=None):
    """Rank 0's ``value`` on every rank (any picklable object; the other ranks' arguments are ignored)."""
    if not active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class LossModule(nn.Module):
    """An adapter's training losses as ``forward``: DistributedDataParallel synchronises gradients of what its
    forward computed."""

    def __init__(self, adapter: nn.Module):
        super().__init__()
        self.adapter = adapter

    def forward(self, images, targets):
        return self.adapter.losses(images, targets)


def wrap(adapter: nn.Module, device: torch.device) -> nn.Module:
    """The adapter's losses under DistributedDataParallel; its weights start as rank 0's on every rank."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    # heads that a batch does not use (auxiliary, second stage without proposals) must not stall the reduction
    return DistributedDataParallel(LossModule(adapter), device_ids=ids, find_unused_parameters=True)
