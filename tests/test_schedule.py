"""How the search spends the time limit, on a fake clock with fake training (no torch): the rungs, continued
training at equal training seconds, the leader kept unless beaten by more than the noise, the finalist's share,
not_reached candidates, the flat sweep kept for benchmarks."""
import dataclasses
import re

import pytest

from autodl_qgis.engine.search.config import (DEFAULT_MOSAIC, FINAL, FLAT, PLAIN_SHARE, RUNG, TUNING, CandidateJob,
                                              CandidateResult, EpochRecord, Opening, SearchConfig)
from autodl_qgis.engine.status import Status
from autodl_qgis.engine.search.schedule import (FINAL_SHARE, MIN_FINAL_EPOCHS, MIN_FIRST_PASSES, MIN_NOISE,
                                                HalvingSearch, finalist, noise, opening_yields, OpeningRule,
                                                packaging_reserve, promote, refusal, rung_sizes)
from autodl_qgis.engine.train.trainer import Validated
from autodl_qgis.engine.errors import InputDataError


class FakeClock:
    def __init__(self, now=5000.0):
        self.now = now

    def __call__(self):
        return self.now


class FakeTraining:
    """Runs jobs as the search's executor does, on the fake clock: ``quality[network]`` is the metric a candidate
    approaches with training seconds; building and validating cost ``overhead[network]`` seconds."""

    def __init__(self, clock, quality, overhead=None, wobble=0.0, epoch_steps=10, step_seconds=None):
        self.clock, self.quality, self.overhead = clock, quality, overhead or {}
        self.epoch_steps = epoch_steps  # at 0.1 s a step: one epoch a second unless given
        self.step_seconds = step_seconds or {}  # a network's seconds a step, if not 0.1
        self.wobble = wobble  # difference between a candidate's last two validations (the noise)
        self.jobs, self.results, self.trained = [], [], {}

    def __call__(self, jobs, deadline):
        out = []
        for job in jobs:
            job = dataclasses.replace(job, deadline=deadline)
            self.jobs.append(job)
            start = self.clock()
            reason = refusal(job, self.results, start)
            if reason is not None:
                result = CandidateResult(job.key, job.candidate, job.network, job.backbone, job.phase, job.rung,
                                         Status.NOT_REACHED, reason=reason, start=start, end=start)
            else:
                if job.resume_from is not None:
                    assert job.resume_from == f"{job.candidate}-state"  # continues, never restarts
                overhead = self.overhead.get(job.network, 2.0)
                step = self.step_seconds.get(job.network, 0.1)
                if job.train_seconds < job.min_passes * self.epoch_steps * step:  # as the trainer decides
                    self.clock.now += overhead
                    result = CandidateResult(job.key, job.candidate, job.network, job.backbone, job.phase, job.rung,
                                             Status.NOT_REACHED, reason="less than one pass", start=start,
                                             end=self.clock(), seconds_per_step=step, epoch_steps=self.epoch_steps)
                    self.results.append(result)
                    out.append(result)
                    continue
                seconds = min(job.train_seconds, max(0.0, deadline - start - overhead))
                if job.opening is not None:  # as the search's runner: stops at a validation where its rule says
                    opened = start + overhead + job.opening.seconds
                    if opening_yields(job.opening, start, opened, 0.1 * self.epoch_steps):
                        seconds = job.opening.seconds
                    else:
                        job = dataclasses.replace(job, phase=FINAL)
                total = self.trained.get(job.candidate, 0.0) + seconds
                self.trained[job.candidate] = total
                metric = self.quality[job.network] * total / (total + 50.0)
                self.clock.now += overhead + seconds
                curve = (EpochRecord(1, 1, total / 2, 1.0, metric - self.wobble, 1e-3),
                         EpochRecord(2, 2, total, 0.5, metric, 1e-3))
                result = CandidateResult(job.key, job.candidate, job.network, job.backbone, job.phase, job.rung,
                                         Status.COMPLETED, metric_name="miou", metric=metric, train_seconds=total,
                                         segment_seconds=seconds, seconds_per_step=step, epoch_steps=self.epoch_steps,
                                         validation_seconds=0.5,
                                         build_seconds=overhead - 0.5, start=start, end=self.clock(),
                                         checkpoint=f"{job.candidate}-state", curve=curve)
            self.results.append(result)
            out.append(result)
        return out


