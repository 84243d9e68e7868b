"""Long runs and faults: resume after kill -9, outputs that cannot be written, memory across candidates, and two
workers sharing one search through PostgreSQL."""
import errno
import gc
import os
import signal
import subprocess
import sys
import time
import warnings
import zipfile
from types import SimpleNamespace

import pytest
import torch

from autodl_qgis.cli import main
from autodl_qgis.engine.data import CLASSIFIED_TILES, TrainingData
from autodl_qgis.engine.errors import InputDataError
from autodl_qgis.engine.outputs import check_output_location
from autodl_qgis.engine.package import open_package
from autodl_qgis.engine.search.record import STOP_AT_ENV, SearchRecord
from autodl_qgis.engine.train import TrainConfig
from autodl_qgis.engine.train.candidate import TrainRequest, train_candidate
from conftest import REPO
from postgres import postgres_bin, postgres_server

NETWORKS = "UnetClassifier,PSPNetClassifier,DeepLabV3Plus"


def _train_command(folder, out, work, *extra):
    return [sys.executable, "-m", "autodl_qgis", "train", str(folder), str(out), "--work-dir", str(work),
            "--networks", NETWORKS, "--max-epochs", "2", "--total-time-limit", "0.3", "--no-pretrained-backbones",
            *extra]


def _env(threads: int = 1):
    # one thread per process: two processes then share the two cores instead of fighting over them
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": str(threads)}


def test_search_killed_with_sigkill_resumes_without_redoing_finished_candidates(synthetic, tmp_path):
    folder = synthetic(CLASSIFIED_TILES, num_chips=12)
    out, work = tmp_path / "model.dlpk", tmp_path / "work"
    out.write_bytes(b"previous model")
    # the search stops itself right after writing its first result, before Optuna hears of it: the kill lands in
    # the narrowest window there is, on any machine
    process = subprocess.Popen(_train_command(folder, out, work), env={**_env(2), STOP_AT_ENV: "finished"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _, status = os.waitpid(process.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), "the search ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert out.read_bytes() == b"previous model"  # untouched until a new model is complete
    before = SearchRecord.open(work).rows()
    assert len(before) == 1 and before[0].worker.endswith(f":{process.pid}")

    assert main(["train", str(folder), str(out), "--work-dir", str(work), "--resume", "--networks", NETWORKS,
                 "--max-epochs", "2", "--total-time-limit", "0.3", "--no-pretrained-backbones"]) == 0
    rows = SearchRecord.open(work).rows()
    again = [r for r in rows if r.key == before[0].key]
    assert len(again) == 1 and again[0].worker == before[0].worker  # finished before the kill: not trained again
    # the two candidates the finalist left behind are recorded pruned, whichever process trained them
    assert sorted(r.status for r in rows if r.phase == "rung") == ["completed", "pruned", "pruned"]
    assert sorted({r.network for r in rows if r.rung == 0 and r.phase == "rung"}) == sorted(NETWORKS.split(","))
    with open_package(out) as package:
        assert package.network in NETWORKS.split(",")


def test_outputs_that_cannot_be_written_are_refused_before_training(synthetic, tmp_path, monkeypatch, capsys):
    folder = synthetic(CLASSIFIED_TILES, num_chips=12)
    (tmp_path / "model.dlpk").mkdir()
    assert main(["train", str(folder), str(tmp_path / "model.dlpk"), "--networks", "UnetClassifier"]) == 2
    assert "is a folder" in capsys.readouterr().err
    monkeypatch.setattr("shutil.disk_usage", lambda path: SimpleNamespace(free=10 * 2 ** 20))
    with pytest.raises(InputDataError, match="10 MB free on its disk"):
        check_output_location(tmp_path / "new" / "model.dlpk")
    monkeypatch.undo()

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("tempfile.TemporaryFile", read_only)
    with pytest.raises(InputDataError, match="does not take new files .Read-only file system"):
        check_output_location(tmp_path / "model2.dlpk")


def test_disk_full_while_writing_a_package_leaves_the_previous_one(synthetic, tmp_path, monkeypatch):
    from autodl_qgis.engine.search import AutoDL

    folder = synthetic(CLASSIFIED_TILES, num_chips=12)
    autodl = AutoDL(folder, networks="UnetClassifier", max_epochs=1, total_time_limit=0.05,
                    pretrained_backbones=False).fit()
    out = tmp_path / "model.dlpk"
    out.write_bytes(b"previous model")

    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", disk_full)
    with pytest.raises(OSError, match="No space left"):
        autodl.save(out)
    assert out.read_bytes() == b"previous model" and sorted(p.name for p in tmp_path.iterdir()) == ["model.dlpk"]


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def test_memory_does_not_grow_across_candidates(synthetic):
    data = TrainingData.open(synthetic(CLASSIFIED_TILES, num_chips=12))
    rss = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(8):
            request = TrainRequest("UnetClassifier", "resnet18", TrainConfig(max_epochs=1, batch_size=4, seed=seed),
                                   pretrained=False)
            candidate = train_candidate(data, request, torch.device("cpu"))
            assert candidate.result.best_metric is not None
            del candidate
            gc.collect()
            rss.append(_rss_mb())
    # a Unet-ResNet18 with its optimizer state is about 170 MB: one kept per candidate would add 800 MB here
    assert rss[-1] - rss[2] < 100, [round(r) for r in rss]


@pytest.fixture
def postgres_url():
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed here (scripts/setup.sh installs it: apt-get install postgresql)")
    with postgres_server() as url:
        yield url


def test_two_workers_share_a_search_through_postgresql(synthetic, tmp_path, postgres_url):
    import optuna

    folder = synthetic(CLASSIFIED_TILES, num_chips=12)
    out, work = tmp_path / "model.dlpk", tmp_path / "shared"
    networks = "UnetClassifier,PSPNetClassifier,DeepLabV3Plus,DeepLab"
    primary = subprocess.Popen([*_train_command(folder, out, work, "--storage", postgres_url, "--study", "pools"),
                                "--networks", networks], env=_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while "pools" not in [s.study_name for s in optuna.get_all_study_summaries(postgres_url)]:
        assert primary.poll() is None and time.monotonic() < deadline, primary.stdout.read()[-3000:]
        time.sleep(0.5)
    worker = subprocess.run([sys.executable, "-m", "autodl_qgis", "worker", "--storage", postgres_url, "--study",
                             "pools", "--device", "cpu"], env=_env(), capture_output=True, text=True, timeout=900)
    primary_output = primary.communicate(timeout=900)[0]
    assert worker.returncode == 0, worker.stdout[-3000:] + worker.stderr[-3000:]
    assert "worker done: " in worker.stdout and "worker done: 0 " not in worker.stdout
    assert primary.returncode == 0, primary_output[-3000:]
    rows = SearchRecord.join(postgres_url, "pools").rows()
    assert len({r.key for r in rows}) == len(rows)  # every job once
    assert sorted(r.network for r in rows if r.rung == 0 and r.phase == "rung") == sorted(networks.split(","))
    assert len({r.worker for r in rows if r.status != "not_reached"}) == 2, rows  # both processes trained some
    with open_package(out) as package:
        board = package.emd["AutoDL"]["training"]["leaderboard"]
        assert len(board) == 4 and package.network == board[0]["network"]
