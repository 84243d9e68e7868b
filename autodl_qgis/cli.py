"""Command line: ``python -m autodl_qgis <command>``. User errors print one line and exit 2."""
from __future__ import annotations

import argparse
import json
import sys


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

    doctor = commands.add_parser("doctor", help="check that QGIS, GDAL, torch and the model libraries work")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(run=_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .engine.errors import InputDataError

    try:
        return args.run(args)
    except InputDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130
