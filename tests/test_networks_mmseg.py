"""Every MMSegmentation network of the registry builds for the data, trains two steps and predicts class scores;
backbone variants fit the configs mmseg ships for them; pretrained weights come from the local cache or not at all,
without waiting."""
import warnings

import pytest
import torch

from autodl_qgis.engine.networks import NETWORKS, build_network

MMSEG = [name for name, spec in NETWORKS.items() if spec.library == "mmseg"]
FOUR_BANDS = {"ANN", "CGNet", "FastSCNN", "MobileNetV2", "SemFPN", "OCRNet"}  # the rest use three
# the lightest backbone each network offers keeps the file short on a busy CPU; the defaults (ResNet-50,
# HRNetV2-W18) differ from these in depth / width only (checked against mmseg's configs below), and train here for
# one network of each kind
LIGHT = ("resnet18", "hrnetv2_w18_small")
DEFAULTS = ("FCN", "OCRNet", "Mask2Former")


def _light(name: str) -> str:
    spec = NETWORKS[name]
    return next((b for b in LIGHT if b in spec.backbones), spec.default_backbone)


CASES = [(name, _light(name)) for name in MMSEG] + [(name, NETWORKS[name].default_backbone) for name in DEFAULTS]


@pytest.mark.parametrize("name, backbone", CASES)
def test_mmseg_network_trains_and_predicts(name, backbone):
    bands = 4 if name in FOUR_BANDS else 3
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_network(name, num_classes=2, in_channels=bands, chip_size=(64, 64), backbone=backbone,
                              pretrained=False)
    assert all(p.requires_grad for p in model.parameters())  # from random init nothing is frozen
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.randn(2, bands, 64, 64)
    targets = torch.randint(0, 3, (2, 64, 64))
    first_conv = model.get_submodule(model.first_conv)  # the convolution the network declares as taking the bands
    assert isinstance(first_conv, torch.nn.Conv2d) and first_conv.in_channels == bands
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
    assert not torch.equal(scores, scores.round())  # scores, not labels


def _fitted(name: str, backbone: str):
    """The model config the adapter builds for ``name`` with ``backbone`` (no model built)."""
    import mmseg

    from autodl_qgis.engine.networks.adapters import mmseg as adapter
    from autodl_qgis.engine.networks.adapters.openmmlab import load_model_config

    config = load_model_config(mmseg, NETWORKS[name].config)
    adapter._set_backbone(config, backbone)
    return config


def _mmseg_config(relative: str):
    import mmseg

    from autodl_qgis.engine.networks.adapters.openmmlab import load_model_config

    return load_model_config(mmseg, relative)


def _head_widths(config) -> list:
    heads = config.decode_head if isinstance(config.decode_head, list) else [config.decode_head]
    return [(h["in_channels"], h["channels"]) for h in heads]


@pytest.mark.parametrize("name, backbone, reference", [
    ("HRNet", "hrnetv2_w48", "hrnet/fcn_hr48_4xb2-40k_cityscapes-512x1024.py"),
    ("HRNet", "hrnetv2_w18_small", "hrnet/fcn_hr18s_4xb2-40k_cityscapes-512x1024.py"),
    ("OCRNet", "hrnetv2_w48", "ocrnet/ocrnet_hr48_4xb2-40k_cityscapes-512x1024.py"),
    ("OCRNet", "hrnetv2_w18_small", "ocrnet/ocrnet_hr18s_4xb2-40k_cityscapes-512x1024.py"),
])
def test_hrnet_widths_match_mmseg_configs(name, backbone, reference):
    fitted, expected = _fitted(name, backbone), _mmseg_config(reference)
    assert fitted.backbone.extra == expected.backbone.extra
    assert _head_widths(fitted) == _head_widths(expected)
    assert fitted.pretrained == expected.pretrained  # open-mmlab://msra/hrnetv2_w48 ...


def test_backbone_variants_match_mmseg_configs():
    # ResNet-18 / 101: the widths of mmseg's own r18 / r101 configs, and the checkpoint of that depth
    fcn18 = _fitted("FCN", "resnet18")
    assert fcn18.backbone.depth == 18 and fcn18.pretrained == "open-mmlab://resnet18_v1c"
    assert (fcn18.decode_head.in_channels, fcn18.auxiliary_head.in_channels) == (512, 256)  # fcn_r18-d8 config's
    upernet = _fitted("UperNet", "resnet101")
    assert upernet.pretrained == "open-mmlab://resnet101_v1c"
    assert upernet.decode_head.in_channels == [256, 512, 1024, 2048] and upernet.auxiliary_head.in_channels == 1024
    assert _fitted("UperNet", "resnet18").decode_head.in_channels == [64, 128, 256, 512]
    semfpn = _fitted("SemFPN", "resnet18")  # the neck reads the backbone; the head reads the neck
    assert semfpn.neck.in_channels == [64, 128, 256, 512] and semfpn.decode_head.in_channels == [256] * 4
    mask2former = _fitted("Mask2Former", "resnet34")
    assert mask2former.backbone.init_cfg.checkpoint == "torchvision://resnet34"
    assert mask2former.decode_head.in_channels == [64, 128, 256, 512]


def test_pretrained_offline_falls_back_fast(tmp_path, monkeypatch, connections):
    from autodl_qgis.engine.networks.adapters import openmmlab as adapter

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # an empty cache
    monkeypatch.setattr(adapter, "host_reachable", lambda host, *a, **k: False)
    with pytest.warns(RuntimeWarning, match="resnet18_v1c.*unreachable"):
        model = build_network("FCN", 2, 3, (64, 64), "resnet18", pretrained=True)
    assert connections == []  # nothing waited for a host that had already been found unreachable
    assert model.predict(torch.randn(1, 3, 64, 64)).shape == (1, 3, 64, 64)


@pytest.mark.parametrize("name, backbone, file, prefix", [
    ("FCN", "resnet18", "resnet18_v1c-b5776b93.pth", ""),  # open-mmlab://resnet18_v1c
    ("MobileNetV2", "mobilenet_v2", "mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth", "backbone."),  # mmcls://
])
def test_pretrained_from_local_cache_keeps_rgb_filters_for_more_bands(tmp_path, monkeypatch, name, backbone, file,
                                                                      prefix):
    from autodl_qgis.engine.networks.adapters import openmmlab as adapter

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(adapter, "host_reachable", lambda host, *a, **k: False)  # the cache or nothing
    torch.manual_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weights = build_network(name, 2, 3, (64, 64), backbone, pretrained=False).model.backbone.state_dict()
    (tmp_path / "checkpoints").mkdir()  # stands for the published weights, as the cache holds them
    torch.save({"state_dict": {prefix + k: v for k, v in weights.items()}}, tmp_path / "checkpoints" / file)
    torch.manual_seed(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback to random init
        warnings.filterwarnings("ignore", category=UserWarning)
        model = build_network(name, 2, 4, (64, 64), backbone, pretrained=True)
    loaded = model.model.backbone.state_dict()
    first = model.get_submodule(model.first_conv)
    assert first.in_channels == 4
    first_key = next(k for k in weights if k.endswith("weight") and weights[k].dim() == 4)
    torch.testing.assert_close(first.weight[:, :3], weights[first_key] * 3 / 4)  # kept, scaled for the 4th band
    last_key = [k for k in weights if k.endswith("weight") and weights[k].dim() == 4][-1]
    torch.testing.assert_close(loaded[last_key], weights[last_key])
