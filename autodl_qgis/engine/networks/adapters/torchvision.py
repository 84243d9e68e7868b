"""torchvision: FasterRCNN, MaskRCNN, RetinaNet, SingleShotDetector (SSD) and DeepLab (DeepLabV3)."""
from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torch.nn import functional as F

from .base import BuildRequest, ModelAdapter, adapt_input_conv, host_reachable, load_pretrained


def _imagenet_weights(backbone: str):
    """torchvision's ImageNet weights enum for ``backbone``, if its file is in the torch hub cache or its host answers:
    an offline download can hang on a silent network, so unreachable hosts are given up in seconds."""
    from torchvision.models import get_model_weights

    weights = get_model_weights(backbone).DEFAULT
    url = urlparse(weights.url)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(url.path).name
    if not cached.is_file() and not host_reachable(url.hostname):
        raise ConnectionError(f"{url.hostname} unreachable and {cached.name} not in {cached.parent}")
    return weights


def _weights_or_none(make, what: str, request: BuildRequest):
    """``make(weights)`` with the backbone's ImageNet weights (torch hub cache first, then download), else
    ``make(None)``: random init, with a warning when weights were asked for."""
    return load_pretrained(what, request, lambda: make(_imagenet_weights(request.backbone)), lambda: make(None))


def _stem(backbone: str) -> str:
    """The first convolution of a torchvision classifier's trunk, as the detection and segmentation backbones built
    from it name it: a ResNet's conv1, a MobileNet's features[0][0]."""
    return "0.0" if backbone.startswith("mobilenet") else "conv1"


def _anchor_sizes(chip_size, defaults=(32, 64, 128, 256, 512)) -> tuple[int, ...]:
    """torchvision's anchors assume images resized to 800 px; chips are used at their own size, so anchors shrink
    with small chips (never below 8 px)."""
    factor = min(1.0, max(0.25, min(chip_size) / 512))
    return tuple(max(8, round(s * factor)) for s in defaults)


def _fpn_backbone(request: BuildRequest, spec_name: str, **fpn_options):
    from torchvision.ops import misc
    from torchvision.models.detection.backbone_utils import mobilenet_backbone, resnet_fpn_backbone

    def make(weights):
        pretrained = weights is not None
        norm = misc.FrozenBatchNorm2d if pretrained else nn.BatchNorm2d  # frozen stats only mean something pretrained
        layers = 3 if pretrained else 5
        if request.backbone.startswith("mobilenet"):
            return mobilenet_backbone(backbone_name=request.backbone, weights=weights, fpn=True, norm_layer=norm,
                                      trainable_layers=3 if pretrained else 6)
        return resnet_fpn_backbone(backbone_name=request.backbone, weights=weights, norm_layer=norm,
                                   trainable_layers=layers, **fpn_options)

    return _weights_or_none(make, f"{spec_name} backbone {request.backbone}", request)


def _transform_options(request: BuildRequest) -> dict:
    # chips are already normalised and must not be resized
    return {"min_size": min(request.chip_size), "max_size": max(request.chip_size),
            "image_mean": [0.0] * request.in_channels, "image_std": [1.0] * request.in_channels}


def _rcnn(spec, request: BuildRequest, masks: bool):
    from torchvision.models.detection import FasterRCNN, MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator

    backbone = _fpn_backbone(request, spec.name)
    levels = len(backbone.fpn.layer_blocks) + 1  # + the max-pool level
    sizes = _anchor_sizes(request.chip_size)[:levels]
    anchors = AnchorGenerator(tuple((s,) for s in sizes), ((0.5, 1.0, 2.0),) * len(sizes))
    model_class = MaskRCNN if masks else FasterRCNN
    return model_class(backbone, num_classes=request.num_classes + 1, rpn_anchor_generator=anchors,
                       **_proposal_options(request.chip_size), **_transform_options(request))


def _proposal_options(chip_size) -> dict:
    """torchvision's proposal counts are sized for 800 px images; small chips hold few objects, and sampling 512
    regions per chip would spend most of the time in the box head."""
    share = min(1.0, max(0.15, chip_size[0] * chip_size[1] / 512 ** 2))
    return {"rpn_pre_nms_top_n_train": int(2000 * share), "rpn_post_nms_top_n_train": int(2000 * share),
            "rpn_pre_nms_top_n_test": int(1000 * share), "rpn_post_nms_top_n_test": int(1000 * share),
            "box_batch_size_per_image": max(64, int(512 * share))}


