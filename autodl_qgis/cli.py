"""Command line: ``python -m autodl_qgis <command>``. User errors print one line and exit 2."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .engine.errors import InputDataError


def _inspect(args) -> int:
    from .engine.data import TrainingData

    summary = TrainingData.open(args.in_data).summary()
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    rows = [("folder", summary["folder"]), ("format", summary["format"]), ("task", summary["task"]),
            ("chips", f"{summary['num_images']} ({summary['num_labeled_images']} with labels)"),
            ("chip size", "{} x {} px".format(*summary["chip_size"])),
            ("bands", f"{summary['bands']} x {summary['dtype']}"), ("image space", summary["image_space"])]
    if "num_objects" in summary:
        rows.append(("objects", str(summary["num_objects"])))
    for key, value in rows:
        print(f"{key:<12} {value}")
    counts = summary.get("objects_per_class") or summary.get("class_pixel_fraction", {})
    print(f"\n{'value':>6}  {'class':<24} {'objects' if 'num_objects' in summary else 'pixel share':>12}")
    if "class_pixel_fraction" in summary and "0" in counts:
        print(f"{0:>6}  {'(background / NoData)':<24} {counts['0']:>12.2%}")
    for c in summary["classes"]:
        share = counts.get(str(c["value"]), 0)
        print(f"{c['value']:>6}  {c['name']:<24} {share if 'num_objects' in summary else format(share, '.2%'):>12}")
    for warning in summary["warnings"]:
        print(f"warning: {warning}")
    return 0


def _make_sample(args) -> int:
    from .engine.data.synthetic import write_synthetic_dataset

    folder = write_synthetic_dataset(args.out_folder, args.format, num_chips=args.chips, chip_size=args.chip_size,
                                     bands=args.bands, dtype=args.dtype, num_classes=args.classes, seed=args.seed)
    print(f"wrote {args.chips} {args.chip_size}x{args.chip_size} px chips ({args.format}) to {folder}")
    return 0


def _networks(args) -> int:
    from .engine.networks import NETWORKS

    if args.json:
        print(json.dumps([spec.as_dict() for spec in NETWORKS.values()], indent=2))
        return 0
    print(f"{'network':<20} {'task':<22} {'library':<17} {'cpu':<4} {'backbones'}")
    for spec in NETWORKS.values():
        print(f"{spec.name:<20} {spec.task:<22} {spec.library:<17} {'yes' if spec.cpu else 'no':<4} "
              f"{', '.join(spec.backbones)}")
    return 0


def _train(args) -> int:
    from .engine.budget import TimeBudget
    from .engine.data import TrainingData
    from .engine.devices import resolve_device
    from .engine.networks.registry import get_spec
    from .engine.progress import TerminalCallbacks
    from .engine.train import TrainConfig
    from .engine.train.candidate import train_candidate

    if args.epochs is None and args.time_limit is None:
        raise InputDataError("give --epochs N or --time-limit HOURS", None, "For example: --time-limit 0.5")
    data = TrainingData.open(args.in_data)
    names = [get_spec(n.strip()).name for n in args.networks.split(",") if n.strip()]
    device = resolve_device(args.device)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    budget = TimeBudget(args.time_limit * 3600 if args.time_limit is not None else None)
    callbacks = TerminalCallbacks()
    report = []
    for i, name in enumerate(names):
        share = budget.child(budget.remaining() / (len(names) - i)) if args.time_limit is not None else None
        config = TrainConfig(max_epochs=args.epochs, batch_size=args.batch_size)
        candidate = train_candidate(data, name, device, config, share, callbacks, backbone=args.backbone,
                                    pretrained=not args.no_pretrained)
        if candidate.model is not None:
            import torch

            weights = out / f"{name}.pth"
            torch.save(candidate.result.best_state, weights.with_suffix(".pth.tmp"))
            weights.with_suffix(".pth.tmp").replace(weights)
        report.append(candidate.summary())
        callbacks.log(f"{name}: {candidate.result.status}"
                      + (f" ({candidate.result.reason})" if candidate.result.reason else "")
                      + (f", {candidate.result.metric_name} {candidate.result.best_metric:.4f}"
                         if candidate.result.best_metric is not None else ""))
    text = json.dumps(report, indent=2, default=str)
    (out / "metrics.json").write_text(text)
    if args.json:
        print(text)
    return 0 if any(r["status"] != "failed" for r in report) else 1


def _doctor(args) -> int:
    from .doctor import run_doctor

    return run_doctor(as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    from .engine.data.esri import FORMATS

    parser = argparse.ArgumentParser(prog="python -m autodl_qgis",
                                     description="AutoDL for QGIS: train and use deep-learning models on rasters.")
    commands = parser.add_subparsers(dest="command", required=True)

    inspect = commands.add_parser("inspect", help="describe a training-data folder and check it for errors")
    inspect.add_argument("in_data", help="folder written by 'Export Training Data For Deep Learning'")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(run=_inspect)

    sample = commands.add_parser("make-sample", help="write a small synthetic training-data folder to try things on")
    sample.add_argument("out_folder", help="new folder to write (must not exist or be empty)")
    sample.add_argument("--format", default="PASCAL_VOC_rectangles", choices=FORMATS)
    sample.add_argument("--chips", type=int, default=24)
    sample.add_argument("--chip-size", type=int, default=64)
    sample.add_argument("--bands", type=int, default=3)
    sample.add_argument("--dtype", default="uint8", choices=("uint8", "uint16"))
    sample.add_argument("--classes", type=int, default=2)
    sample.add_argument("--seed", type=int, default=0)
    sample.set_defaults(run=_make_sample)

    networks = commands.add_parser("networks", help="list the networks AutoDL can train")
    networks.add_argument("--json", action="store_true", help="print one JSON list")
    networks.set_defaults(run=_networks)

    train = commands.add_parser("train", help="train one or more networks (no search; see Step 3's AutoDL)")
    train.add_argument("in_data", help="folder written by 'Export Training Data For Deep Learning'")
    train.add_argument("out_dir", help="folder for the weights (<network>.pth) and metrics.json")
    train.add_argument("--networks", required=True, help="comma-separated network names")
    train.add_argument("--epochs", type=int, help="epochs per network")
    train.add_argument("--time-limit", type=float, help="hours in total, shared by the networks")
    train.add_argument("--backbone", help="backbone instead of each network's default")
    train.add_argument("--batch-size", type=int, help="fixed batch size (default: inferred)")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--no-pretrained", action="store_true", help="do not look for pretrained weights")
    train.add_argument("--json", action="store_true", help="print the metrics as JSON")
    train.set_defaults(run=_train)

    doctor = commands.add_parser("doctor", help="check that QGIS, GDAL, torch and the model libraries work")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(run=_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except InputDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130
