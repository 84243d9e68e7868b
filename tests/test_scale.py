"""The chip scale a detection candidate trains at: the portfolio's, unless it would shrink the small labelled
objects below what the detectors' finest feature map resolves; the reason is recorded."""
import pytest

from autodl_qgis.engine.train.scale import MIN_OBJECT_PIXELS, object_scale, typical_object_size


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
    # default boxes fitted to the objects add SSD's stride-8 level: its weights fit only that layout
    fitted = package("fitted.dlpk", build_scaled_network("SingleShotDetector", 1, 3, (256, 256), "resnet18", 0.5,
                                                         False, "cpu", object_size=0.08),
                     {"chip_scale": 0.5, "network_chip_size": [128, 128], "object_size": 0.08})
    for path, size, object_size in ((new, (128, 128), None), (old, (256, 256), None), (fitted, (128, 128), 0.08)):
        with open_package(path) as opened:
            assert opened.network_chip_size == size and opened.object_size == object_size
            model = opened.build()
            seen = _backbone_inputs(model)
            with torch.no_grad():
                model.predict(torch.rand(1, 3, 256, 256))
            assert seen == [size]
    with open_package(new) as opened:
        assert opened.emd["AutoDL"]["exports"]["formats"], opened.emd["AutoDL"]["exports"]  # its graph exported
    from autodl_qgis.engine.errors import InputDataError

    damaged = package("damaged.dlpk", scaled, {"chip_scale": 0.5, "network_chip_size": [128, 128],
                                               "object_size": "small"})
    with open_package(damaged) as opened, pytest.raises(InputDataError, match="invalid object_size 'small'"):
        opened.build()


def test_the_search_scores_and_ships_its_model_as_it_was_trained_at_a_chip_scale(synthetic, tmp_path):
    """The search's own copy of the shipped model (test-block score, report predictions) is built for the scaled
    chips like the trained and the packaged network: built for the chips' own size, SSD resized its scaled input
    back to full size (or, with fewer levels at the scaled size, did not take the weights at all)."""
    import torch

    from autodl_qgis.engine.data import PASCAL_VOC
    from autodl_qgis.engine.package import open_package
    from autodl_qgis.engine.search import AutoDL
    from autodl_qgis.engine.train.scale import network_chip_size

    folder = synthetic(PASCAL_VOC, num_chips=12, chip_size=256, num_classes=1)
    autodl = AutoDL(folder, networks=["SingleShotDetector"], pretrained_backbones=False, max_epochs=1,
                    total_time_limit=0.05, fitted_boxes=True).fit()
    best = autodl.best
    assert best.chip_scale < 1.0, best.scale_reason
    size = network_chip_size((256, 256), best.chip_scale)
    images = torch.rand(1, 3, 256, 256)
    with open_package(autodl.save(tmp_path / "model.dlpk")) as package:
        shipped = package.build()
        assert package.object_size == autodl.object_size is not None  # the default boxes it was built with
    found = []
    for model in (autodl.best_model(), shipped):
        seen = _backbone_inputs(model)
        with torch.no_grad():
            found.append(model.predict(images)[0])
        assert seen == [size]
    assert torch.allclose(found[0]["boxes"], found[1]["boxes"], atol=1e-4)


def test_the_typical_object_size_is_a_share_of_the_chip_that_edge_cut_boxes_do_not_decide():
    import numpy as np

    crowns = [[0, 0, 40, 40]] * 30  # whole crowns, 40 px
    cut = [[0, 0, 40, 4]] * 8  # crowns cut by the chip's edge: a fifth of the boxes
    assert typical_object_size(np.array(crowns + cut, float), (400, 400)) == pytest.approx(0.1)
    assert typical_object_size(np.array(crowns, float), (200, 400)) == pytest.approx(0.2)  # of the shorter side
    assert typical_object_size(np.zeros((0, 4)), (400, 400)) is None