def _seeds(*networks):
    return [CandidateJob(f"c{i:02d}-r0", f"c{i:02d}", name, "resnet18", RUNG, 0, 0.0, learning_rate=1e-3)
            for i, name in enumerate(networks)]


def _search(clock, training, networks, limit=3600.0, **options):
    return HalvingSearch(_seeds(*networks), clock(), limit, training, clock, **options)


NINE = ["A", "B", "C", "D", "E", "F", "G", "H", "I"]


def test_rung_sizes_keep_a_third():
    assert rung_sizes(1) == () and rung_sizes(2) == (2,) and rung_sizes(3) == (3,)
    assert rung_sizes(9) == (9, 3) and rung_sizes(21) == (21, 7, 3)


def test_the_search_ends_before_the_limit_less_packaging_and_the_finalist_gets_half():
    clock = FakeClock()
    start, limit = clock(), 3600.0
    training = FakeTraining(clock, {n: 0.5 + 0.04 * i for i, n in enumerate(NINE)})
    results = _search(clock, training, NINE, limit).run()
    assert clock() - start <= limit - packaging_reserve(limit) + 1e-6
    final = results[-1]
    assert final.phase == FINAL and final.key == f"{final.candidate}-final"
    assert final.segment_seconds >= FINAL_SHARE * limit - 60  # less only the overhead of one job
    assert [j.rung for j in training.jobs if j.phase == RUNG] == [0] * 9 + [1] * 3


def test_promoted_candidates_continue_at_equal_training_seconds():
    clock = FakeClock()
    training = FakeTraining(clock, {n: 0.5 + 0.04 * i for i, n in enumerate(NINE)})
    _search(clock, training, NINE).run()
    for rung in (0, 1):
        seconds = {round(r.segment_seconds, 6) for r in training.results if r.phase == RUNG and r.rung == rung}
        assert len(seconds) == 1, seconds  # every job of a rung adds the same training seconds
    assert training.jobs[0].opening is not None and training.jobs[0].decay_to_end  # the leader's, as a finalist's
    later = [j for j in training.jobs if j.rung > 0 or j.phase == FINAL]
    assert later and all(j.resume_from == f"{j.candidate}-state" for j in later)
    rung1 = {j.network for j in training.jobs if j.rung == 1}
    assert rung1 == {"G", "H", "I"}  # the best third of rung 0
    assert training.jobs[-1].network == "I" and training.jobs[-1].decay_to_end and training.jobs[-1].full_validation


def test_the_candidates_the_schedule_drops_are_recorded_pruned_and_a_resumed_search_reads_them_back():
    clock = FakeClock()
    training = FakeTraining(clock, {n: 0.5 + 0.04 * i for i, n in enumerate(NINE)})
    recorded = {}  # the work folder: a job recorded there is not trained again

    def execute(jobs, deadline):
        out = [recorded.get(job.key) or training([job], deadline)[0] for job in jobs]
        out = [r.replace(status=Status.EARLY_STOPPED) if r.network == "A" and r.phase == RUNG else r for r in out]
        recorded.update((r.key, r) for r in out)
        return out

    def search():
        return HalvingSearch(_seeds(*NINE), clock(), 3600.0, execute, clock,
                             record=lambda result: recorded.__setitem__(result.key, result)).run()

    results = search()
    statuses = {r.key: r.status for r in results}
    # rung 1 keeps G, H, I (c06-c08); I is the finalist; A stopped early and keeps that status
    pruned = {f"c0{i}-r0" for i in range(1, 6)} | {"c06-r1", "c07-r1"}
    assert {k for k, s in statuses.items() if s == Status.PRUNED} == pruned
    assert statuses["c00-r0"] == Status.EARLY_STOPPED
    assert all(s == Status.COMPLETED for k, s in statuses.items() if k not in pruned | {"c00-r0"})
    reasons = {r.reason for r in results if r.status == Status.PRUNED}
    assert reasons == {f"not continued after round {n}: others were better at equal training time" for n in (0, 1)}
    assert recorded == {r.key: r for r in results}  # recorded as decided, not rewritten when read

    jobs = len(training.jobs)
    recorded["c08-r0"] = recorded["c08-r0"].pruned()  # as if an earlier run had not continued the finalist
    again = search()  # resumed: everything is recorded, nothing is trained again, the decisions are the same
    assert len(training.jobs) == jobs and [(r.key, r.status) for r in again] == list(statuses.items())
    assert recorded["c08-r0"].status == Status.COMPLETED and recorded["c08-r0"].reason is None


