"""The 45 networks of ArcGIS' Train Using AutoDL, and a few beyond its list (``NetworkSpec.beyond_arcgis``), one
spec each. Adding a network is one entry here; the library adapter (``adapters/<library>.py``) builds it. No model
library is imported until a network is built."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..data.esri import CLASSIFIED_TILES, KITTI, OBJECT_DETECTION, PASCAL_VOC, PIXEL_CLASSIFICATION, RCNN_MASKS
from ..errors import InputDataError
from ..extras import extra_for, missing_extra, needs_text

if TYPE_CHECKING:  # torch is imported only when a network is built, so QGIS can list networks without it
    import torch

    from .adapters.base import ModelAdapter

BOXES = (PASCAL_VOC, KITTI, RCNN_MASKS)  # RCNN_Masks give boxes too (the masks' extents)
TILES = (CLASSIFIED_TILES,)
RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101")
MMSEG_RESNETS = ("resnet18", "resnet50", "resnet101")  # ResNetV1c: OpenMMLab publishes no ResNet-34 weights of it
HRNETS = ("hrnetv2_w18", "hrnetv2_w18_small", "hrnetv2_w48")  # mmseg's hr18 / hr18s / hr48 configs
_MMDET_ORIGIN = "MMDetection 3.3 (Apache-2.0), not in ArcGIS' Train Using AutoDL"


class UnsupportedNetworkError(InputDataError):
    """The network cannot run here (e.g. a CUDA-only op on a CPU machine); AutoDL skips it with this reason."""


@dataclass(frozen=True)
class NetworkSpec:
    name: str  # exactly as ArcGIS names it
    task: str
    library: str  # torchvision, smp, mmdet, mmseg, transformers, segment_anything
    config: str  # what the library adapter builds: a torchvision builder, an smp architecture, an mm config path
    default_backbone: str
    backbones: tuple[str, ...]  # all backbones ADVANCED mode may try, default first
    formats: tuple[str, ...] = BOXES
    cuda_only: str | None = None  # why the network needs CUDA, when it does
    beyond_arcgis: str | None = None  # where a network ArcGIS' Train Using AutoDL does not offer comes from

    @property
    def cpu(self) -> bool:
        return self.cuda_only is None

    @property
    def exports(self) -> tuple[str, ...]:
        """The graphs its packages carry for use outside this plugin (ArcGIS Pro, Deepness, onnxruntime)."""
        return () if self.name in NO_ONNX_GRAPH else ("onnx",)

    def as_dict(self) -> dict:
        return {"name": self.name, "task": self.task, "library": self.library, "config": self.config,
                "default_backbone": self.default_backbone, "backbones": list(self.backbones), "cpu": self.cpu,
                "formats": list(self.formats), "exports": list(self.exports),
                "export_note": NO_ONNX_GRAPH.get(self.name),
                "extra": extra.name if (extra := extra_for(self.library)) else None,
                "installed": missing_extra(self.library) is None, "beyond_arcgis": self.beyond_arcgis}


def _det(name, library, config, backbone, backbones=RESNETS, formats=BOXES, cuda_only=None,
         beyond_arcgis=None) -> NetworkSpec:
    ordered = (backbone,) + tuple(b for b in backbones if b != backbone)
    return NetworkSpec(name, OBJECT_DETECTION, library, config, backbone, ordered, formats, cuda_only, beyond_arcgis)


def _pix(name, library, config, backbone, backbones=RESNETS, cuda_only=None) -> NetworkSpec:
    ordered = (backbone,) + tuple(b for b in backbones if b != backbone)
    return NetworkSpec(name, PIXEL_CLASSIFICATION, library, config, backbone, ordered, TILES, cuda_only)


_SPECS = (
    # object detection
    _det("SingleShotDetector", "torchvision", "ssd", "resnet34", RESNETS + ("mobilenet_v3_large",)),
    _det("RetinaNet", "torchvision", "retinanet", "resnet50"),
    _det("FasterRCNN", "torchvision", "fasterrcnn", "resnet50", RESNETS + ("mobilenet_v3_large",)),
    _det("MaskRCNN", "torchvision", "maskrcnn", "resnet50", formats=(RCNN_MASKS,)),
    _det("YOLOv3", "mmdet", "yolo/yolov3_d53_8xb8-320-273e_coco.py", "darknet53", ("darknet53", "mobilenet_v2")),
    _det("ATSS", "mmdet", "atss/atss_r50_fpn_1x_coco.py", "resnet50"),
    _det("CARAFE", "mmdet", "carafe/faster-rcnn_r50_fpn-carafe_1x_coco.py", "resnet50",
         cuda_only="mmcv's CARAFE upsampling operator has no CPU implementation"),
    _det("CascadeRCNN", "mmdet", "cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py", "resnet50"),
    _det("CascadeRPN", "mmdet", "cascade_rpn/cascade-rpn_faster-rcnn_r50-caffe_fpn_1x_coco.py", "resnet50"),
    _det("DCN", "mmdet", "dcn/faster-rcnn_r50-dconv-c3-c5_fpn_1x_coco.py", "resnet50", ("resnet50", "resnet101")),
    _det("DETReg", "mmdet", "deformable_detr/deformable-detr-refine-twostage_r50_16xb2-50e_coco.py", "resnet50"),
    _det("DynamicRCNN", "mmdet", "dynamic_rcnn/dynamic-rcnn_r50_fpn_1x_coco.py", "resnet50"),
    _det("EmpiricalAttention", "mmdet", "empirical_attention/faster-rcnn_r50-attn1111_fpn_1x_coco.py", "resnet50",
         ("resnet50", "resnet101")),
    _det("FCOS", "mmdet", "fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py", "resnet50"),
    _det("FoveaBox", "mmdet", "foveabox/fovea_r50_fpn_4xb4-1x_coco.py", "resnet50"),
    _det("FSAF", "mmdet", "fsaf/fsaf_r50_fpn_1x_coco.py", "resnet50"),
    _det("GHM", "mmdet", "ghm/retinanet_r50_fpn_ghm-1x_coco.py", "resnet50"),
    _det("LibraRCNN", "mmdet", "libra_rcnn/libra-faster-rcnn_r50_fpn_1x_coco.py", "resnet50"),
    _det("PaFPN", "mmdet", "pafpn/faster-rcnn_r50_pafpn_1x_coco.py", "resnet50"),
    _det("Res2Net", "mmdet", "res2net/faster-rcnn_res2net-101_fpn_2x_coco.py", "res2net101",
         ("res2net101", "res2net50")),
    _det("SABL", "mmdet", "sabl/sabl-faster-rcnn_r50_fpn_1x_coco.py", "resnet50"),
    _det("VFNet", "mmdet", "vfnet/vfnet_r50_fpn_1x_coco.py", "resnet50"),
    _det("RTDetrV2", "transformers", "rt_detr_v2", "resnet50", ("resnet50", "resnet18", "resnet34", "resnet101")),
    # pixel classification
    _pix("UnetClassifier", "smp", "Unet", "resnet34", RESNETS + ("efficientnet-b0", "mobilenet_v2")),
    _pix("DeepLabV3Plus", "smp", "DeepLabV3Plus", "resnet50", RESNETS + ("efficientnet-b0", "mobilenet_v2")),
    _pix("PSPNetClassifier", "smp", "PSPNet", "resnet50", RESNETS + ("efficientnet-b0", "mobilenet_v2")),
    _pix("DeepLab", "torchvision", "deeplabv3", "resnet101", ("resnet101", "resnet50", "mobilenet_v3_large")),
    _pix("HRNet", "mmseg", "hrnet/fcn_hr18_4xb2-40k_cityscapes-512x1024.py", "hrnetv2_w18", HRNETS),
    _pix("ANN", "mmseg", "ann/ann_r50-d8_4xb2-40k_cityscapes-512x1024.py", "resnet50", MMSEG_RESNETS),
    _pix("APCNet", "mmseg", "apcnet/apcnet_r50-d8_4xb2-40k_cityscapes-512x1024.py", "resnet50",
         MMSEG_RESNETS),
    _pix("CCNet", "mmseg", "ccnet/ccnet_r50-d8_4xb2-40k_cityscapes-512x1024.py", "resnet50",
         MMSEG_RESNETS),
    _pix("CGNet", "mmseg", "cgnet/cgnet_fcn_4xb4-60k_cityscapes-680x680.py", "cgnet", ("cgnet",)),
    _pix("DMNet", "mmseg", "dmnet/dmnet_r50-d8_4xb2-40k_cityscapes-512x1024.py", "resnet50",
         MMSEG_RESNETS),
    _pix("DNLNet", "mmseg", "dnlnet/dnl_r50-d8_4xb2-40k_cityscapes-512x1024.py", "resnet50",
         MMSEG_RESNETS),
    _pix("FastSCNN", "mmseg", "fastscnn/fast_scnn_8xb4-160k_cityscapes-512x1024.py", "fastscnn", ("fastscnn",)),
    _pix("FCN", "mmseg", "fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py", "resnet50", MMSEG_RESNETS),
    _pix("GCNet", "mmseg", "gcnet/gcnet_r50-d8_4xb2-40k_cityscapes-512x1024.py", "resnet50",
         MMSEG_RESNETS),
    _pix("MobileNetV2", "mmseg", "mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py",
         "mobilenet_v2", ("mobilenet_v2",)),
    _pix("NonLocalNet", "mmseg", "nonlocal_net/nonlocal_r50-d8_4xb2-40k_cityscapes-512x1024.py", "resnet50",
         MMSEG_RESNETS),
    _pix("OCRNet", "mmseg", "ocrnet/ocrnet_hr18_4xb2-40k_cityscapes-512x1024.py", "hrnetv2_w18", HRNETS),
    _pix("Mask2Former", "mmseg", "mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py", "resnet50", RESNETS),
    _pix("PSANet", "mmseg", "psanet/psanet_r50-d8_4xb2-40k_cityscapes-512x1024.py", "resnet50",
         MMSEG_RESNETS),
    _pix("SemFPN", "mmseg", "sem_fpn/fpn_r50_4xb2-80k_cityscapes-512x1024.py", "resnet50",
         MMSEG_RESNETS),
    _pix("UperNet", "mmseg", "upernet/upernet_r50_4xb2-40k_cityscapes-512x1024.py", "resnet50",
         MMSEG_RESNETS),
    _pix("SamLoRA", "segment_anything", "sam_lora", "vit_b", ("vit_b", "vit_l", "vit_h")),
    # beyond ArcGIS' list (last, so that the indices of the networks above stay what older settings stored):
    # detectors built for speed per pixel, from the configs MMDetection ships
    _det("RTMDet", "mmdet", "rtmdet/rtmdet_tiny_8xb32-300e_coco.py", "cspnext_tiny", ("cspnext_tiny", "cspnext_s"),
         beyond_arcgis=_MMDET_ORIGIN),
    _det("YOLOX", "mmdet", "yolox/yolox_tiny_8xb8-300e_coco.py", "cspdarknet_tiny", ("cspdarknet_tiny",
                                                                                     "cspdarknet_s"),
         beyond_arcgis=_MMDET_ORIGIN),
)

NETWORKS: dict[str, NetworkSpec] = {s.name: s for s in _SPECS}

# Networks without an ONNX graph, and why, as scripts/export_matrix.py finds them (CPU, 64 px tiles, smallest
# backbone). Packaging tries every network anyway and records what it got in the package (AutoDL.exports).
_MMDET_BOXES = "MMDetection's traced post-processing gives other boxes than the network"
_MMCV_ROI = "mmcv's RoIAlign exports a graph onnxruntime rejects"
_MMCV_DEFORM = "mmcv's deformable convolution has no onnxruntime operator"
NO_ONNX_GRAPH = {
    **dict.fromkeys(("YOLOv3", "ATSS", "DETReg", "FCOS", "FoveaBox", "FSAF", "GHM", "RTMDet", "YOLOX"), _MMDET_BOXES),
    **dict.fromkeys(("CascadeRCNN", "DynamicRCNN", "EmpiricalAttention", "PaFPN", "Res2Net", "SABL"), _MMCV_ROI),
    **dict.fromkeys(("CascadeRPN", "DCN", "VFNet"), _MMCV_DEFORM),
    "LibraRCNN": "its balanced feature pyramid pools to a size known only at run time, which ONNX cannot export",
    "CARAFE": "not checked: it runs on CUDA only",
    "CCNet": "its criss-cross attention uses aten::diag, which ONNX (opset 17) lacks",
    "DMNet": "its convolution kernels are computed from the input, which ONNX cannot export",
    "PSANet": "mmcv's PSAMask has no onnxruntime operator",
}


def get_spec(name: str) -> NetworkSpec:
    spec = NETWORKS.get(name) or next((s for s in _SPECS if s.name.casefold() == name.casefold()), None)
    if spec is None:
        raise InputDataError(f"unknown network {name!r}", None,
                             "Choose from: " + ", ".join(NETWORKS) + " (python -m autodl_qgis networks)")
    return spec


def networks_for(task: str, metadata_format: str) -> list[NetworkSpec]:
    """Every network that suits a training-data folder, in registry order."""
    return [s for s in _SPECS if s.task == task and metadata_format in s.formats]


def check_libraries(spec: NetworkSpec) -> None:
    """Networks of a library the engine was installed without (the OpenMMLab extra) are skipped with the fix."""
    extra = missing_extra(spec.library)
    if extra is not None:
        raise UnsupportedNetworkError(f"{spec.name} {needs_text(extra)}", None, extra.fix)


def check_device(spec: NetworkSpec, device: "torch.device") -> None:
    check_libraries(spec)
    if spec.cuda_only and device.type != "cuda":
        raise UnsupportedNetworkError(f"{spec.name} cannot run on {device.type}: {spec.cuda_only}", None,
                                      "Run it on a machine with an NVIDIA GPU (device cuda) or choose another network")


def build_network(name: str, num_classes: int, in_channels: int, chip_size: tuple[int, int],
                  backbone: str | None = None, pretrained: bool = True,
                  device: "torch.device | str" = "cpu", object_size: float | None = None) -> "ModelAdapter":
    """Builds the named network for the data, through its library's adapter, on ``device``; ``object_size``: see
    :class:`BuildRequest`."""
    import torch

    from .adapters.base import BuildRequest

    spec = get_spec(name)
    device = torch.device(device)
    check_device(spec, device)
    backbone = backbone or spec.default_backbone
    if backbone not in spec.backbones:
        raise InputDataError(f"{spec.name} has no backbone {backbone!r}", None,
                             "Choose from: " + ", ".join(spec.backbones))
    adapter_module = importlib.import_module(f"{__package__}.adapters.{spec.library}")
    request = BuildRequest(num_classes, in_channels, tuple(chip_size), backbone, pretrained, object_size)
    return adapter_module.build(spec, request).to(device)
