"""Issue 10's benchmark: the search against the best single default network, the old flat sweep and YOLOv8n, at the
same wall budget, scored on the same held-out chips with the project's metric code. Prints one table with ratios.

Cases: (a) real -- a real ArcGIS export, the folder --real names under $AUTODL_REAL_DATA (palm_pascal_voc_west unless
told; scripts/rebuild_real_data.py rebuilds others there), its spatial test block held out before anything trains
(split_chips holds one out from 200 chips up), labelled "real" in the table for palm_pascal_voc_west and by its name
otherwise; (b) detection -- a synthetic PASCAL_VOC folder; (c) tiles -- a synthetic Classified_Tiles folder
(both with a spatial test block too).
Methods: search (the default search, every network that suits the data), single (the portfolio's first network
alone, which the search must beat: UnetClassifier on pixel classification), flat (the old equal-share sweep,
--search-strategy flat), yolo (Ultralytics YOLOv8n from scratch, detection only, run by another Python in which
``ultralytics`` is importable -- a benchmark peer, never a dependency of the project: python3 -m venv /work/yolo-venv
&& /work/yolo-venv/bin/pip install ultralytics; a .pth file in that venv's site-packages naming .venv's
site-packages first lets it reuse the project's torch, 0.7 GB instead of several). Every model trains from scratch
(no pretrained weights), on the CPU unless --device says otherwise.
Ablation rows, asked for by name in --methods, each the search with one part of its recipe changed: noema (no
moving average of the finalist's weights), norefit (its last half does not train on the validation chips), noboxes
(SingleShotDetector's classic default boxes, not fitted to the objects), nomosaic (no training chip is a mosaic of
four; by default half of a detector's are), notta (the package never predicts test-time augmented by default), and
any of them joined by "_" (noema_norefit_noboxes_nomosaic_notta: the search before the recipe); the table gives
search / each. A row's test metric is its package's as it predicts by default (test-time augmented where the
search chose so); detection rows are also scored both ways (ours: ``evaluate --test-time-augmentation`` /
``--no-...``, the eight flips and quarter turns; YOLOv8n: its ``augment=True``, flips and scales), and the ratios
given as predicted by default and both augmented.
A network's name (YOLOX, RTMDet, ...) as a method: the search given that network alone
(``train --networks NAME``), its default backbone and scale.

    .venv/bin/python scripts/bench_search.py --minutes 3                 # short: 3 min per method and case
    .venv/bin/python scripts/bench_search.py --minutes 5 --real-minutes 10   # the issue's budget for (a)
    .venv/bin/python scripts/bench_search.py --cases real --real NAME   # (a) on another export
    # side by side, one core each, then one table of both:
    taskset -c 0 .venv/bin/python scripts/bench_search.py --cases real --methods search --seeds 3 --rows a.jsonl &
    taskset -c 1 .venv/bin/python scripts/bench_search.py --cases real --methods single --seeds 3 --rows b.jsonl
    .venv/bin/python scripts/bench_search.py --table a.jsonl b.jsonl

On a machine others use, give the benchmark a core of its own (the methods then see the same hardware): run it
under ``taskset -c 1`` and keep every other process on CPU 0 (``taskset -a -p -c 0 PID``) while it runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import fmean

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

REAL_DATA = Path(os.environ.get("AUTODL_REAL_DATA", REPO.parent / "shared" / "data" / "real"))
DEFAULT_REAL = "palm_pascal_voc_west"
CASES = ("real", "detection", "tiles")
METHODS = ("search", "single", "flat", "yolo")
# the search with parts of its recipe changed, joined by "_"
ABLATIONS = {"noema": ("--no-weight-averaging",), "norefit": ("--no-refit",), "noboxes": ("--no-fitted-boxes",),
             "nomosaic": ("--mosaic", "0"), "notta": ("--no-choose-test-time-augmentation",),
             "fp32": ("--no-mixed-precision",)}
SPLIT_SEED = 0
YOLO_CONFIDENCE = 0.25  # Ultralytics' default ``conf`` for predict


def prepare(case: str, work: Path, real: Path) -> tuple[Path, Path]:
    """(pool the methods train on, test folder none of them sees): the case's folder (``real`` for (a)) split by
    spatial blocks."""
    from autodl_qgis.engine.data import CLASSIFIED_TILES, PASCAL_VOC, TrainingData
    from autodl_qgis.engine.data.split import TEST_MIN_CHIPS, split_chips
    from autodl_qgis.engine.data.synthetic import write_synthetic_dataset

    if case == "real":
        source = real
    else:
        source = write_synthetic_dataset(work / f"{case}_all", PASCAL_VOC if case == "detection" else CLASSIFIED_TILES,
                                         num_chips=240, chip_size=128, num_classes=3, seed=7)
    data = TrainingData.open(source)
    split = split_chips(data, 0.2, SPLIT_SEED)
    if not split.test:
        small = (f"; a test block is held out from {TEST_MIN_CHIPS} chips up and it has {len(data.chips)}"
                 if len(data.chips) < TEST_MIN_CHIPS else "")
        raise SystemExit(f"{source}: no spatial test block could be held out ({split.note}{small})")
    pool, test = work / f"{case}_pool", work / f"{case}_test"
    copy_chips(data, split.train + split.val, pool)
    copy_chips(data, split.test, test)
    return pool, test


def copy_chips(data, indices, target: Path) -> None:
    """The chips ``indices`` of a training-data folder with their sidecars (world files, .aux.xml) and labels, its
    metadata files, and a map.txt listing only them. A ``target`` already holding these files (a --keep folder given
    to one method after another, or to two side by side) is used as it is; one holding other files is refused."""
    files = {}  # path in target: its source
    for i in indices:
        chip = data.chips[i]
        for first in (chip.image, *chip.labels):
            relative = first.parent.relative_to(data.folder)
            files.update({relative / path.name: path for path in first.parent.glob(f"{chip.stem}.*")})
    files.update({Path(path.name): path for path in data.folder.iterdir()
                  if path.is_file() and path.name != "map.txt"})
    if target.exists():
        held = {path.relative_to(target): path for path in target.rglob("*") if path.is_file()}
        held.pop(Path("map.txt"), None)
        if held.keys() != files.keys() or any(held[r].stat().st_size != files[r].stat().st_size for r in files):
            raise SystemExit(f"{target} holds other files than the chips this benchmark copies there: give --keep "
                             "an empty folder, or the one an earlier run of the same export was given")
        return
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))  # whole or not at all
    for relative, path in files.items():
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, staging / relative)
    keep = {data.chips[i].stem for i in indices}
    mapping = data.folder / "map.txt"
    if mapping.is_file():
        lines = [line for line in mapping.read_text().splitlines()
                 if line.split() and Path(line.split()[0].replace("\\", "/")).stem in keep]
        (staging / "map.txt").write_text("\n".join(lines) + "\n")
    try:
        staging.rename(target)
    except OSError:  # a run beside this one copied the same chips first
        shutil.rmtree(staging)


# -- methods ---------------------------------------------------------------------------------------------------------

def run_autodl(pool: Path, out: Path, minutes: float, device: str, networks: str | None = None,
               strategy: str = "halving", seed: int = 42, options: tuple[str, ...] = ()) -> dict:
    """``train --json`` in its own process, timed from start to exit (packaging included)."""
    command = [sys.executable, "-m", "autodl_qgis", "train", str(pool), str(out), "--total-time-limit",
               f"{minutes / 60:.6f}", "--device", device, "--no-pretrained-backbones", "--search-strategy", strategy,
               "--seed", str(seed), "--json", *options] + (["--networks", networks] if networks else [])
    start = time.monotonic()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.monotonic() - start
    out.with_suffix(".log").write_text(done.stderr, encoding="utf-8")  # the run's log, beside its package
    if done.returncode != 0:
        return {"wall": wall, "error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    summary = json.loads(done.stdout)
    best = summary["best"]
    return {"wall": wall, "model": f"{best['network']} ({best['backbone']})", "package": out,
            "validation": best.get("metric"), "own_test": (summary.get("test") or {}).get("metric"),
            "trained_chips": best.get("trained_chips"), "averaged": best.get("averaged"),
            "chose_tta": best.get("test_time_augmentation")}


def score_package(package: Path, test: Path, test_time_augmentation: bool | None = None) -> tuple[float, float]:
    """The package's test AP50 / mIoU, and a detector's F1 with the objects kept from its own threshold (as Detect
    Objects keeps them by default); ``test_time_augmentation`` None: as it predicts by default."""
    from autodl_qgis.engine.evaluate import evaluate_package

    scores = evaluate_package(package, test, device="cpu", test_time_augmentation=test_time_augmentation).metrics
    return scores.primary, getattr(scores, "f1", None)


def run_yolo(python: str, pool: Path, test: Path, minutes: float, work: Path, seed: int) -> dict:
    """YOLOv8n from scratch on the pool's chips (converted to YOLO's layout), predicting the test chips; scored here
    with train/metrics.py like every other method. ``seed`` picks its validation chips and seeds its training, as
    it does for our methods."""
    from autodl_qgis.engine.data import TrainingData
    from autodl_qgis.engine.data.split import split_chips

    data, test_data = TrainingData.open(pool), TrainingData.open(test)
    yaml = yolo_dataset(data, split_chips(data, 0.2, seed), work / f"yolo_data_seed{seed}")
    request = {"data": str(yaml), "hours": minutes * 0.9 / 60, "imgsz": max(data.chip_size), "project": str(work),
               "name": f"yolo_seed{seed}", "seed": seed, "test_images": [str(c.image) for c in test_data.chips]}
    (work / "yolo_request.json").write_text(json.dumps(request))
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": str(work / "yolo_config")}
    start = time.monotonic()
    command = [python, str(Path(__file__).resolve()), "--yolo-child", str(work / "yolo_request.json")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work)
    wall = time.monotonic() - start
    if done.returncode != 0:
        return {"wall": wall, "error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return {"wall": wall, "model": "YOLOv8n (scratch)", **score_yolo(work / "yolo_predictions.json", test_data)}


def score_yolo(predictions_file: Path, test_data) -> dict:
    """``metric`` and ``tta`` of YOLO's predictions of the test chips, with train/metrics.py, and ``f1`` of its
    plain predictions with the objects kept from Ultralytics' default ``conf``."""
    import numpy as np
    import torch

    from autodl_qgis.engine.train.metrics import DetectionMetrics

    index = test_data.class_index
    truths = []  # read once, scored against each way of predicting
    for chip in test_data.chips:
        label = test_data.read_label_values(chip)
        truths.append({"boxes": torch.from_numpy(label.boxes).float(),
                       "labels": torch.tensor([index[v] for v in label.values.tolist()], dtype=torch.long)})
    scores = {}
    for views, predictions in json.loads(predictions_file.read_text()).items():
        metrics = DetectionMetrics([c.name for c in test_data.classes], YOLO_CONFIDENCE)
        for truth, found in zip(truths, predictions):
            guess = {"boxes": torch.tensor(found["boxes"], dtype=torch.float32).reshape(-1, 4),
                     "scores": torch.tensor(found["scores"], dtype=torch.float32),
                     "labels": torch.tensor(np.asarray(found["classes"], np.int64) + 1)}
            metrics.update([guess], [truth])
        scores[views] = metrics.compute()
    return {"metric": scores["plain"].primary, "tta": scores["tta"].primary, "f1": scores["plain"].f1}


