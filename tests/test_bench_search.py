"""scripts/bench_search.py's case (a) on any real export: --real names a folder under $AUTODL_REAL_DATA, the case is
labelled by that name (palm_pascal_voc_west keeps the label "real"), the spatial test block is held out of the pool
the methods train on, and a folder too small for a test block is refused with the reason. No method runs here
(--methods ""): only the data preparation, on GDAL-written chips."""
import pytest

from autodl_qgis.engine.data import KITTI, TrainingData
from autodl_qgis.engine.data.split import TEST_MIN_CHIPS
from autodl_qgis.engine.data.synthetic import write_synthetic_dataset
from conftest import load_script


@pytest.fixture(scope="module")
def real_root(tmp_path_factory):
    """$AUTODL_REAL_DATA holding one export big enough for a test block under two names, and a small one."""
    root = tmp_path_factory.mktemp("real")
    write_synthetic_dataset(root / "big_kitti", KITTI, num_chips=TEST_MIN_CHIPS, chip_size=32)
    (root / "palm_pascal_voc_west").symlink_to(root / "big_kitti")
    write_synthetic_dataset(root / "small_kitti", KITTI, num_chips=12, chip_size=32)
    return root


def _main(bench, monkeypatch, real_root, *args):
    monkeypatch.setattr(bench, "REAL_DATA", real_root)
    monkeypatch.setattr("sys.argv", ["bench_search.py", "--cases", "real", "--methods", "", *args])
    return bench.main()


@pytest.mark.parametrize(("name", "label"), (("big_kitti", "big_kitti"), ("palm_pascal_voc_west", "real")))
def test_the_named_export_is_split_and_its_test_block_kept_from_the_pool(real_root, tmp_path, monkeypatch, name,
                                                                         label):
    bench = load_script("bench_search")
    assert _main(bench, monkeypatch, real_root, "--real", name, "--keep", str(tmp_path)) == 0
    assert [p.name for p in tmp_path.iterdir()] == [label]
    pool, test = TrainingData.open(tmp_path / label / "real_pool"), TrainingData.open(tmp_path / label / "real_test")
    assert pool.format == test.format == KITTI and test.chips and len(pool.chips) > len(test.chips)
    assert not {c.stem for c in pool.chips} & {c.stem for c in test.chips}
    assert len(pool.chips) + len(test.chips) <= TEST_MIN_CHIPS


def test_a_keep_folder_is_reused_by_the_next_method_and_refused_when_it_holds_other_chips(real_root, tmp_path,
                                                                                           monkeypatch):
    """One --keep folder for method after method (or two side by side): the held-out copies are made once."""
    bench = load_script("bench_search")
    assert _main(bench, monkeypatch, real_root, "--real", "big_kitti", "--keep", str(tmp_path)) == 0
    pool = tmp_path / "big_kitti" / "real_pool"
    made = {path: path.stat().st_mtime_ns for path in pool.rglob("*")}
    assert _main(bench, monkeypatch, real_root, "--real", "big_kitti", "--keep", str(tmp_path)) == 0
    assert {path: path.stat().st_mtime_ns for path in pool.rglob("*")} == made
    assert sorted(p.name for p in pool.parent.iterdir()) == ["real_pool", "real_test"]  # no staging folder left
    next(pool.glob("labels/*")).unlink()
    with pytest.raises(SystemExit) as refused:
        _main(bench, monkeypatch, real_root, "--real", "big_kitti", "--keep", str(tmp_path))
    assert str(refused.value).startswith(f"{pool} holds other files than the chips this benchmark copies there")


def test_an_export_too_small_for_a_test_block_is_refused_with_the_reason(real_root, tmp_path, monkeypatch):
    bench = load_script("bench_search")
    with pytest.raises(SystemExit) as refused:
        _main(bench, monkeypatch, real_root, "--real", "small_kitti", "--keep", str(tmp_path))
    message = str(refused.value)
    assert message.startswith(f"{real_root / 'small_kitti'}: no spatial test block could be held out")
    assert f"held out from {TEST_MIN_CHIPS} chips up and it has 12" in message


def test_an_absent_export_skips_the_case(real_root, tmp_path, monkeypatch, capsys):
    bench = load_script("bench_search")
    assert _main(bench, monkeypatch, real_root, "--real", "not_rebuilt", "--keep", str(tmp_path)) == 0
    assert f"skipping (a): {real_root / 'not_rebuilt'} is absent" in capsys.readouterr().out
    assert not any(tmp_path.iterdir())


def test_ablation_rows_compose_their_parts_and_unknown_methods_are_refused(real_root, tmp_path, monkeypatch, capsys):
    bench = load_script("bench_search")
    assert bench.ablation_options("noema_norefit_nomosaic") == ("--no-weight-averaging", "--no-refit", "--mosaic",
                                                                "0")
    assert bench.ablation_options("norefit_noboxes_norefit") == ("--no-refit", "--no-fitted-boxes")
    assert bench.ablation_options("search") == bench.ablation_options("ema_fast") == ()
    monkeypatch.setattr(bench, "REAL_DATA", real_root)
    monkeypatch.setattr("sys.argv", ["bench_search.py", "--cases", "real", "--methods", "search,ema_fast",
                                      "--keep", str(tmp_path)])
    with pytest.raises(SystemExit):
        bench.main()
    assert "unknown methods ema_fast" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused before any data is prepared