def test_the_leader_stays_unless_a_challenger_beats_it_by_more_than_the_noise():
    clock = FakeClock()
    close = {"Lead": 0.80, "B": 0.805, "C": 0.3}  # B is better, but by less than the noise
    training = FakeTraining(clock, close, wobble=0.02)
    results = _search(clock, training, list(close)).run()
    assert results[-1].network == "Lead"

    clock = FakeClock()
    clear = {"Lead": 0.60, "B": 0.90, "C": 0.3}
    training = FakeTraining(clock, clear, wobble=0.02)
    logs = []
    results = _search(clock, training, list(clear), log=logs.append).run()
    assert results[-1].network == "B" and any("replaces the leader" in m for m in logs)


def test_candidates_that_do_not_fit_are_not_reached_and_the_first_still_ships():
    clock = FakeClock()
    start, limit = clock(), 600.0
    networks = [f"N{i}" for i in range(20)]
    training = FakeTraining(clock, {n: 0.5 for n in networks}, overhead={n: 60.0 for n in networks})
    results = _search(clock, training, networks, limit).run()
    rung0 = sorted((r for r in results if r.phase == RUNG and r.rung == 0), key=lambda r: r.candidate)
    statuses = [r.status for r in rung0]
    assert len(rung0) == 20 and statuses[0] == Status.COMPLETED and Status.NOT_REACHED in statuses
    assert all(s == Status.NOT_REACHED for s in statuses[statuses.index(Status.NOT_REACHED):])  # in portfolio order
    reasons = [r.reason for r in rung0 if r.status == Status.NOT_REACHED]
    assert any("time limit reaches the first 4 candidate(s)" in r for r in reasons)  # too many for 300 s
    assert any(re.search(r"job costs \d+ s, as measured on N0", r) for r in reasons)  # the leader's measured cost
    assert results[-1].phase == FINAL and results[-1].status == Status.COMPLETED
    assert clock() - start <= limit - packaging_reserve(limit) + 1e-6


def test_a_limit_that_buys_the_leader_few_epochs_is_all_the_leaders():
    """Epochs of 200 s: a 1-hour limit buys the leader about 17, fewer than the finalist keeps, so no challenger
    runs and the leader continues from its first job to the end, as it would alone."""
    clock = FakeClock()
    start, limit = clock(), 3600.0
    training = FakeTraining(clock, {n: 0.5 + 0.04 * i for i, n in enumerate(NINE)}, epoch_steps=2000)
    logs = []
    results = _search(clock, training, NINE, limit, log=logs.append).run()
    assert [j.key for j in training.jobs] == ["c00-r0"]  # one run: no second build, probe or schedule
    assert training.jobs[0].decay_to_end and training.jobs[0].resume_from is None
    final = [r for r in results if r.phase == FINAL]
    assert [r.key for r in final] == ["c00-r0"] and final[0].status == Status.COMPLETED
    skipped = [r for r in results if r.status == Status.NOT_REACHED]
    assert len(skipped) == 8 and all(f"keeps {MIN_FINAL_EPOCHS} of its epochs" in r.reason for r in skipped)
    assert "an epoch of 200 s" in skipped[0].reason
    search_seconds = limit - packaging_reserve(limit)
    assert training.trained["c00"] >= search_seconds - 2.0 - 1e-6  # all but one job's overhead: as alone
    assert clock() - start <= search_seconds + 1e-6

    clock = FakeClock()  # without the opening (epoch-capped segments): a rung-0 job, then the leader continues
    training = FakeTraining(clock, {n: 0.5 + 0.04 * i for i, n in enumerate(NINE)}, epoch_steps=2000)
    _search(clock, training, NINE, limit, opening=False).run()
    assert [j.key for j in training.jobs] == ["c00-r0", "c00-final"] and training.jobs[0].opening is None
    assert training.jobs[-1].resume_from == "c00-state" and training.jobs[-1].decay_to_end

    clock = FakeClock()  # the same search with one-second epochs tries every network
    training = FakeTraining(clock, {n: 0.5 + 0.04 * i for i, n in enumerate(NINE)}, epoch_steps=10)
    _search(clock, training, NINE, limit).run()
    assert len({j.candidate for j in training.jobs}) == 9