def yolo_dataset(data, split, folder: Path) -> Path:
    """YOLO's layout: images/{train,val} (links to the chips), labels/{train,val}/*.txt (class cx cy w h, 0..1)."""
    height, width = data.chip_size
    index = data.class_index
    for part, indices in (("train", split.train), ("val", split.val)):
        (folder / "images" / part).mkdir(parents=True)
        (folder / "labels" / part).mkdir(parents=True)
        for i in indices:
            chip = data.chips[i]
            (folder / "images" / part / chip.image.name).symlink_to(chip.image.resolve())
            label = data.read_label_values(chip)
            lines = [f"{index[v] - 1} {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} "
                     f"{(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}"
                     for (x0, y0, x1, y1), v in zip(label.boxes.tolist(), label.values.tolist())]
            (folder / "labels" / part / f"{chip.image.stem}.txt").write_text("\n".join(lines))
    names = "\n".join(f"  {i}: {json.dumps(c.name)}" for i, c in enumerate(data.classes))
    yaml = folder / "data.yaml"
    yaml.write_text(f"path: {folder}\ntrain: images/train\nval: images/val\nnames:\n{names}\n")
    return yaml


def yolo_child(request_file: str) -> int:
    """Runs in the Python that has ultralytics: trains, predicts, writes yolo_predictions.json beside the request."""
    from ultralytics import YOLO

    request = json.loads(Path(request_file).read_text())
    model = YOLO("yolov8n.yaml")
    model.train(data=request["data"], time=request["hours"], epochs=1000, imgsz=request["imgsz"], batch=8,
                device="cpu", workers=0, plots=False, pretrained=False, amp=False, project=request["project"],
                name=request["name"], exist_ok=True, verbose=False, seed=request["seed"])
    yolo_predict(request, Path(request["project"]) / request["name"] / "weights" / "best.pt",
                 Path(request_file).parent / "yolo_predictions.json")
    return 0


