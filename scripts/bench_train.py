"""Throughput of the engine's training loop against a bare hand-written PyTorch loop.

Same network, batch size, optimizer and in-memory chips; the two loops run alternately, several rounds, and the
median of each is compared (the machines are noisy). Target: engine / bare >= 0.95.

    .venv/bin/python scripts/bench_train.py [--networks UnetClassifier,FasterRCNN] [--rounds 3] [--device auto]

With ``--real NAME`` it measures instead what a search's training gets through on a real export (chips read from
disk and augmented as in a search) in the same wall time, for each data-loading setting of ``--workers``
(``TrainConfig.num_workers``), alternately, several rounds: chips trained per second of wall time, and the ratio to
the first setting.

    .venv/bin/python scripts/bench_train.py --real palm_pascal_voc_west --networks SingleShotDetector \
        --scale 0.5 --batch 2 --workers 0,1 --seconds 90 --rounds 3
With ``--compare`` it measures instead the bare loop's chips per second under settings of the CPU throughput list
(issue 19, item 5), alternately, for each network, each ratio to the first setting: ``precision`` float32 against
bfloat16 autocast (what the trainer's CPU probe decides on, batch_size.py ``choose_cpu_bfloat16``), ``layout`` the
network and its input in ``torch.channels_last`` memory format against the default, in both precisions, ``threads``
one intra-op thread against torch's default (one per core this process may use), ``optimizer`` AdamW as torch
updates each parameter tensor by default against its fused kernel (what the trainer uses, ``Trainer._optimizer``):

    .venv/bin/python scripts/bench_train.py --compare precision --networks SingleShotDetector,RetinaNet --size 224 \
        --batch 2
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodl_qgis.engine.budget import TimeBudget  # noqa: E402
from autodl_qgis.engine.data import TrainingData  # noqa: E402
from autodl_qgis.engine.data.dataset import collate_objects, collate_pixels  # noqa: E402
from autodl_qgis.engine.data.esri import ClassInfo  # noqa: E402
from autodl_qgis.engine.data.synthetic import synthetic_chip  # noqa: E402
from autodl_qgis.engine.devices import resolve_device  # noqa: E402
from autodl_qgis.engine.errors import InputDataError  # noqa: E402
from autodl_qgis.engine.networks import build_network  # noqa: E402
from autodl_qgis.engine.networks.registry import get_spec  # noqa: E402
from autodl_qgis.engine.status import Status  # noqa: E402
from autodl_qgis.engine.train import TrainConfig, Trainer  # noqa: E402
from autodl_qgis.engine.train.candidate import TrainRequest, train_candidate  # noqa: E402
from bench_search import REAL_DATA  # noqa: E402 - where the benchmarks find the real exports, said once
from autodl_qgis.engine.train.trainer import to_device  # noqa: E402


def in_memory_chips(task: str, count: int, size: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    classes = [ClassInfo(1, "pool", (0, 0, 255)), ClassInfo(2, "roof", (255, 0, 0))]
    chips = []
    for _ in range(count):
        image, class_map, boxes, values, _ = synthetic_chip(rng, size, 3, "uint8", classes)
        x = (torch.from_numpy(image).float() - 100.0) / 50.0
        if task == "object_detection":
            chips.append((x, {"boxes": torch.from_numpy(boxes), "labels": torch.from_numpy(values)}))
        else:
            chips.append((x, torch.from_numpy(class_map)))
    return chips


@dataclass(frozen=True)
class LoopSetting:
    """One way of running the bare loop that ``--compare`` measures."""

    label: str
    bfloat16: bool = False
    channels_last: bool = False
    threads: int | None = None  # intra-op threads; None: torch's default
    fused_adamw: bool = False  # torch.optim.AdamW(fused=True): one kernel per step, not one per parameter tensor


COMPARISONS = {
    "precision": (LoopSetting("float32"), LoopSetting("bfloat16", bfloat16=True)),
    "layout": (LoopSetting("float32"), LoopSetting("float32 channels_last", channels_last=True),
               LoopSetting("bfloat16", bfloat16=True),
               LoopSetting("bfloat16 channels_last", bfloat16=True, channels_last=True)),
    "threads": (LoopSetting("1 thread", threads=1),
                LoopSetting(f"{torch.get_num_threads()} threads (default)", threads=torch.get_num_threads())),
    "optimizer": (LoopSetting("AdamW"), LoopSetting("AdamW fused", fused_adamw=True)),
}


def bare_loop(model, chips, collate, batch: int, epochs: int, device,
              setting: LoopSetting = LoopSetting("float32")) -> float:
    """What a data scientist would write: loader, forward, backward, clip, step, as ``setting`` says."""
    loader = torch.utils.data.DataLoader(chips, batch_size=batch, shuffle=True, collate_fn=collate)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=1e-4,
                                  fused=setting.fused_adamw)
    layout = torch.channels_last if setting.channels_last else torch.contiguous_format
    model.to(memory_format=layout).train()
    if setting.threads:
        torch.set_num_threads(setting.threads)
    start = time.perf_counter()
    for _ in range(epochs):
        for images, targets in loader:
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=setting.bfloat16):
                images = images.to(device).contiguous(memory_format=layout)
                loss = sum(model.losses(images, to_device(targets, device)).values())
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def engine_loop(model, chips, val, collate, task, batch: int, epochs: int, device) -> float:
    config = TrainConfig(max_epochs=epochs, batch_size=batch, learning_rate=1e-4, patience=10 ** 6)
    trainer = Trainer(model, chips, val, collate, task, ["pool", "roof"], device, config)
    start = time.perf_counter()
    result = trainer.fit()
    elapsed = time.perf_counter() - start - (trainer._val_seconds or 0.0) * result.epochs
    if result.status is Status.FAILED:
        raise RuntimeError(result.reason)
    return elapsed


def real_rates(args, device) -> int:
    """Chips trained per wall second on a real export, for each ``--workers`` setting, alternating."""
    data = TrainingData.open(REAL_DATA / args.real)
    settings = [int(w) for w in args.workers.split(",")]
    print(f"device {device}, {args.real}: {len(data.chips)} chips of {data.chip_size[0]} px, scale {args.scale}, "
          f"batch {args.batch}, {args.seconds:.0f} s a run, workers {settings}, {args.rounds} alternating rounds")
    for name in [n.strip() for n in args.networks.split(",") if n.strip()]:
        rates: dict[int, list[float]] = {w: [] for w in settings}
        for round_ in range(args.rounds):
            for workers in settings:
                config = TrainConfig(batch_size=args.batch, num_workers=workers, patience=10 ** 6, seed=round_,
                                     decay_to_end=False)
                request = TrainRequest(name, config=config, pretrained=False, chip_scale=args.scale, val_chips=4)
                result = train_candidate(data, request, device, TimeBudget(args.seconds)).result
                if result.status is Status.FAILED:
                    raise RuntimeError(result.reason)
                rates[workers].append(result.steps * result.batch_size / args.seconds)
                print(f"  round {round_ + 1} workers {workers}: {result.steps} steps "
                      f"({rates[workers][-1]:.2f} chips/s)", flush=True)
        first = statistics.median(rates[settings[0]])
        print(f"{name:<18} " + "   ".join(f"workers {w}: {statistics.median(r):6.2f} chips/s "
                                         f"(x{statistics.median(r) / first:.2f})" for w, r in rates.items()))
    return 0


def setting_rates(args, device) -> int:
    """Chips per second of the bare loop under each setting of ``--compare``, alternating, per network."""
    settings = COMPARISONS[args.compare]
    default_threads = torch.get_num_threads()
    print(f"comparing {args.compare}: {', '.join(s.label for s in settings)} ({os.cpu_count()} CPUs on the machine, "
          f"{len(os.sched_getaffinity(0))} for this process)")
    for name in [n.strip() for n in args.networks.split(",") if n.strip()]:
        spec = get_spec(name)
        chips = in_memory_chips(spec.task, args.chips, args.size)
        collate = collate_objects if spec.task == "object_detection" else collate_pixels
        model = build_network(name, 2, 3, (args.size, args.size), pretrained=False, device=device)
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        seconds: dict[LoopSetting, list[float]] = {setting: [] for setting in settings}
        try:
            for _ in range(args.rounds + 1):  # the first round warms every setting up and is not counted
                for setting in settings:
                    model.load_state_dict(initial)
                    seconds[setting].append(bare_loop(model, chips, collate, args.batch, args.epochs, device,
                                                      setting))
        except Exception as exc:  # noqa: BLE001 - a network without a kernel for a setting is a row, not the end
            print(f"{name:<18} failed: {type(exc).__name__}: {exc}")
            continue
        finally:
            torch.set_num_threads(default_threads)
        images = args.chips * args.epochs
        rates = [images / statistics.median(seconds[setting][1:]) for setting in settings]
        print(f"{name:<18} " + "   ".join(f"{setting.label} {rate:7.2f} chips/s (x{rate / rates[0]:.2f})"
                                         for setting, rate in zip(settings, rates)), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", default="UnetClassifier,FasterRCNN")
    parser.add_argument("--chips", type=int, default=32)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compare", choices=sorted(COMPARISONS),
                        help="compare the bare loop's chips per second per network: float32 against bfloat16 "
                             "autocast, the channels_last memory format against the default, 1 thread against "
                             "torch's default, or AdamW fused against its default")
    parser.add_argument("--real", metavar="NAME", help="a real export under $AUTODL_REAL_DATA: compare --workers")
    parser.add_argument("--workers", default="0,1", help="with --real: the num_workers settings compared")
    parser.add_argument("--scale", type=float, default=1.0, help="with --real: the chip scale trained at")
    parser.add_argument("--seconds", type=float, default=90.0, help="with --real: the wall time of each run")
    args = parser.parse_args()
    device = resolve_device(args.device)
    if args.real:
        try:
            return real_rates(args, device)
        except InputDataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    torch.manual_seed(0)
    print(f"device {device}, {args.chips} chips of {args.size} px, batch {args.batch}, {args.epochs} epoch(s), "
          f"{args.rounds} alternating rounds")
    if args.compare:
        return setting_rates(args, device)
    ratios = []
    for name in [n.strip() for n in args.networks.split(",") if n.strip()]:
        spec = get_spec(name)
        chips = in_memory_chips(spec.task, args.chips, args.size)
        val = chips[:1]
        collate = collate_objects if spec.task == "object_detection" else collate_pixels
        model = build_network(name, 2, 3, (args.size, args.size), pretrained=False, device=device)
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        bare, engine = [], []
        for _ in range(args.rounds):
            model.load_state_dict(initial)
            bare.append(bare_loop(model, chips, collate, args.batch, args.epochs, device))
            model.load_state_dict(initial)
            engine.append(engine_loop(model, chips, val, collate, spec.task, args.batch, args.epochs, device))
        images = args.chips * args.epochs
        bare_rate, engine_rate = images / statistics.median(bare), images / statistics.median(engine)
        ratio = engine_rate / bare_rate
        ratios.append(ratio)
        print(f"{name:<18} bare {bare_rate:7.2f} chips/s   engine {engine_rate:7.2f} chips/s   "
              f"ratio {ratio:.3f}")
    print(f"median ratio engine/bare: {statistics.median(ratios):.3f} (target >= 0.95)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