def test_first_rung_challengers_are_held_to_the_leaders_standard():
    """Epochs of 1 s for the leader A. B would win if it trained, but its epoch (300 s) is longer than a first-rung
    job: less than one pass, too little to rank it. C's epoch (30 s) gives it a few passes, but should it win, the
    finalist's time would buy it fewer than MIN_FINAL_EPOCHS of them. Both are not_reached once their first steps
    measure them, their time goes to the others; D (10 s epochs) is ranked, wins and is the finalist."""
    clock = FakeClock()
    start, limit = clock(), 1800.0
    training = FakeTraining(clock, {"A": 0.5, "B": 0.9, "C": 0.8, "D": 0.6},
                            step_seconds={"B": 30.0, "C": 3.0, "D": 1.0})
    logs = []
    search = _search(clock, training, ["A", "B", "C", "D"], limit, log=logs.append)
    results = search.run()
    rung0 = [j for j in training.jobs if j.rung == 0 and j.opening is None]
    final_seconds = search.end - search.exploration_end
    asked = MIN_FINAL_EPOCHS * rung0[0].train_seconds / final_seconds
    assert asked > MIN_FIRST_PASSES and [j.min_passes for j in rung0] == [pytest.approx(asked)] * 3
    assert training.jobs[0].min_passes == 0.0 and training.jobs[-1].min_passes == 0.0  # the leader, the finalist
    assert any(f"{asked:.1f} passes over the training chips" in line for line in logs)
    assert {r.network for r in results if r.status == Status.NOT_REACHED} == {"B", "C"}
    assert results[-1].key == "c03-final"  # D beat the leader and trains to the end
    assert clock() - start <= search.end - start + 1e-6

    clock = FakeClock()  # a longer limit: the finalist's time buys C its epochs, and C is ranked and wins
    training = FakeTraining(clock, {"A": 0.5, "B": 0.9, "C": 0.8, "D": 0.6},
                            step_seconds={"B": 30.0, "C": 3.0, "D": 1.0})
    results = _search(clock, training, ["A", "B", "C", "D"], 6 * 3600.0).run()
    assert results[-1].key == "c02-final"


def test_the_openings_rule_decides_once_at_its_first_validation_after_a_rung_zero_jobs_seconds():
    """A search from 0 to 3000 s, exploring until 1500 s at most, three candidates; the opening began at 0."""
    clock = FakeClock(now=100.0)
    opening = Opening(seconds=60.0, exploration_end=1500.0, end=3000.0, candidates=3)
    rule = OpeningRule(opening, began=0.0, clock=clock)
    assert not rule(Validated(1, 0.2, trained_seconds=40.0, epoch_seconds=10.0))  # too early to decide
    # 10-s epochs: the finalist's 50 leave exploring until 1500 s, 3 candidates at 100 s a job: room, it stops
    assert rule(Validated(2, 0.3, trained_seconds=80.0, epoch_seconds=10.0))
    assert not opening_yields(opening, 0.0, 100.0, None)  # nothing measured: no decision to stop
    # 58-s epochs: the finalist's 50 need 2900 s of the 3000, leaving 100 s, no room for two 100-s jobs: it stays
    rule = OpeningRule(opening, began=0.0, clock=clock)
    assert not rule(Validated(2, 0.3, trained_seconds=80.0, epoch_seconds=58.0)) and rule.stays
    assert not rule(Validated(3, 0.3, trained_seconds=120.0, epoch_seconds=1.0))  # decided: never asked again
    # the run's last validation before its refit decides, however little it trained
    rule = OpeningRule(opening, began=0.0, clock=clock)
    assert rule(Validated(1, 0.2, trained_seconds=5.0, epoch_seconds=10.0, last=True))
    clock.now = 800.0  # at 800 s a job, two candidates do not fit in 1500 s
    assert not OpeningRule(opening, 0.0, clock)(Validated(2, 0.3, trained_seconds=80.0, epoch_seconds=10.0))


