"""The torchvision, segmentation-models-pytorch, transformers and Segment Anything networks of the registry: each
builds for the data, trains two steps (gradients reach the first layer) and predicts in the engine's format; pretrained
weights that cannot be had fall back to random init quickly, with a warning.

CPU-sized: ResNet-18 where the registry offers it (DeepLab: mobilenet_v3_large), and SamLoRA's ViT-B shrunk to a tiny
SAM-like encoder (width 64, 2 blocks, 2 heads) through the adapter's ``_VITS`` table."""
import functools
import importlib
import warnings

import pytest
import torch

from autodl_qgis.engine.networks import NETWORKS, build_network
from autodl_qgis.engine.networks.adapters import base
from autodl_qgis.engine.networks.adapters import segment_anything as sam_adapter
from conftest import Logged

LIBRARIES = ("torchvision", "smp", "transformers", "segment_anything")
NAMES = [name for name, spec in NETWORKS.items() if spec.library in LIBRARIES]
FOUR_BANDS = {"SingleShotDetector", "FasterRCNN", "RTDetrV2", "DeepLab", "UnetClassifier", "SamLoRA"}
TEST_BACKBONE = {"SingleShotDetector": "resnet18", "RetinaNet": "resnet18", "FasterRCNN": "resnet18",
                 "MaskRCNN": "resnet18", "RTDetrV2": "resnet18", "UnetClassifier": "resnet18",
                 "DeepLabV3Plus": "resnet18", "PSPNetClassifier": "resnet18", "DeepLab": "mobilenet_v3_large",
                 "SamLoRA": "vit_b"}
VIT_B = sam_adapter._VITS["vit_b"]
TINY_SAM = (64, 2, 2, (1,), VIT_B[4])  # width, blocks, heads, global blocks, file name


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These networks run tiny tensors through many small ops: one thread is as fast, and on a busy two-core machine
    OpenMP's spinning threads make each step up to a hundred times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def tiny_sam(monkeypatch):
    monkeypatch.setitem(sam_adapter._VITS, "vit_b", TINY_SAM)


def _targets(size, masks: bool = False):
    height, width = size
    targets = [{"boxes": torch.tensor([[5.0, 5, 20, 20], [30, 30, 50, 45]]), "labels": torch.tensor([1, 2])},
               {"boxes": torch.tensor([[10.0, 12, 30, 40]]), "labels": torch.tensor([2])}]
    if masks:
        for target in targets:
            target["masks"] = torch.zeros(len(target["boxes"]), height, width, dtype=torch.uint8)
            for mask, (x0, y0, x1, y1) in zip(target["masks"], target["boxes"].int().tolist()):
                mask[y0:y1, x0:x1] = 1
    return targets


