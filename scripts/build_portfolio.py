"""Meta-benchmark that produces the ordered portfolio (autodl_qgis/engine/search/portfolio.json).

Each network x light backbone x chip scale is trained for a fixed short budget of CPU time by the project's own
candidate code (train_candidate: the Trainer, chip scale as train/scale.py applies it, the spatial split of
engine/data/split.py) on synthetic folders of several band counts, class counts and object sizes and on the real
palm_pascal_voc_west export, then scored with the project's metric code on the held-out test block of each folder.
A configuration's score on a folder is its test metric over the best test metric any configuration reached there;
configurations measured on every folder of the task rank first, each group by its mean score.

    .venv/bin/python scripts/build_portfolio.py run [--grid quick|full] [--folders A,B] [--configs NET:BACKBONE,..]
        [--scales 1,0.5] [--seconds 30] [--detection-seconds 60] [--real-seconds 120]
    .venv/bin/python scripts/build_portfolio.py table      # rebuilds portfolio.json from the recorded runs

``run`` appends one JSON line per trained configuration to --results and skips those already there, so it can be
stopped and resumed; ``table`` writes the ranking and every measurement behind it into portfolio.json.
"""
from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autodl_qgis.engine.data import (CLASSIFIED_TILES, KITTI, OBJECT_DETECTION, PASCAL_VOC,  # noqa: E402
                                     PIXEL_CLASSIFICATION)
from autodl_qgis.engine.networks.registry import NETWORKS  # noqa: E402
from autodl_qgis.engine.search.portfolio import LIGHT_BACKBONES  # noqa: E402

TABLE = REPO / "autodl_qgis" / "engine" / "search" / "portfolio.json"
REAL = Path(os.environ.get("AUTODL_REAL_DATA", REPO.parent / "shared" / "data" / "real")) / "palm_pascal_voc_west"
SCALES = (1.0, 0.5)
SEED = 42
VAL_FRACTION = 0.2
NUM_CHIPS = 240  # from 200 chips up the split holds out a test block
BATCH_SIZE = 4  # fixed, so that no run spends its short budget probing batch sizes


@dataclass(frozen=True)
class Folder:
    name: str
    task: str
    real: bool = False
    metadata_format: str = ""
    bands: int = 3
    dtype: str = "uint8"
    classes: int = 2
    # at least 128 px so that scale 0.5 applies (train/scale.py); synthetic objects are 1/8 to 1/3 of the chip, so
    # the chip size sets their size in pixels
    chip_size: int = 128


FOLDERS = (
    Folder("det_rgb_2cls_small", OBJECT_DETECTION, metadata_format=PASCAL_VOC, chip_size=128),
    Folder("det_4band_3cls_large", OBJECT_DETECTION, metadata_format=KITTI, bands=4, dtype="uint16", classes=3,
           chip_size=192),
    Folder("palm_pascal_voc_west", OBJECT_DETECTION, real=True),
    Folder("pix_rgb_2cls_small", PIXEL_CLASSIFICATION, metadata_format=CLASSIFIED_TILES, chip_size=128),
    Folder("pix_4band_4cls_large", PIXEL_CLASSIFICATION, metadata_format=CLASSIFIED_TILES, bands=4, dtype="uint16",
           classes=4, chip_size=192),
)
QUICK_FOLDERS = ("det_rgb_2cls_small", "palm_pascal_voc_west", "pix_rgb_2cls_small", "pix_4band_4cls_large")
QUICK_CONFIGS = {  # a reduced grid for a machine with two shared cores: light backbones of CPU-capable networks
    OBJECT_DETECTION: (("FasterRCNN", "mobilenet_v3_large"), ("RetinaNet", "resnet18"),
                       ("SingleShotDetector", "mobilenet_v3_large")),
    PIXEL_CLASSIFICATION: (("UnetClassifier", "resnet18"), ("UnetClassifier", "mobilenet_v2"),
                           ("DeepLabV3Plus", "mobilenet_v2"), ("FastSCNN", "fastscnn")),
}


def full_configs(task: str) -> tuple[tuple[str, str], ...]:
    """Every CPU-capable network of the task with each light backbone it offers (its default when it has none)."""
    configs = []
    for spec in NETWORKS.values():
        if spec.task != task or not spec.cpu or spec.library == "segment_anything":  # SAM weights are never fetched
            continue
        light = [b for b in spec.backbones if b in LIGHT_BACKBONES] or [spec.default_backbone]
        configs += [(spec.name, b) for b in light]
    return tuple(configs)


# -- folders ---------------------------------------------------------------------------------------------------------