def test_a_job_whose_measured_cost_does_not_fit_before_its_deadline_is_refused():
    measured = [CandidateResult("c00-r0", "c00", "A", "resnet18", RUNG, 0, Status.COMPLETED, metric=0.5,
                                seconds_per_step=2.0, validation_seconds=10.0, build_seconds=20.0)]
    job = CandidateJob("c01-r0", "c01", "B", "resnet18", RUNG, 0, 30.0, deadline=1000.0)
    assert refusal(job, measured, now=1000.0 - 41.0) is None  # 20 s build + 5 steps of 2 s + 10 s validation
    reason = refusal(job, measured, now=1000.0 - 39.0)
    assert reason == "needs about 40 s to give a validated result, 39 s were left"
    assert refusal(dataclasses.replace(job, deadline=None), measured, now=1e9) is None


def test_one_candidate_is_the_finalist_from_the_start():
    clock = FakeClock()
    start = clock()
    training = FakeTraining(clock, {"Only": 0.7})
    results = _search(clock, training, ["Only"], 1200.0).run()
    assert [r.key for r in results] == ["c00-final"]
    assert training.jobs[0].train_seconds == pytest.approx(1200.0 - packaging_reserve(1200.0))
    assert training.jobs[0].decay_to_end and training.jobs[0].resume_from is None
    assert clock() - start <= 1200.0 - packaging_reserve(1200.0) + 1e-6


def test_a_first_job_that_costs_the_exploration_time_is_the_finalist():
    clock = FakeClock()
    training = FakeTraining(clock, {"A": 0.5, "B": 0.6}, overhead={"A": 700.0, "B": 700.0})
    results = _search(clock, training, ["A", "B"], 1800.0).run()
    final = [r for r in results if r.phase == FINAL]
    assert [(r.key, r.network) for r in final] == [("c00-r0", "A")]
    assert [r.status for r in results if r.network == "B"] == [Status.NOT_REACHED]


def test_nothing_validated_in_exploration_trains_the_first_candidate_that_did_not_fail_to_the_end():
    clock = FakeClock()
    training = FakeTraining(clock, {"A": 0.5, "B": 0.6, "C": 0.7})

    def execute(jobs, deadline):  # the leader fails; no challenger gives a validated result in time
        return [r.replace(status=Status.FAILED, metric=None) if r.network == "A" else
                r.replace(status=Status.NOT_REACHED, metric=None) if r.phase == RUNG else r
                for r in training(jobs, deadline)]

    results = HalvingSearch(_seeds("A", "B", "C"), clock(), 1800.0, execute, clock).run()
    assert results[-1].key == "c01-final" and results[-1].status == Status.COMPLETED
    assert results[-1].segment_seconds >= FINAL_SHARE * 1800.0  # the rest of the time


