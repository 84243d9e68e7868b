"""How the search spends the time limit (docs/search.md says why): successive halving with continued training,
then one finalist trained to the deadline. Pure policy on an injected clock: what runs the jobs (this process,
workers, DDP followers) is passed in, so the schedule is tested with a fake clock and fake training.

- The run ends at ``start + limit``; the search stops ``packaging_reserve(limit)`` before that, for writing the
  package and scoring the test chips.
- At least half the limit is kept for the finalist, and at least ``MIN_FINAL_EPOCHS`` of the leader's epochs: the
  leader's opening runs first and measures what an epoch costs. When the limit buys too few epochs, comparing
  networks would cost the finalist the training it needs (short rankings are noisy too), so the challengers are
  not_reached and the opening, which trains as the finalist would, goes on to the end: the search then gives what
  the best default alone gives, at no cost (no second build, probe or schedule). Else the opening stops at its
  first validation after a rung-0 job's training seconds, as the leader's rung-0 job. The
  rest is split evenly between the exploration rungs; rung 0 holds every candidate (BASIC: the networks in
  portfolio order; ADVANCED: then as many TPE proposals), each later rung the best third, continuing from their
  checkpoints. Every job of a rung adds the same training seconds, so candidates are compared at equal training
  time.
- A job starts only if its minimum cost (build, a few steps, a validation: measured on this device for the
  candidates already run) fits in what is left of its rung; otherwise it is ``not_reached``. A rung-0 challenger is
  held to the leader's standard once its first steps measure its throughput: should it win, the finalist's time
  must buy it ``MIN_FINAL_EPOCHS`` of its own epochs, and its rung-0 seconds at least ``MIN_FIRST_PASSES`` passes
  over the training chips to rank it at all; else it is not_reached and its time goes to the finalist.
- The leader (the portfolio's first candidate, the strongest default) is replaced, in a promotion or as the
  finalist, only by a challenger better by more than the noise between validations.
- The finalist continues with a learning rate that falls to zero at the search's end and a full validation.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Callable, Sequence

from ..messages import Message, translate
from ..reach import (ETA, FINAL_SHARE, MIN_JOB_SECONDS, candidates_within, final_reserve,  # noqa: F401 - the
                     packaging_reserve, rung_sizes)  # search's names for them
from ..status import Status
from .config import FINAL, FLAT, HALVING, RUNG, TUNING, CandidateJob, CandidateResult, Opening

MIN_NOISE = 0.01  # a challenger must beat the leader by more than this (metric units) at least
FIRST_OVERHEAD_SHARE = 0.4  # of a rung-0 job's time assumed for building, batch probing and validation until measured
MIN_FINAL_EPOCHS = 50  # the finalist's epochs (the leader's cost) that come before any challenger's time
MIN_STEPS = 5  # steps a candidate needs before its first validation means anything
# passes over the training chips a first-rung challenger's seconds must buy at its measured throughput, else it is
# not_reached once that is measured (its build, batch probe and a step in) and its time goes to the finalist: ranked
# sooner it is ranked on noise (docs/benchmarks.md *Challengers held to the leader's standard*)
MIN_FIRST_PASSES = 1.0
# trained and validated; pruned ones too (dropped here; a resumed search reads them back so and decides the same)
SCORED = (Status.COMPLETED, Status.EARLY_STOPPED, Status.DEADLINE, Status.PRUNED)


def minimum_cost(measured: Sequence[CandidateResult]) -> float:
    """What a candidate not yet run is expected to need before it gives a validated result: the median of the
    measured candidates' build, ``MIN_STEPS`` steps and a validation; 0 before any was measured (the first
    candidate, the strongest default, always starts)."""
    costs = [(r.build_seconds or 0.0) + MIN_STEPS * r.seconds_per_step + (r.validation_seconds or 0.0)
             for r in measured if r.seconds_per_step is not None]
    return statistics.median(costs) if costs else 0.0


def refusal(job: CandidateJob, measured: Sequence[CandidateResult], now: float) -> str | None:
    """Why ``job`` must not start now (its minimum cost does not fit before its deadline), or None. The cost is
    the candidate's own when an earlier segment measured it, else the other candidates' median."""
    if job.deadline is None:
        return None
    own = [r for r in measured if r.candidate == job.candidate and r.seconds_per_step is not None]
    needed = minimum_cost(own[-1:] or measured)
    left = job.deadline - now
    if needed <= left and left > 0:
        return None
    return f"needs about {needed:.0f} s to give a validated result, {max(0.0, left):.0f} s were left"


def opening_yields(opening: Opening, began: float, now: float, epoch_seconds: float | None) -> bool:
    """Whether the leader's opening, begun at ``began`` and validated at ``now`` after ``opening.seconds`` of
    training, stops as the leader's rung-0 job: the finalist's ``MIN_FINAL_EPOCHS`` epochs of ``epoch_seconds``
    leave the exploration time room for a challenger at what the opening has cost so far."""
    if epoch_seconds is None:
        return False
    exploration_end = min(opening.exploration_end, opening.end - MIN_FINAL_EPOCHS * epoch_seconds)
    return candidates_within(opening.candidates, exploration_end - began, now - began) > 1


class OpeningRule:
    """The leader's opening's ``on_epoch`` (trainer.py ``Validated``): at its first validation after
    ``opening.seconds`` of training, or its last before its refit or end, it stops (True) where ``opening_yields``,
    else it stays, the finalist, to the end."""

    def __init__(self, opening: Opening, began: float, clock: Callable[[], float]):
        self.opening, self.began, self.clock = opening, began, clock
        self.stays = False

    def __call__(self, point) -> bool:
        if self.stays or (point.trained_seconds < self.opening.seconds and not point.last):
            return False
        if opening_yields(self.opening, self.began, self.clock(), point.epoch_seconds):
            return True
        self.stays = True
        return False


def noise(results: Sequence[CandidateResult]) -> float:
    """The metric's noise between validations: the median change between the last two validations of each
    candidate (late in a run the true change is small, so this is mostly noise), at least ``MIN_NOISE``."""
    changes = [abs(r.curve[-1].metric - r.curve[-2].metric) for r in results if len(r.curve) >= 2]
    return max(MIN_NOISE, statistics.median(changes) if changes else 0.0)


def ranked(results: Sequence[CandidateResult]) -> list[CandidateResult]:
    return sorted((r for r in results if r.status in SCORED and r.metric is not None), key=lambda r: -r.metric)


def promote(results: Sequence[CandidateResult], keep: int, leader: str | None, margin: float) -> list[CandidateResult]:
    """The ``keep`` best; the leader stays among them unless ``keep`` challengers beat it by more than ``margin``."""
    order = ranked(results)
    chosen = order[:keep]
    lead = next((r for r in order if r.candidate == leader), None)
    if lead is not None and lead not in chosen and chosen and chosen[-1].metric <= lead.metric + margin:
        chosen[-1] = lead
    return chosen


def finalist(results: Sequence[CandidateResult], leader: str | None, margin: float) -> CandidateResult | None:
    """The best candidate, or the leader when no challenger beats it by more than ``margin``."""
    order = ranked(results)
    if not order:
        return None
    lead = next((r for r in order if r.candidate == leader), None)
    if lead is not None and order[0].metric <= lead.metric + margin:
        return lead
    return order[0]


Execute = Callable[[list[CandidateJob], float], list[CandidateResult]]
"""Runs jobs (in the order given; several processes may share them) that must end by the deadline (on the search's
clock), and returns one result per job: not_reached for those that did not fit."""

Propose = Callable[[int, list[CandidateResult]], list[CandidateJob]]
"""ADVANCED: ``count`` tuning jobs for the leading networks, given rung 0's results."""


