"""Every MMDetection network of the registry builds for the data, trains two steps and predicts boxes; CARAFE,
whose operator is CUDA-only, refuses a CPU clearly; pretrained backbones come from the local cache or are given
up at once offline; DETReg's label-free pre-training runs on unlabelled chips."""
import warnings
from pathlib import Path

import pytest
import torch

from autodl_qgis.engine.networks import NETWORKS, UnsupportedNetworkError, build_network

MMDET_CPU = [name for name, spec in NETWORKS.items() if spec.library == "mmdet" and spec.cpu]
FOUR_BANDS = {"ATSS", "FCOS", "YOLOv3", "Res2Net", "DETReg", "CascadeRPN", "YOLOX"}  # the rest use three
# smaller backbones where the registry offers them, to keep the suite CPU-sized (DCN and EmpiricalAttention need
# bottleneck blocks: ResNet-50 at least)
TEST_BACKBONE = {"Res2Net": "res2net50", "DCN": "resnet50", "EmpiricalAttention": "resnet50", "YOLOv3": "darknet53",
                 "RTMDet": "cspnext_tiny", "YOLOX": "cspdarknet_tiny"}
STEM_CHANNELS_PER_BAND = {"YOLOX": 4}  # its Focus stem stacks each 2x2 block's pixels as channels
CASES = [(name, TEST_BACKBONE.get(name, "resnet18")) for name in MMDET_CPU] + [("YOLOv3", "mobilenet_v2")]
CHIP = 64
TARGETS = [{"boxes": torch.tensor([[5.0, 5, 20, 20], [30, 30, 50, 45]]), "labels": torch.tensor([1, 2])},
           {"boxes": torch.tensor([[10.0, 12, 30, 40]]), "labels": torch.tensor([2])}]


