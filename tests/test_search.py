"""AutoDL end to end on tiny synthetic folders: BASIC and ADVANCED, the time limit, failures, packages, fine-tuning,
train --json; and the time limit held on a real-size ArcGIS export."""
import json
import os
import subprocess
import sys
import time

import pytest
import torch

from autodl_qgis.cli import main
from autodl_qgis.engine.data import CLASSIFIED_TILES, KITTI, PASCAL_VOC, RCNN_MASKS, TrainingData
from autodl_qgis.engine.data.dataset import make_datasets
from autodl_qgis.engine.errors import InputDataError
from autodl_qgis.engine.package import open_package
from autodl_qgis.engine.progress import Cancelled
from autodl_qgis.engine.search import AutoDL, SearchFailed
from autodl_qgis.engine.search.autodl import _opened
from autodl_qgis.engine.search.config import FINAL, RUNG, CandidateJob, Opening, SearchConfig
from autodl_qgis.engine.status import RECORDED, Status
from autodl_qgis.engine.train import TrainResult
from autodl_qgis.engine.train import candidate as candidate_module
from conftest import REAL_DATA, REPO, CancelAfter, Logged, TickingClock

pytestmark = pytest.mark.filterwarnings("ignore")


def _autodl(folder, **options):
    options.setdefault("pretrained_backbones", False)
    options.setdefault("max_epochs", 2)
    options.setdefault("total_time_limit", 0.05)
    return AutoDL(folder, **options)


def _same_predictions(model_a, model_b, images):
    model_a.eval()
    model_b.eval()
    with torch.no_grad():
        a, b = model_a.predict(images), model_b.predict(images)
    if isinstance(a, torch.Tensor):
        return torch.allclose(a, b, atol=1e-5)
    return all(torch.allclose(x["boxes"], y["boxes"], atol=1e-4) and torch.equal(x["labels"], y["labels"])
               for x, y in zip(a, b))


@pytest.mark.parametrize("fmt,network", [(CLASSIFIED_TILES, "UnetClassifier"), (PASCAL_VOC, "FasterRCNN"),
                                         (KITTI, "SingleShotDetector"), (RCNN_MASKS, "MaskRCNN")])
def test_basic_search_writes_a_package_that_round_trips(synthetic, tmp_path, fmt, network):
    folder = synthetic(fmt, num_chips=12)
    autodl = _autodl(folder, networks=[network]).fit()
    best = autodl.best
    assert best.network == network and best.metric is not None
    # detection: the chip scale is chosen from the labelled objects' sizes, and why is recorded
    assert (best.scale_reason or "").startswith("the portfolio's scale") == (fmt != CLASSIFIED_TILES)
    path = autodl.save(tmp_path / "model")  # .dlpk is added
    assert path.name == "model.dlpk"
    data = TrainingData.open(folder)
    _, val = make_datasets(data, augment=False)
    images = torch.stack([val[i][0] for i in range(len(val))])
    with open_package(path) as package:
        assert package.network == network and package.emd["ModelName"] == network
        assert [c.name for c in package.classes] == [c.name for c in data.classes]
        assert package.emd["AutoDL"]["metric"] == pytest.approx(best.metric)
        rebuilt = package.build()
        assert _same_predictions(autodl.best_model(), rebuilt, images)
        names = set(p.name for p in package.folder.iterdir())
        assert {"leaderboard.csv", "leaderboard.json", "report.html", "model.safetensors"} <= names
        report = (package.folder / "report.html").read_text()
        assert report.count("data:image/png;base64,") >= 3 and network in report