def _ssd_levels(model, size: int) -> list[tuple[int, int]]:
    """The feature maps SSD predicts from, for a chip of ``size`` px."""
    import torch

    with torch.no_grad():
        features = model.eval().model.backbone(torch.zeros(1, 3, size, size))
    return [tuple(f.shape[-2:]) for f in features.values()]


@pytest.mark.parametrize("backbone", ["resnet18", "mobilenet_v3_large"])
def test_ssd_fitted_to_the_objects_predicts_from_stride_8_with_default_boxes_of_their_size(backbone):
    """Without an object size SSD keeps its classic layout (from stride 16, boxes 0.1 to 0.9 of the chip): what
    packages written before the size was recorded hold."""
    import torch
    from torchvision.models.detection.image_list import ImageList

    from autodl_qgis.engine.networks import build_network

    fitted = build_network("SingleShotDetector", 1, 3, (128, 128), backbone, False, object_size=0.08)
    classic = build_network("SingleShotDetector", 1, 3, (128, 128), backbone, False)
    assert _ssd_levels(fitted, 128)[:2] == [(16, 16), (8, 8)]
    assert _ssd_levels(classic, 128)[0] == (8, 8)
    assert len(_ssd_levels(fitted, 128)) == len(_ssd_levels(classic, 128)) + 1
    for model, smallest in ((fitted, 0.08), (classic, 0.1)):
        maps = [torch.zeros(1, 1, h, w) for h, w in _ssd_levels(model, 128)]
        boxes = model.model.anchor_generator(ImageList(torch.zeros(1, 3, 128, 128), [(128, 128)]), maps)[0]
        sides = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        assert float(sides.min().sqrt()) == pytest.approx(smallest * 128, rel=0.02)
    target = {"boxes": torch.tensor([[20.0, 30.0, 30.0, 40.0]]), "labels": torch.tensor([1])}
    fitted.train()
    assert all(torch.isfinite(v) for v in fitted.losses(torch.rand(2, 3, 128, 128), [target, target]).values())


def test_a_copy_of_a_scaled_network_computes_with_its_own_weights():
    """The moving average of the weights is a deep copy of the network (AveragedModel): at a chip scale its
    predictions were the original's, so every validation scored the average the same as the weights and it was
    never shipped. The copy's and the average's predictions and losses now come from their own weights."""
    import copy

    import torch
    from torch import nn
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    from autodl_qgis.engine.networks.adapters.base import ModelAdapter
    from autodl_qgis.engine.train.scale import apply_chip_scale

    class Weighted(ModelAdapter):
        task = "pixel_classification"

        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(()))

        def losses(self, images, targets):
            return {"loss": self.w * images.mean() + 0.0 * targets.float().mean()}

        def predict(self, images):
            return torch.cat([images[:, :1] * self.w, -images[:, :1] * self.w], dim=1)

    adapter = apply_chip_scale(Weighted(), 0.5)
    twin = copy.deepcopy(adapter)
    with torch.no_grad():
        twin.w.fill_(3.0)
    images, targets = torch.ones(1, 1, 8, 8), torch.zeros(1, 8, 8, dtype=torch.long)
    assert adapter.predict(images).shape == (1, 2, 8, 8)  # answered in the chips' own pixels
    assert adapter.predict(images)[0, 0].mean().item() == 1.0 and twin.predict(images)[0, 0].mean().item() == 3.0
    assert adapter.losses(images, targets)["loss"].item() == 1.0 and twin.losses(images, targets)["loss"].item() == 3.0
    averaged = AveragedModel(adapter, multi_avg_fn=get_ema_multi_avg_fn(0.5), use_buffers=True)
    averaged.update_parameters(adapter)  # the first update copies the weights: 1
    with torch.no_grad():
        adapter.w.fill_(3.0)
    averaged.update_parameters(adapter)  # halfway to 3
    assert averaged.module.predict(images)[0, 0].mean().item() == pytest.approx(2.0)
    assert adapter.predict(images)[0, 0].mean().item() == 3.0