def _build(name, bands, backbone=None, pretrained=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_network(name, num_classes=2, in_channels=bands, chip_size=(CHIP, CHIP), backbone=backbone,
                             pretrained=pretrained)


def _first_conv(model):
    """The convolution the network declares as taking the bands."""
    conv = model.get_submodule(model.first_conv)
    assert isinstance(conv, torch.nn.Conv2d)
    return conv


@pytest.mark.parametrize(("name", "backbone"), CASES, ids=[f"{n}-{b}" for n, b in CASES])
def test_mmdet_network_trains_and_predicts(name, backbone):
    assert backbone in NETWORKS[name].backbones
    bands = 4 if name in FOUR_BANDS else 3
    torch.manual_seed(0)
    model = _build(name, bands, backbone)
    first_conv = _first_conv(model)
    assert first_conv.in_channels == bands * STEM_CHANNELS_PER_BAND.get(name, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    images = torch.randn(2, bands, CHIP, CHIP)
    model.train()
    seen = []
    for _ in range(2):
        optimizer.zero_grad()
        losses = model.losses(images, TARGETS)
        assert losses and all("loss" in k and v.requires_grad for k, v in losses.items())
        loss = sum(losses.values())
        assert torch.isfinite(loss) and loss < 1e3
        loss.backward()
        assert first_conv.weight.grad is not None and first_conv.weight.grad.abs().sum() > 0
        optimizer.step()
        seen.append(loss.item())
    assert seen[1] != seen[0]
    model.eval()
    with torch.no_grad():
        predictions = model.predict(torch.randn(2, bands, CHIP, CHIP))
    assert len(predictions) == 2
    for found in predictions:
        boxes, scores, labels = found["boxes"], found["scores"], found["labels"]
        assert boxes.shape[1:] == (4,) and len(boxes) == len(scores) == len(labels) <= 100
        assert labels.dtype == torch.int64 and boxes.dtype == scores.dtype == torch.float32
        assert labels.numel() == 0 or (1 <= labels.min() and labels.max() <= 2)
        assert boxes.numel() == 0 or (boxes.min() >= 0 and boxes.max() <= CHIP)


@pytest.mark.parametrize(("name", "backbone"), CASES, ids=[f"{n}-{b}" for n, b in CASES])
def test_mmdet_network_single_class_odd_chips_and_empty_chips(name, backbone):
    """One class (DETR's top-k over queries x classes), chips not a multiple of 32, a batch of one, a chip with
    no object: what real exports bring (50-pixel chips leave a two-stage DETR fewer queries than its
    usual 100 detections)."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_network(name, num_classes=1, in_channels=3, chip_size=(50, 50), backbone=backbone,
                              pretrained=False)
    model.train()
    for targets in ([{"boxes": torch.tensor([[5.0, 5, 40, 30]]), "labels": torch.tensor([1])}],
                    [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]):
        loss = sum(model.losses(torch.randn(1, 3, 50, 50), targets).values())
        assert torch.isfinite(loss)
        loss.backward()
    model.eval()
    with torch.no_grad():
        (found,) = model.predict(torch.randn(1, 3, 50, 50))
    assert found["labels"].numel() == 0 or set(found["labels"].tolist()) == {1}
    assert found["boxes"].numel() == 0 or found["boxes"].max() <= 50


def test_cuda_only_network_refuses_the_cpu_in_one_clear_line():
    with pytest.raises(UnsupportedNetworkError) as error:
        build_network("CARAFE", num_classes=2, in_channels=3, chip_size=(64, 64), device="cpu")
    message = str(error.value)
    assert message.startswith("CARAFE cannot run on cpu: mmcv's CARAFE upsampling operator has no CPU implementation")
    assert "\n" not in message


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    # through TORCH_HOME: torch.hub.set_dir would pin the directory for the rest of the session
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return Path(torch.hub.get_dir())


def test_pretrained_weights_are_given_up_at_once_offline(hub_dir, monkeypatch, connections):
    from autodl_qgis.engine.networks.adapters import openmmlab as adapter

    monkeypatch.setattr(adapter, "host_reachable", lambda host, *args, **kwargs: False)
    with pytest.warns(RuntimeWarning, match="pretrained weights unavailable.*unreachable"):
        model = build_network("GHM", num_classes=2, in_channels=3, chip_size=(64, 64), backbone="resnet18")
    assert connections == []  # nothing waited for a host that had already been found unreachable
    assert _first_conv(model).in_channels == 3


@pytest.mark.parametrize("name", ["ATSS", "FCOS"])  # torchvision:// and (caffe-style) open-mmlab:// configs
def test_pretrained_backbone_from_the_local_cache_keeps_rgb_filters(name, hub_dir):
    import torchvision

    torch.manual_seed(1)
    weights = torchvision.models.resnet18().state_dict()  # stands in for the cached ImageNet checkpoint
    (hub_dir / "checkpoints").mkdir(parents=True)
    torch.save(weights, hub_dir / "checkpoints" / "resnet18-f37072fd.pth")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback to random initialisation
        model = build_network(name, num_classes=2, in_channels=4, chip_size=(64, 64), backbone="resnet18")
    backbone = model.model.backbone
    assert backbone.conv1.in_channels == 4
    assert torch.allclose(backbone.conv1.weight[:, :3], weights["conv1.weight"] * 3 / 4)
    assert torch.equal(backbone.layer4[1].conv2.weight, weights["layer4.1.conv2.weight"])
    model.train()
    sum(model.losses(torch.randn(2, 4, 64, 64), TARGETS).values()).backward()
    assert backbone.conv1.weight.grad.abs().sum() > 0  # the widened first convolution is not frozen


def test_detreg_self_supervised_pretraining_on_unlabelled_chips(synthetic):
    from torchvision.ops import box_iou

    from autodl_qgis.engine.data import PASCAL_VOC, TrainingData
    from autodl_qgis.engine.networks.adapters.detreg import DetRegObjective, region_proposals

    data = TrainingData.open(synthetic(PASCAL_VOC))
    # the label-free proposals find the objects the labels hold
    hits = total = 0
    for i, chip in enumerate(data.chips):
        truth = torch.from_numpy(data.read_label_values(chip).boxes)
        proposals = region_proposals(torch.from_numpy(data.read_image(i)).float())
        hits += int((box_iou(truth, proposals).max(1).values > 0.7).sum())
        total += len(truth)
    assert hits >= 0.8 * total, (hits, total)

    torch.manual_seed(0)
    model = _build("DETReg", 3, "resnet18")
    assert isinstance(model.self_supervised_objective(), DetRegObjective)  # what the trainer runs
    images = torch.stack([torch.from_numpy(data.read_image(i)).float() / 255 for i in range(2)])
    objective = DetRegObjective(model)
    objective.train()
    losses = objective.losses(images)
    assert "embedding.loss_l1" in losses and any(k.startswith("localisation.") for k in losses)
    total_loss = sum(losses.values())
    assert torch.isfinite(total_loss)
    total_loss.backward()
    assert _first_conv(model).weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in objective.teacher.parameters())  # the teacher stays frozen

    before = [b.weight.clone() for b in model.model.bbox_head.cls_branches]
    conv_before = _first_conv(model).weight.clone()
    optimizer = torch.optim.AdamW([p for p in objective.parameters() if p.requires_grad], lr=1e-4)
    for _ in range(2):  # what Trainer.self_supervised() does
        optimizer.zero_grad()
        sum(objective.losses(images).values()).backward()
        optimizer.step()
    objective.reset_classification()
    assert not torch.equal(conv_before, _first_conv(model).weight)  # the detector learnt
    # the classification branches start afresh for the real classes
    assert all(not torch.equal(a, b.weight) for a, b in zip(before, model.model.bbox_head.cls_branches))
