"""The chip scale a detection candidate trains at: the portfolio's, unless it would shrink the small labelled
objects below what the detectors' finest feature map resolves; the reason is recorded."""
import pytest

from autodl_qgis.engine.train.scale import MIN_OBJECT_PIXELS, object_scale


@pytest.mark.parametrize(("sides", "portfolio", "expected"), [
    ([40.0] * 20, 0.5, 0.5),  # palm crowns: 20 px at half scale, enough
    ([12.0] * 20, 0.5, 0.75),  # 6 px at half scale, 9 px at three quarters
    ([4.0] * 20, 0.5, 1.0),  # too small at any scale but full: full
    ([4.0] * 2 + [60.0] * 18, 0.5, 0.5),  # a few small ones do not decide (10th percentile)
    ([4.0] * 3 + [60.0] * 17, 0.75, 1.0),  # ... many do
    ([12.0] * 20, 1.0, 1.0),  # the portfolio's full scale is never lowered
])
def test_the_small_objects_keep_enough_pixels(sides, portfolio, expected):
    scale, why = object_scale(portfolio, (448, 448), sides)
    assert scale == expected
    assert ("instead of the portfolio's" in why) == (scale != portfolio)
    if scale != 1.0:
        assert sorted(sides)[len(sides) // 10] * scale >= MIN_OBJECT_PIXELS


def test_chips_too_small_to_scale_and_chips_without_objects_keep_the_portfolio_rule():
    assert object_scale(0.5, (100, 100), [40.0] * 5)[0] == 1.0  # 50 px chips would be too small: not scaled
    assert object_scale(0.5, (448, 448), []) == (0.5, "the portfolio's scale (no labelled objects)")
    scale, why = object_scale(0.5, (448, 448), [12.0] * 10)
    assert why.startswith("scale 0.75 instead of the portfolio's 0.5") and "12 px" in why


TORCHVISION_DETECTORS = [("SingleShotDetector", "resnet18"), ("RetinaNet", "resnet18"), ("FasterRCNN", "resnet18")]


def _backbone_inputs(model) -> list:
    """The shapes the network's backbone is given, recorded as the model runs."""
    seen = []
    model.model.backbone.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape[-2:])))
    return seen


@pytest.mark.parametrize(("network", "backbone"), TORCHVISION_DETECTORS)
def test_a_scaled_torchvision_detector_computes_on_the_scaled_chips(network, backbone):
    """Built for the chips' own size, torchvision's transform resized the scaled chips back to it: a half-scale
    SingleShotDetector cost as much as a full one, on blurred pixels."""
    import torch

    from autodl_qgis.engine.train.scale import build_scaled_network

    model = build_scaled_network(network, 1, 3, (128, 128), backbone, 0.5, pretrained=False, device="cpu")
    seen = _backbone_inputs(model)
    target = {"boxes": torch.tensor([[20.0, 30.0, 60.0, 70.0]]), "labels": torch.tensor([1])}
    model.train()
    losses = model.losses(torch.rand(2, 3, 128, 128), [target, target])
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        found = model.predict(torch.rand(1, 3, 128, 128))
    assert set(seen) == {(64, 64)}, seen
    boxes = found[0]["boxes"]
    assert boxes.shape[-1] == 4 and (not len(boxes) or float(boxes.amax()) <= 128.0 + 1e-3)


def test_a_package_rebuilds_the_network_its_weights_were_trained_in(tmp_path):
    """New packages record the size the network was built for; packages without it (written before) were built
    for the chips' own size whatever their scale, and still load."""
    import torch

    from autodl_qgis.engine.data import BandStatistics, ClassInfo
    from autodl_qgis.engine.networks import build_network
    from autodl_qgis.engine.package import build_model_definition, open_package, write_package
    from autodl_qgis.engine.train.scale import build_scaled_network, network_chip_size

    stats = BandStatistics(mean=(120.0,) * 3, std=(50.0,) * 3, min=(0.0,) * 3, max=(255.0,) * 3, source="test")

    def package(name: str, model, training: dict):
        emd = build_model_definition(
            network="SingleShotDetector", library="torchvision", backbone="resnet18", task="object_detection",
            classes=[ClassInfo(1, "palm", (0, 255, 0))], chip_size=(256, 256), bands=3, dtype="uint8",
            image_space="MAP_SPACE", statistics=stats, metrics=None, metric_name="AP50", training=training,
            data_format="PASCAL_VOC_rectangles")
        return write_package(tmp_path / name, emd, model.state_dict())

    scaled = build_scaled_network("SingleShotDetector", 1, 3, (256, 256), "resnet18", 0.5, False, "cpu")
    new = package("new.dlpk", scaled, {"chip_scale": 0.5,
                                       "network_chip_size": list(network_chip_size((256, 256), 0.5))})
    # SSD's levels follow the size it is built for: the full-size network's weights do not fit the scaled one
    old = package("old.dlpk", build_network("SingleShotDetector", 1, 3, (256, 256), "resnet18", False),
                  {"chip_scale": 0.5})
    for path, size in ((new, (128, 128)), (old, (256, 256))):
        with open_package(path) as opened:
            assert opened.network_chip_size == size
            model = opened.build()
            seen = _backbone_inputs(model)
            with torch.no_grad():
                model.predict(torch.rand(1, 3, 256, 256))
            assert seen == [size]
    with open_package(new) as opened:
        assert opened.emd["AutoDL"]["exports"]["formats"], opened.emd["AutoDL"]["exports"]  # its graph exported