class HalvingSearch:
    """Drives the rungs and the finalist. ``seeds``: rung-0 jobs in portfolio order (``train_seconds`` and
    deadlines are set here). Returns every job's result, the finalist's last, with the statuses decided here:
    not_reached for the candidates the time cannot reach, pruned for those not continued."""

    def __init__(self, seeds: list[CandidateJob], start: float, limit_seconds: float, execute: Execute,
                 clock: Callable[[], float], log: Callable[[str], None] = lambda m: None,
                 strategy: str = HALVING, tuning: int = 0, propose: Propose | None = None,
                 record: Callable[[CandidateResult], None] = lambda result: None, opening: bool = True):
        """``record``: where the results decided here go (not reached, pruned, continued after all), as they are
        decided; their times are seconds from ``start``, as every result's. ``opening``: the leader's first job is
        its opening (see ``_lead``), else a rung-0 job as the others'."""
        self.seeds, self.start, self.limit = list(seeds), start, limit_seconds
        self.execute, self.clock, self.log = execute, clock, log
        self.strategy, self.tuning, self.propose = strategy, tuning if propose is not None else 0, propose
        self.record, self.opening = record, opening
        self.end = start + limit_seconds - packaging_reserve(limit_seconds)  # the search's end
        self.results: list[CandidateResult] = []
        self.leader = seeds[0].candidate if seeds else None
        self.exploration_end = self.end

    def run(self) -> list[CandidateResult]:
        if not self.seeds:
            return []
        if self.strategy == FLAT:
            return self._flat()
        self.exploration_end = self.end - final_reserve(self.limit, self.end - self.clock())
        count = self._reachable(len(self.seeds) + self.tuning, self.exploration_end - self.clock(), MIN_JOB_SECONDS,
                                translate("Schedule", "at least {seconds:.0f} s each in the first rung").format(
                                    seconds=MIN_JOB_SECONDS))
        sizes = rung_sizes(count)
        if not sizes:  # one candidate: it is the finalist from the start
            self._final(self.seeds[0])
            return self.results
        began = self.clock()
        rung_seconds = (self.exploration_end - began) / len(sizes)
        train_seconds = self._seconds_per_job(rung_seconds, sizes[0], None)
        lead = self._lead(train_seconds, began + rung_seconds)
        if lead.phase == FINAL:  # the leader's measured epochs took the time: its opening trained to the end
            return self.results
        if len(self.seeds) + self.tuning <= 1:  # the time reaches no challenger after all: the leader trains on
            self._final(lead)
            return self.results
        # the leader trained to its first validation after train_seconds: the others train as long
        train_seconds = max(train_seconds, lead.segment_seconds or 0.0)
        sizes = rung_sizes(len(self.seeds) + self.tuning)
        alive = self._rung0(lead, sizes[0], train_seconds, began + (self.exploration_end - began) / len(sizes))
        for rung, size in enumerate(sizes[1:], start=1):
            margin = noise(alive)
            promoted = promote(alive, size, self.leader, margin)
            self._mark_pruned(alive, promoted)
            if len(promoted) <= 1:
                alive = promoted
                break
            rung_end = self.clock() + (self.exploration_end - self.clock()) / (len(sizes) - rung)
            alive = self._continue(promoted, rung, rung_end)
        chosen = finalist(alive, self.leader, noise(alive))
        if chosen is None:  # nothing validated in the exploration time: the first candidate that did not fail
            chosen = next((s for s in self.seeds if all(r.candidate != s.candidate or r.status == Status.NOT_REACHED
                                                        for r in self.results)), None)
            if chosen is None:
                self.log("every candidate failed: there is no finalist")
                return self.results
            self.log(f"no candidate gave a validated result in the exploration time: {chosen.network} "
                     f"({chosen.backbone}) is trained for the rest")
            self._final(chosen)
            return self.results
        self._mark_pruned(alive, [chosen])
        if chosen.candidate != self.leader:
            self.log(f"{chosen.network} ({chosen.backbone}) replaces the leader by more than the noise")
        self._final(chosen)
        return self.results

    # -- rungs -----------------------------------------------------------------------------------------------------

    def _reachable(self, count: int, exploration: float, job_seconds: float, why: Message) -> int:
        """How many candidates the exploration time holds at ``job_seconds`` a rung-0 job; the others (last in
        portfolio order, ADVANCED proposals first) are reported not_reached now."""
        reach = candidates_within(count, exploration, job_seconds)
        dropped_tuning = min(self.tuning, count - reach)
        self.tuning -= dropped_tuning
        kept = len(self.seeds) - (count - reach - dropped_tuning)
        if dropped_tuning:
            self.log(translate("Schedule", "{count} tuning proposal(s) not reached ({why})").format(
                count=dropped_tuning, why=why))
        if kept < len(self.seeds):
            now = round(self.clock() - self.start, 2)
            reason = translate("Schedule", "the time limit reaches the first {kept} candidate(s) in portfolio order "
                               "({why})").format(kept=kept, why=why)
            for seed in self.seeds[kept:]:
                result = CandidateResult(seed.key, seed.candidate, seed.network, seed.backbone, RUNG, 0,
                                         Status.NOT_REACHED, reason=str(reason), chip_scale=seed.chip_scale, start=now,
                                         end=now)
                self.record(result)
                self.results.append(result)
            self.log(translate("Schedule", "{count} candidate(s) not reached: {reason}").format(
                count=len(self.seeds) - kept, reason=reason))
            self.seeds = self.seeds[:kept]
        return reach

    def _seconds_per_job(self, rung_seconds: float, jobs: int, overhead: float | None) -> float:
        share = rung_seconds / max(1, jobs)
        return max(1.0, share - overhead if overhead is not None else share * (1 - FIRST_OVERHEAD_SHARE))

    def _lead(self, train_seconds: float, rung_end: float) -> CandidateResult:
        """Rung 0's first job, the leader's opening, alone: it trains as the finalist until its first validation
        after ``train_seconds``, when what one of its epochs costs tells whether the limit leaves the finalist
        ``MIN_FINAL_EPOCHS`` epochs and time for challengers besides. If not, it trains on to the end as the
        finalist (its result's phase FINAL) and the challengers are not_reached; else it stops there, the leader's
        rung-0 result, and the candidates the time does not reach are not_reached. Without ``self.opening``, a
        rung-0 job of ``train_seconds`` until ``rung_end``. Returns its result."""
        seed = self.seeds[0]
        began = self.clock()
        job = dataclasses.replace(seed, phase=seed.phase or RUNG, rung=0, train_seconds=train_seconds)
        if self.opening:
            opening = Opening(train_seconds, self.exploration_end, self.end, len(self.seeds) + self.tuning)
            job = dataclasses.replace(job, train_seconds=max(1.0, self.end - began), decay_to_end=True,
                                      opening=opening)
            rung_end = self.end
            self.log(translate("Schedule", "rung 0: {network} ({backbone}) first, as the finalist until its first "
                                           "validation after {seconds:.0f} training seconds").format(
                network=seed.network, backbone=seed.backbone, seconds=train_seconds))
        else:
            self.log(translate("Schedule", "rung 0: {network} ({backbone}) first, {seconds:.0f} training "
                                           "seconds").format(network=seed.network, backbone=seed.backbone,
                                                             seconds=train_seconds))
        result = self._run([job], rung_end)[0]
        epoch = _epoch_seconds(result)
        if result.phase == FINAL:
            self._reachable(len(self.seeds) + self.tuning, 0.0, math.inf, translate(
                "Schedule", "{network}'s first validation measured an epoch of {epoch:.0f} s and the finalist keeps "
                "{epochs} of its epochs: no time was left for a challenger, and {network} trained on to the "
                "end").format(network=seed.network, epoch=epoch or 0.0, epochs=MIN_FINAL_EPOCHS))
            return result
        if result.status not in SCORED or result.metric is None or epoch is None:
            return result  # nothing measured: the plan stands
        needs = MIN_FINAL_EPOCHS * epoch
        self.exploration_end = min(self.exploration_end, self.end - needs)
        job_seconds = self.clock() - began
        self._reachable(len(self.seeds) + self.tuning, self.exploration_end - began, job_seconds,
                        translate("Schedule", "a first-rung job costs {seconds:.0f} s, as measured on {network}, "
                                  "and the finalist keeps {epochs} of its epochs, {needs:.0f} s").format(
                            seconds=job_seconds, network=seed.network, epochs=MIN_FINAL_EPOCHS, needs=needs))
        return result

    def _rung0(self, lead: CandidateResult, size: int, train_seconds: float,
               rung_end: float) -> list[CandidateResult]:
        """The rest of rung 0 after the leader, at the leader's training seconds."""
        final_seconds = max(1.0, self.end - self.exploration_end)
        passes = max(MIN_FIRST_PASSES, MIN_FINAL_EPOCHS * train_seconds / final_seconds)
        self.log(translate("Schedule", "rung 0: {count} more candidate(s), {seconds:.0f} training seconds each, until "
                                       "{until:.0f} s; each goes on if those seconds buy it {passes:.1f} passes over "
                                       "the training chips (to be ranked, one; should it win, {epochs} of its epochs "
                                       "in the finalist's {final:.0f} s)").format(
            count=size - 1, seconds=train_seconds, until=rung_end - self.start, passes=passes,
            epochs=MIN_FINAL_EPOCHS, final=final_seconds))
        basic_end = rung_end - (rung_end - self.clock()) * self.tuning / max(1, size - 1)
        jobs = [dataclasses.replace(s, phase=s.phase or RUNG, rung=0, train_seconds=train_seconds,
                                    min_passes=passes) for s in self.seeds[1:]]
        results = [lead] + self._run(jobs, basic_end if self.tuning else rung_end)
        if self.tuning:
            proposals = self.propose(self.tuning, ranked(results))
            jobs = [dataclasses.replace(p, phase=TUNING, rung=0, train_seconds=train_seconds, min_passes=passes)
                    for p in proposals]
            results += self._run(jobs, rung_end)
        if self.leader not in {r.candidate for r in ranked(results)}:
            self.leader = ranked(results)[0].candidate if ranked(results) else None
        return results

    def _continue(self, promoted: list[CandidateResult], rung: int, rung_end: float) -> list[CandidateResult]:
        overhead = _overhead(self.results)
        train_seconds = self._seconds_per_job(rung_end - self.clock(), len(promoted), overhead)
        self.log(translate("Schedule", "rung {rung}: {count} candidate(s) continue for {seconds:.0f} training seconds "
                                       "each").format(rung=rung, count=len(promoted), seconds=train_seconds))
        self._continued(promoted)
        jobs = [_next_job(r, RUNG, rung, train_seconds) for r in promoted]
        return self._run(jobs, rung_end)

    def _final(self, chosen: CandidateJob | CandidateResult) -> None:
        overhead = _overhead(self.results) or 0.0
        seconds = max(1.0, self.end - self.clock() - overhead)
        if isinstance(chosen, CandidateJob):
            job = dataclasses.replace(chosen, key=f"{chosen.candidate}-final", phase=FINAL, rung=0,
                                      train_seconds=seconds, decay_to_end=True, full_validation=True)
        else:
            self._continued([chosen])
            job = _next_job(chosen, FINAL, chosen.rung + 1, seconds)
        self.log(translate("Schedule", "finalist {network} ({backbone}) trains until the end: {seconds:.0f} s").format(
            network=job.network, backbone=job.backbone, seconds=seconds))
        self._run([job], self.end)

    def _flat(self) -> list[CandidateResult]:
        """The old sweep, kept for scripts/bench_search.py: equal shares, no continuation, no finalist."""
        share = (self.end - self.clock()) / len(self.seeds)
        for i, seed in enumerate(self.seeds):
            deadline = self.clock() + (self.end - self.clock()) / (len(self.seeds) - i)
            job = dataclasses.replace(seed, phase=RUNG, rung=0, train_seconds=share, full_validation=True)
            self._run([job], deadline)
        return self.results

    def _run(self, jobs: list[CandidateJob], deadline: float) -> list[CandidateResult]:
        results = self.execute(jobs, deadline) if jobs else []
        self.results.extend(results)
        return results

    def _mark_pruned(self, alive: list[CandidateResult], kept: list[CandidateResult]) -> None:
        """The candidates of ``alive`` not ``kept`` stop here: a completed segment's is recorded pruned (one that
        stopped early or at its deadline keeps that status, which says why its training ended)."""
        kept_keys = {r.key for r in kept}
        for result in ranked(alive):
            if result.key not in kept_keys:
                self.log(f"{result.network} ({result.backbone}) stops after rung {result.rung}: "
                         f"{result.metric_name} {result.metric:.4f}")
                if result.status == Status.COMPLETED:
                    self._decided(result.pruned())

    def _continued(self, results: list[CandidateResult]) -> None:
        """Candidates that continue: one an earlier run of a resumed search pruned (its new time limit may reach
        more candidates and so keep others) is completed again."""
        for result in results:
            if result.status == Status.PRUNED:
                self._decided(result.unpruned())

    def _decided(self, result: CandidateResult) -> None:
        """``result`` replaces the result of its job: recorded."""
        self.results = [result if r.key == result.key else r for r in self.results]
        self.record(result)


def _epoch_seconds(result: CandidateResult) -> float | None:
    """Training seconds one epoch of the candidate takes, as measured; None before it was."""
    if result.seconds_per_step is None or not result.epoch_steps:
        return None
    return result.seconds_per_step * result.epoch_steps


def _overhead(results: Sequence[CandidateResult]) -> float | None:
    """Measured mean wall seconds a job spends outside training steps (build, probing, validation)."""
    spans = [(r.end - r.start) - r.segment_seconds for r in results if r.status in SCORED]
    return statistics.mean(spans) if spans else None


def _next_job(result: CandidateResult, phase: str, rung: int, train_seconds: float) -> CandidateJob:
    final = phase == FINAL
    return CandidateJob(key=f"{result.candidate}-{'final' if final else f'r{rung}'}", candidate=result.candidate,
                        network=result.network, backbone=result.backbone, phase=phase, rung=rung,
                        train_seconds=train_seconds, chip_scale=result.chip_scale, scale_reason=result.scale_reason,
                        learning_rate=result.learning_rate, augment_strength=result.augment_strength,
                        batch_size=result.batch_size, resume_from=result.checkpoint, decay_to_end=final,
                        full_validation=final)

