"""Command line: ``python -m autodl_qgis <command>``. User errors print one line and exit 2."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .engine.errors import InputDataError
from .engine.messages import translate
from .engine.progress import Cancelled

_EVENTS = None  # EventCallbacks when a parent process (QGIS) asked for --events
_QUIET = False  # --quiet: warnings and errors only
_STARTED = None  # when main() began (wall clock)
_CONSOLE = None  # the terminal display, closed when the command ends


def _callbacks(limit_seconds: float | None = None):
    """How commands report: JSON events to the parent that started us, else the terminal display (live on a
    terminal, a line per epoch and per candidate otherwise; ``limit_seconds`` shows the time left of a limit)."""
    global _CONSOLE
    if _EVENTS is not None:
        return _EVENTS
    from .engine.console import ConsoleCallbacks

    _CONSOLE = ConsoleCallbacks(limit_seconds=limit_seconds, quiet=_QUIET)
    return _CONSOLE


def _say_result(message: str) -> None:
    """A command's closing line: on stdout for a terminal or a script; to the parent that asked for events (QGIS)
    as a log event, which it shows in its own language (on stdout as well, its log would show it twice)."""
    if _EVENTS is not None:
        _EVENTS.log(message)
    else:
        print(message)


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
    from .engine import validate
    from .engine.data.synthetic import write_synthetic_dataset
    from .engine.outputs import check_output_folder

    validate.positive_int("chips", args.chips, 100_000)
    validate.whole_number("chip_size", args.chip_size, 16, validate.MAX_CHIP_SIZE)  # objects are 1/8..1/3 of it
    validate.positive_int("bands", args.bands, 64)
    validate.positive_int("classes", args.classes, 255)
    check_output_folder(args.out_folder, needed_bytes=args.chips * args.chip_size ** 2 * (args.bands + 1) * 2)
    folder = write_synthetic_dataset(args.out_folder, args.format, num_chips=args.chips, chip_size=args.chip_size,
                                     bands=args.bands, dtype=args.dtype, num_classes=args.classes, seed=args.seed)
    print(f"wrote {args.chips} {args.chip_size}x{args.chip_size} px chips ({args.format}) to {folder}")
    return 0


def _export(args) -> int:
    from .engine.data.export import export_training_data

    result = export_training_data(args.raster, args.out_folder, args.labels, class_field=args.class_field,
                                  labels_layer=args.labels_layer, metadata_format=args.format,
                                  chip_size=args.chip_size, stride=args.stride, image_format=args.image_format,
                                  only_chips_with_features=not args.all_tiles, buffer_radius=args.buffer_radius,
                                  callbacks=_callbacks())
    _say_result(translate("AutoDL", "{folder}: {chips} chips, {classes} classes ({skipped} windows without "
                                    "features skipped)").format(folder=result.folder, chips=result.chips,
                                                                classes=len(result.classes), skipped=result.skipped))
    return 0


def _networks(args) -> int:
    from .engine.extras import missing_extra, needs_text
    from .engine.networks import NETWORKS

    if args.json:
        print(json.dumps([spec.as_dict() for spec in NETWORKS.values()], indent=2))
        return 0
    print(f"{'network':<20} {'task':<22} {'library':<17} {'cpu':<4} {'backbones'}")
    lacking = set()
    for spec in NETWORKS.values():
        extra = missing_extra(spec.library)
        needs = f" — {needs_text(extra)}" if extra else ""
        lacking |= {extra} - {None}
        name = spec.name + ("*" if spec.beyond_arcgis else "")
        print(f"{name:<20} {spec.task:<22} {spec.library:<17} {'yes' if spec.cpu else 'no':<4} "
              f"{', '.join(spec.backbones)}{needs}")
    for origin in dict.fromkeys(s.beyond_arcgis for s in NETWORKS.values() if s.beyond_arcgis):
        print(f"* beyond ArcGIS' list: {origin}")
    for extra in lacking:
        print(f"\nNetworks that need the {extra.name} extra are skipped by train: {extra.fix}")
    return 0


def _join_torchrun(device: str) -> tuple[str, bool]:
    """``--distributed``: the process group torchrun set up, this rank's device, and whether it is rank 0."""
    import os

    import torch

    from .engine.train import distributed

    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if distributed.init_from_environment("cuda" if cuda else "cpu") is None:
        raise InputDataError("--distributed needs several processes started by torchrun", None,
                             "Run: torchrun --nproc_per_node=N -m autodl_qgis train ... --distributed")
    if cuda:
        device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}"
    return device, distributed.rank() == 0