def test_network_names_are_methods_and_ratios_are_given_both_ways(capsys):
    bench = load_script("bench_search")
    assert bench.is_network("YOLOX") and bench.is_network("SingleShotDetector") and not bench.is_network("ema_fast")
    rows = [dict(case="real", method="search", seed=0, limit=60, wall=50, metric=0.4, tta=0.6, f1=0.45),
            dict(case="real", method="yolo", seed=0, limit=60, wall=55, metric=0.5, tta=0.4, f1=0.3)]
    bench.print_table(rows)
    out = capsys.readouterr().out
    assert "search/yolo 0.80" in out and "search/yolo 1.50" in out  # as predicted by default, then augmented
    assert "search/yolo 1.50" in out.split("F1, objects kept")[1] and "F1 0.450 as it keeps" in out
    assert "test-time augmented 0.6000" in out
    assert "seed by seed" not in out  # one seed: no spread to give
    rows += [dict(case="real", method="search", seed=1, limit=60, wall=50, metric=0.6, tta=0.6, f1=0.45),
             dict(case="real", method="yolo", seed=1, limit=60, wall=55, metric=0.3, tta=0.4, f1=0.3)]
    bench.print_table(rows)
    assert "search/yolo 1.25 (seed by seed 0.80-2.00)" in capsys.readouterr().out  # 0.5 / 0.4; 0.4/0.5, 0.6/0.3


def test_yolo_predictions_are_scored_both_ways_with_the_projects_metric(real_root, tmp_path):
    """YOLO's boxes (its class numbers from 0) against the labels: the labels themselves score 1, nothing scores 0."""
    import json

    bench = load_script("bench_search")
    data = TrainingData.open(real_root / "big_kitti")
    index = data.class_index
    labels = [data.read_label_values(chip) for chip in data.chips]
    perfect = [{"boxes": label.boxes.tolist(), "scores": [0.9] * len(label.boxes),
                "classes": [index[v] - 1 for v in label.values.tolist()]} for label in labels]
    empty = [{"boxes": [], "scores": [], "classes": []} for _ in labels]
    (tmp_path / "predictions.json").write_text(json.dumps({"plain": perfect, "tta": empty}))
    scores = bench.score_yolo(tmp_path / "predictions.json", data)
    assert scores["metric"] == pytest.approx(1.0) and scores["tta"] == 0.0 and scores["f1"] == 1.0  # 0.9 >= 0.25


def test_rows_of_separate_runs_make_one_table_with_the_code_they_ran(real_root, tmp_path, monkeypatch, capsys):
    """Seeds and methods run side by side as separate processes (one core each) save their rows with --rows;
    --table prints them as one table, ratios over every file's rows, and the code version each ran."""
    bench = load_script("bench_search")
    trained = []

    def fake_autodl(pool, out, minutes, device, networks=None, strategy="halving", seed=42, options=()):
        trained.append((networks, seed))  # no package: the row's metric is the one given
        return {"wall": 50.0, "model": networks or "searched", "metric": 0.3 if networks else 0.6}

    monkeypatch.setattr(bench, "run_autodl", fake_autodl)
    for method, file in (("search", "a.jsonl"), ("single", "b.jsonl")):
        for seed in (3, 4):
            assert _main(bench, monkeypatch, real_root, "--real", "big_kitti", "--methods", method, "--seeds",
                         str(seed), "--minutes", "1", "--keep", str(tmp_path / f"{method}{seed}"),
                         "--rows", str(tmp_path / file)) == 0
    assert [seed for _, seed in trained] == [3, 4, 3, 4] and trained[0][0] is None and trained[2][0]
    saved = bench.read_rows([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert [(r["method"], r["seed"]) for r in saved] == [("search", 3), ("search", 4), ("single", 3), ("single", 4)]
    assert len({r["code"] for r in saved}) == 1 and saved[0]["code"] != "unknown"
    capsys.readouterr()
    monkeypatch.setattr("sys.argv", ["bench_search.py", "--table", str(tmp_path / "a.jsonl"),
                                      str(tmp_path / "b.jsonl")])
    assert bench.main() == 0
    out = capsys.readouterr().out
    assert "search/single 2.00" in out and f"code: {saved[0]['code']}\n" in out
    bench.print_table(saved[:2])  # the search's rows alone: nothing to divide by
    assert "big_kitti  no other method to compare the search with" in capsys.readouterr().out
    (tmp_path / "c.jsonl").write_text('{"case": "real"}\nnot json\n')
    with pytest.raises(SystemExit) as refused:
        bench.read_rows([tmp_path / "c.jsonl"])
    assert str(refused.value) == f"{tmp_path / 'c.jsonl'}, line 2: not a row written by --rows"


def test_kept_packages_are_scored_once_and_over_the_views_on_the_test_block(real_root, tmp_path, monkeypatch,
                                                                            capsys):
    """--score: a change to how models predict is measured on packages already trained, on (a)'s test block."""
    bench = load_script("bench_search")
    scored = []

    def fake_score(package, test, test_time_augmentation=None):
        scored.append((package.name, test_time_augmentation, len(TrainingData.open(test).chips)))
        return {"a.dlpk": (0.4, 0.5), "b.dlpk": (0.3, 0.2)}[package.name][test_time_augmentation], None

    monkeypatch.setattr(bench, "score_package", fake_score)
    monkeypatch.setattr(bench, "REAL_DATA", real_root)
    monkeypatch.setattr("sys.argv", ["bench_search.py", "--real", "big_kitti", "--score", str(tmp_path / "a.dlpk"),
                                     str(tmp_path / "b.dlpk")])
    assert bench.main() == 0
    out = capsys.readouterr().out
    assert f"{tmp_path / 'a.dlpk'}: once 0.400, eight views 0.500" in out
    assert "mean of 2: once 0.350, eight views 0.350; the views higher on 1\n" in out
    assert [(name, views) for name, views, _ in scored] == [("a.dlpk", False), ("a.dlpk", True), ("b.dlpk", False),
                                                            ("b.dlpk", True)]
    assert 0 < scored[0][2] < TEST_MIN_CHIPS / 2  # the test block, not the pool