def test_evaluated_models_are_saved_best_first_within_the_time_limit(synthetic, tmp_path):
    lines = []
    folder = synthetic(CLASSIFIED_TILES, num_chips=12)
    logged = Logged(lines)
    # a clock that stands still: one epoch ends each job, so the schedule's decisions do not depend on the load
    autodl = _autodl(folder, networks=["UnetClassifier", "FCN"], save_evaluated_models=True, max_epochs=1,
                     callbacks=logged, clock=lambda: 1e6).fit()
    autodl.started = autodl.clock()  # as if the search had ended early: the whole limit is left for saving
    autodl.save(tmp_path / "model.dlpk")
    saved = sorted((tmp_path / "model_evaluated_models").iterdir())
    assert len(saved) == len([r for r in autodl.results() if r.weights]) >= 2
    metrics = []
    for path in saved:
        with open_package(path) as package:
            metrics.append(package.emd["AutoDL"]["metric"])
            assert "InferenceFunction" not in package.emd  # for comparison only: no portable export
    assert metrics == sorted(metrics, reverse=True)
    # the candidate the schedule did not continue is recorded pruned in the work folder; the leaderboard reads that
    recorded = {r.key: r for r in autodl.results()}
    dropped = [r.result for r in autodl.leaderboard()[1:]]
    assert [r.status for r in dropped] == ["pruned"] and recorded[dropped[0].key] == dropped[0]
    # at the run's end there is no time for them: the shipped model is still written, the rest is said
    run_end = autodl.started + autodl.config.total_seconds
    autodl.clock = lambda: run_end
    autodl.save(tmp_path / "late.dlpk")
    assert (tmp_path / "late.dlpk").is_file() and not any((tmp_path / "late_evaluated_models").iterdir())
    assert any("evaluated models not saved" in line for line in lines)


def test_time_limit_holds_with_unbounded_epochs(synthetic, tmp_path):
    """No epoch cap: the time limit alone ends the training. On the search's clock the run, packaging included,
    ends within the limit (how the schedule spends it: test_schedule.py)."""
    folder = synthetic(CLASSIFIED_TILES, num_chips=12)
    networks = ["UnetClassifier", "PSPNetClassifier", "DeepLabV3Plus"]
    limit_hours = 0.1
    clock = TickingClock(4.0)  # a training step reads the clock about four times: some 20 steps in all
    autodl = _autodl(folder, networks=networks, total_time_limit=limit_hours, max_epochs=None, clock=clock).fit()
    autodl.save(tmp_path / "model.dlpk")
    limit = limit_hours * 3600
    assert clock.now - autodl.started <= limit, clock.now - autodl.started  # the contract, on the search's clock
    rows = [r.result for r in autodl.leaderboard()]
    assert sorted(r.network for r in rows) == sorted(networks)
    assert all(r.status in RECORDED for r in rows) and rows[0].phase == "final"
    assert all(r.reason for r in rows if r.status == "not_reached")


def test_the_leaders_opening_is_recorded_as_what_it_turned_out_to_be():
    job = CandidateJob("c00-r0", "c00", "UnetClassifier", "resnet18", RUNG, 0, 3000.0, decay_to_end=True,
                       opening=Opening(60.0, 1500.0, 3000.0, 3))
    assert CandidateJob.from_dict(json.loads(json.dumps(job.as_dict()))) == job  # as the record and workers read it
    config = job.train_config(SearchConfig(data="chips"))
    assert config.refit_share > 0 and config.ema and config.decay_to_end  # it trains as the finalist would
    # stopped by its rule: the leader's rung-0 segment, completed, the schedule continues or prunes it
    stopped, trained = _opened(job, TrainResult(Status.PRUNED, "miou", run_seconds=64.0))
    assert stopped == job and trained.status == Status.COMPLETED and "after 64 training seconds" in trained.reason
    # trained to its end: the finalist, under the same key
    final, trained = _opened(job, TrainResult(Status.DEADLINE, "miou"))
    assert (final.phase, final.key, trained.status) == (FINAL, "c00-r0", Status.DEADLINE)
    failed, trained = _opened(job, TrainResult(Status.FAILED, "miou", reason="injected"))
    assert failed.phase == RUNG and trained.status == Status.FAILED  # the challengers get rung 0


