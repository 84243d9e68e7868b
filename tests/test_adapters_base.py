"""What every network adapter shares (networks/adapters/base.py): pretrained weights or random initialisation with
one warning, other libraries' settings changed only for a block, the first convolution widened to the bands."""
import logging
import warnings

import pytest
import torch

from autodl_qgis.engine.networks.adapters import base, openmmlab
from autodl_qgis.engine.networks.adapters.base import (BuildRequest, WeightsUnavailable, adapt_input_conv,
                                                     load_pretrained)


def _request(pretrained=True):
    return BuildRequest(num_classes=2, in_channels=3, chip_size=(64, 64), backbone="resnet18", pretrained=pretrained)


def _fails(exc):
    def pretrained():
        raise exc
    return pretrained


def test_pretrained_weights_or_random_initialisation_with_one_warning():
    assert load_pretrained("Net", _request(), lambda: "pretrained", lambda: "random") == "pretrained"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not asked for: no warning, and the pretrained builder is never called
        assert load_pretrained("Net", _request(False), _fails(AssertionError()), lambda: "random") == "random"
    with pytest.warns(RuntimeWarning) as caught:
        assert load_pretrained("Net", _request(), _fails(OSError("no\n   such file")), lambda: "random") == "random"
        load_pretrained("Net", _request(), _fails(WeightsUnavailable("host unreachable")), lambda: "random")
    assert [str(w.message) for w in caught] == [
        f"Net: pretrained weights unavailable ({reason}); starting from random initialisation, which needs more data "
        "and time to reach the same accuracy" for reason in ("OSError: no such file", "host unreachable")]


def test_random_batch_norm_statistics_follow_the_data_pretrained_ones_keep_their_rate():
    def network():  # MobileNetV3's BatchNorm rate (0.01), a default one, and one that averages all batches
        return torch.nn.Sequential(torch.nn.BatchNorm2d(4, momentum=0.01), torch.nn.BatchNorm2d(4),
                                   torch.nn.BatchNorm2d(4, momentum=None))

    random = load_pretrained("Net", _request(False), network, network)
    assert [m.momentum for m in random] == [0.1, 0.1, None]
    with pytest.warns(RuntimeWarning):  # pretrained weights asked for but unavailable: random as well
        assert load_pretrained("Net", _request(), _fails(OSError("offline")), network)[0].momentum == 0.1
    assert load_pretrained("Net", _request(), network, network)[0].momentum == 0.01


def test_a_randomly_initialised_mobilenet_keeps_no_slow_batch_norm():
    from autodl_qgis.engine.networks import build_network

    network = build_network("DeepLab", 1, 3, (64, 64), "mobilenet_v3_large", pretrained=False)
    rates = {m.momentum for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert rates == {0.1}


def test_other_libraries_settings_are_restored_after_building(monkeypatch):
    import huggingface_hub.constants as hub
    from mmengine.logging import MMLogger

    monkeypatch.setattr(base, "host_reachable", lambda host: False)
    before = hub.HF_HUB_OFFLINE
    with pytest.raises(RuntimeError), base.hugging_face_offline_unless_reachable():
        assert hub.HF_HUB_OFFLINE is True  # offline: the hub's cache only, no half-minute retries
        raise RuntimeError("a build that failed")
    assert hub.HF_HUB_OFFLINE == before
    logger = MMLogger.get_current_instance()
    level = logger.level
    with openmmlab._quiet_mmengine():
        assert logger.level == logging.WARNING
    assert logger.level == level


def test_the_declared_first_convolution_takes_the_bands_keeping_rgb_filters():
    model = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3)), torch.nn.Conv2d(8, 8, 3))
    rgb = model[0][0].weight.detach().clone()
    adapt_input_conv(model, "0.0", 5)
    conv = model.get_submodule("0.0")
    assert conv.in_channels == 5 and model[1].in_channels == 8
    torch.testing.assert_close(conv.weight[:, :3], rgb * 3 / 5)  # scaled so that activations keep their size
    torch.testing.assert_close(conv.weight[:, 3:], rgb.mean(1, keepdim=True).repeat(1, 2, 1, 1) * 3 / 5)
