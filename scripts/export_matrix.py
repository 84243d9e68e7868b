"""Which networks export to ONNX, and what the export adds to packaging time: every network of the registry, built
as the packager builds it (random initialisation, 3 bands, 2 classes, 64 px chips, its smallest backbone), each
in its own process.

    .venv/bin/python scripts/export_matrix.py [--networks A,B] [--size 64] [--json OUT.json] [--timeout 600]

Columns: rebuild (s) = building the network and loading its weights, as write_package does; export (s) = ONNX
export plus the onnxruntime check on a second input (export_graphs); max diff = graph against network on that
input (class probabilities, or detection rows in pixels); reason = why a network gives no graph.
The registry's ``exports`` field is what this script reports.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SMALL_FIRST = ("resnet18", "mobilenet_v3_large", "mobilenet_v2", "hrnetv2_w18_small", "res2net50", "vit_b")


def smallest_backbone(spec) -> str:
    return next((b for b in SMALL_FIRST if b in spec.backbones), spec.default_backbone)


def one(network: str, size: int) -> dict:
    """Runs in the child: build, export, check one network."""
    import warnings

    import torch

    from autodl_qgis.engine.data.esri import OBJECT_DETECTION
    from autodl_qgis.engine.networks import build_network
    from autodl_qgis.engine.networks.registry import get_spec
    from autodl_qgis.engine.package.dlpk import ModelPackage
    from autodl_qgis.engine.package.export import export_graphs

    torch.manual_seed(0)
    torch.set_num_threads(1)
    spec = get_spec(network)
    backbone = smallest_backbone(spec)
    row = {"network": spec.name, "library": spec.library, "task": spec.task, "backbone": backbone}
    if not spec.cpu:
        return {**row, "formats": [], "reason": f"not built on a CPU machine: {spec.cuda_only}"}
    definition = {"AutoDL": {"task": spec.task, "library": spec.library, "num_classes": 2, "in_channels": 3,
                             "chip_size": [size, size]}}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_network(spec.name, 2, 3, (size, size), backbone, pretrained=False).eval()
        model.load_state_dict(model.state_dict())
    row["rebuild_s"] = round(time.perf_counter() - start, 2)
    row["parameters_m"] = round(sum(p.numel() for p in model.parameters()) / 1e6, 1)
    with tempfile.TemporaryDirectory(prefix="export-matrix-") as folder:
        result = export_graphs(model, ModelPackage(Path("export-matrix"), definition, []), folder)
        graph = Path(folder, "model.onnx")
        row["onnx_mb"] = round(graph.stat().st_size / 2 ** 20, 1) if graph.exists() else None
    row.update(formats=list(result.formats), export_s=round(result.seconds, 2), reason=result.reason,
               max_difference=result.max_difference, checked_objects=result.checked_objects,
               detection=spec.task == OBJECT_DETECTION)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", help="comma-separated names (default: all)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.size)))
        return 0
    from autodl_qgis.engine.networks.registry import NETWORKS

    names = args.networks.split(",") if args.networks else list(NETWORKS)
    rows = []
    print("| network | library | task | backbone | exports | rebuild s | export s | ONNX MB | max diff "
          "| objects checked | reason |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        try:
            done = subprocess.run([sys.executable, __file__, "--child", name, "--size", str(args.size)],
                                  capture_output=True, text=True, timeout=args.timeout)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            row = json.loads(lines[-1]) if lines else {
                "network": name, "formats": [],
                "reason": "child failed: " + " ".join((done.stderr or "").strip().splitlines()[-1:])[:200]}
        except subprocess.TimeoutExpired:
            row = {"network": name, "formats": [], "reason": f"no result within {args.timeout} s"}
        rows.append(row)
        diff = row.get("max_difference")
        print(f"| {row['network']} | {row.get('library', '')} | {row.get('task', '')} | {row.get('backbone', '')} | "
              f"{', '.join(row['formats']) or 'none'} | {row.get('rebuild_s', '')} | {row.get('export_s', '')} | "
              f"{row.get('onnx_mb') or ''} | {'' if diff is None else f'{diff:.1e}'} | "
              f"{'' if row.get('checked_objects') is None else row['checked_objects']} | {row.get('reason') or ''} |",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    disagree = [r["network"] for r in rows if tuple(r["formats"]) != NETWORKS[r["network"]].exports]
    print(f"\nregistry's exports field: {'agrees' if not disagree else 'differs for ' + ', '.join(disagree)}")
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