def yolo_predict(request: dict, weights: Path, out: Path) -> None:
    from ultralytics import YOLO

    model = YOLO(str(weights))
    found = {"plain": [], "tta": []}  # tta: YOLO's own test-time augmentation (flips and scales)
    for image in request["test_images"]:
        for views, augment in (("plain", False), ("tta", True)):
            result = model.predict(image, imgsz=request["imgsz"], conf=0.001, max_det=300, device="cpu",
                                   verbose=False, augment=augment)[0]
            found[views].append({"boxes": result.boxes.xyxy.tolist(), "scores": result.boxes.conf.tolist(),
                                 "classes": [int(c) for c in result.boxes.cls.tolist()]})
    out.write_text(json.dumps(found))


def yolo_available(python: str) -> bool:
    if not python or not Path(python).exists():
        return False
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    return subprocess.run([python, "-c", "import ultralytics"], capture_output=True, env=env).returncode == 0


# -- the table -------------------------------------------------------------------------------------------------------

def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--yolo-child":
        return yolo_child(sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="wall budget per method on the synthetic cases")
    parser.add_argument("--real-minutes", type=float, default=None, help="the same on (a) (default: --minutes)")
    parser.add_argument("--real", default=DEFAULT_REAL, metavar="NAME",
                        help="the real export of (a): a folder under $AUTODL_REAL_DATA (default: %(default)s)")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"of {', '.join(METHODS + tuple(ABLATIONS))}, ablations joined by _ (noema_norefit), or "
                             "a network's name (YOLOX: the search given that network alone)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeds", default="42",
                        help="comma-separated seeds (validation split and training) of every method: time-bounded "
                             "runs vary, so ratios of means over seeds say more than one run")
    parser.add_argument("--yolo-python", default=os.environ.get("AUTODL_YOLO_PYTHON", "/work/yolo-venv/bin/python"))
    parser.add_argument("--keep", type=Path, help="keep the folders and models here (default: a temporary folder)")
    parser.add_argument("--rows", type=Path, metavar="FILE",
                        help="also append each row, as it ends, to FILE (one JSON object a line) for --table")
    parser.add_argument("--table", type=Path, nargs="+", metavar="FILE",
                        help="run nothing: print the table and ratios of the rows in these --rows files (seeds "
                             "run as separate processes, e.g. side by side on two cores)")
    parser.add_argument("--score", type=Path, nargs="+", metavar="DLPK",
                        help="run nothing: score these packages (kept by --keep) on (a)'s test block, each tile "
                             "once and over the eight views -- a change to how models predict, measured on models "
                             "already trained")
    args = parser.parse_args()
    if args.table:
        print_table(read_rows(args.table))
        return 0
    if args.score:
        score_packages(args.score, REAL_DATA / args.real)
        return 0
    cases = [c for c in args.cases.split(",") if c]
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS and not ablation_options(m) and not is_network(m)]
    if unknown:
        parser.error(f"unknown methods {', '.join(unknown)}: use {', '.join(METHODS + tuple(ABLATIONS))}, "
                     "ablations joined by _, or a network's name")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    real = REAL_DATA / args.real
    if "real" in cases and not real.is_dir():
        print(f"skipping (a): {real} is absent (set AUTODL_REAL_DATA)")
        cases.remove("real")
    if "yolo" in methods and not yolo_available(args.yolo_python):
        print(f"skipping YOLOv8n: {args.yolo_python} cannot import ultralytics")
        methods.remove("yolo")
    from autodl_qgis.engine.data import TrainingData
    from autodl_qgis.engine.search.portfolio import portfolio

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_search_"))
    code = code_version()
    rows = []
    for case in cases:
        minutes = args.real_minutes if case == "real" and args.real_minutes else args.minutes
        label = args.real if case == "real" and args.real != DEFAULT_REAL else case
        work = root / label
        work.mkdir(parents=True, exist_ok=True)
        pool, test = prepare(case, work, real)
        task = TrainingData.open(pool).task
        single = portfolio(task, "cuda" if args.device.startswith("cuda") else "cpu")[0].network
        for method in methods:
            if method == "yolo" and task != "object_detection":
                continue
            for seed in seeds:
                if method == "yolo":
                    row = run_yolo(args.yolo_python, pool, test, minutes, work, seed)
                else:
                    name = f"{method}_{minutes:g}min_seed{seed}.dlpk"  # --keep folders are reused: never overwritten
                    row = run_autodl(pool, work / name, minutes, args.device,
                                     networks=single if method == "single" else
                                     method if is_network(method) else None,
                                     strategy="flat" if method == "flat" else "halving", seed=seed,
                                     options=ablation_options(method))
                    if "package" in row and task == "object_detection":  # scored both ways
                        (row["once"], once_f1), (row["tta"], tta_f1) = (
                            score_package(row["package"], test, views) for views in (False, True))
                        row["metric"], row["f1"] = (row["tta"], tta_f1) if row["chose_tta"] else (row["once"], once_f1)
                    elif "package" in row:
                        row["metric"] = score_package(row["package"], test)[0]
                rows.append({"case": label, "method": method, "seed": seed, "limit": minutes * 60, "code": code,
                             **row})
                print_row(rows[-1], flush=True)
                if args.rows:
                    with args.rows.open("a", encoding="utf-8") as saved:
                        saved.write(json.dumps(rows[-1], default=str) + "\n")
    print_table(rows)
    return 0


