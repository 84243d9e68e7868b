"""DistributedDataParallel on CPU: two gloo processes launched by torchrun train one candidate in step (same
weights on both ranks, each on half the chips), and a whole search runs with --distributed."""
import json
import os
import socket
import subprocess
import sys

from autodl_qgis.engine.data import CLASSIFIED_TILES
from autodl_qgis.engine.package import open_package
from conftest import REPO

RANK_SCRIPT = """
import hashlib, json, os, sys, warnings
import torch
from autodl_qgis.engine.data import TrainingData
from autodl_qgis.engine.train import TrainConfig, distributed
from autodl_qgis.engine.train.candidate import TrainRequest, train_candidate

distributed.init_from_environment("cpu")
warnings.simplefilter("ignore")
data = TrainingData.open(sys.argv[1])
candidate = train_candidate(data, TrainRequest("UnetClassifier", "resnet18", TrainConfig(max_epochs=2, batch_size=2),
                                         pretrained=False, val_fraction=0.25), torch.device("cpu"))
# the weights (BatchNorm statistics are each rank's own: DDP sends rank 0's before every forward)
weights = [p.detach().numpy().tobytes() for p in candidate.model.parameters()]
digest = hashlib.sha256(b"".join(weights)).hexdigest()
with open(os.path.join(sys.argv[2], f"rank{distributed.rank()}.json"), "w") as out:
    json.dump({"digest": digest, "steps": candidate.result.steps, "epochs": candidate.result.epochs,
               "metric": candidate.result.best_metric, "world": distributed.world_size()}, out)
"""


def _torchrun(*args, timeout=900):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                           "--master_addr=127.0.0.1", f"--master_port={port}", *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_two_gloo_processes_train_one_candidate_in_step(synthetic, tmp_path):
    folder = synthetic(CLASSIFIED_TILES, num_chips=12)  # 9 training chips, 3 validation
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    run = _torchrun(str(script), str(folder), str(tmp_path))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["world"] == ranks[1]["world"] == 2
    assert ranks[0]["digest"] == ranks[1]["digest"]  # DDP kept the weights identical
    assert ranks[0]["metric"] is not None and ranks[0]["epochs"] == 2
    # each rank saw its half of the 9 chips: 5 chips, 3 batches of 2 (the last one of one chip dropped: 2)
    assert ranks[0]["steps"] == ranks[1]["steps"] == 2 * 2


def test_search_with_distributed_option_writes_one_package(synthetic, tmp_path):
    folder = synthetic(CLASSIFIED_TILES, num_chips=12)
    out = tmp_path / "model.dlpk"
    run = _torchrun("-m", "autodl_qgis", "train", str(folder), str(out), "--distributed", "--device", "cpu",
                    "--networks", "UnetClassifier,PSPNetClassifier", "--max-epochs", "2",
                    "--total-time-limit", "0.2", "--no-pretrained-backbones")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with open_package(out) as package:
        assert package.network in ("UnetClassifier", "PSPNetClassifier")
        assert len(package.emd["AutoDL"]["training"]["leaderboard"]) == 2
    assert run.stdout.count("wrote ") <= 1 and sorted(p.name for p in tmp_path.iterdir()) == ["model.dlpk"]