def _train(args) -> int:
    from .engine.progress import SilentCallbacks
    from .engine.search import AutoDL, SearchFailed
    from .engine.train.trainer import prediction_phrase

    from .engine import validate
    from .engine.outputs import check_output_location

    out = Path(args.out_model)
    if out.suffix.lower() != ".dlpk":
        out = out.with_name(out.name + ".dlpk")
    validate.positive("total_time_limit", args.total_time_limit)
    validate.whole_number("seed", args.seed, 0, 2 ** 32 - 1)
    if args.max_epochs is not None:
        validate.positive_int("max_epochs", args.max_epochs, 10 ** 6)
    check_output_location(out, inputs=[args.in_data, args.pretrained_model])
    device, callbacks = args.device, _callbacks(limit_seconds=args.total_time_limit * 3600)
    if args.distributed:
        device, lead = _join_torchrun(device)
        if not lead:
            callbacks = SilentCallbacks()  # rank 0 reports and writes the model
    with _stdout_to_stderr(args.json):  # --json: stdout holds the one JSON document, every library logs to stderr
        autodl = AutoDL(search_config(args, device), callbacks, started=_STARTED)
        try:
            autodl.fit()
        except SearchFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            if _EVENTS is not None:
                _EVENTS.error(exc.args[0])  # a Message: QGIS shows it translated
            return 1
        if args.distributed:
            from .engine.train import distributed

            distributed.leave()  # every collective is behind: rank 0 writes the package alone
            if not lead:
                return 0
        callbacks.progress(1.0, translate("AutoDL", "writing the model package (best weights, report, "
                                                    "leaderboard)").format())
        path = autodl.save(out, sidecars=args.report)
    best = autodl.best
    if args.json:
        validation = autodl.validation
        summary = {"output_model_file": str(path),
                   "best": {"network": best.network, "backbone": best.backbone, "metric_name": best.metric_name,
                            "metric": best.metric, "test_metric": best.test_metric,
                            "trained_chips": best.trained_chips, "averaged": best.averaged,
                            "once_metric": best.once_metric, "augmented_metric": best.augmented_metric,
                            "test_time_augmentation": best.test_time_augmentation,
                            "detection_confidence": best.detection_confidence},
                   "validation": {"kind": validation.kind, "chips": validation.chips},
                   "leaderboard": [r.as_dict() for r in autodl.leaderboard()]}
        if best.test_metric is not None:
            summary["test"] = {"metric_name": best.metric_name, "metric": best.test_metric,
                               "chips": validation.test_chips}
            if best.test_metrics is not None:  # as the package predicts by default (a detector: from its threshold)
                summary["test"]["scores"] = {name: getattr(best.test_metrics, name)
                                             for name in best.test_metrics.headline_names}
                summary["test"]["confidence"] = getattr(best.test_metrics, "confidence", None)
        print(json.dumps(summary, indent=2, default=str))
    else:
        line = (translate("AutoDL", "{path}: {network} ({backbone}), validation {metric_name} {metric:.4f}; "
                                    "predicts {how} by default") if best.test_metric is None else
                translate("AutoDL", "{path}: {network} ({backbone}), validation {metric_name} {metric:.4f}, test "
                                    "{test:.4f}; predicts {how} by default"))
        _say_result(line.format(path=path, network=best.network, backbone=best.backbone,
                                metric_name=best.metric_name, metric=best.metric, test=best.test_metric,
                                how=prediction_phrase(bool(best.test_time_augmentation))))
    return 0