def test_failing_candidates_are_recorded_and_the_search_goes_on(synthetic, monkeypatch):
    real_build = candidate_module.build_scaled_network

    def faulty_build(name, *args, **kwargs):
        model = real_build(name, *args, **kwargs)
        healthy = model.losses
        if name == "PSPNetClassifier":
            model.losses = lambda images, targets: (_ for _ in ()).throw(ValueError("injected crash"))
        elif name == "DeepLabV3Plus":
            model.losses = lambda images, targets: {k: v * float("nan") for k, v in healthy(images, targets).items()}
        elif name == "DeepLab":
            model.losses = lambda images, targets: (_ for _ in ()).throw(
                torch.OutOfMemoryError("CUDA out of memory (injected)"))
        return model

    monkeypatch.setattr(candidate_module, "build_scaled_network", faulty_build)
    folder = synthetic(CLASSIFIED_TILES, num_chips=12)
    # room for four first-round candidates even on a busy machine (two epochs each end them much sooner)
    autodl = _autodl(folder, networks="PSPNetClassifier,DeepLabV3Plus,DeepLab,UnetClassifier",
                     total_time_limit=0.5).fit()
    board = autodl.leaderboard()
    rows = {r.result.network: r.result for r in board}
    assert not any(r.status == "not_reached" for r in rows.values()), rows
    assert rows["UnetClassifier"].status != "failed" and board[0].result.network == "UnetClassifier"
    assert rows["PSPNetClassifier"].status == "failed" and "injected crash" in rows["PSPNetClassifier"].reason
    assert rows["DeepLabV3Plus"].status == "failed" and "non-finite" in rows["DeepLabV3Plus"].reason
    assert rows["DeepLab"].status == "failed" and "out of memory" in rows["DeepLab"].reason
    assert autodl.best.network == "UnetClassifier"


def test_cuda_only_network_is_skipped_with_its_reason(synthetic):
    autodl = _autodl(synthetic(PASCAL_VOC, num_chips=12), networks="CARAFE,FasterRCNN", device="cpu").fit()
    rows = {r.result.network: r.result for r in autodl.leaderboard()}
    assert rows["CARAFE"].status == "skipped" and "no CPU implementation" in rows["CARAFE"].reason
    assert autodl.best.network == "FasterRCNN"


def test_every_candidate_failing_is_an_error(synthetic, monkeypatch, tmp_path, capsys):
    def broken(name, *args, **kwargs):
        raise RuntimeError("no luck")

    monkeypatch.setattr(candidate_module, "build_scaled_network", broken)
    folder = synthetic(CLASSIFIED_TILES, num_chips=12)
    with pytest.raises(SearchFailed, match="every candidate failed"):
        _autodl(folder, networks="UnetClassifier").fit()
    code = main(["train", str(folder), str(tmp_path / "m.dlpk"), "--networks", "UnetClassifier",
                 "--total-time-limit", "0.01", "--max-epochs", "1", "--no-pretrained-backbones"])
    assert code == 1 and "every candidate failed" in capsys.readouterr().err
    assert not (tmp_path / "m.dlpk").exists()


def test_advanced_mode_tunes_the_best_two_with_optuna(synthetic, tmp_path):
    import optuna

    folder = synthetic(CLASSIFIED_TILES, num_chips=12)
    autodl = _autodl(folder, mode="ADVANCED", networks="UnetClassifier,PSPNetClassifier,DeepLabV3Plus",
                     total_time_limit=0.25, max_epochs=1, work_dir=tmp_path / "work").fit()
    results = autodl.results()
    evaluated = [r for r in results if r.phase == "rung" and r.rung == 0]
    tuned = [r for r in results if r.phase == "tuning"]
    assert len(evaluated) == 3 and tuned, results
    scored = sorted((r for r in evaluated if r.metric is not None), key=lambda r: -r.metric)
    assert {r.network for r in tuned} <= {r.network for r in scored[:2]}
    assert all(r.learning_rate is not None for r in tuned)
    study = optuna.load_study(study_name=json.loads((tmp_path / "work" / "search.json").read_text())["study"],
                              storage=f"sqlite:///{tmp_path / 'work' / 'optuna.db'}")
    ran = [t for t in study.trials if "job" in t.user_attrs and t.user_attrs.get("phase") != "unused"]
    assert len(ran) == len(results) and all({"network", "learning_rate", "chip_scale"} <= set(t.params) for t in ran)


def test_network_that_does_not_suit_the_data_is_a_clear_error(synthetic):
    with pytest.raises(InputDataError, match="does not suit PASCAL_VOC_rectangles"):
        AutoDL(synthetic(PASCAL_VOC), networks="UnetClassifier")
    with pytest.raises(InputDataError, match="unknown network 'Yolo9000'"):
        AutoDL(synthetic(PASCAL_VOC), networks="Yolo9000")


