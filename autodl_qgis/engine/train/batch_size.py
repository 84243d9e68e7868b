"""Batch-size inference with real training steps.

CUDA: the largest batch that fits (doubling, then binary search between the last fit and the first
out-of-memory), backed off by 10% for the fragmentation a long run accumulates (scripts/check_cuda.py runs it under a
memory cap on a GPU).
CPU: the smallest batch that is not clearly slower than a larger one (``cpu_gain_needed``), while enough RAM stays
free, and never one at which the run could afford too few optimiser steps. On a CPU throughput barely grows with the
batch, so a larger batch mostly buys fewer updates: on the real palm chips, SSD at batch 16 made 33 steps in a 5-minute
run and reached validation AP50 0.007, at batch 2 the same chips per second made 304 steps and reached 0.32.
CPU precision: bfloat16 autocast where its steps are clearly faster than float32's, for runs long enough to gain:
native on CPUs with AVX512-BF16 or AMX (SingleShotDetector on the palm chips: 1.8x the steps per second on an AMD
EPYC with AVX512-BF16), emulated and slower on the others, so it is measured, not assumed -- except on a CPU known
to lack the instructions, where measuring cost a 10-minute palm run 48 s of its 600 (an AVX2 AMD EPYC: bfloat16
steps 9.4x float32's).
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..progress import Cancelled

MIN_BATCH = 2  # BatchNorm in train mode needs two samples per batch
CPU_FREE_MEMORY_FLOOR = 0.2  # stop growing the batch when less than this share of RAM is available
MIN_RUN_STEPS = 250  # a larger batch is not chosen if the run could then afford fewer optimiser steps than this
CPU_TIMED_STEPS = 2  # steps timed per batch size; the fastest counts (a busy machine only ever slows a step down)
CPU_BFLOAT16_GAIN = 1.2  # on a CPU, training runs under bfloat16 autocast when its steps are this many times faster
CPU_PRECISION_MIN_SECONDS = 60.0  # shorter runs do not measure it: the measuring steps would cost more than it gains
# the instructions that compute bfloat16 (Linux's names): x86 AVX512-BF16, AMX-BF16, AVX-NE-CONVERT; Arm's BF16
BFLOAT16_INSTRUCTIONS = frozenset({"avx512_bf16", "amx_bf16", "avx_ne_convert", "bf16"})
EMULATING_CAPABILITIES = ("NO AVX", "AVX2")  # torch's x86 levels below AVX-512, which AVX512-BF16 and AMX come with


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


def free_memory_fraction() -> float:
    """Share of RAM still available (Linux /proc/meminfo); 1.0 when it cannot be read."""
    try:
        info = {}
        with open("/proc/meminfo") as f:
            for line in f:
                key, value = line.split(":", 1)
                info[key] = float(value.split()[0])
        return info["MemAvailable"] / info["MemTotal"]
    except (OSError, KeyError, ValueError):
        return 1.0


def find_batch_size(step: Callable[[int], None], device: torch.device, max_batch: int,
                    deadline: Callable[[], bool] = lambda: False, log: Callable[[str], None] = lambda m: None,
                    affordable_steps: Callable[[int, float], float] = lambda batch, seconds: math.inf,
                    timer: Callable[[], float] = time.perf_counter, min_batch_seconds: float | None = None) -> int:
    """``step(b)`` runs one real training step with batch ``b`` (raising out-of-memory when it does not fit);
    ``affordable_steps(b, seconds_per_step)`` says how many steps the run can make at that batch (CPU only);
    ``min_batch_seconds``: a step at ``MIN_BATCH`` already timed, warm, as the run will train (CPU only)."""
    max_batch = max(1, max_batch)
    if max_batch <= MIN_BATCH:
        return max_batch
    if device.type == "cuda":
        return _largest_fitting(step, max_batch, deadline, log)
    return _fastest_on_cpu(step, max_batch, deadline, log, affordable_steps, timer, min_batch_seconds)


def cpu_gain_needed(batch: int, smaller: int) -> float:
    """How many times the chips per second of batch ``smaller`` a larger ``batch`` must train on a CPU to be chosen:
    the square root of their ratio. At the same learning rate a batch k times larger makes k times fewer steps, each
    about as long (AdamW normalises its update) and only less noisy, by the square root of k -- the factor by which
    adaptive optimisers' learning rate must grow with the batch to train alike (Malladi et al. 2022, the square-root
    scaling rule). On the palm chips a fixed 1.2x let batch 8 win the probe at about 1.2x batch 2's chips per
    second: over 30 minutes it made a third of the steps and scored 0.363 and 0.463 where batch 2 scored 0.513 and
    0.481."""
    return math.sqrt(batch / smaller)


def has_bfloat16_instructions(cpuinfo: str, capability: str) -> bool:
    """Whether a CPU can compute bfloat16 rather than emulate it: from the instructions Linux lists in
    ``/proc/cpuinfo`` (``flags`` on x86, ``Features`` on Arm); without that list (Windows, macOS), from torch's
    ``capability``: an x86 CPU at AVX2 or below cannot, any other may (and is measured)."""
    listed = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            listed.update(value.split())
    if listed:
        return bool(listed & BFLOAT16_INSTRUCTIONS)
    return capability not in EMULATING_CAPABILITIES


@functools.cache
def cpu_has_bfloat16() -> bool:
    """``has_bfloat16_instructions`` for this machine's CPU."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        cpuinfo = ""
    return has_bfloat16_instructions(cpuinfo, torch.backends.cpu.get_cpu_capability())


@dataclass(frozen=True)
class CpuPrecision:
    """What ``choose_cpu_bfloat16`` measured: the precision chosen and the seconds of one warm step in it."""

    bfloat16: bool
    seconds_per_step: float


