"""The ordered portfolio: the committed table covers every network, names only what the registry offers, and is the
ranking that scripts/build_portfolio.py computes from the measurements committed with it."""
import json

import pytest

from autodl_qgis.engine.data import OBJECT_DETECTION, PIXEL_CLASSIFICATION
from autodl_qgis.engine.networks.registry import NETWORKS
from autodl_qgis.engine.search.portfolio import LIGHT_BACKBONES, TABLE_FILE, PortfolioEntry, portfolio
from conftest import load_script

TASKS = (OBJECT_DETECTION, PIXEL_CLASSIFICATION)


def _builder():
    return load_script("build_portfolio")


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("kind", ("cpu", "cuda"))
def test_every_network_of_the_task_is_ranked_with_a_backbone_it_has(task, kind):
    entries = portfolio(task, kind)
    assert all(isinstance(e, PortfolioEntry) for e in entries) and len(set(entries)) == len(entries)
    assert {e.network for e in entries} == {s.name for s in NETWORKS.values() if s.task == task}
    for entry in entries:
        assert entry.backbone in NETWORKS[entry.network].backbones and 0 < entry.chip_scale <= 1


@pytest.mark.parametrize("task", TASKS)
def test_the_table_is_the_ranking_of_its_own_measurements(task):
    document = json.loads(TABLE_FILE.read_text())
    runs = [r for r in document["runs"] if r["task"] == task]
    assert runs, f"no measurement of {task} in {TABLE_FILE.name}"
    ranked = _builder().rank(document["runs"], task)
    cpu = portfolio(task, "cpu")
    assert [(e["network"], e["backbone"], e["chip_scale"]) for e in ranked] == \
        [(e.network, e.backbone, e.chip_scale) for e in cpu[:len(ranked)]]


@pytest.mark.parametrize("task", TASKS)
def test_gpu_rows_put_the_cpu_leader_first_on_its_default_backbone(task):
    leader = portfolio(task, "cpu")[0]
    first = portfolio(task, "cuda")[0]
    assert (first.network, first.backbone, first.chip_scale) == \
        (leader.network, NETWORKS[leader.network].default_backbone, 1.0)


def test_ranking_prefers_configurations_measured_everywhere_and_ignores_those_that_learned_nothing():
    rows = [{"task": "t", "folder": f, "network": n, "backbone": "resnet18", "chip_scale": 1.0, "test_metric": m}
            for f, n, m in (("a", "FasterRCNN", 0.5), ("b", "FasterRCNN", 0.2), ("a", "RetinaNet", 0.4),
                            ("b", "RetinaNet", 0.4), ("a", "FCOS", 0.9), ("a", "ATSS", 0.0), ("b", "ATSS", 0.0))]
    ranked = _builder().rank(rows, "t")
    assert [e["network"] for e in ranked] == ["RetinaNet", "FasterRCNN", "FCOS"]  # ATSS learned nothing: unranked
    assert ranked[0]["score"] == pytest.approx((0.4 / 0.9 + 1.0) / 2, abs=1e-4)


def test_unmeasured_networks_enter_light_on_a_cpu_and_as_defined_on_a_gpu():
    document = json.loads(TABLE_FILE.read_text())
    measured = {row["network"] for row in document["table"][OBJECT_DETECTION]["cpu"]}
    cpu = {e.network: e for e in portfolio(OBJECT_DETECTION, "cpu") if e.network not in measured}
    cuda = {e.network: e for e in portfolio(OBJECT_DETECTION, "cuda") if e.network not in measured}
    assert cpu and set(cpu) == set(cuda)
    for name, entry in cpu.items():
        lightest = next((b for b in LIGHT_BACKBONES if b in NETWORKS[name].backbones), NETWORKS[name].default_backbone)
        assert (entry.backbone, entry.chip_scale) == (lightest, 0.5), entry
        assert (cuda[name].backbone, cuda[name].chip_scale) == (NETWORKS[name].default_backbone, 1.0)
    assert cpu["YOLOv3"].backbone == "mobilenet_v2" and cpu["DCN"].backbone == "resnet50"  # what each offers


def test_unknown_device_kind_is_refused():
    with pytest.raises(ValueError, match="device kind"):
        portfolio(OBJECT_DETECTION, "tpu")
