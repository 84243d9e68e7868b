"""Model packages: written atomically, read as untrusted data."""
import io
import json
import os
import pickle
import zipfile

import pytest
import torch

from autodl_qgis.engine.data.esri import BandStatistics, ClassInfo
from autodl_qgis.engine.errors import InputDataError
from autodl_qgis.engine.package import build_model_definition, open_package, write_package
from autodl_qgis.engine.train.records import PixelScores

CLASSES = [ClassInfo(1, "pool", (0, 0, 255)), ClassInfo(2, "roof", (255, 0, 0))]
STATS = BandStatistics((100.0, 90.0, 80.0), (30.0, 25.0, 20.0), (0, 0, 0), (255, 255, 255), "test")


def _emd(**overrides):
    emd = build_model_definition(
        network="UnetClassifier", library="smp", backbone="resnet18", task="pixel_classification",
        classes=CLASSES, chip_size=(64, 64), bands=3, dtype="uint8", image_space="MAP_SPACE", statistics=STATS,
        metrics=PixelScores(miou=0.75, background_iou=0.95, accuracy=0.9), metric_name="miou",
        training={"epochs": 3}, data_format="Classified_Tiles")
    emd.update(overrides)
    return emd


def test_model_definition_reads_like_an_arcgis_one():
    emd = _emd()
    assert emd["ModelType"] == "ImageClassification" and emd["ModelName"] == "UnetClassifier"
    assert emd["ModelParameters"] == {"backbone": "resnet18"} and emd["ExtractBands"] == [0, 1, 2]
    assert emd["Classes"][1] == {"Value": 2, "Name": "roof", "Color": [255, 0, 0]}
    assert emd["NormalizationStats"]["band_mean_values"] == [100.0, 90.0, 80.0]
    assert emd["AutoDL"]["metric"] == 0.75 and emd["AutoDL"]["chip_size"] == [64, 64]
    assert "InferenceFunction" not in emd  # nothing executable is referenced


def test_write_then_open_round_trips_weights(tmp_path):
    state = {"layer.weight": torch.randn(4, 3), "layer.bias": torch.zeros(4)}
    out = write_package(tmp_path / "model.dlpk", _emd(), state, {"leaderboard.json": b"[]"})
    with zipfile.ZipFile(out) as archive:
        # the ArcGIS function always travels; these weights fit no network, so no graph does
        assert sorted(archive.namelist()) == ["AutoDLInference.py", "leaderboard.json", "model.emd",
                                              "model.safetensors"]
    with open_package(out) as package:
        assert package.network == "UnetClassifier" and [c.name for c in package.classes] == ["pool", "roof"]
        loaded = package.state_dict()
        assert torch.equal(loaded["layer.weight"], state["layer.weight"])
        folder = package.folder
    assert not folder.exists()  # the private extraction folder is removed on close


def test_failed_write_keeps_the_existing_package(tmp_path):
    out = write_package(tmp_path / "model.dlpk", _emd(), {"w": torch.ones(2)})
    before = out.read_bytes()

    class Boom(dict):
        def items(self):
            raise KeyboardInterrupt  # cancelled halfway

    with pytest.raises(KeyboardInterrupt):
        write_package(out, _emd(), {"w": torch.ones(2)}, Boom(x=b""))
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.dlpk"]  # no temporary left behind


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_path_traversal_entries_are_refused_before_extraction(tmp_path):
    victim = tmp_path / "outside.txt"
    package = _zip(tmp_path / "evil.dlpk", {"model.emd": json.dumps(_emd()), "../outside.txt": "pwned"})
    with pytest.raises(InputDataError, match="outside its folder"):
        open_package(package)
    assert not victim.exists()
    package = _zip(tmp_path / "abs.dlpk", {"model.emd": json.dumps(_emd()), "/tmp/abs-autodl.txt": "x"})
    with pytest.raises(InputDataError, match="outside its folder"):
        open_package(package)


def test_pickle_payloads_are_never_executed(tmp_path):
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    buffer = io.BytesIO()
    torch.save({"w": torch.ones(1), "evil": Payload()}, buffer)
    package = _zip(tmp_path / "pickle.dlpk", {"model.emd": json.dumps(_emd(ModelFile="model.pth")),
                                              "model.pth": buffer.getvalue()})
    with open_package(package) as opened:
        with pytest.raises(InputDataError, match="refused, since loading them could run code"):
            opened.state_dict()
    assert not marker.exists()
    raw = _zip(tmp_path / "raw.dlpk", {"model.emd": json.dumps(_emd(ModelFile="model.pth")),
                                       "model.pth": pickle.dumps(Payload())})
    with open_package(raw) as opened:
        with pytest.raises(InputDataError):
            opened.state_dict()
    assert not marker.exists()


@pytest.mark.parametrize("change,message", [
    (lambda e: e.pop("AutoDL"), "has no 'AutoDL' section"),
    (lambda e: e.update(ImageHeight="e.g. 256"), "'ImageHeight' is missing or not a int"),
    (lambda e: e["AutoDL"].update(num_classes=5), "declares 2 classes but AutoDL.num_classes is 5"),
    (lambda e: e.update(ModelFile="../model.safetensors"), "'ModelFile' must be a file name"),
    (lambda e: e["AutoDL"].update(schema_version=99), "newer than this plugin understands"),
])
def test_wrong_schema_is_refused_with_a_clear_message(tmp_path, change, message):
    emd = _emd()
    change(emd)
    package = _zip(tmp_path / "bad.dlpk", {"model.emd": json.dumps(emd)})
    with pytest.raises(InputDataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        open_package(package)


def test_packages_need_exactly_one_model_definition(tmp_path):
    two = _zip(tmp_path / "two.dlpk", {"a.emd": json.dumps(_emd()), "b.emd": json.dumps(_emd())})
    with pytest.raises(InputDataError, match="exactly one .emd"):
        open_package(two)
    (tmp_path / "not.dlpk").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InputDataError):
        open_package(tmp_path / "not.dlpk")


def test_arcgis_models_are_reported_as_not_rebuildable(real_data):
    path = real_data / "model_emd_examples" / "unetclassifier_arcgis_learn_1.8.4.emd"
    with pytest.raises(InputDataError, match="not written by autodl_qgis"):
        open_package(path)