def choose_cpu_bfloat16(step: Callable[[bool], None], affordable_steps: Callable[[float], float],
                        log: Callable[[str], None] = lambda m: None,
                        timer: Callable[[], float] = time.perf_counter) -> CpuPrecision:
    """Whether a run on a CPU trains under bfloat16 autocast: ``step(bfloat16)`` runs one real training step;
    ``affordable_steps(seconds_per_step)`` says how many steps the run can make. Float32 steps are timed first; a run
    that affords fewer than ``MIN_RUN_STEPS`` of them (tests, short continuations) does not spend steps on bfloat16,
    nor does a CPU without bfloat16 instructions (``cpu_has_bfloat16``). A bfloat16 step that fails (an operation
    without a CPU kernel, a non-finite loss) means float32."""
    step(False)  # warm-up: first-call allocations and lazy initialisation are not throughput
    float32 = CpuPrecision(False, _fastest_step(step, False, timer))
    if affordable_steps(float32.seconds_per_step) < MIN_RUN_STEPS:
        return float32
    if not cpu_has_bfloat16():
        log("float32: this CPU has no bfloat16 instructions (AVX512-BF16, AMX, AVX-NE-CONVERT or Arm's BF16), so "
            "bfloat16 autocast would be emulated and slower")
        return float32
    try:
        step(True)
        bfloat16 = CpuPrecision(True, _fastest_step(step, True, timer))
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure under bfloat16 is an answer: train in float32
        log(f"float32: a training step under bfloat16 autocast failed ({type(exc).__name__}: {exc})")
        return float32
    gain = float32.seconds_per_step / bfloat16.seconds_per_step
    chosen = bfloat16 if gain >= CPU_BFLOAT16_GAIN else float32
    log(f"{'bfloat16 autocast' if chosen.bfloat16 else 'float32'}: bfloat16 steps take {1 / gain:.2f}x the time of "
        f"float32's on this CPU ({float32.seconds_per_step:.2f} s)")
    return chosen


def _fastest_step(step, argument, timer) -> float:
    """Seconds of the fastest of ``CPU_TIMED_STEPS`` calls of ``step(argument)``."""
    seconds = math.inf
    for _ in range(CPU_TIMED_STEPS):
        start = timer()
        step(argument)
        seconds = min(seconds, max(timer() - start, 1e-9))
    return seconds


def _fits(step, batch: int) -> bool:
    try:
        step(batch)
        return True
    except Exception as exc:  # noqa: BLE001 - only out-of-memory is an answer; anything else is a real error
        if not is_out_of_memory(exc):
            raise
        torch.cuda.empty_cache()
        return False


def _largest_fitting(step, max_batch: int, deadline, log) -> int:
    """The first step, at ``MIN_BATCH``, always runs: it pays for CUDA's lazy start (seconds on an H200), which may
    use up the probe's time, and a batch of one, which BatchNorm cannot train on, must never be chosen for want of
    time. The 10% back-off applies only under a batch that did not fit."""
    if not _fits(step, MIN_BATCH):
        if _fits(step, 1):
            return 1
        raise torch.OutOfMemoryError("even a batch of one chip does not fit in GPU memory")
    good, bad = MIN_BATCH, max_batch + 1  # bad: the smallest batch known not to fit
    while good < max_batch and bad - good > 1 and not deadline():
        batch = min(good * 2, max_batch) if bad > max_batch else (good + bad) // 2
        if _fits(step, batch):
            good = batch
        else:
            bad = batch
    if bad > max_batch:  # no batch ran out of memory: the largest allowed, or the probe's time, ended the search
        log(f"batch size {good}" + ("" if good == max_batch else
                                    " (the probe's time ran out before larger batches were tried)"))
        return good
    chosen = max(min(good, MIN_BATCH), int(good * 0.9))
    log(f"batch size {chosen}: largest that fits is {good} (backed off 10%)" if chosen != good else
        f"batch size {chosen}: {bad} does not fit")
    return chosen


def _fastest_on_cpu(step, max_batch: int, deadline, log, affordable_steps, timer, min_batch_seconds) -> int:
    """Doubles the batch while each doubling trains ``cpu_gain_needed`` times the chips per second (and leaves the run
    enough steps): throughput grows less with each doubling and larger batches afford fewer steps, so the first
    doubling that falls short ends the probe (on an AVX2 EPYC timing batches 8 and 16 after a flat 4 cost a 10-minute
    palm run about 30 s)."""
    best_batch, best_rate = MIN_BATCH, 0.0
    batch = MIN_BATCH
    short = ""  # why the larger batch that ended the probe was not taken
    if min_batch_seconds is None:
        step(batch)  # warm-up: first-call allocations and lazy initialisation are not throughput
    while batch <= max_batch and not deadline():
        if batch == MIN_BATCH and min_batch_seconds is not None:
            seconds = min_batch_seconds
        else:
            seconds = _fastest_step(step, batch, timer)
        rate = batch / seconds
        if best_rate:
            needed = cpu_gain_needed(batch, best_batch)
            if rate < best_rate * needed:
                short = f"; batch {batch}: {rate:.1f} chips/s, under the {needed:.2f}x batch {best_batch}'s it needs"
                break
            if affordable_steps(batch, seconds) < MIN_RUN_STEPS:
                short = f"; batch {batch} would leave the run fewer than {MIN_RUN_STEPS} steps"
                break
        best_batch, best_rate = batch, rate
        if free_memory_fraction() < CPU_FREE_MEMORY_FLOOR or batch == max_batch:
            break
        batch = min(batch * 2, max_batch)
    if best_rate:
        log(f"batch size {best_batch}: best measured CPU throughput ({best_rate:.1f} chips/s{short})")
    else:
        log(f"batch size {best_batch}: no time to compare batch sizes")
    return best_batch