def _build(name, bands, size=(64, 64), **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_network(name, num_classes=2, in_channels=bands, chip_size=size,
                             backbone=TEST_BACKBONE[name], pretrained=False, **options)


def _check_predictions(spec, predictions, size):
    if spec.task == "object_detection":
        assert len(predictions) == 2
        for found in predictions:
            assert found["boxes"].shape[1:] == (4,) and len(found["scores"]) == len(found["labels"])
            assert found["labels"].dtype == torch.int64
            assert found["labels"].numel() == 0 or (1 <= found["labels"].min() and found["labels"].max() <= 2)
    else:
        assert predictions.shape == (2, 3) + tuple(size)


@pytest.mark.parametrize("name", NAMES)
def test_network_trains_and_predicts(name):
    spec = NETWORKS[name]
    bands = 4 if name in FOUR_BANDS else 3
    torch.manual_seed(0)
    model = _build(name, bands)
    # the convolution the network declares as taking the bands (smp builds its encoders for them itself)
    first_conv = model.get_submodule(model.first_conv) if model.first_conv else \
        next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert isinstance(first_conv, torch.nn.Conv2d) and first_conv.in_channels == bands
    assert bool(model.first_conv) == (spec.library != "smp")
    detection = spec.task == "object_detection"
    targets = _targets((64, 64), name == "MaskRCNN") if detection else torch.randint(0, 3, (2, 64, 64))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    images = torch.randn(2, bands, 64, 64)
    model.train()
    for _ in range(2):
        optimizer.zero_grad()
        loss = sum(model.losses(images, targets).values())
        assert torch.isfinite(loss)
        loss.backward()
        optimizer.step()
    # the first trainable tensor (SamLoRA with three bands: the first LoRA, its encoder being frozen) learns
    first = next(p for p in model.parameters() if p.requires_grad)
    assert first.grad is not None and first.grad.abs().sum() > 0
    if bands != 3:  # the new band filters learn
        assert first_conv.weight.grad is not None and first_conv.weight.grad[:, 3].abs().sum() > 0
    model.eval()
    with torch.no_grad():
        _check_predictions(spec, model.predict(torch.randn(2, bands, 64, 64)), (64, 64))


@pytest.mark.parametrize("name,size", [("PSPNetClassifier", (40, 72)), ("SamLoRA", (40, 72)),
                                       ("SingleShotDetector", (48, 80))])
def test_chips_of_any_size_are_kept_as_they_are(name, size):
    spec = NETWORKS[name]
    model = _build(name, 3, size)
    images = torch.randn(2, 3, *size)
    targets = _targets(size) if spec.task == "object_detection" else torch.randint(0, 3, (2, *size))
    model.train()
    assert torch.isfinite(sum(model.losses(images, targets).values()))
    model.eval()
    with torch.no_grad():
        _check_predictions(spec, model.predict(images), size)
    if name == "SingleShotDetector":  # SSD's transform resizes to a fixed size: the chip's own, not transposed
        assert model.model.transform(list(images))[0].tensors.shape[-2:] == size


@pytest.mark.parametrize("name", ["SamLoRA", "PSPNetClassifier"])
def test_pixel_networks_predict_tiles_larger_than_their_chips(name):
    model = _build(name, 3, (64, 64)).eval()
    with torch.no_grad():
        assert model.predict(torch.randn(2, 3, 100, 150)).shape == (2, 3, 100, 150)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No weights host answers and every weights cache is empty, whatever this machine has."""
    import huggingface_hub.constants

    unreachable = functools.lru_cache(maxsize=None)(lambda host, port=443, timeout=2.0: False)
    monkeypatch.setattr(base, "host_reachable", unreachable)
    monkeypatch.setattr(importlib.import_module("autodl_qgis.engine.networks.adapters.torchvision"),
                        "host_reachable", unreachable)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("AUTODL_SAM_CHECKPOINT", str(tmp_path / "absent.pth"))


@pytest.mark.parametrize("name,backbone", [("SingleShotDetector", "resnet18"), ("FasterRCNN", "resnet18"),
                                           ("DeepLab", "mobilenet_v3_large"), ("UnetClassifier", "resnet18"),
                                           ("RTDetrV2", "resnet18"), ("SamLoRA", "vit_b")])
def test_pretrained_weights_offline_fall_back_quickly_with_a_warning(name, backbone, offline, connections):
    with pytest.warns(RuntimeWarning, match="pretrained weights unavailable"):
        model = build_network(name, num_classes=2, in_channels=3, chip_size=(64, 64), backbone=backbone,
                              pretrained=True)
    assert connections == []  # nothing waited for a host that had already been found unreachable
    assert any(p.requires_grad for p in model.parameters())



def test_the_offline_warning_reaches_the_training_log_translatable(offline, synthetic):
    # a Japanese QGIS showed this line in English: the candidate's log passed the warning on as plain text
    from autodl_qgis.engine.data import CLASSIFIED_TILES, TrainingData
    from autodl_qgis.engine.messages import Message
    from autodl_qgis.engine.train import TrainConfig
    from autodl_qgis.engine.train.candidate import TrainRequest, train_candidate

    logged = []
    data = TrainingData.open(synthetic(CLASSIFIED_TILES, num_chips=8))
    request = TrainRequest("UnetClassifier", "resnet18", TrainConfig(max_epochs=1, batch_size=4), pretrained=True)
    candidate = train_candidate(data, request, torch.device("cpu"), callbacks=Logged(logged))
    warning = next(line for line in logged if line.startswith("warning: "))
    note = warning.values["note"]
    assert isinstance(note, Message) and note.template.startswith("{what}: pretrained weights unavailable")
    assert warning.event_fields()["values"]["note"]["template"] == note.template  # QGIS translates it too
    assert candidate.warnings == [note] and candidate.result.best_metric is not None

def test_cached_torchvision_weights_load_offline(offline, tmp_path):
    from torchvision.models import ResNet18_Weights, resnet18
    from torchvision.ops import FrozenBatchNorm2d

    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    weights = resnet18().state_dict()
    torch.save(weights, cache / ResNet18_Weights.DEFAULT.url.rsplit("/", 1)[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = build_network("FasterRCNN", num_classes=2, in_channels=3, chip_size=(64, 64), backbone="resnet18",
                              pretrained=True)
    body = model.model.backbone.body
    assert torch.equal(body.conv1.weight, weights["conv1.weight"]) and isinstance(body.bn1, FrozenBatchNorm2d)


def test_hugging_face_rt_detr_checkpoint_loads_for_the_data(offline, monkeypatch, tmp_path):
    """The pretrained path, from a local copy of a (tiny, 80-class, 640 px) RT-DETRv2 checkpoint: new class heads
    with RT-DETR's prior, anchors for the chips, extra bands."""
    from transformers import RTDetrResNetConfig, RTDetrV2Config, RTDetrV2ForObjectDetection

    from autodl_qgis.engine.networks.adapters import transformers as rt_adapter

    backbone = RTDetrResNetConfig(layer_type="basic", depths=[1, 1, 1, 1], hidden_sizes=[64, 128, 256, 512],
                                  out_features=["stage2", "stage3", "stage4"])
    config = RTDetrV2Config(backbone_config=backbone, encoder_in_channels=[128, 256, 512], decoder_layers=2,
                            anchor_image_size=[640, 640])
    RTDetrV2ForObjectDetection(config).save_pretrained(tmp_path / "rtdetr")
    local = rt_adapter._RESNETS["resnet18"][:3] + (str(tmp_path / "rtdetr"),)  # instead of the hub's repository
    monkeypatch.setitem(rt_adapter._RESNETS, "resnet18", local)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = build_network("RTDetrV2", num_classes=2, in_channels=4, chip_size=(64, 64), backbone="resnet18",
                              pretrained=True)
    assert model.model.config.num_labels == 2 and model.model.config.anchor_image_size is None
    assert torch.allclose(model.model.model.enc_score_head.bias, torch.tensor(-4.5951), atol=1e-4)
    images = torch.randn(2, 4, 64, 64)
    model.train()
    assert torch.isfinite(sum(model.losses(images, _targets((64, 64))).values()))
    model.eval()
    with torch.no_grad():
        _check_predictions(NETWORKS["RTDetrV2"], model.predict(images), (64, 64))


def test_sam_vit_b_at_its_real_size(monkeypatch):
    monkeypatch.setitem(sam_adapter._VITS, "vit_b", VIT_B)
    model = _build("SamLoRA", 3, (64, 64))
    assert len(model.encoder.blocks) == 12 and model.encoder.blocks[0].attn.qkv.base.in_features == 768
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable < 0.1 * sum(p.numel() for p in model.parameters())  # LoRA, neck and decoder only
    model.train()
    assert torch.isfinite(sum(model.losses(torch.randn(2, 3, 64, 64), torch.randint(0, 3, (2, 64, 64))).values()))


def _meta_checkpoint(path, width=64, image_size=128):
    """A file laid out like Meta's SAM checkpoints (image_encoder.* beside the prompt encoder and mask decoder), for a
    tiny encoder built with SAM's own settings (window 14, for ``image_size`` px)."""
    from segment_anything.modeling import ImageEncoderViT

    encoder = ImageEncoderViT(img_size=image_size, embed_dim=width, depth=2, num_heads=2, global_attn_indexes=(1,),
                              use_rel_pos=True, window_size=14, out_chans=256, qkv_bias=True,
                              norm_layer=functools.partial(torch.nn.LayerNorm, eps=1e-6))
    state = {f"image_encoder.{k}": v for k, v in encoder.state_dict().items()}
    state["mask_decoder.iou_token.weight"] = torch.zeros(1, 256)
    torch.save(state, path)
    return encoder


def test_sam_loads_a_local_checkpoint_resized_to_the_chips(monkeypatch, tmp_path):
    source = _meta_checkpoint(tmp_path / TINY_SAM[4])
    monkeypatch.setenv("AUTODL_SAM_CHECKPOINT", str(tmp_path))  # a folder holding Meta's files
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = build_network("SamLoRA", num_classes=2, in_channels=4, chip_size=(40, 72), pretrained=True)
    encoder = model.encoder
    qkv = encoder.blocks[0].attn.qkv
    assert torch.equal(qkv.base.weight, source.blocks[0].attn.qkv.weight) and not qkv.base.weight.requires_grad
    assert qkv.down.weight.requires_grad and qkv.up.weight.requires_grad
    assert encoder.pos_embed.shape == (1, 5, 5, 64)  # 72 px -> 5 x 5 tokens, from the file's 8 x 8
    assert torch.allclose(encoder.patch_embed.proj.weight[:, :3], source.patch_embed.proj.weight * 3 / 4)
    model.eval()
    with torch.no_grad():
        assert model.predict(torch.randn(2, 4, 40, 72)).shape == (2, 3, 40, 72)


def test_sam_checkpoint_of_another_size_is_refused_whole(monkeypatch, tmp_path):
    _meta_checkpoint(tmp_path / "sam_vit_l.pth", width=32)
    monkeypatch.setenv("AUTODL_SAM_CHECKPOINT", str(tmp_path / "sam_vit_l.pth"))
    with pytest.warns(RuntimeWarning, match="another ViT size"):
        model = build_network("SamLoRA", num_classes=2, in_channels=3, chip_size=(64, 64), pretrained=True)
    assert model.encoder.pos_embed.abs().sum() == 0  # SAM's random init: nothing of the file was loaded


def test_sam_checkpoint_tensors_are_resized_to_the_chips():
    from segment_anything.modeling import ImageEncoderViT

    def encoder(size):
        return ImageEncoderViT(img_size=size, embed_dim=64, depth=2, num_heads=2, global_attn_indexes=(1,),
                               use_rel_pos=True, window_size=4, out_chans=32)

    big, small = encoder(128), encoder(64)
    fitted = sam_adapter._resize_for(big.state_dict(), small)
    small.load_state_dict(fitted, strict=True)
    assert fitted["pos_embed"].shape == small.pos_embed.shape == (1, 4, 4, 64)
