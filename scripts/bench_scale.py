"""Scale-out benchmark: wall time of the same AutoDL search run by one process, then shared by two (the starting
process plus one `python -m autodl_qgis worker`), measured side by side in one run.

    .venv/bin/python scripts/bench_scale.py [--storage postgresql://...] [--networks A,B,...] [--chips 24]

The search is bounded by work, not time: every candidate trains a fixed number of epochs under a generous limit, so
the wall time is what the candidates cost. Each process gets an equal share of the cores (torch threads), so the
two runs use the same CPU: the ratio shows what sharing candidates between workers gains on this machine. Without
--storage, a throw-away PostgreSQL server is started when Debian's postgresql is installed, else SQLite is used.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def _run_search(folder: Path, work: Path, storage: str, study: str, networks: str, epochs: int, workers: int,
                threads: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "autodl_qgis", "train", str(folder), str(work / f"{study}.dlpk"),
               "--work-dir", str(work / study), "--storage", storage, "--study", study, "--networks", networks,
               "--max-epochs", str(epochs), "--total-time-limit", "2", "--no-pretrained-backbones",
               "--device", "cpu"]
    start = time.perf_counter()
    primary = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    helpers = []
    if workers > 1:
        import optuna

        while study not in [s.study_name for s in optuna.get_all_study_summaries(storage)]:
            if primary.poll() is not None:
                raise SystemExit(primary.stderr.read()[-3000:])
            time.sleep(0.2)
        helpers = [subprocess.Popen([sys.executable, "-m", "autodl_qgis", "worker", "--storage", storage,
                                     "--study", study, "--device", "cpu"], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True) for _ in range(workers - 1)]
    for process in (primary, *helpers):
        if process.wait() != 0:
            raise SystemExit(process.stderr.read()[-3000:])
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", help="a shared Optuna storage URL (default: a throw-away PostgreSQL, or SQLite)")
    parser.add_argument("--networks", default="UnetClassifier,PSPNetClassifier,DeepLabV3Plus,FCN,SemFPN,DeepLab")
    parser.add_argument("--chips", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    cores = os.cpu_count() or 2

    from autodl_qgis.engine.data import CLASSIFIED_TILES
    from autodl_qgis.engine.data.synthetic import write_synthetic_dataset
    from postgres import postgres_bin, postgres_server

    with tempfile.TemporaryDirectory(prefix="autodl-bench-scale-") as work:
        work = Path(work)
        folder = write_synthetic_dataset(work / "chips", CLASSIFIED_TILES, num_chips=args.chips)
        server = (postgres_server() if not args.storage and postgres_bin() is not None
                  else nullcontext(args.storage or f"sqlite:///{work / 'optuna.db'}"))
        with server as storage:
            kind = storage.split(":", 1)[0]
            one = _run_search(folder, work, storage, "one", args.networks, args.epochs, 1, cores)
            two = _run_search(folder, work, storage, "two", args.networks, args.epochs, 2, max(1, cores // 2))
    count = len(args.networks.split(","))
    print(f"{count} candidates x {args.epochs} epochs on {args.chips} chips, {cores} cores, storage {kind}:")
    print(f"  1 process  ({cores} threads):        {one:7.1f} s")
    print(f"  2 processes ({max(1, cores // 2)} thread(s) each): {two:7.1f} s")
    print(f"  ratio 2 workers / 1: {two / one:.3f} (below 1: sharing the search is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
