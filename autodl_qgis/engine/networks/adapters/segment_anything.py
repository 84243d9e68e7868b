"""SamLoRA: the Segment Anything (SAM) image encoder, frozen, with low-rank adapters (LoRA) on its attention
projections, and a trainable decoder that turns the image embedding into class scores at chip resolution.

Built on Meta's ``segment-anything`` package rather than transformers' SamModel: its ``ImageEncoderViT`` takes the
input size, width, depth and attention windows as plain arguments, and it loads the checkpoints users actually have
(Meta's sam_vit_b_01ec64.pth, ...) without conversion.

SAM weights are never downloaded: they load, as plain tensors (``torch.load(weights_only=True)``), from
$AUTODL_SAM_CHECKPOINT (Meta's checkpoint file, or a folder holding Meta's files under their own names) or else from
~/.cache/autodl_qgis/sam/<Meta's file name>. Positional embeddings and relative-position tables are resized to the
chips. Without a usable file the encoder starts from random init (with a warning).
"""
from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .base import BuildRequest, ModelAdapter, WeightsUnavailable, adapt_input_conv, load_pretrained

PATCH = 16
EMBEDDING_CHANNELS = 256  # SAM's image embedding
LORA_RANK = 4
WINDOW = 14  # SAM's attention window (tokens) in its non-global blocks
# backbone -> (embedding width, blocks, heads, blocks with global attention, Meta's checkpoint file). Tests shrink an
# entry (monkeypatch.setitem) to build a tiny SAM-like encoder.
_VITS = {
    "vit_b": (768, 12, 12, (2, 5, 8, 11), "sam_vit_b_01ec64.pth"),
    "vit_l": (1024, 24, 16, (5, 11, 17, 23), "sam_vit_l_0b3195.pth"),
    "vit_h": (1280, 32, 16, (7, 15, 23, 31), "sam_vit_h_4b8939.pth"),
}


class LoRALinear(nn.Module):
    """``base(x) + scale * B(A(x))`` with ``base`` frozen; B starts at zero so training starts from SAM itself."""

    def __init__(self, base: nn.Linear, rank: int = LORA_RANK, alpha: float = LORA_RANK):
        super().__init__()
        self.base = base
        for parameter in base.parameters():
            parameter.requires_grad_(False)
        self.down = nn.Linear(base.in_features, rank, bias=False)
        self.up = nn.Linear(rank, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.down.weight, a=math.sqrt(5))
        nn.init.zeros_(self.up.weight)
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + self.scale * self.up(self.down(x))


