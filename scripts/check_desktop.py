"""Checks the plugin in QGIS desktop as a user gets it: the zip installed into a fresh profile, QGIS started on a
virtual screen (xvfb-run; apt-get install xvfb), the algorithms' dialogs opened with their defaults (temporary
outputs) and run, Detect Objects also from the batch dialog. Prints what it found, one line a check, and writes
screenshots of each dialog beside its JSON record; exit 0 when every check passed.

    .venv/bin/python scripts/check_desktop.py --model M.dlpk --raster R.tif [--out DIR] [--lang ja]

The engine is this venv's Python (the Processing option the plugin's installer would set). The headless tests
(tests/test_qgis_*.py) drive the same dialogs offscreen; this adds what only the desktop has: QGIS' own start-up
loading the plugin from the profile, iface, the message bar, the Results Viewer and real windows.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from package_plugin import build, install  # noqa: E402

DETECT, TRAIN = "autodl:detectobjectsusingdeeplearning", "autodl:trainusingautodl"


def inside_qgis() -> None:
    """Runs in QGIS' Python (``qgis --code``): each step waits on the event loop for what it started, so the
    dialogs' background tasks run as they do for a user."""
    import processing
    import qgis.utils
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from processing.core.ProcessingResults import resultsList
    from processing.tools import dataobjects
    from qgis.core import QgsApplication, QgsProject
    from qgis.PyQt.QtCore import QTimer
    from qgis.PyQt.QtWidgets import QTextEdit

    job = json.loads(Path(os.environ["AUTODL_DESKTOP_JOB"]).read_text())
    out = Path(job["out"])
    record = {"checks": [], "log": []}
    QgsApplication.messageLog().messageReceived.connect(
        lambda message, tag, level: record["log"].append(f"{tag} [{int(level)}] {message}"))

    def check(name: str, ok: bool, detail="") -> None:
        record["checks"].append({"check": name, "ok": bool(ok), "detail": str(detail)})

    def shot(widget, name: str) -> None:
        widget.grab().save(str(out / f"{name}.png"))
        log = widget.findChild(QTextEdit, "txtLog")  # a Processing dialog's Log tab, whole
        if log is not None:
            (out / f"{name}.txt").write_text(log.toPlainText(), encoding="utf-8")

    def run_dialog(algorithm_id: str, parameters: dict, name: str):
        dialog = processing.createAlgorithmDialog(algorithm_id, parameters)
        dialog.show()
        finished = {}
        dialog.algorithmFinished.connect(lambda ok, results: finished.update(ok=ok, results=results))
        yield 1.0
        shot(dialog, f"{name}_parameters")
        widgets = dialog.mainWidget().wrappers
        dialog.runAlgorithm()
        while not finished:
            yield 1.0
        shot(dialog, f"{name}_log")
        return dialog, widgets, finished

    def steps():
        check("plugin loaded from the profile", "autodl_qgis" in qgis.utils.active_plugins,
              sorted(qgis.utils.active_plugins))
        provider = QgsApplication.processingRegistry().providerById("autodl")
        check("provider registered", provider is not None and len(provider.algorithms()) >= 6,
              [a.id() for a in provider.algorithms()] if provider else None)
        bar = [item.text() for item in qgis.utils.iface.messageBar().items()]
        check("no engine warning in the message bar", not any("AutoDL" in text for text in bar), bar)

        layers_before = len(QgsProject.instance().mapLayers())
        dialog, widgets, finished = yield from run_dialog(
            DETECT, {"in_raster": job["raster"], "in_model_definition": job["model"]}, "detect")
        tta = widgets["test_time_augmentation"]
        check("detect: test-time augmentation defaults to the model's choice", tta.parameterValue() == 0,
              tta.wrappedWidget().currentText())
        command = next((line for line in (out / "detect_log.txt").read_text(encoding="utf-8").splitlines()
                        if "autodl_qgis" in line and " detect " in line), "")
        check("detect: the threshold defaults to the model's own (not set, no --confidence passed)",
              widgets["threshold"].parameterValue() is None and command and "--confidence" not in command, command)
        results = finished["results"]
        written = Path(str(results.get("out_detected_objects", "")))
        check("detect (dialog defaults): ran and wrote its temporary output",
              finished["ok"] and written.is_file() and written.stat().st_size > 0, results)
        loaded = [layer.name() for layer in QgsProject.instance().mapLayers().values()]
        check("detect: the result is loaded, a temporary one named after the model",
              len(loaded) > layers_before and any(Path(job["model"]).stem in name for name in loaded), loaded)
        dialog.close()

        algorithm = QgsApplication.processingRegistry().createAlgorithmById(DETECT)
        batch = BatchAlgorithmDialog(algorithm)
        batch.show()
        panel = batch.mainWidget()
        while panel.batchRowCount() < 2:
            panel.addRow()
        context = dataobjects.createContext()
        for row in range(2):
            for name, value in (("in_raster", job["raster"]), ("in_model_definition", job["model"])):
                panel.wrappers[row][panel.parameter_to_column[name]].setParameterValue(value, context)
        augmentation = panel.wrappers[1][panel.parameter_to_column["test_time_augmentation"]]
        augmentation.setParameterValue(2, context)  # row 2: predict once
        outcome = {}
        finish = batch.finish
        batch.finish = lambda results, errors: (outcome.update(results=results, errors=errors),
                                                finish(results, errors))
        yield 1.0
        shot(batch, "batch_parameters")
        batch.runAlgorithm()  # synchronous: QGIS runs a batch's rows in its main thread
        if not outcome:  # QGIS 3.22's batch dialog has no temporary outputs: a user names each row's file
            record["log"].append(f"batch with empty outputs: {[i.text() for i in batch.messageBar().items()]}")
            column = panel.parameter_to_column["out_detected_objects"]
            for row in range(2):
                panel.tblParameters.cellWidget(row + 1, column).setValue(str(out / f"batch_row{row + 1}.gpkg"))
            batch.runAlgorithm()
        shot(batch, "batch_log")
        check("batch: two rows ran without errors",
              len(outcome["results"]) == 2 and not outcome["errors"],
              {"results": [r["results"] for r in outcome["results"]], "errors": outcome["errors"]})
        batch.close()

        if job.get("train_data"):
            dialog, _, finished = yield from run_dialog(
                TRAIN, {"in_data": job["train_data"], "total_time_limit": 0.02}, "train")
            results = finished["results"]
            package = Path(str(results.get("out_model", "")))
            check("train (dialog defaults): ran and wrote a .dlpk", finished["ok"] and package.suffix == ".dlpk"
                  and package.is_file(), results)
            shown = [(r.name, r.filename) for r in resultsList.getResults()]
            check("train: its report is in the Results Viewer",
                  any(Path(str(filename)) == Path(str(results.get("report_file"))) for _, filename in shown), shown)
            dialog.close()

    timer = QTimer()
    timer.setSingleShot(True)
    walk = steps()

    def advance():
        try:
            timer.start(int(1000 * next(walk)))
        except StopIteration:
            done()
        except Exception as error:  # noqa: BLE001 -- any failure is recorded, or QGIS would wait forever
            import traceback

            check("steps ran to the end", False, "".join(traceback.format_exception(error)))
            done()

    def done():
        (out / "desktop.json").write_text(json.dumps(record, indent=1, ensure_ascii=False))
        shot(qgis.utils.iface.mainWindow(), "main_window")
        QgsApplication.exit(0)

    timer.timeout.connect(advance)
    timer.start(3000)  # let QGIS finish starting
    globals()["_autodl_desktop_timer"] = timer  # kept alive after this file's code returns


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a .dlpk that detects objects")
    parser.add_argument("--raster", type=Path, required=True, help="a raster to detect them on")
    parser.add_argument("--out", type=Path, help="screenshots and the record (default: a new temporary folder)")
    parser.add_argument("--lang", help="QGIS' language (e.g. ja)")
    parser.add_argument("--no-train", action="store_true", help="leave out the short Train Using AutoDL run")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before QGIS is given up on")
    args = parser.parse_args()
    for tool in ("xvfb-run", "qgis"):
        if not shutil.which(tool):
            print(f"{tool} is not installed: apt-get install xvfb qgis")
            return 2
    out = (args.out or Path(tempfile.mkdtemp(prefix="autodl_desktop_"))).resolve()
    out.mkdir(parents=True, exist_ok=True)
    config = out / "config"
    os.environ["QGIS_CUSTOM_CONFIG_PATH"] = str(config)
    install(build(out / "dist"), "default")
    settings = config / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    settings.parent.mkdir(parents=True, exist_ok=True)
    # what a user's profile holds once the plugin is enabled and Install AutoDL Engine has set the engine's Python
    settings.write_text("[PythonPlugins]\nautodl_qgis=true\n\n[Processing]\n"
                        f"Configuration\\AUTODL_PYTHON={sys.executable}\n"
                        + (f"\n[locale]\noverrideFlag=true\nuserLocale={args.lang}\n" if args.lang else ""))
    job = {"out": str(out), "model": str(args.model.resolve()), "raster": str(args.raster.resolve())}
    if not args.no_train:
        sample = out / "sample"
        shutil.rmtree(sample, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "autodl_qgis", "make-sample", str(sample), "--chips", "16"],
                       cwd=REPO, check=True, capture_output=True)
        job["train_data"] = str(sample)
    (out / "job.json").write_text(json.dumps(job))
    code = out / "inside_qgis.py"
    code.write_text(f"import sys\nsys.path.insert(0, {str(REPO / 'scripts')!r})\n"
                    "from check_desktop import inside_qgis\ninside_qgis()\n")
    env = {**os.environ, "AUTODL_DESKTOP_JOB": str(out / "job.json")}
    env.pop("QT_QPA_PLATFORM", None)
    (out / "desktop.json").unlink(missing_ok=True)
    command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "qgis", "--profiles-path", str(config),
               "--nologo", "--noversioncheck", "--code", str(code)] + (["--lang", args.lang] if args.lang else [])
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=args.timeout)
        (out / "qgis.log").write_text(done.stdout + done.stderr)
    except subprocess.TimeoutExpired:
        print(f"QGIS did not finish within {args.timeout:.0f} s; screenshots so far in {out}")
        return 1
    if not (out / "desktop.json").is_file():
        print(f"QGIS exited ({done.returncode}) without a record; its output is in {out / 'qgis.log'}")
        return 1
    record = json.loads((out / "desktop.json").read_text())
    for item in record["checks"]:
        print(f"{'ok  ' if item['ok'] else 'FAIL'} {item['check']}: {item['detail'][:300]}")
    print(f"screenshots, the record and the QGIS message log: {out}")
    return 0 if record["checks"] and all(item["ok"] for item in record["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
