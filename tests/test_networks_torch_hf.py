"""The torchvision, segmentation-models-pytorch, transformers and Segment Anything networks of the registry: each
builds for the data, trains two steps (gradients reach the first layer) and predicts in the engine's format."""
import time
import warnings

import pytest
import torch

from autodl_qgis.engine.networks import NETWORKS, build_network
from autodl_qgis.engine.networks.adapters import segment_anything

LIBRARIES = ("torchvision", "smp", "transformers", "segment_anything")
NAMES = [name for name, spec in NETWORKS.items() if spec.library in LIBRARIES]
FOUR_BANDS = {"FasterRCNN", "UnetClassifier", "SamLoRA", "RTDetrV2", "SingleShotDetector"}
# smaller backbones where the registry offers them, to keep the suite CPU-sized
TEST_BACKBONE = {"RetinaNet": "resnet18", "FasterRCNN": "resnet18", "MaskRCNN": "resnet18",
                 "SingleShotDetector": "resnet18", "RTDetrV2": "resnet18", "UnetClassifier": "resnet18",
                 "DeepLabV3Plus": "resnet18", "PSPNetClassifier": "resnet18", "DeepLab": "mobilenet_v3_large"}


def _targets(masks: bool):
    targets = [{"boxes": torch.tensor([[5.0, 5, 20, 20], [30, 30, 50, 45]]), "labels": torch.tensor([1, 2])},
               {"boxes": torch.tensor([[10.0, 12, 30, 40]]), "labels": torch.tensor([2])}]
    if masks:
        for target in targets:
            target["masks"] = torch.zeros(len(target["boxes"]), 64, 64, dtype=torch.uint8)
            for mask, (x0, y0, x1, y1) in zip(target["masks"], target["boxes"].int().tolist()):
                mask[y0:y1, x0:x1] = 1
    return targets


@pytest.mark.parametrize("name", NAMES)
def test_network_trains_and_predicts(name):
    spec = NETWORKS[name]
    bands = 4 if name in FOUR_BANDS else 3
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_network(name, num_classes=2, in_channels=bands, chip_size=(64, 64),
                              backbone=TEST_BACKBONE.get(name), pretrained=False)
    first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == bands
    detection = spec.task == "object_detection"
    targets = _targets(name == "MaskRCNN") if detection else torch.randint(0, 3, (2, 64, 64))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    images = torch.randn(2, bands, 64, 64)
    model.train()
    for _ in range(2):
        optimizer.zero_grad()
        loss = sum(model.losses(images, targets).values())
        assert torch.isfinite(loss)
        loss.backward()
        optimizer.step()
    trainable_first = next(p for p in model.parameters() if p.requires_grad and p.dim() == 4)
    assert trainable_first.grad is not None and trainable_first.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        predictions = model.predict(torch.randn(2, bands, 64, 64))
    if detection:
        for found in predictions:
            assert found["boxes"].shape[1:] == (4,) and len(found["scores"]) == len(found["labels"])
            assert found["labels"].numel() == 0 or (1 <= found["labels"].min() and found["labels"].max() <= 2)
    else:
        assert predictions.shape == (2, 3, 64, 64)


@pytest.mark.parametrize("name,backbone", [("FasterRCNN", "resnet18"), ("UnetClassifier", "resnet18"),
                                           ("RTDetrV2", "resnet18"), ("SamLoRA", "vit_b"), ("FCN", "resnet50")])
def test_pretrained_weights_offline_fall_back_quickly_with_a_warning(name, backbone, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty weights cache
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("AUTODL_SAM_CHECKPOINT", str(tmp_path / "absent.pth"))
    start = time.monotonic()
    with pytest.warns(RuntimeWarning, match="pretrained weights unavailable"):
        build_network(name, num_classes=2, in_channels=3, chip_size=(64, 64), backbone=backbone, pretrained=True)
    assert time.monotonic() - start < 15


def test_sam_checkpoint_tensors_are_resized_to_the_chips():
    from segment_anything.modeling import ImageEncoderViT

    def encoder(size):
        return ImageEncoderViT(img_size=size, embed_dim=64, depth=2, num_heads=2, global_attn_indexes=(1,),
                               use_rel_pos=True, window_size=4, out_chans=32)

    big, small = encoder(128), encoder(64)
    fitted = segment_anything._resize_for(big.state_dict(), small)
    small.load_state_dict(fitted, strict=True)
    assert fitted["pos_embed"].shape == small.pos_embed.shape == (1, 4, 4, 64)