class SamLoRA(ModelAdapter):
    task = "pixel_classification"
    first_conv = "encoder.patch_embed.proj"

    def __init__(self, encoder: nn.Module, num_outputs: int, grid: tuple[int, int]):
        super().__init__()
        self.encoder, self.grid = encoder, grid
        layers, width = [], EMBEDDING_CHANNELS
        for _ in range(int(math.log2(PATCH))):  # four x2 steps back from stride 16
            layers += [nn.ConvTranspose2d(width, max(width // 2, 32), 2, stride=2), nn.BatchNorm2d(max(width // 2, 32)),
                       nn.GELU()]
            width = max(width // 2, 32)
        self.decoder = nn.Sequential(*layers, nn.Conv2d(width, num_outputs, 1))

    def _scores(self, images):
        height, width = images.shape[-2:]
        size = (self.grid[0] * PATCH, self.grid[1] * PATCH)
        if height > size[0] or width > size[1]:  # larger than the chips (inference tiles): in chip-sized pieces
            return torch.cat([torch.cat([self._scores(images[..., y:y + size[0], x:x + size[1]])
                                         for x in range(0, width, size[1])], dim=-1)
                              for y in range(0, height, size[0])], dim=-2)
        padded = F.pad(images, (0, size[1] - width, 0, size[0] - height)) if (height, width) != size else images
        return self.decoder(self.encoder(padded))[..., :height, :width]

    def losses(self, images, targets):
        return {"loss_ce": F.cross_entropy(self._scores(images), targets)}

    def predict(self, images):
        return self._scores(images)


def checkpoint_path(backbone: str) -> Path:
    """Where the SAM checkpoint for ``backbone`` is looked for: $AUTODL_SAM_CHECKPOINT (a file, or a folder of
    Meta's files), else ~/.cache/autodl_qgis/sam/."""
    file_name = _VITS[backbone][4]
    named = os.environ.get("AUTODL_SAM_CHECKPOINT")
    if named:
        path = Path(named).expanduser()
        return path / file_name if path.is_dir() else path
    return Path.home() / ".cache" / "autodl_qgis" / "sam" / file_name


def _window(side: int) -> int:
    """The attention window for a ``side`` x ``side`` token grid: at most SAM's 14 tokens, and as even a split of the
    grid as possible, since windows are padded (with tokens that are attended to) up to whole windows."""
    return math.ceil(side / math.ceil(side / WINDOW))


def _load_checkpoint(encoder: nn.Module, path: Path) -> None:
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k[len("image_encoder."):]: v for k, v in state.items() if k.startswith("image_encoder.")}
    fitted = _resize_for(state, encoder)
    missing = [key for key in encoder.state_dict() if key not in fitted]
    if missing:  # checked before loading anything, so a wrong file (another ViT size) leaves a clean random init
        raise KeyError(f"{len(missing)} of the encoder's tensors missing or of another shape (another ViT size?), "
                       f"e.g. {missing[0]}")
    encoder.load_state_dict(fitted, strict=True)


def _resize_for(state: dict, encoder: nn.Module) -> dict:
    """SAM's positional embeddings and relative-position tables are for 1024 px inputs: resized to the chips."""
    own = encoder.state_dict()
    fitted = {}
    for key, value in state.items():
        if key not in own:
            continue
        if own[key].shape == value.shape:
            fitted[key] = value
        elif key == "pos_embed":  # (1, h, w, C)
            grid = own[key].shape[1:3]
            fitted[key] = F.interpolate(value.permute(0, 3, 1, 2), size=grid, mode="bicubic",
                                        align_corners=False).permute(0, 2, 3, 1)
        elif key.endswith(("rel_pos_h", "rel_pos_w")):  # (2 * size - 1, head dim)
            fitted[key] = F.interpolate(value.T.unsqueeze(0), size=own[key].shape[0], mode="linear",
                                        align_corners=False)[0].T
        if key in fitted and fitted[key].shape != own[key].shape:  # another ViT size: left out
            del fitted[key]
    return fitted


def build(spec, request: BuildRequest) -> SamLoRA:
    from segment_anything.modeling import ImageEncoderViT

    width, depth, heads, global_blocks, _ = _VITS[request.backbone]
    side = math.ceil(max(request.chip_size) / PATCH)  # SAM's encoder is square: other chips are padded
    grid = (side, side)
    encoder = ImageEncoderViT(img_size=side * PATCH, patch_size=PATCH, in_chans=3, embed_dim=width, depth=depth,
                              num_heads=heads, mlp_ratio=4, out_chans=EMBEDDING_CHANNELS, qkv_bias=True,
                              norm_layer=functools.partial(nn.LayerNorm, eps=1e-6), use_rel_pos=True,
                              global_attn_indexes=global_blocks, window_size=_window(side))
    load_pretrained(f"{spec.name} {request.backbone}", request, lambda: _load_checkpoint_or_say_why(encoder, request),
                    lambda: encoder)  # the encoder is built with random weights: loading replaces them
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    for block in encoder.blocks:
        block.attn.qkv = LoRALinear(block.attn.qkv)
    for parameter in encoder.neck.parameters():
        parameter.requires_grad_(True)
    model = SamLoRA(encoder, request.num_classes + 1, grid)
    if request.in_channels != 3:
        adapt_input_conv(model, model.first_conv, request.in_channels)  # new, so trainable: new bands are learned
    return model


def _load_checkpoint_or_say_why(encoder: nn.Module, request: BuildRequest) -> nn.Module:
    """SAM weights are never downloaded: a local checkpoint, or why there is none usable."""
    path = checkpoint_path(request.backbone)
    try:
        if not path.is_file():
            raise FileNotFoundError("no such file")
        _load_checkpoint(encoder, path)
    except Exception as exc:  # noqa: BLE001 - no local checkpoint (never downloaded here) or a wrong file
        raise WeightsUnavailable(f"no usable SAM checkpoint at {path}: {type(exc).__name__}: {str(exc)[:160]}; set "
                                 f"AUTODL_SAM_CHECKPOINT to Meta's {_VITS[request.backbone][4]}") from exc
    return encoder
