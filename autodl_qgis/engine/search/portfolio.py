"""The ordered portfolio: per task and device class, network + backbone + chip scale ranked by the quality they
reached at a short fixed training budget, best first. The search enters its first rung in this order.

The table is data, not code: ``portfolio.json`` beside this module holds it together with every measurement that
produced it (``scripts/build_portfolio.py`` regenerates both from a meta-benchmark over synthetic folders of several
band counts, class counts and object sizes and the real ``palm_pascal_voc_west`` export). Networks the
meta-benchmark did not measure follow the measured ones, in registry order: on a CPU on their lightest backbone
at half scale (what can learn in minutes there), on a GPU on their default backbone at full scale. ``cuda`` rows
come from the CPU ranking with each network's default (heavier) backbone at full scale
allowed first, because no GPU was at hand to measure them (the file's ``cuda_rule`` says so).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..networks.registry import NETWORKS

TABLE_FILE = Path(__file__).with_name("portfolio.json")
DEVICE_KINDS = ("cpu", "cuda")
# backbones that can learn in minutes on a CPU, the one preferred first: the meta-benchmark measures what each
# network offers of these, and an unmeasured network enters a CPU search on the first it has (else its default)
LIGHT_BACKBONES = ("resnet18", "mobilenet_v3_large", "mobilenet_v2", "efficientnet-b0", "hrnetv2_w18_small", "cgnet",
                   "fastscnn")
UNMEASURED_CPU_SCALE = 0.5


@dataclass(frozen=True)
class PortfolioEntry:
    network: str
    backbone: str
    chip_scale: float  # the chips are trained on resampled by this factor (0.5: half the pixels per side)


def portfolio(task: str, device_kind: str) -> tuple[PortfolioEntry, ...]:
    """Every network of ``task`` (NetworkSpec.task) at least once, best expected quality first; a network may
    appear again with other backbones or scales further down."""
    if device_kind not in DEVICE_KINDS:
        raise ValueError(f"device kind must be one of {DEVICE_KINDS}, not {device_kind!r}")
    measured = _table().get(task, {}).get(device_kind, ())
    entries = [PortfolioEntry(row["network"], row["backbone"], float(row["chip_scale"])) for row in measured
               if row["network"] in NETWORKS and row["backbone"] in NETWORKS[row["network"]].backbones]
    named = {e.network for e in entries}
    entries += [_unmeasured(spec, device_kind) for spec in NETWORKS.values()
                if spec.task == task and spec.name not in named]
    return tuple(dict.fromkeys(entries))


def _unmeasured(spec, device_kind: str) -> PortfolioEntry:
    if device_kind == "cuda":
        return PortfolioEntry(spec.name, spec.default_backbone, 1.0)
    light = next((b for b in LIGHT_BACKBONES if b in spec.backbones), spec.default_backbone)
    return PortfolioEntry(spec.name, light, UNMEASURED_CPU_SCALE)


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(TABLE_FILE.read_text(encoding="utf-8"))["table"]
