"""`doctor` reports the stack and fails, with a fix, when a part is missing."""
import io
import json

import autodl_qgis.doctor as doctor
from autodl_qgis.cli import main


def test_complete_stack_reports_every_component(capsys):
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    expected = {label for label, _, _, _ in doctor.COMPONENTS}
    assert set(report["components"]) == expected and report["ok"] is True
    assert all(c["ok"] and c["version"] for c in report["components"].values())
    assert report["components"]["mmcv"]["version"].endswith("(compiled ops load)")
    assert report["devices"][0] == "cpu"


def test_missing_component_is_named_with_a_fix(monkeypatch):
    real_import = doctor.import_module

    def without_optuna(name):
        if name == "optuna":
            raise ModuleNotFoundError("No module named 'optuna'")
        return real_import(name)

    monkeypatch.setattr(doctor, "import_module", without_optuna)
    out = io.StringIO()
    assert doctor.run_doctor(stream=out) == 1
    lines = out.getvalue().splitlines()
    missing = [line for line in lines if line.startswith("MISSING")]
    assert missing == ["MISSING  optuna: ModuleNotFoundError: No module named 'optuna' — in QGIS run \"Install AutoDL "
                       "Engine\" (Processing Toolbox › AutoDL › Deep learning), or set Settings › Options › "
                       "Processing › Providers › AutoDL › Python to a Python that has the libraries; from a checkout "
                       "run scripts/setup.sh"]
    assert lines[-1] == "the stack is incomplete: see the MISSING lines"


def test_openmmlab_absent_is_optional_but_broken_is_missing(monkeypatch):
    """The base install (no OpenMMLab extra) is a complete stack; an extra that is there but broken is not."""
    real_import = doctor.import_module

    def without(names, error):
        def fake(name):
            if name in names:
                raise error(f"No module named {name!r}")
            return real_import(name)
        return fake

    monkeypatch.setattr(doctor, "import_module", without({"mmcv", "mmengine", "mmdet", "mmseg"}, ModuleNotFoundError))
    out = io.StringIO()
    assert doctor.run_doctor(stream=out) == 0
    absent = [line for line in out.getvalue().splitlines() if line.startswith("absent")]
    assert len(absent) == 4 and all("the OpenMMLab extra" in line and "Add OpenMMLab" in line for line in absent)
    monkeypatch.setattr(doctor, "import_module", without({"mmcv"}, ImportError))
    out = io.StringIO()
    assert doctor.run_doctor(stream=out) == 1
    assert [line.split(":")[0] for line in out.getvalue().splitlines() if line.startswith("MISSING")] == \
        ["MISSING  mmcv"]
