"""Every MMDetection network of the registry builds for the data, trains two steps and predicts boxes; CARAFE,
whose operator is CUDA-only, refuses a CPU clearly."""
import warnings

import pytest
import torch

from autodl_qgis.engine.networks import NETWORKS, UnsupportedNetworkError, build_network

MMDET_CPU = [name for name, spec in NETWORKS.items() if spec.library == "mmdet" and spec.cpu]
FOUR_BANDS = {"ATSS", "FCOS", "YOLOv3", "Res2Net", "DETReg"}  # the rest use three
# smaller backbones where the registry offers them, to keep the suite CPU-sized
TEST_BACKBONE = {"CascadeRCNN": "resnet18", "LibraRCNN": "resnet18", "SABL": "resnet18", "PaFPN": "resnet18",
                 "DynamicRCNN": "resnet18", "Res2Net": "res2net50"}
TARGETS = [{"boxes": torch.tensor([[5.0, 5, 20, 20], [30, 30, 50, 45]]), "labels": torch.tensor([1, 2])},
           {"boxes": torch.tensor([[10.0, 12, 30, 40]]), "labels": torch.tensor([2])}]


@pytest.mark.parametrize("name", MMDET_CPU)
def test_mmdet_network_trains_and_predicts(name):
    bands = 4 if name in FOUR_BANDS else 3
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_network(name, num_classes=2, in_channels=bands, chip_size=(64, 64),
                              backbone=TEST_BACKBONE.get(name), pretrained=False)
    first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == bands
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    images = torch.randn(2, bands, 64, 64)
    model.train()
    for _ in range(2):
        optimizer.zero_grad()
        losses = model.losses(images, TARGETS)
        loss = sum(losses.values())
        assert torch.isfinite(loss) and loss < 1e3 and all("loss" in k for k in losses)
        loss.backward()
        assert first_conv.weight.grad is not None and first_conv.weight.grad.abs().sum() > 0
        optimizer.step()
    model.eval()
    with torch.no_grad():
        predictions = model.predict(torch.randn(2, bands, 64, 64))
    assert len(predictions) == 2
    for found in predictions:
        assert found["boxes"].shape[1:] == (4,) and len(found["boxes"]) == len(found["scores"]) == len(found["labels"])
        assert found["labels"].numel() == 0 or (1 <= found["labels"].min() and found["labels"].max() <= 2)


def test_cuda_only_network_refuses_the_cpu_in_one_clear_line():
    with pytest.raises(UnsupportedNetworkError) as error:
        build_network("CARAFE", num_classes=2, in_channels=3, chip_size=(64, 64), device="cpu")
    message = str(error.value)
    assert message.startswith("CARAFE cannot run on cpu: mmcv's CARAFE upsampling operator has no CPU implementation")
    assert "\n" not in message


def test_detreg_self_supervised_objective_on_unlabelled_chips(synthetic):
    from torchvision.ops import box_iou

    from autodl_qgis.engine.data import PASCAL_VOC, TrainingData
    from autodl_qgis.engine.networks.adapters.detreg import region_proposals

    data = TrainingData.open(synthetic(PASCAL_VOC))
    # the label-free proposals find the objects the labels hold
    hits = total = 0
    for i, chip in enumerate(data.chips):
        truth = torch.from_numpy(data.read_label_values(chip).boxes)
        proposals = region_proposals(torch.from_numpy(data.read_image(i)).float())
        hits += int((box_iou(truth, proposals).max(1).values > 0.7).sum())
        total += len(truth)
    assert hits >= 0.8 * total, (hits, total)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_network("DETReg", num_classes=2, in_channels=3, chip_size=(64, 64), pretrained=False)
    objective = model.self_supervised_objective()
    images = torch.stack([torch.from_numpy(data.read_image(i)).float() / 255 for i in range(2)])
    objective.train()
    losses = objective.losses(images)
    assert "embedding.loss_l1" in losses and any(k.startswith("localisation.") for k in losses)
    total_loss = sum(losses.values())
    assert torch.isfinite(total_loss)
    total_loss.backward()
    first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.weight.grad is not None and first_conv.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in objective.teacher.parameters())  # the teacher stays frozen
    before = [b.weight.clone() for b in model.model.bbox_head.cls_branches]
    objective.reset_classification()
    assert all(not torch.equal(a, b.weight) for a, b in zip(before, model.model.bbox_head.cls_branches))