def test_fine_tuning_accepts_the_same_network_and_refuses_a_mismatch(synthetic, tmp_path):
    tiles = synthetic(CLASSIFIED_TILES, num_chips=12)
    first = _autodl(tiles, networks="UnetClassifier").fit()
    package = first.save(tmp_path / "first.dlpk")
    logs = []
    # with a pretrained model, training uses that network only (whatever networks says)
    tuned = _autodl(tiles, pretrained_model=package, callbacks=Logged(logs)).fit()
    assert [r.result.network for r in tuned.leaderboard()] == ["UnetClassifier"]
    assert any("tensors taken from the pretrained model" in m for m in logs)
    with pytest.raises(InputDataError, match="is a pixel_classification model"):
        _autodl(synthetic(PASCAL_VOC), pretrained_model=package)
    with pytest.raises(InputDataError, match="was trained on 3 band"):
        _autodl(synthetic(CLASSIFIED_TILES, bands=4, dtype="uint16"), pretrained_model=package)


def test_cancel_writes_nothing_and_keeps_an_existing_model(synthetic, tmp_path):
    out = tmp_path / "model.dlpk"
    out.write_bytes(b"previous model")

    with pytest.raises(Cancelled):
        _autodl(synthetic(CLASSIFIED_TILES, num_chips=12), networks="UnetClassifier", callbacks=CancelAfter(3)).fit()
    assert out.read_bytes() == b"previous model" and [p.name for p in tmp_path.iterdir()] == ["model.dlpk"]


@pytest.mark.parametrize("recipe", [True, False], ids=["refit-and-average", "training-chips-only"])
def test_the_finalist_refits_on_training_and_validation_chips(synthetic, tmp_path, recipe):
    """The finalist's second half trains on the training + validation chips (the test chips stay out), keeps
    a moving average of its weights, and then predicts over the eight flips and quarter turns by default (the chips
    it trained on cannot choose; without a refit nothing is chosen here): the leaderboard, the package and its
    report say what the model trained on, which weights it ships and how it predicts."""
    folder = synthetic(CLASSIFIED_TILES, num_chips=12)
    autodl = _autodl(folder, networks=["UnetClassifier"], refit=recipe,
                     weight_averaging=recipe, choose_test_time_augmentation=recipe).fit()
    split = autodl.split
    best = autodl.leaderboard()[0].result
    assert best.phase == "final" and best.metric is not None
    assert best.trained_chips == len(split.refit if recipe else split.train)
    assert recipe or not best.averaged
    curve = autodl.results()[-1].curve
    assert all((p.ema_metric is not None) == recipe for p in curve)
    if recipe:  # validated only before the refit: its epochs are of the training + validation chips
        assert curve[-1].epoch < best.epochs
    # the eight views validated on the chips the kept weights were (after the refit the views alone: those chips
    # cannot choose)
    assert (best.augmented_metric is not None) == recipe
    assert best.once_metric is None
    assert best.test_time_augmentation == recipe
    path = autodl.save(tmp_path / "model.dlpk")
    with open_package(path) as package:
        training = package.emd["AutoDL"]["training"]
        report = (package.folder / "report.html").read_text()
        assert package.test_time_augmentation == best.test_time_augmentation
    assert training["trained_chips"] == best.trained_chips
    assert training["augmented_validation_metric"] == best.augmented_metric
    assert training["weights"] == ("moving average of the weights" if best.averaged else "the weights as trained")
    assert f"{best.trained_chips} chips" in report
    assert ("training + validation" in report) == recipe
    assert training["once_validation_metric"] == best.once_metric
    assert ("over them" in report) == recipe and ("was not validated" in report) != recipe
    assert ("the model trained on those chips, so they do not choose" in report) == recipe