def search_config(args, device: str | None = None):
    """The run's SearchConfig from ``train``'s arguments: the one mapping, which the Processing algorithm uses
    too (it builds these arguments)."""
    from .engine.search import SearchConfig

    return SearchConfig(data=args.in_data, total_time_limit=args.total_time_limit, mode=args.autodl_mode,
                        networks=args.networks or (), pretrained_model=args.pretrained_model,
                        save_evaluated_models=args.save_evaluated_models, device=device or args.device,
                        work_dir=args.work_dir, storage=args.storage, study_name=args.study, resume=args.resume,
                        pretrained_backbones=not args.no_pretrained_backbones, max_epochs=args.max_epochs,
                        strategy=args.search_strategy, seed=args.seed,
                        weight_averaging=args.weight_averaging, refit=args.refit, mosaic=args.mosaic,
                        mixed_precision=args.mixed_precision,
                        fitted_boxes=args.fitted_boxes,
                        choose_test_time_augmentation=args.choose_test_time_augmentation)


@contextlib.contextmanager
def _stdout_to_stderr(active: bool):
    """Everything written to stdout (Python prints, libraries' loggers, C code on descriptor 1) goes to stderr."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _worker(args) -> int:
    from .engine.search import AutoDL

    trained = AutoDL.join(args.storage, args.study, device=args.device, callbacks=_callbacks()).work()
    print(f"worker done: {trained} candidate(s) trained for {args.study}")
    return 0


def _show(args) -> int:
    from .engine.package import open_package

    with open_package(args.model) as package:
        package.check_weights_entry()
        emd = package.emd
        info = {"model": str(package.path), "network": package.network, "backbone": package.backbone,
                "task": package.task, "model_type": emd["ModelType"], "chip_size": list(package.chip_size),
                "bands": package.in_channels, "classes": [c.as_dict() for c in package.classes],
                "metric_name": package.info.get("metric_name"), "metric": package.info.get("metric"),
                "metrics": package.info.get("metrics"), "training": package.info.get("training"),
                "test_time_augmentation": package.test_time_augmentation,
                "detection_confidence": package.detection_confidence if package.task == "object_detection" else None,
                "versions": package.info.get("versions")}
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        for key in ("model", "network", "backbone", "task", "model_type", "chip_size", "bands", "metric_name",
                    "metric", "test_time_augmentation", "detection_confidence"):
            if info[key] is not None:
                print(f"{key:<12} {info[key]}")
        print("classes      " + ", ".join(f"{c['value']} {c['name']}" for c in info["classes"]))
    return 0


def _use_model(args) -> int:
    from .engine import infer

    mask = Path(args.mask_wkt).read_text(encoding="utf-8") if args.mask_wkt else None
    options = dict(tile_size=args.tile_size, overlap=args.overlap, batch_size=args.batch_size,
                   extent=tuple(args.extent) if args.extent else None, mask_wkt=mask, device=args.device,
                   callbacks=_callbacks(), backend=args.backend,
                   test_time_augmentation=args.test_time_augmentation)
    if args.command == "detect":
        result = infer.detect_objects(args.model, args.raster, args.out, confidence=args.confidence,
                                      nms_threshold=args.nms, **options)
        _say_result(translate("AutoDL", "{path}: {objects} object(s) from {tiles} tile(s)").format(
            path=result.path, objects=result.objects, tiles=result.tiles))
    else:
        result = infer.classify_pixels(args.model, args.raster, args.out, blend_overlap=args.blend_overlap,
                                       **options)
        _say_result(translate("AutoDL", "{path}: {tiles} tile(s) classified").format(path=result.path,
                                                                                     tiles=result.tiles))
    return 0


def _export_model(args) -> int:
    from .engine.package import open_package
    from .engine.package.export import write_deepness_onnx

    with open_package(args.model) as package:
        out = write_deepness_onnx(package, args.out, resolution_cm=args.resolution)
    _say_result(translate("AutoDL", "{path}: ONNX graph of {network} ({backbone}) with Deepness' metadata").format(
        path=out, network=package.network, backbone=package.backbone))
    return 0


def _evaluate(args) -> int:
    from .engine.evaluate import evaluate_package

    result = evaluate_package(args.model, args.in_data, confidence=args.confidence, batch_size=args.batch_size,
                              device=args.device, callbacks=_callbacks(),
                              test_time_augmentation=args.test_time_augmentation)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, default=str))
        return 0
    m = result.metrics
    print(f"{result.model} ({result.network}, {result.backbone}) on {result.data}: {result.chips} chips"
          + (", each over its eight flips and quarter turns" if result.test_time_augmentation else ""))
    if result.task == "object_detection":
        print(f"AP50 {m.average_precision:.4f}   COCO mAP {m.coco_map:.4f}   at confidence "
              f"{result.confidence:g}: precision {_fmt(m.precision)} recall {_fmt(m.recall)} F1 {_fmt(m.f1)}")
        if m.best_confidence is not None:
            print(f"highest F1 {m.best_f1:.4f} at confidence {m.best_confidence:g}")
        print(f"\n{'class':<24} {'AP50':>7} {'COCO':>7} {'prec.':>7} {'recall':>7} {'F1':>7} {'TP':>6} {'FP':>6} "
              f"{'FN':>6}")
        for c in m.per_class:
            print(f"{c.name:<24} {_fmt(c.average_precision):>7} {_fmt(c.coco_map):>7} {_fmt(c.precision):>7} "
                  f"{_fmt(c.recall):>7} {_fmt(c.f1):>7} {c.true_positives:>6} {c.false_positives:>6} "
                  f"{c.false_negatives:>6}")
    else:
        print(f"mIoU {m.miou:.4f}   pixel accuracy {m.accuracy:.4f}")
        print(f"\n{'class':<24} {'IoU':>7} {'prec.':>7} {'recall':>7} {'F1':>7} {'pixels':>10}")
        for c in m.per_class:
            print(f"{c.name:<24} {_fmt(c.iou):>7} {_fmt(c.precision):>7} {_fmt(c.recall):>7} {_fmt(c.f1):>7} "
                  f"{c.pixels:>10}")
        names = [c.name for c in m.per_class]
        print("\nconfusion matrix (rows: truth, columns: prediction)")
        print(" " * 24 + "".join(f"{n[:9]:>10}" for n in names))
        for name, row in zip(names, m.confusion_matrix):
            print(f"{name:<24}" + "".join(f"{v:>10}" for v in row))
    for warning in result.warnings:
        print(f"warning: {warning}")
    return 0


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def _compute_accuracy(args) -> int:
    from .engine import accuracy
    from .engine.outputs import RESULT_BYTES, check_output_location, files_read

    check_output_location(args.out_table, RESULT_BYTES, inputs=[*files_read(args.first),
                                                                *files_read(args.ground_truth)])
    if args.command == "compute-accuracy-detection":
        result = accuracy.compute_detection_accuracy(
            args.first, args.ground_truth, args.out_table, detected_class_field=args.detected_class_field,
            ground_truth_class_field=args.ground_truth_class_field, min_iou=args.min_iou,
            confidence=args.confidence)
        summary = {"out_table": args.out_table, "min_iou": result.iou_threshold, "confidence": result.confidence,
                   "classes": {c.name: c.as_dict() for c in result.classes}, "all": result.overall.as_dict()}
        text = (f"{args.out_table}: AP {_fmt(result.overall.average_precision)}, precision "
                f"{_fmt(result.overall.precision)}, recall {_fmt(result.overall.recall)}, F1 {_fmt(result.overall.f1)}"
                f" over {len(result.classes)} class(es) at IoU {result.iou_threshold:g}")
    else:
        matrix = accuracy.compute_pixel_accuracy(
            args.first, args.ground_truth, args.out_table, num_random_points=args.num_random_points,
            sampling=args.sampling, min_point_distance=args.min_point_distance,
            ground_truth_class_field=args.ground_truth_class_field, seed=args.seed)
        summary = {"out_table": args.out_table, **matrix.as_dict()}
        text = (f"{args.out_table}: overall accuracy {matrix.overall_accuracy:.4f}, kappa {matrix.kappa:.4f} "
                f"on {matrix.points} points")
    print(json.dumps(summary, indent=2) if args.json else text)
    return 0


def _devices(args) -> int:
    from .doctor import devices

    found = devices()
    print(json.dumps(found) if args.json else "\n".join(found or ["none: torch is not usable"]))
    return 0 if found else 1


def _install_engine(args) -> int:
    from .installer import InstallError, InstallRequest, PackageSource, install

    callbacks = _callbacks()
    request = InstallRequest(Path(args.venv), PackageSource(args.wheels or "", args.index_url or "", args.proxy or ""),
                             torch=args.torch, openmmlab=args.openmmlab)
    try:
        python = install(request, callbacks)
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _say_result(translate("AutoDL", "the AutoDL engine is ready: {python}").format(python=python))
    return 0


def _doctor(args) -> int:
    from .doctor import run_doctor

    return run_doctor(as_json=args.json)


def _beyond_arcgis() -> list[str]:
    from .engine.networks.registry import NETWORKS  # no model library: cheap

    return [s.name for s in NETWORKS.values() if s.beyond_arcgis]


def build_parser() -> argparse.ArgumentParser:
    from .engine.data.esri import FORMATS
    from .installer import TORCH_BUILDS

    parser = argparse.ArgumentParser(prog="python -m autodl_qgis",
                                     description="AutoDL for QGIS: train and use deep-learning models on rasters.")
    parser.add_argument("--events", type=int, metavar="FD",
                        help="for programs that start the engine (QGIS): write progress as JSON lines to this "
                             "file descriptor (a handle on Windows) and cancel cleanly on SIGINT/SIGTERM")
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

    export = commands.add_parser("export", help="cut a raster and its labels into a training-data folder")
    export.add_argument("raster", help="georeferenced imagery GDAL reads")
    export.add_argument("labels", help="labelled polygons (any OGR vector) or a classified raster")
    export.add_argument("out_folder", help="new folder to write (must not exist or be empty)")
    export.add_argument("--class-field", help="field with each feature's class (whole numbers or names)")
    export.add_argument("--labels-layer", help="layer of a multi-layer vector file (default: the first)")
    export.add_argument("--format", default="Classified_Tiles", choices=FORMATS)
    export.add_argument("--chip-size", type=int, default=256)
    export.add_argument("--stride", type=int, help="step between chips in pixels (default: the chip size)")
    export.add_argument("--image-format", default="tif", choices=("tif", "png", "jpg"))
    export.add_argument("--all-tiles", action="store_true", help="keep chips without any labelled feature too")
    export.add_argument("--buffer-radius", type=float, default=0.0,
                        help="map units: turns points and lines into polygons")
    export.set_defaults(run=_export)

    networks = commands.add_parser("networks", help="list the networks AutoDL can train")
    networks.add_argument("--json", action="store_true", help="print one JSON list")
    networks.set_defaults(run=_networks)

    train = commands.add_parser("train", help="Train Using AutoDL: search networks within a time limit, write a .dlpk")
    train.add_argument("in_data", help="folder written by 'Export Training Data For Deep Learning'")
    train.add_argument("out_model", help="the .dlpk to write (.dlpk is added when missing)")
    train.add_argument("--pretrained-model", help="fine-tune from this .dlpk or .emd (same network and backbone)")
    train.add_argument("--total-time-limit", type=float, default=2.0, help="hours for the whole search (default 2)")
    train.add_argument("--autodl-mode", default="BASIC", type=str.upper, choices=("BASIC", "ADVANCED"),
                       help="BASIC: every selected network on its default backbone and chip scale, the best "
                            "continued, the winner trained to the deadline; ADVANCED: also other backbones, "
                            "learning rates, chip scales and augmentation for the two leading networks")
    train.add_argument("--networks", help="comma-separated networks (default: all that suit the data; "
                                          f"{', '.join(_beyond_arcgis())} are beyond ArcGIS' list)")
    train.add_argument("--save-evaluated-models", action="store_true",
                       help="also save every evaluated model, in <out_model>_evaluated_models/")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--work-dir", help="folder for the search's record and candidates (default: a temporary "
                                          "folder); shared with workers on other machines")
    train.add_argument("--storage", help="Optuna storage URL workers can reach, e.g. postgresql://user:pw@host/db "
                                         "(default: SQLite in the work folder)")
    train.add_argument("--study", help="name of the search in the storage (workers join it by this name)")
    train.add_argument("--distributed", action="store_true",
                       help="train each candidate on all the processes torchrun starts (DistributedDataParallel: "
                            "one per GPU, or CPU processes with gloo)")
    train.add_argument("--resume", action="store_true",
                       help="continue the search recorded in --work-dir (after a crash) instead of starting one")
    train.add_argument("--max-epochs", type=int, help="cap on epochs per candidate (default: the time decides)")
    train.add_argument("--no-pretrained-backbones", action="store_true",
                       help="start from random weights instead of looking for ImageNet weights")
    train.add_argument("--report", action="store_true",
                       help="also write <name>_report.html and <name>_leaderboard.csv beside the model")
    train.add_argument("--search-strategy", default="halving", choices=("halving", "flat"),
                       help="halving (default): successive halving, then the finalist trained to the deadline; "
                            "flat: the old equal-share sweep, kept for benchmarks")
    # on by default: measured by scripts/bench_search.py on the real palm chips (README, AutoDL: "Why these three")
    train.add_argument("--weight-averaging", action=argparse.BooleanOptionalAction, default=True,
                       help="the finalist keeps a moving average of its weights and ships it when it validates "
                            "better than the weights, and always after a refit (default: on)")
    train.add_argument("--refit", action=argparse.BooleanOptionalAction, default=True,
                       help="the finalist's last half trains on the training + validation chips; the test chips "
                            "always stay out (default: on)")
    train.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction, default=True,
                       help="train under autocast: on CUDA always, on a CPU in bfloat16 where its steps measure "
                            "faster than float32 (CPUs with AVX512-BF16 or AMX); validation on a CPU stays float32 "
                            "(default: on)")
    train.add_argument("--fitted-boxes", action=argparse.BooleanOptionalAction, default=True,
                       help="SingleShotDetector's default boxes start at the labelled objects' size, from a stride-8 "
                            "level (default: on; --no-fitted-boxes: its classic layout)")
    train.add_argument("--choose-test-time-augmentation", action=argparse.BooleanOptionalAction, default=True,
                       help="the finalist's last validation also predicts each chip over its eight flips and quarter "
                            "turns; where that scores higher, the model predicts so by default (8x the inference "
                            "work; default: on; --no-...: it predicts each tile once by default)")
    train.add_argument("--mosaic", type=float, default=None, metavar="P",
                       help="probability that a training chip is a mosaic of four rescaled chips (boxes and masks "
                            "moved with them); ADVANCED's augmentation strength scales it (default: 0.5 for object "
                            "detection, 0 for pixel classification; --mosaic 0 switches it off)")
    train.add_argument("--seed", type=int, default=42,
                       help="random seed of the validation split and of training; another seed shows how much "
                            "the result varies")
    train.add_argument("--json", action="store_true",
                       help="print one JSON document on stdout (logs go to stderr)")
    train.set_defaults(run=_train)

    worker = commands.add_parser("worker", help="join a search started with --storage/--study and train some of "
                                                "its candidates")
    worker.add_argument("--storage", required=True, help="the Optuna storage URL the search was started with")
    worker.add_argument("--study", required=True, help="the search's name")
    worker.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    worker.set_defaults(run=_worker)

    show = commands.add_parser("show", help="describe a .dlpk or .emd model")
    show.add_argument("model")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=_show)

    for name, help_text, out_help in (
            ("detect", "detect objects on a raster with a .dlpk (polygons)", "output .gpkg, .shp, .geojson or .fgb"),
            ("classify", "classify the pixels of a raster with a .dlpk (GeoTIFF)", "output .tif")):
        use = commands.add_parser(name, help=help_text)
        use.add_argument("model", help=".dlpk or .emd written by Train Using AutoDL")
        use.add_argument("raster", help="any raster GDAL reads, with the bands the model was trained on")
        use.add_argument("out", help=out_help)
        use.add_argument("--tile-size", type=int, help="tile size in pixels (default: the model's chip size)")
        use.add_argument("--overlap", type=int, help="overlap of neighbouring tiles (default: a quarter tile)")
        use.add_argument("--batch-size", type=int, default=4)
        use.add_argument("--extent", type=float, nargs=4, metavar=("XMIN", "YMIN", "XMAX", "YMAX"),
                         help="process only this area (in the raster's coordinate reference system)")
        use.add_argument("--mask-wkt", metavar="FILE",
                         help="a text file with polygons (WKT, in the raster's CRS) outside which nothing is done")
        use.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
        use.add_argument("--backend", default="torch", choices=("torch", "onnxruntime"),
                         help="run the package's weights in torch (default) or its ONNX graph in onnxruntime")
        use.add_argument("--test-time-augmentation", action=argparse.BooleanOptionalAction, default=None,
                         help="predict each tile in its eight flips and quarter turns and merge them (8x slower); "
                              "default: as the model was chosen to predict when it was trained ('info' shows it)")
        if name == "classify":  # objects stay with the cores: blending them measured worse (detect_objects)
            use.add_argument("--blend-overlap", action="store_true",
                             help="sum neighbouring tiles' class probabilities over their overlap, weighted by "
                                  "windows falling to each tile's edges, instead of trusting each tile in its "
                                  "centre only (no extra model work; memory for one row of tiles' probabilities, "
                                  "256 MB at most for all but many-class models on large tiles)")
        if name == "detect":
            use.add_argument("--confidence", type=float,
                             help="minimum score kept (default: the model's threshold, where its F1 was highest on "
                                  "its validation chips; 0.5 for models that do not record one)")
            use.add_argument("--nms", type=float, default=0.3, help="overlap (IoU) above which duplicates go")
        use.set_defaults(run=_use_model)

    export_model = commands.add_parser("export-model", help="write a .dlpk's network as ONNX with the metadata "
                                                            "QGIS' Deepness plugin reads")
    export_model.add_argument("model", help=".dlpk or .emd written by Train Using AutoDL")
    export_model.add_argument("out", help="output .onnx")
    export_model.add_argument("--resolution", type=float, metavar="CM",
                              help="ground resolution of the training imagery in cm per pixel (Deepness rescales "
                                   "rasters to it; left out when not given)")
    export_model.set_defaults(run=_export_model)

    evaluate = commands.add_parser("evaluate", help="score a .dlpk on a labelled training-data folder (AP50, COCO mAP, "
                                                    "precision / recall / F1; or IoU, accuracy, confusion matrix)")
    evaluate.add_argument("model", help=".dlpk or .emd written by Train Using AutoDL")
    evaluate.add_argument("in_data", help="labelled folder written by 'Export Training Data For Deep Learning'")
    evaluate.add_argument("--confidence", type=float,
                          help="detection: score from which precision, recall and F1 count a detection (default: "
                               "the model's threshold, as Detect Objects)")
    evaluate.add_argument("--batch-size", type=int, default=4)
    evaluate.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    evaluate.add_argument("--test-time-augmentation", action=argparse.BooleanOptionalAction, default=None,
                          help="score the chips as detect/classify --test-time-augmentation (or --no-...) predicts "
                               "them; default: as the model predicts by default")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(run=_evaluate)

    detection_accuracy = commands.add_parser(
        "compute-accuracy-detection", help="Compute Accuracy For Object Detection: detected polygons against "
                                           "ground-truth polygons, to a table")
    detection_accuracy.add_argument("first", metavar="detected_features", help="polygons from Detect Objects")
    detection_accuracy.add_argument("ground_truth", metavar="ground_truth_features", help="ground-truth polygons")
    detection_accuracy.add_argument("out_table", help="output table: .gpkg or .csv")
    detection_accuracy.add_argument("--detected-class-field",
                                    help="class values or names of the detections (default: Classvalue or Value)")
    detection_accuracy.add_argument("--ground-truth-class-field",
                                    help="class values or names of the ground truth (default: Classvalue or Value)")
    detection_accuracy.add_argument("--min-iou", type=float, default=0.5, help="IoU for a match (default 0.5)")
    detection_accuracy.add_argument("--confidence", type=float, default=0.0,
                                    help="detections scoring less do not count for precision / recall / F1")
    detection_accuracy.add_argument("--json", action="store_true", help="print one JSON object")
    detection_accuracy.set_defaults(run=_compute_accuracy)

    pixel_accuracy = commands.add_parser(
        "compute-accuracy-pixels", help="Compute Accuracy For Pixel Classification: a classified raster against a "
                                        "reference raster, polygons or points, to a confusion matrix table")
    pixel_accuracy.add_argument("first", metavar="in_raster", help="classified raster (e.g. from Classify Pixels)")
    pixel_accuracy.add_argument("ground_truth", metavar="in_ground_truth_data",
                                help="reference class raster, or polygons / points with class values")
    pixel_accuracy.add_argument("out_table", help="output confusion matrix: .gpkg or .csv")
    pixel_accuracy.add_argument("--num-random-points", type=int, default=500)
    pixel_accuracy.add_argument("--sampling", default="STRATIFIED_RANDOM", type=str.upper,
                                choices=("STRATIFIED_RANDOM", "EQUALIZED_STRATIFIED_RANDOM", "RANDOM"))
    pixel_accuracy.add_argument("--min-point-distance", type=float, default=0.0, help="map units")
    pixel_accuracy.add_argument("--ground-truth-class-field",
                                help="class values of reference features (default: Classvalue, Value or GrndTruth)")
    pixel_accuracy.add_argument("--seed", type=int, default=0, help="random points seed")
    pixel_accuracy.add_argument("--json", action="store_true", help="print one JSON object")
    pixel_accuracy.set_defaults(run=_compute_accuracy)

    for reporting in (train, worker, export, evaluate, *[commands.choices[n] for n in ("detect", "classify")]):
        reporting.add_argument("--quiet", action="store_true", help="print warnings and errors only")

    devices = commands.add_parser("devices", help="list the devices the engine can train and infer on")
    devices.add_argument("--json", action="store_true", help="print one JSON list")
    devices.set_defaults(run=_devices)

    install = commands.add_parser(
        "install-engine", help="make or repair the engine's own Python: a venv made from this interpreter (with its "
                               "site-packages) holding the plugin's pinned requirements")
    install.add_argument("venv", help="the venv's folder (made, or checked and repaired when it exists)")
    install.add_argument("--openmmlab", action="store_true",
                         help="also OpenMMLab (mmcv is built from source when no wheel folder holds it)")
    install.add_argument("--wheels", help="a folder of wheels; alone, nothing is downloaded (pip --no-index)")
    install.add_argument("--index-url", help="a package index (PyPI mirror) instead of PyPI")
    install.add_argument("--proxy", help="http://[user:password@]host:port")
    install.add_argument("--torch", choices=TORCH_BUILDS, default="auto",
                         help="the PyTorch build (auto: CUDA when nvidia-smi is found)")
    install.set_defaults(run=_install_engine)

    doctor = commands.add_parser("doctor", help="check that QGIS, GDAL, torch and the model libraries work")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(run=_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    global _EVENTS, _QUIET, _STARTED
    _STARTED = time.time()  # train's time limit counts from here, imports included
    args = build_parser().parse_args(argv)
    _QUIET = getattr(args, "quiet", False)
    previous = None
    try:
        if args.events is not None:
            from .engine.progress import EventCallbacks

            _EVENTS = EventCallbacks.open_descriptor(args.events)
        elif threading.current_thread() is threading.main_thread():
            # a plain kill unwinds like Ctrl-C, so temporary files and folders are removed (restored when done)
            previous = signal.signal(signal.SIGTERM, _interrupted)
        return args.run(args)
    except InputDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Cancelled):
        print("cancelled: nothing was written", file=sys.stderr)
        return 130
    except ImportError as exc:  # ModuleNotFoundError, or a compiled library that does not load
        from .engine.extras import ENGINE_FIX, OPENMMLAB

        fix = OPENMMLAB.fix if (exc.name or "").split(".")[0] in OPENMMLAB.modules else ENGINE_FIX
        print(f"error: a library is missing or broken ({exc}) in the Python that runs the AutoDL engine "
              f"({sys.executable}): {fix}", file=sys.stderr)
        return 2
    finally:
        if _CONSOLE is not None:
            _CONSOLE.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupted(signum, frame):
    raise KeyboardInterrupt
