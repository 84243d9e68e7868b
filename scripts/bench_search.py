"""AutoDL BASIC with a time budget T against the single default network trained alone for the same T, on the same
synthetic folder, run one after the other in one process. Prints both validation metrics and their ratio.

    .venv/bin/python scripts/bench_search.py [--format Classified_Tiles] [--minutes 4]
        [--networks UnetClassifier,DeepLabV3Plus,PSPNetClassifier,DeepLab] [--single UnetClassifier]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodl_qgis.engine.data.synthetic import write_synthetic_dataset  # noqa: E402
from autodl_qgis.engine.search import AutoDL  # noqa: E402


def run(folder: Path, networks: str, minutes: float, device: str) -> tuple[dict, float]:
    start = time.monotonic()
    autodl = AutoDL(folder, total_time_limit=minutes / 60, networks=networks, device=device,
                    pretrained_backbones=False).fit()
    return autodl.best, time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="Classified_Tiles")
    parser.add_argument("--chips", type=int, default=64)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--networks", default="UnetClassifier,DeepLabV3Plus,PSPNetClassifier,DeepLab")
    parser.add_argument("--single", default="UnetClassifier", help="the default network trained alone")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    folder = write_synthetic_dataset(Path(tempfile.mkdtemp()) / "data", args.format, num_chips=args.chips,
                                     num_classes=3, seed=7)
    search, search_seconds = run(folder, args.networks, args.minutes, args.device)
    single, single_seconds = run(folder, args.single, args.minutes, args.device)
    name = search["metric_name"]
    print(f"{args.chips} synthetic {args.format} chips, budget {args.minutes:g} min each")
    print(f"AutoDL BASIC ({args.networks}): best {search['network']} {name} {search['metric']:.4f} "
          f"in {search_seconds:.0f} s")
    print(f"{args.single} alone: {name} {single['metric']:.4f} in {single_seconds:.0f} s")
    print(f"ratio AutoDL / single: {search['metric'] / max(single['metric'], 1e-9):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