def test_command_line_train_and_show(synthetic, tmp_path, capsys, monkeypatch):
    from autodl_qgis.engine.data.augment import Mosaic

    mosaics = []  # (size, boxes) of each mosaic training made: a detector's default reaches the training chips
    real_mosaic = Mosaic.__call__

    def counted(self, samples):
        image, target = real_mosaic(self, samples)
        mosaics.append((tuple(image.shape[-2:]), len(target["boxes"])))
        return image, target

    monkeypatch.setattr(Mosaic, "__call__", counted)
    folder = synthetic(KITTI, num_chips=12)
    code = main(["train", str(folder), str(tmp_path / "pools"), "--networks", "FasterRCNN", "--total-time-limit",
                 "0.05", "--max-epochs", "1", "--no-pretrained-backbones", "--json"])
    assert code == 0
    assert mosaics and all(size == (64, 64) for size, _ in mosaics) and any(boxes for _, boxes in mosaics)
    result = json.loads(capsys.readouterr().out)
    assert result["output_model_file"].endswith("pools.dlpk")
    assert result["best"]["network"] == "FasterRCNN" and result["best"]["metric_name"] == "average_precision"
    assert result["leaderboard"][0]["rank"] == 1 and result["leaderboard"][0]["status"] in RECORDED
    assert result["validation"]["kind"] in ("spatial_blocks", "random") and result["validation"]["chips"] >= 1
    assert "test" not in result  # 12 chips: too few to hold a test block out
    # the detector's boxes over the eight views were validated, and the choice is what the package says
    assert result["best"]["augmented_metric"] is not None
    assert main(["show", result["output_model_file"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["network"] == "FasterRCNN" and shown["model_type"] == "ObjectDetection"
    assert shown["test_time_augmentation"] is result["best"]["test_time_augmentation"]
    # and the threshold it keeps objects from: where F1 was highest, predicted as it predicts by default (the end of
    # training's pass, test_trainer; None when nothing was detected, and the package keeps 0.5)
    recorded = shown["training"]["detection_confidence"]
    assert result["best"]["detection_confidence"] == recorded
    assert shown["detection_confidence"] == (0.5 if recorded is None else recorded)
    assert main(["train", str(tmp_path / "nothing"), str(tmp_path / "x.dlpk")]) == 2


def test_train_json_is_the_only_thing_on_stdout(synthetic, tmp_path, capfd, monkeypatch):
    real_build = candidate_module.build_scaled_network

    def chatty_build(*args, **kwargs):  # as mmengine's logger and C extensions do
        print("INFO - a library talks on stdout")
        os.write(1, b"C code writes to descriptor 1\n")
        return real_build(*args, **kwargs)

    monkeypatch.setattr(candidate_module, "build_scaled_network", chatty_build)
    folder = synthetic(CLASSIFIED_TILES, num_chips=12)
    code = main(["train", str(folder), str(tmp_path / "m.dlpk"), "--networks", "UnetClassifier",
                 "--total-time-limit", "0.03", "--max-epochs", "1", "--no-pretrained-backbones", "--json"])
    out, err = capfd.readouterr()
    assert code == 0, err[-2000:]
    assert json.loads(out)["best"]["network"] == "UnetClassifier"  # one document, nothing else
    assert "a library talks" in err and "descriptor 1" in err


@pytest.mark.slow
def test_time_limit_holds_on_a_real_size_export(tmp_path):
    """Every network that suits the data, 316 chips of 448 px, 3 minutes: the run, imports and packaging
    included, ends within 1.05 x the limit + 60 s, and the networks the time could not reach say so."""
    folder = REAL_DATA / "palm_pascal_voc_west"
    if not folder.is_dir():
        pytest.skip(f"the real ArcGIS export is not at {folder} (set AUTODL_REAL_DATA)")
    limit_hours = 0.05
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2"}
    # the wall clock: the promise to the user of a real process, imports and writing the package included
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "autodl_qgis", "train", str(folder), str(tmp_path / "palm.dlpk"),
                          "--total-time-limit", str(limit_hours), "--device", "cpu", "--json"],
                         env=env, capture_output=True, text=True, timeout=1800)
    elapsed = time.monotonic() - start
    assert run.returncode == 0, run.stderr[-3000:]
    assert elapsed <= limit_hours * 3600 * 1.05 + 60, (elapsed, run.stderr[-3000:])
    result = json.loads(run.stdout)
    rows = result["leaderboard"]
    assert rows[0]["status"] in ("completed", "early_stopped", "deadline") and rows[0]["metric"] is not None
    assert all(r["status"] in RECORDED for r in rows)
    assert all(r["status"] != "failed" or "time budget" not in (r["reason"] or "") for r in rows)
    assert result["validation"]["kind"] == "spatial_blocks" and "test" in result
    # the held-out chips counted as Detect Objects keeps objects by default: from the package's threshold
    own = result["best"]["detection_confidence"]
    assert result["test"]["confidence"] == (0.5 if own is None else own)
    assert result["test"]["scores"]["average_precision"] == result["test"]["metric"]
    assert set(result["test"]["scores"]) == {"average_precision", "coco_map", "precision", "recall", "f1"}