def _retinanet(spec, request: BuildRequest):
    from torchvision.models.detection import RetinaNet
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    if request.backbone.startswith("mobilenet"):
        raise ValueError("RetinaNet is built on ResNet backbones here")
    backbone = _fpn_backbone(request, spec.name, returned_layers=[2, 3, 4], extra_blocks=LastLevelP6P7(256, 256))
    sizes = _anchor_sizes(request.chip_size)
    anchors = AnchorGenerator(tuple((s, int(s * 2 ** (1 / 3)), int(s * 2 ** (2 / 3))) for s in sizes),
                              ((0.5, 1.0, 2.0),) * len(sizes))
    return RetinaNet(backbone, num_classes=request.num_classes + 1, anchor_generator=anchors,
                     **_transform_options(request))


# SSD trunks: an ImageNet classifier cut into (input -> stride 16, stride 16 -> 32), keyed by backbone family,
# and the index in the first part whose output is at stride 8
_SSD_TRUNKS = {
    "resnet": lambda net: (nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2,
                                         net.layer3), net.layer4),
    "mobilenet_v3": lambda net: (net.features[:13], net.features[13:]),
}
_SSD_STRIDE_8 = {"resnet": 5, "mobilenet_v3": 6}


class _SsdFeatures(nn.Module):
    """A classification trunk cut at stride 16 and 32 (and tapped at stride 8 for small objects), plus extra stride-2
    blocks down to about 1 px, as many as the chip size allows: the feature pyramid SSD predicts from."""

    def __init__(self, trunk: tuple[nn.Module, nn.Module], channels: tuple[int, ...], extra_levels: int,
                 stride_8: int | None = None):
        super().__init__()
        self.stem_to_16, self.to_32 = trunk
        self.stride_8 = stride_8  # index of stem_to_16's module whose output is a level too (None: from stride 16)
        self.extras = nn.ModuleList()
        self.out_channels = list(channels) + [256] * extra_levels  # SSD's heads are sized from this
        in_ch = channels[-1]
        for _ in range(extra_levels):
            self.extras.append(nn.Sequential(nn.Conv2d(in_ch, 128, 1), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
                                             nn.Conv2d(128, 256, 3, stride=2, padding=1), nn.BatchNorm2d(256),
                                             nn.ReLU(inplace=True)))
            in_ch = 256

    def forward(self, x):
        levels = []
        if self.stride_8 is None:
            x = self.stem_to_16(x)
        else:
            for i, module in enumerate(self.stem_to_16):
                x = module(x)
                if i == self.stride_8:
                    levels.append(x)
        levels.append(x)
        x = self.to_32(x)
        levels.append(x)
        for block in self.extras:
            x = block(x)
            levels.append(x)
        return OrderedDict((str(i), level) for i, level in enumerate(levels))


