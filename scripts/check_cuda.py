"""The training path on an NVIDIA GPU: device selection, the batch-size probe, mixed precision, out-of-memory
recovery, the moving average of the weights, the refit, the pass that chooses test-time augmentation, and trained
weights moved to the CPU -- for the networks
that need no compiled operators, on chips made in memory (so it runs wherever torch sees a GPU, GDAL or not).

CI has no GPU, so this is a script, not a test: run it on a CUDA machine; it prints one line per check and a table
of chips per second, and exits 1 when a check fails.

    python scripts/check_cuda.py [--seconds 20] [--json results.json]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodl_qgis.engine.budget import TimeBudget  # noqa: E402
from autodl_qgis.engine.devices import resolve_device  # noqa: E402
from autodl_qgis.engine.errors import InputDataError  # noqa: E402
from autodl_qgis.engine.infer.backend import TestTimeAugmented  # noqa: E402
from autodl_qgis.engine.progress import SilentCallbacks  # noqa: E402
from autodl_qgis.engine.status import Status  # noqa: E402
from autodl_qgis.engine.train.scale import build_scaled_network  # noqa: E402
from autodl_qgis.engine.train.trainer import TrainConfig, Trainer  # noqa: E402

DETECTION, PIXELS = "object_detection", "pixel_classification"
# (network, backbone, task, chip scale, fitted default boxes): one of each library and adapter path that runs
# without compiled operators (MMDetection / MMSegmentation need mmcv built for the machine's torch)
NETWORKS = (
    ("SingleShotDetector", "resnet18", DETECTION, 1.0, False),
    ("SingleShotDetector", "mobilenet_v3_large", DETECTION, 0.5, True),
    ("RetinaNet", "resnet18", DETECTION, 1.0, False),
    ("FasterRCNN", "mobilenet_v3_large", DETECTION, 1.0, False),
    ("MaskRCNN", "resnet18", DETECTION, 1.0, False),
    ("RTDetrV2", "resnet18", DETECTION, 1.0, False),
    ("UnetClassifier", "resnet18", PIXELS, 1.0, False),
    ("DeepLabV3Plus", "resnet18", PIXELS, 1.0, False),
    ("DeepLab", "mobilenet_v3_large", PIXELS, 0.5, False),
)
LEARNED = 0.3  # validation AP50 / mIoU a network must reach on the bright squares to count as learning
SAME_SCORE = 0.03  # the largest difference between scores of the same weights (mixed precision, CPU)


class Squares(Dataset):
    """Bright squares (class 1) on noise, made from the index: any number of chips without holding them."""

    def __init__(self, count: int, size: int, task: str, masks: bool = False, offset: int = 0):
        self.count, self.size, self.task, self.masks, self.offset = count, size, task, masks, offset

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        rng = np.random.default_rng(self.offset + index)
        image = rng.normal(0.0, 0.5, (3, self.size, self.size)).astype(np.float32)
        mask = np.zeros((self.size, self.size), np.int64)
        boxes, instances = [], []
        for _ in range(rng.integers(1, 5)):
            side = int(rng.integers(self.size // 10, self.size // 4))
            x, y = (int(v) for v in rng.integers(0, self.size - side, 2))
            image[:, y:y + side, x:x + side] += 2.0
            mask[y:y + side, x:x + side] = 1
            boxes.append((x, y, x + side, y + side))
            instance = np.zeros((self.size, self.size), np.uint8)
            instance[y:y + side, x:x + side] = 1
            instances.append(instance)
        if self.task == PIXELS:
            return torch.from_numpy(image), torch.from_numpy(mask)
        target = {"boxes": torch.tensor(boxes, dtype=torch.float32),
                  "labels": torch.ones(len(boxes), dtype=torch.int64)}
        if self.masks:
            target["masks"] = torch.from_numpy(np.stack(instances))
        return torch.from_numpy(image), target


def collate(batch):
    images, targets = zip(*batch)
    return torch.stack(images), (torch.stack(targets) if isinstance(targets[0], torch.Tensor) else list(targets))


class Log(SilentCallbacks):
    def __init__(self):
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class Throughput:
    network: str
    status: str
    batch_size: int
    precision: str
    steps: int
    chips_per_second: float
    score: float | None
    averaged: bool
    trained_chips: int


def trainer_for(name, backbone, task, scale, fitted, device, config, seconds, size=256, chips=256, log=None):
    masks = name == "MaskRCNN"
    train = Squares(chips, size, task, masks)
    val = Squares(32, size, task, masks, offset=10_000)
    adapter = build_scaled_network(name, 1, 3, (size, size), backbone, scale, False, device,
                                   object_size=0.15 if fitted else None)
    refit = ConcatDataset([train, val]) if config.refit_share > 0 else None
    return Trainer(adapter, train, val, collate, task, ["square"], device, config,
                   TimeBudget(seconds) if seconds else None, log or Log(), name=f"{name} ({backbone})",
                   refit_data=refit)


def check_network(spec, device, seconds: float, checks: list[Check], table: list[Throughput], amp: bool) -> None:
    name, backbone, task, scale, fitted = spec
    label = f"{name} ({backbone}{', scale ' + str(scale) if scale != 1 else ''}{', fitted boxes' if fitted else ''})"
    config = TrainConfig(seed=0, ema=True, refit_share=0.2, max_batch_size=64, amp=amp)
    trainer = trainer_for(name, backbone, task, scale, fitted, device, config, seconds)
    began = time.monotonic()
    result = trainer.fit()
    wall = time.monotonic() - began
    precision = str(trainer.amp_dtype).replace("torch.", "") if trainer.amp_dtype is not None else "float32"
    table.append(Throughput(label, str(result.status), result.batch_size, precision, result.steps,
                            result.steps * result.batch_size / max(result.train_seconds, 1e-9), result.best_metric,
                            result.averaged, result.trained_chips))
    ok = result.status in (Status.COMPLETED, Status.EARLY_STOPPED, Status.DEADLINE) and result.best_state is not None
    checks.append(Check(f"{label}: trains on CUDA in {precision}", ok,
                        f"status {result.status}, {result.steps} steps at batch {result.batch_size}, "
                        f"{wall:.0f} s for a {seconds:.0f} s budget" + (f", {result.reason}" if result.reason else "")))
    if not ok:
        return
    checks.append(Check(f"{label}: held its time", wall <= seconds * 1.05 + 10, f"{wall:.1f} s of {seconds:.0f} s"))
    checks.append(Check(f"{label}: learns", (result.best_metric or 0) >= LEARNED,
                        f"validation {result.metric_name} {result.best_metric:.3f} (>= {LEARNED} wanted); "
                        f"moving average kept: {result.averaged}; trained on {result.trained_chips} chips"))
    trainer.adapter.load_state_dict(result.best_state)
    # the pass the search's choice of test-time augmentation makes, in the run's precision
    once, views = trainer.evaluate_models(result.batch_size, (trainer.adapter, TestTimeAugmented(
        trainer.adapter, task == DETECTION)))
    checks.append(Check(f"{label}: scores over the eight views in {precision}",
                        math.isfinite(views.primary) and views.primary >= once.primary - 0.2,
                        f"{views.primary:.3f} over them, {once.primary:.3f} once"))
    mixed = trainer.evaluate(result.batch_size).primary
    trainer.amp_dtype = None
    full = trainer.evaluate(result.batch_size).primary
    checks.append(Check(f"{label}: mixed-precision scores match float32", abs(mixed - full) <= SAME_SCORE,
                        f"{mixed:.3f} in {precision}, {full:.3f} in float32"))
    on_cpu = trainer_for(name, backbone, task, scale, fitted, torch.device("cpu"),
                         TrainConfig(max_epochs=1, num_workers=0), None)
    on_cpu.adapter.load_state_dict(result.best_state)
    cpu = on_cpu.evaluate(8).primary
    checks.append(Check(f"{label}: its weights score the same on the CPU", abs(cpu - full) <= SAME_SCORE,
                        f"{cpu:.3f} on the CPU, {full:.3f} on CUDA"))


def check_out_of_memory(device, seconds: float, checks: list[Check]) -> None:
    """A memory cap that a large batch of 512 px chips overflows: the probe must settle below it, and a run
    given too large a batch must halve it and go on."""
    cap_gib, largest = 4.0, 256
    seconds = max(60.0, 3 * seconds)  # the probe has a tenth of it
    total = torch.cuda.get_device_properties(device).total_memory
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(cap_gib * 2 ** 30 / total, device)
    try:
        for given in (None, largest):
            log = Log()
            config = TrainConfig(seed=0, batch_size=given, max_batch_size=largest)
            trainer = trainer_for("SingleShotDetector", "resnet18", DETECTION, 1.0, False, device, config, seconds,
                                  size=512, chips=8 * largest, log=log)
            result = trainer.fit()
            said = [line for line in log.lines if "batch size" in line]
            ok = result.best_state is not None and 1 <= result.batch_size < largest
            if given is None:  # the probe met the cap (it backs off from the largest batch that fitted)
                what, ok = "the batch-size probe settles under a memory cap", ok and any(
                    "largest that fits" in s for s in said)
            else:
                what, ok = "a batch too large for the memory is halved and training goes on", ok and any(
                    "halved" in s for s in said)
            checks.append(Check(what, ok,
                                f"{cap_gib:g} GiB cap, batch {result.batch_size}, status {result.status}, "
                                f"{result.steps} steps; log: {'; '.join(said[:4]) or '-'}"))
            del trainer
            torch.cuda.empty_cache()
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, device)


def check_devices(checks: list[Check]) -> torch.device:
    device = resolve_device("auto")
    checks.append(Check("auto picks the GPU", device.type == "cuda",
                        f"{device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'no GPU'})"))
    missing = f"cuda:{torch.cuda.device_count()}"
    try:
        resolve_device(missing)
        checks.append(Check(f"{missing} is refused", False, "accepted"))
    except InputDataError as exc:
        checks.append(Check(f"{missing} is refused", True, str(exc)))
    return device


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="training time per network")
    parser.add_argument("--networks", help="comma-separated names, 'memory' for the out-of-memory checks "
                        "(default: all of NETWORKS and memory)")
    parser.add_argument("--float32", action="store_true", help="train without mixed precision (to compare)")
    parser.add_argument("--json", type=Path, help="also write the checks and the table here")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU: nothing to check here")
        return 1
    checks: list[Check] = []
    table: list[Throughput] = []
    device = check_devices(checks)
    chosen = set(args.networks.split(",")) if args.networks else None
    for spec in NETWORKS:
        if chosen is not None and spec[0] not in chosen:
            continue
        try:
            check_network(spec, device, args.seconds, checks, table, amp=not args.float32)
        except Exception:  # noqa: BLE001 - one network's crash is that network's failed check, the rest still run
            checks.append(Check(f"{spec[0]} ({spec[1]})", False, traceback.format_exc(limit=-4)))
        torch.cuda.empty_cache()
    try:
        if chosen is None or "memory" in chosen:
            check_out_of_memory(device, args.seconds, checks)
    except Exception:  # noqa: BLE001
        checks.append(Check("out-of-memory recovery", False, traceback.format_exc(limit=-4)))
    for check in checks:
        print(f"{'PASS' if check.passed else 'FAIL'}  {check.name}: {check.detail}")
    print(f"\n{'network':58} {'status':13} {'batch':>5} {'precision':9} {'steps':>6} {'chips/s':>8} {'score':>6}")
    for row in table:
        score = f"{row.score:.3f}" if row.score is not None and math.isfinite(row.score) else "-"
        print(f"{row.network:58} {row.status:13} {row.batch_size:5d} {row.precision:9} {row.steps:6d} "
              f"{row.chips_per_second:8.0f} {score:>6}")
    if args.json:
        args.json.write_text(json.dumps({"device": torch.cuda.get_device_name(device), "torch": torch.__version__,
                                         "checks": [asdict(c) for c in checks],
                                         "table": [asdict(r) for r in table]}, indent=1))
    failed = sum(not c.passed for c in checks)
    print(f"\n{len(checks) - failed} of {len(checks)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