def folder_path(folder: Folder, work: Path) -> Path:
    """The folder's path (a synthetic one is written into ``work`` once)."""
    from autodl_qgis.engine.data.synthetic import write_synthetic_dataset

    if folder.real:
        return REAL
    path = work / folder.name
    if not path.is_dir():
        write_synthetic_dataset(path, folder.metadata_format, num_chips=NUM_CHIPS, chip_size=folder.chip_size,
                                bands=folder.bands, dtype=folder.dtype, num_classes=folder.classes, seed=11)
    return path


# -- one measurement -------------------------------------------------------------------------------------------------

def measure(folder: Folder, network: str, backbone: str, scale: float, seconds: float, work: Path,
            pretrained: bool) -> dict:
    """Trains one configuration with train_candidate and scores the kept model on the folder's test block."""
    import torch

    from autodl_qgis.engine.budget import TimeBudget
    from autodl_qgis.engine.data import TrainingData
    from autodl_qgis.engine.data.split import split_chips
    from autodl_qgis.engine.train import TrainConfig
    from autodl_qgis.engine.train.candidate import TrainRequest, train_candidate

    data = TrainingData.open(folder_path(folder, work))
    split = split_chips(data, VAL_FRACTION, SEED)
    start, cpu_start = time.monotonic(), time.process_time()
    # CPU seconds of this process, not wall seconds: other work on a shared machine must not change the ranking
    budget = TimeBudget(seconds, clock=time.process_time)
    config = TrainConfig(seed=SEED, batch_size=BATCH_SIZE)
    request = TrainRequest(network, backbone, config, pretrained=pretrained, chip_scale=scale)
    candidate = train_candidate(data, request, torch.device("cpu"), budget, split=split)
    wall, cpu = time.monotonic() - start, time.process_time() - cpu_start
    result = candidate.result
    row = {"folder": folder.name, "task": folder.task, "network": network, "backbone": backbone, "chip_scale": scale,
           "budget_s": seconds, "cpu_s": round(cpu, 1), "wall_s": round(wall, 1), "status": result.status,
           "reason": result.reason, "epochs": result.epochs, "steps": result.steps, "batch_size": result.batch_size,
           "val_metric": result.best_metric, "metric_name": result.metric_name, "split": split.summary(),
           "test_metric": None}
    if candidate.model is not None:
        row["test_metric"] = score(candidate.model, data, split.test or split.val)
    return row


def score(model, data, indices) -> float:
    """The primary metric of train/metrics.py on the given chips."""
    import torch
    from torch.utils.data import DataLoader

    from autodl_qgis.engine.data.dataset import ChipDataset
    from autodl_qgis.engine.train.metrics import metrics_for

    dataset = ChipDataset(data, list(indices))
    metrics = metrics_for(data.task, [c.name for c in data.classes])
    model.eval()
    with torch.no_grad():
        for images, targets in DataLoader(dataset, batch_size=4, collate_fn=dataset.collate_fn):
            predictions = model.predict(images)
            metrics.update(predictions.float() if isinstance(predictions, torch.Tensor) else predictions, targets)
    return round(float(metrics.compute().primary), 5)


# -- the table -------------------------------------------------------------------------------------------------------

def rank(rows: list[dict], task: str) -> list[dict]:
    """Configurations of ``task`` that learned something, best first: those measured on every folder of the task
    before the others, then by the mean over the folders they were measured on of test metric / best test metric
    there (0 when it failed)."""
    rows = [r for r in rows if r["task"] == task]
    folders = sorted({r["folder"] for r in rows})
    best = {f: max((r["test_metric"] or 0.0 for r in rows if r["folder"] == f), default=0.0) for f in folders}
    by_config: dict[tuple, dict] = {}
    for r in rows:
        key = (r["network"], r["backbone"], r["chip_scale"])
        entry = by_config.setdefault(key, {"network": key[0], "backbone": key[1], "chip_scale": key[2],
                                           "relative": {}})
        top = best[r["folder"]]
        entry["relative"][r["folder"]] = round((r["test_metric"] or 0.0) / top, 4) if top else 0.0
    for entry in by_config.values():
        entry["score"] = round(sum(entry["relative"].values()) / len(entry["relative"]), 4)
    order = list(NETWORKS)
    # a configuration that learned nothing anywhere tells nothing about its rank: it stays with the unmeasured
    learned = [e for e in by_config.values() if e["score"] > 0]
    return sorted(learned, key=lambda e: (len(e["relative"]) < len(folders), -e["score"],
                                                     order.index(e["network"]), e["chip_scale"] != 1.0))


def cuda_rows(cpu: list[dict]) -> list[dict]:
    """No GPU measured them: the CPU order of networks, each first on its default (heavier) backbone at full scale,
    then the measured light configurations."""
    rows, seen = [], set()
    for entry in cpu:
        name = entry["network"]
        if name not in seen:
            seen.add(name)
            rows.append({"network": name, "backbone": NETWORKS[name].default_backbone, "chip_scale": 1.0,
                         "score": None})
        rows.append({k: entry[k] for k in ("network", "backbone", "chip_scale", "score")})
    return list({(r["network"], r["backbone"], r["chip_scale"]): r for r in reversed(rows)}.values())[::-1]