def score_packages(packages: list[Path], real: Path) -> None:
    """Each package's test AP50 (mIoU) on ``real``'s spatial test block predicted once and over the eight views,
    then their means and how often the views scored higher."""
    with tempfile.TemporaryDirectory(prefix="bench_score_") as work:
        test = prepare("real", Path(work), real)[1]
        scores = []
        for package in packages:
            scores.append([score_package(package, test, views)[0] for views in (False, True)])
            print(f"{package}: once {scores[-1][0]:.3f}, eight views {scores[-1][1]:.3f}", flush=True)
    once, views = (sum(column) / len(scores) for column in zip(*scores))
    print(f"mean of {len(scores)}: once {once:.3f}, eight views {views:.3f}; the views higher on "
          f"{sum(v > o for o, v in scores)}")


def code_version() -> str:
    """The commit the methods ran (with "+changes" where the work tree differs from it), as rows record it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def read_rows(files: list[Path]) -> list[dict]:
    """The rows saved by --rows, in file order."""
    rows = []
    for file in files:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SystemExit(f"{file}: cannot read rows ({exc.strerror}); give files written by --rows") from None
        for number, line in enumerate(lines, start=1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise SystemExit(f"{file}, line {number}: not a row written by --rows") from None
    return rows


def ablation_options(method: str) -> tuple[str, ...]:
    """The train options of an ablation row (its parts joined by "_"); () for a method that is none."""
    parts = method.split("_")
    if method in METHODS or not all(part in ABLATIONS for part in parts):
        return ()
    return tuple(option for part in dict.fromkeys(parts) for option in ABLATIONS[part])


def is_network(method: str) -> bool:
    from autodl_qgis.engine.errors import InputDataError
    from autodl_qgis.engine.networks.registry import get_spec

    try:
        get_spec(method)
    except InputDataError:
        return False
    return True


def print_row(row: dict, flush: bool = False) -> None:
    within = row["wall"] <= 1.05 * row["limit"] + 60
    metric = f"{row['metric']:.4f}" if row.get("metric") is not None else "-"
    extra = (row.get("error") or "")[:100] or (f"val {row['validation']:.4f}" if row.get("validation") is not None
                                                else "")
    if row.get("once") is not None:
        extra += (f", {'test-time augmented by default' if row.get('chose_tta') else 'once by default'}: once "
                  f"{row['once']:.4f}")
    if row.get("tta") is not None:
        extra += f", test-time augmented {row['tta']:.4f}"
    if row.get("f1") is not None:
        extra += f", F1 {row['f1']:.3f} as it keeps objects by default"
    if row.get("trained_chips"):
        extra += f", trained on {row['trained_chips']} chips{', averaged' if row.get('averaged') else ''}"
    print(f"{row['case']:10} {row['method']:7} {row['seed']:>4} {row.get('model', '-'):32} {metric:>8} "
          f"{row['wall']:6.0f} s / {row['limit']:4.0f} s = {row['wall'] / row['limit']:.2f} "
          f"{'ok' if within else 'OVER'}  {extra}", flush=flush)


def print_table(rows: list[dict]) -> None:
    print("\ncase       method  seed model                            test     wall / limit (<= 1.05 x limit + 60 s)")
    for row in rows:
        print_row(row)
    codes = list(dict.fromkeys(r["code"] for r in rows if r.get("code")))
    if codes:
        print(f"code: {', '.join(codes)}" + (" (rows from more than one code version)" if len(codes) > 1 else ""))
    for key, what in (("metric", "as predicted by default"), ("tta", "both test-time augmented (ours: the eight flips "
                                                                     "and quarter turns; YOLO's: flips and scales)"),
                      ("f1", f"F1, objects kept as each keeps them by default (ours: from the package's threshold; "
                             f"YOLO's: from its default conf {YOLO_CONFIDENCE})")):
        if not any(r.get(key) is not None for r in rows):
            continue
        print(f"\nratios of test metrics {what}, means over seeds (search / other; >= 1.0: the search is at least "
              "as good)")
        for case in dict.fromkeys(r["case"] for r in rows):
            by_seed = {}  # method: {seed: its runs' scores}
            for r in rows:
                if r["case"] == case:
                    by_seed.setdefault(r["method"], {}).setdefault(r["seed"], []).append(r.get(key))
            got = {}
            for method, seeds in by_seed.items():
                scores = [score for runs in seeds.values() for score in runs]
                got[method] = None if None in scores else fmean(scores)
            if got.get("search") is None:
                print(f"{case:10} the search gave no model")
                continue
            if len(got) == 1:
                print(f"{case:10} no other method to compare the search with (give its rows too)")
                continue
            parts = [f"search/{other} {got['search'] / got[other]:.2f}{seed_spread(by_seed['search'], by_seed[other])}"
                     if got.get(other) else f"search/{other} -" for other in got if other != "search"]
            print(f"{case:10} " + ", ".join(parts))


def seed_spread(search: dict, other: dict) -> str:
    """The lowest and highest of the seeds' ratios (``{seed: scores}``, a seed's runs averaged) where two or more
    seeds ran both: how far a mean over few seeds can be trusted (time-bounded runs of one recipe part by up to
    0.25 AP50)."""
    ratios = [fmean(search[seed]) / fmean(other[seed]) for seed in search.keys() & other.keys() if fmean(other[seed])]
    return f" (seed by seed {min(ratios):.2f}-{max(ratios):.2f})" if len(ratios) > 1 else ""


if __name__ == "__main__":
    sys.exit(main())
