"""segmentation-models-pytorch: UnetClassifier (Unet), DeepLabV3Plus, PSPNetClassifier."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .base import BuildRequest, ModelAdapter, hugging_face_offline_unless_reachable, load_pretrained


class SmpAdapter(ModelAdapter):
    task = "pixel_classification"

    def __init__(self, model: nn.Module, stride: int):
        super().__init__()
        self.model, self.stride = model, stride

    def _scores(self, images: torch.Tensor) -> torch.Tensor:
        # the encoders need sizes divisible by their output stride (32 for Unet, 16 for DeepLabV3Plus, 8 for PSPNet's
        # three-stage encoder): pad, then crop the scores back
        height, width = images.shape[-2:]
        pad_h, pad_w = -height % self.stride, -width % self.stride
        if pad_h or pad_w:
            reflect = pad_h < height and pad_w < width  # reflection needs more pixels than it adds
            images = F.pad(images, (0, pad_w, 0, pad_h), mode="reflect" if reflect else "constant")
        return self.model(images)[..., :height, :width]

    def losses(self, images, targets):
        return {"loss_ce": F.cross_entropy(self._scores(images), targets)}

    def predict(self, images):
        return self._scores(images)


def build(spec, request: BuildRequest) -> SmpAdapter:
    import segmentation_models_pytorch as smp

    architecture = getattr(smp, spec.config)

    def make(weights):
        return architecture(encoder_name=request.backbone, encoder_weights=weights,
                            in_channels=request.in_channels, classes=request.num_classes + 1)

    def pretrained():
        with hugging_face_offline_unless_reachable():
            return make("imagenet")

    # smp builds its encoders for the bands itself (its first convolution keeps the RGB filters)
    model = load_pretrained(f"{spec.name} encoder {request.backbone}", request, pretrained, lambda: make(None))
    return SmpAdapter(model, stride=model.encoder.output_stride)