def _ssd(spec, request: BuildRequest):
    import torchvision
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    from torchvision.models.detection.ssd import SSD

    def make(weights):
        return getattr(torchvision.models, request.backbone)(weights=weights)

    net = _weights_or_none(make, f"{spec.name} backbone {request.backbone}", request)
    family = next(f for f in _SSD_TRUNKS if request.backbone.startswith(f))
    to_16, to_32 = _SSD_TRUNKS[family](net)
    stride_8 = None if request.object_size is None else _SSD_STRIDE_8[family]
    with torch.no_grad():  # the widths SSD's heads need, from a dry run
        was_training = net.training
        net.eval()
        probe = to_16(torch.zeros(1, 3, 64, 64))
        channels = (probe.shape[1], to_32(probe).shape[1])
        if stride_8 is not None:
            channels = (to_16[:stride_8 + 1](torch.zeros(1, 3, 64, 64)).shape[1], *channels)
        net.train(was_training)
    extra_levels = max(0, min(3, int(math.log2(max(1, min(request.chip_size) // 32)))))
    features = _SsdFeatures((to_16, to_32), channels, extra_levels, stride_8)
    levels = len(channels) + extra_levels
    if request.object_size is None:  # the classic layout: default boxes 0.1 to 0.9 of the chip's side from stride 16
        anchors = DefaultBoxGenerator([[2]] * levels, min_ratio=0.1, max_ratio=0.9)
    else:
        anchors = DefaultBoxGenerator([[2]] * levels, scales=_ssd_scales(request.object_size, levels))
    width_height = (request.chip_size[1], request.chip_size[0])  # SSD's fixed size is (W, H): chips kept as they are
    return SSD(features, anchors, width_height, num_classes=request.num_classes + 1,
               **{k: v for k, v in _transform_options(request).items() if k.startswith("image_")})


def _ssd_scales(object_size: float, levels: int, largest: float = 0.95) -> list[float]:
    """Default box sizes (shares of the chip's side) of SSD's levels fitted to the objects: the finest level's boxes
    are the objects' size, then geometric steps up to ``largest``. SSD's classic linear 0.1 to 0.9 from stride 16
    matched the palm crowns (about a tenth of the chip's side) with 2.3 default boxes each at IoU 0.5 or more, and
    22 % with none; from stride 8 starting at the crowns' size, 11 each and 15 % with none (torchvision's
    DefaultBoxGenerator and box_iou on the boxes of palm_pascal_voc_west at scale 0.75)."""
    smallest = min(max(object_size, 0.02), 0.5)
    return [smallest * (largest / smallest) ** (k / (levels - 1)) for k in range(levels)] + [1.0]


def _deeplab(spec, request: BuildRequest):
    from torchvision.models import segmentation

    builder = getattr(segmentation, f"deeplabv3_{request.backbone}")

    def make(weights):
        return builder(weights=None, weights_backbone=weights, num_classes=request.num_classes + 1, aux_loss=True)

    return _weights_or_none(make, f"{spec.name} backbone {request.backbone}", request)


class DetectionAdapter(ModelAdapter):
    task = "object_detection"

    def __init__(self, model: nn.Module, uses_masks: bool, first_conv: str):
        super().__init__()
        self.model, self.uses_masks, self.first_conv = model, uses_masks, first_conv

    def losses(self, images, targets):
        keys = ("boxes", "labels", "masks") if self.uses_masks else ("boxes", "labels")
        return self.model(list(images), [{k: t[k] for k in keys} for t in targets])

    def predict(self, images):
        return self.model(list(images))


class DeepLabAdapter(ModelAdapter):
    task = "pixel_classification"

    def __init__(self, model: nn.Module, first_conv: str):
        super().__init__()
        self.model, self.first_conv = model, first_conv

    def losses(self, images, targets):
        out = self.model(images)
        return {"loss_ce": F.cross_entropy(out["out"], targets),
                "loss_aux": 0.5 * F.cross_entropy(out["aux"], targets)}

    def predict(self, images):
        return self.model(images)["out"]


def _fpn_stem(request: BuildRequest) -> str:
    return f"model.backbone.body.{_stem(request.backbone)}"


def _ssd_stem(request: BuildRequest) -> str:
    # _SsdFeatures.stem_to_16 is a ResNet's stem modules in a Sequential, or a MobileNet's features[:13]
    return "model.backbone.stem_to_16." + ("0.0" if request.backbone.startswith("mobilenet") else "0")


_BUILDERS = {
    "fasterrcnn": lambda spec, request: DetectionAdapter(_rcnn(spec, request, masks=False), False,
                                                         _fpn_stem(request)),
    "maskrcnn": lambda spec, request: DetectionAdapter(_rcnn(spec, request, masks=True), True, _fpn_stem(request)),
    "retinanet": lambda spec, request: DetectionAdapter(_retinanet(spec, request), False, _fpn_stem(request)),
    "ssd": lambda spec, request: DetectionAdapter(_ssd(spec, request), False, _ssd_stem(request)),
    "deeplabv3": lambda spec, request: DeepLabAdapter(_deeplab(spec, request),
                                                      f"model.backbone.{_stem(request.backbone)}"),
}


def build(spec, request: BuildRequest) -> ModelAdapter:
    adapter = _BUILDERS[spec.config](spec, request)
    adapt_input_conv(adapter, adapter.first_conv, request.in_channels)
    return adapter