def test_advanced_mode_adds_tuning_proposals_to_rung_zero():
    clock = FakeClock()
    asked = []

    def propose(count, leading):
        asked.append((count, [r.network for r in leading]))
        return [CandidateJob(f"t{i:02d}-r0", f"t{i:02d}", leading[0].network, "resnet50", TUNING, 0, 0.0,
                             learning_rate=3e-4) for i in range(count)]

    training = FakeTraining(clock, {"A": 0.5, "B": 0.7, "C": 0.6})
    _search(clock, training, ["A", "B", "C"], tuning=2, propose=propose).run()
    assert asked == [(2, ["B", "C", "A"])]
    rung0 = [j for j in training.jobs if j.rung == 0 and j.phase in (RUNG, TUNING)]
    assert [j.phase for j in rung0] == [RUNG] * 3 + [TUNING] * 2
    seconds = {r.key: r.segment_seconds for r in training.results}
    assert len({round(seconds[j.key], 6) for j in rung0}) == 1  # tuning trials compared at equal training seconds


def test_flat_sweep_gives_equal_shares_and_no_finalist():
    clock = FakeClock()
    training = FakeTraining(clock, {"A": 0.5, "B": 0.7, "C": 0.6})
    results = _search(clock, training, ["A", "B", "C"], 900.0, strategy=FLAT).run()
    assert [r.phase for r in results] == [RUNG] * 3 and all(j.resume_from is None for j in training.jobs)
    assert all(r.status == Status.COMPLETED for r in results)  # nothing is pruned: every candidate had its share
    assert len({round(j.train_seconds, 6) for j in training.jobs}) == 1


def test_noise_promotion_and_finalist_rules():
    def result(candidate, metric, previous=None):
        curve = () if previous is None else (EpochRecord(1, 1, 1.0, 1.0, previous, 1e-3),
                                              EpochRecord(2, 2, 2.0, 1.0, metric, 1e-3))
        return CandidateResult(f"{candidate}-r0", candidate, candidate, "r18", RUNG, 0, Status.COMPLETED, "miou",
                               metric, curve=curve)

    rows = [result("a", 0.50, 0.45), result("b", 0.52, 0.50), result("c", 0.40, 0.41)]
    assert noise(rows) == pytest.approx(0.02)
    assert noise([result("a", 0.5)]) == MIN_NOISE
    assert [r.candidate for r in promote(rows, 1, leader="a", margin=0.03)] == ["a"]
    assert [r.candidate for r in promote(rows, 1, leader="a", margin=0.01)] == ["b"]
    assert finalist(rows, "c", 0.05).candidate == "b"  # c trails by 0.12: beaten by more than the noise
    assert finalist(rows, "a", 0.05).candidate == "a"


def test_search_config_is_checked_and_round_trips_as_the_plan():
    config = SearchConfig(data="chips", total_time_limit=0.5, mode="advanced", networks="A, B,")
    assert config.mode == "ADVANCED" and config.networks == ("A", "B")
    assert SearchConfig.from_plan(config.as_plan()) == config
    for bad in (dict(total_time_limit=float("inf")), dict(total_time_limit=0), dict(mode="FAST"),
                dict(strategy="grid"), dict(resume=True)):
        with pytest.raises(InputDataError):
            SearchConfig(data="chips", **bad)


def test_detectors_train_on_mosaics_by_default_and_a_given_probability_wins():
    job = CandidateJob("c00-r0", "c00", "SingleShotDetector", "resnet18", FINAL, 0, 60.0)
    pixels = dataclasses.replace(job, network="UnetClassifier")
    default = SearchConfig(data="chips")
    assert job.train_request(default).mosaic == DEFAULT_MOSAIC["object_detection"] > 0
    assert pixels.train_request(default).mosaic == 0.0  # not measured on pixel classification: off
    assert job.train_request(SearchConfig(data="chips", mosaic=0.0)).mosaic == 0.0  # --mosaic 0
    assert pixels.train_request(SearchConfig(data="chips", mosaic=0.25)).mosaic == 0.25
    assert SearchConfig.from_plan(default.as_plan()) == default  # a resumed search keeps the task's default
    # the finalist ends without mosaics (YOLO's close_mosaic); a rung's short run is not its model
    assert job.train_request(default).config.plain_share == PLAIN_SHARE > 0
    assert dataclasses.replace(job, phase=RUNG).train_request(default).config.plain_share == 0.0
    with pytest.raises(InputDataError, match="mosaic"):
        SearchConfig(data="chips", mosaic=1.5)
