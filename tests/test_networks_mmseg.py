"""Every MMSegmentation network of the registry builds for the data, trains two steps and predicts class scores."""
import warnings

import pytest
import torch

from autodl_qgis.engine.networks import NETWORKS, build_network

MMSEG = [name for name, spec in NETWORKS.items() if spec.library == "mmseg"]
FOUR_BANDS = {"ANN", "CGNet", "FastSCNN", "MobileNetV2", "SemFPN"}  # the rest use three


@pytest.mark.parametrize("name", MMSEG)
def test_mmseg_network_trains_and_predicts(name):
    bands = 4 if name in FOUR_BANDS else 3
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_network(name, num_classes=2, in_channels=bands, chip_size=(64, 64), pretrained=False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.randn(2, bands, 64, 64)
    targets = torch.randint(0, 3, (2, 64, 64))
    first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == bands
    model.train()
    for _ in range(2):
        optimizer.zero_grad()
        losses = model.losses(images, targets)
        loss = sum(losses.values())
        assert torch.isfinite(loss) and all("loss" in k for k in losses)
        loss.backward()
        assert first_conv.weight.grad is not None and first_conv.weight.grad.abs().sum() > 0
        optimizer.step()
    model.eval()
    with torch.no_grad():
        scores = model.predict(torch.randn(1, bands, 60, 60))  # any size: padded inside, cropped back
    assert scores.shape == (1, 3, 60, 60) and torch.isfinite(scores).all()