def write_table(results: Path, meta: dict) -> None:
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    table = {}
    for task in (OBJECT_DETECTION, PIXEL_CLASSIFICATION):
        cpu = rank(rows, task)
        table[task] = {"cpu": [{k: e[k] for k in ("network", "backbone", "chip_scale", "score", "relative")}
                               for e in cpu],
                       "cuda": cuda_rows(cpu)}
    document = {
        "about": "Ordered portfolio of autodl_qgis (engine/search/portfolio.py), written by scripts/build_portfolio.py"
                 " table from the runs below. score: mean over the task's folders of test metric / best test metric"
                 " on that folder.",
        "cuda_rule": "no GPU was available: cuda rows follow the CPU ranking of networks, each first on its default"
                     " backbone at full chip scale, then the configurations measured on the CPU",
        "meta": meta, "table": table, "runs": rows,
    }
    temporary = TABLE.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    temporary.replace(TABLE)


# -- command line ----------------------------------------------------------------------------------------------------

def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("run", "table"))
    parser.add_argument("--grid", choices=("quick", "full"), default="quick")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="budget per run on synthetic pixel-classification folders, in CPU seconds of one thread")
    parser.add_argument("--detection-seconds", type=float, default=60.0,
                        help="the same on synthetic object-detection folders (detectors need more steps)")
    parser.add_argument("--real-seconds", type=float, default=120.0, help="the same on the real export")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: CPU seconds are core seconds)")
    parser.add_argument("--folders", help="comma-separated folder names to run (default: the grid's)")
    parser.add_argument("--configs", help="comma-separated NETWORK:BACKBONE to run (default: the grid's)")
    parser.add_argument("--scales", default=",".join(f"{s:g}" for s in SCALES), help="chip scales to run")
    parser.add_argument("--pretrained", action="store_true",
                        help="use pretrained backbones where they can be had (default: from scratch, as offline)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/autodl_portfolio"))
    parser.add_argument("--results", type=Path, default=None, help="JSON lines of the runs (default: WORK/runs.jsonl)")
    args = parser.parse_args()
    results = args.results or args.work / "runs.jsonl"
    args.work.mkdir(parents=True, exist_ok=True)
    meta_file = results.with_name("meta.json")  # one entry per "run" invocation that added to the results
    invocations = json.loads(meta_file.read_text()) if meta_file.is_file() else []
    if args.action == "table":
        write_table(results, {"runs_by": invocations, "table_written": _now()})
        print(f"wrote {TABLE}")
        return 0
    invocations.append({
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]), "started": _now(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores", "device": "cpu", "threads": args.threads,
        "batch_size": BATCH_SIZE, "budget_clock": "process CPU time", "pretrained": args.pretrained})
    meta_file.write_text(json.dumps(invocations))
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(args.threads)
    done = set()
    if results.is_file():
        done = {(r["folder"], r["network"], r["backbone"], r["chip_scale"])
                for r in map(json.loads, results.read_text().splitlines()) if r}
    folders = [f for f in FOLDERS if args.grid == "full" or f.name in QUICK_FOLDERS]
    folders = [f for f in folders if (not f.real or REAL.is_dir())
               and (not args.folders or f.name in args.folders.split(","))]
    scales = [float(s) for s in args.scales.split(",")]
    # configuration by configuration over all its folders, the two tasks interleaved: a run stopped early still
    # leaves complete rows to rank
    configs = {task: [(n, b, s) for n, b in (QUICK_CONFIGS[task] if args.grid == "quick" else full_configs(task))
                      for s in scales] for task in (OBJECT_DETECTION, PIXEL_CLASSIFICATION)}
    ordered = [c for pair in itertools.zip_longest(*configs.values()) for c in pair if c is not None
               and (not args.configs or f"{c[0]}:{c[1]}" in args.configs.split(","))]
    plan = [(f, network, backbone, scale) for network, backbone, scale in ordered for f in folders
            if f.task == NETWORKS[network].task]
    for folder, network, backbone, scale in plan:
        if (folder.name, network, backbone, scale) in done:
            continue
        seconds = (args.real_seconds if folder.real else
                   args.detection_seconds if folder.task == OBJECT_DETECTION else args.seconds)
        row = measure(folder, network, backbone, scale, seconds, args.work, args.pretrained)
        with results.open("a") as out:
            out.write(json.dumps(row) + "\n")
        print(f"{folder.name:22} {network:18} {backbone:18} x{scale:<4g} {row['status']:13} "
              f"test {row['test_metric']}  ({row['wall_s']} s, {row['steps']} steps)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
