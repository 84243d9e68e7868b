"""AutoDL: train the networks that suit a training-data folder within a total time limit and package the best.
Parameters mirror ``arcpy.geoai.TrainUsingAutoDL`` (see config.SearchConfig).

A thin orchestrator: the schedule (schedule.py: successive halving with continued training, then the finalist to
the deadline) decides what to train for how long; the record (record.py) queues the jobs and keeps their results
so that workers share a search and a killed one resumes; train_candidate trains one job. BASIC: every selected
network on its portfolio backbone, in portfolio order. ADVANCED: then TPE proposals (backbone, learning rate, chip
scale, augmentation) for the two leading networks, every trial's parameters recorded.
"""
from __future__ import annotations

import dataclasses
import functools
import gc
import os
import socket
import time
from pathlib import Path

import numpy as np
import torch

from ..budget import TimeBudget
from ..data import OBJECT_DETECTION, TrainingData
from ..data.dataset import ChipDataset
from ..data.split import DataSplit, split_chips
from ..devices import resolve_device
from ..errors import InputDataError, SearchFailed
from ..infer.backend import TestTimeAugmented
from ..messages import translate
from ..networks import UnsupportedNetworkError
from ..networks.registry import NetworkSpec, check_device, get_spec, networks_for
from ..package import open_package
from ..progress import Callbacks, EpochEvent, SilentCallbacks, check_cancel
from ..train import TrainConfig, Trainer, TrainResult, distributed
from ..train.candidate import Candidate, load_checkpoint, save_checkpoint, train_candidate
from ..train.scale import build_scaled_network, effective_scale, object_scale, typical_object_size
from . import packaging
from ..status import Status
from .config import (ADVANCED, BASIC, FINAL, FLAT, HALVING, RUNG, TUNING, CandidateJob, CandidateResult, LeaderboardRow,
                     SearchConfig, SplitSummary)
from .packaging import load_weights, sidecar_paths
from .portfolio import portfolio
from .record import SearchRecord, suggest
from .storage import check_storage
from .workfolder import check_work_folder
from .schedule import HalvingSearch, OpeningRule, packaging_reserve, refusal

SCALES = (0.5, 0.75, 1.0)  # chip scales ADVANCED may propose
TUNED_NETWORKS = 2  # ADVANCED proposes for this many leading networks

__all__ = ["ADVANCED", "BASIC", "AutoDL", "FLAT", "HALVING", "SearchConfig", "SearchFailed", "sidecar_paths"]


class _SearchCallbacks:
    """Forwards a candidate's reports, with progress measured on the whole search's clock."""

    def __init__(self, parent: Callbacks, budget: TimeBudget):
        self.parent, self.budget = parent, budget

    def progress(self, fraction: float, message: str, event: EpochEvent | None = None) -> None:
        self.parent.progress(self.budget.fraction_used(), message, event)

    def log(self, message: str) -> None:
        self.parent.log(message)

    def is_canceled(self) -> bool:
        return self.parent.is_canceled()


class AutoDL:
    """``AutoDL("chips", total_time_limit=2, mode="BASIC").fit().save("model.dlpk")``, or ``AutoDL(config)`` with
    a :class:`SearchConfig`."""

    def __init__(self, config: SearchConfig | TrainingData | str | os.PathLike, callbacks: Callbacks | None = None,
                 clock=time.time, started: float | None = None, **options):
        """``clock``: the search's wall clock (shared with workers on other machines); ``started``: when the run
        began on it (the time limit counts from there; default: now)."""
        self.started = started if started is not None else clock()
        data = None
        if isinstance(config, TrainingData):
            data, config = config, str(config.folder)
        if not isinstance(config, SearchConfig):
            config = SearchConfig(data=str(config), **options)
        elif options:
            config = dataclasses.replace(config, **options)
        self.config, self.clock = config, clock
        if config.resume:  # before any work: a damaged folder is refused, and nothing in it changed
            check_work_folder(Path(config.work_dir))
        elif config.storage:
            check_storage(config.storage)
        self.data = data or TrainingData.open(config.data)
        self.device = resolve_device(config.device)
        self.callbacks = callbacks or SilentCallbacks()
        self.pretrained = open_package(config.pretrained_model) if config.pretrained_model else None
        if self.pretrained is not None:
            self.pretrained.state_dict()  # loaded once now: weights that are not plain tensors refused before work
        self.specs = self._select_networks(config.networks)
        self.split: DataSplit = split_chips(self.data, config.val_fraction, config.seed)
        self._record: SearchRecord | None = None
        self._best: CandidateResult | None = None
        self._best_model = None
        self._own_work_dir = None

    @classmethod
    def join(cls, storage: str, study_name: str, device: str = "auto",
             callbacks: Callbacks | None = None) -> "AutoDL":
        """A worker for the search that another process started with this storage and study name."""
        record = SearchRecord.join(storage, study_name)
        check_work_folder(record.work_dir)  # the folder the workers share is read as the search's own
        config = SearchConfig.from_plan(record.plan, device=device, storage=storage, study_name=study_name,
                                        work_dir=str(record.work_dir), resume=False)
        autodl = cls(config, callbacks)
        autodl._record = record
        return autodl

    def work(self) -> int:
        """As a worker: runs queued jobs of the shared search until it is done or its time is up; returns how many
        this process trained. The process that started the search packages the result."""
        record = self._record
        self.callbacks.log(f"worker joined {record.study.study_name}: {record.ends - self.clock():.0f} s left")
        self._budget = TimeBudget(max(0.0, record.ends - self.clock()), clock=self.clock)
        trained = 0
        while not record.done and self.clock() < record.ends:
            check_cancel(self.callbacks)
            if not record.waiting():
                time.sleep(1.0)
                continue
            result = record.run_next(self._run_job)
            trained += result is not None and result.worker == _worker_id()
        return trained

    # -- selection -------------------------------------------------------------------------------------------------

    def _select_networks(self, networks: tuple[str, ...]) -> list[NetworkSpec]:
        suitable = networks_for(self.data.task, self.data.format)
        if self.pretrained is not None:
            return [self._check_fine_tuning()]
        if not networks:
            return suitable
        chosen = []
        for name in networks:
            spec = get_spec(name)
            if spec not in suitable:
                raise InputDataError(
                    f"network {spec.name} does not suit {self.data.format} training data ({self.data.task})",
                    self.data.folder, "Networks that do: " + ", ".join(s.name for s in suitable))
            if spec not in chosen:
                chosen.append(spec)
        return chosen

    def _check_fine_tuning(self) -> NetworkSpec:
        package = self.pretrained
        spec = get_spec(package.network)
        if package.task != self.data.task or self.data.format not in spec.formats:
            raise InputDataError(f"is a {package.task} model ({spec.name}) but the training data is "
                                 f"{self.data.format} ({self.data.task})", package.path,
                                 "Fine-tune from a model of the same type as the training data")
        if package.in_channels != self.data.header.bands:
            raise InputDataError(f"was trained on {package.in_channels} band(s) but the chips have "
                                 f"{self.data.header.bands}", package.path,
                                 "Export the training data with the bands the model was trained on")
        # classes matched by name: known classes keep the model's order (and so its head rows), new ones follow
        order = {c.name.casefold(): i for i, c in enumerate(package.classes)}
        classes = sorted(self.data.classes, key=lambda c: (order.get(c.name.casefold(), len(order)), c.value))
        self.data = dataclasses.replace(self.data, classes=classes)  # the caller's data keeps its order
        return spec

    def _seeds(self) -> tuple[list[CandidateJob], list[CandidateResult]]:
        """Rung-0 jobs in portfolio order (networks it does not rank follow in registry order) on the portfolio's
        backbone and chip scale for this device, and the networks this device cannot run."""
        lr = TrainConfig().lr_for(self.data.task)
        if self.pretrained is not None:
            spec = get_spec(self.pretrained.network)
            return [CandidateJob("c00-r0", "c00", spec.name, self.pretrained.backbone, RUNG, 0, 0.0,
                                 learning_rate=lr, seed=self.config.seed)], []
        kind = "cuda" if self.device.type == "cuda" else "cpu"
        ranked = {}  # the portfolio ranks every network of the task: its first entry of each
        for entry in portfolio(self.data.task, kind):
            ranked.setdefault(entry.network, entry)
        order = list(ranked)
        seeds, skipped = [], []
        for spec in sorted(self.specs, key=lambda s: order.index(s.name)):
            entry = ranked[spec.name]
            backbone, scale, why = entry.backbone, effective_scale(entry.chip_scale, self.data.chip_size), None
            if self.data.task == OBJECT_DETECTION:
                scale, why = object_scale(entry.chip_scale, self.data.chip_size, self._object_sides())
            try:
                check_device(spec, self.device)
            except UnsupportedNetworkError as exc:
                self.callbacks.log(translate("AutoDL", "skipping {name}: {reason}").format(name=spec.name,
                                                                                           reason=str(exc)))
                skipped.append(CandidateResult(f"skip-{spec.name}", "-", spec.name, backbone, RUNG, 0, Status.SKIPPED,
                                               reason=str(exc), worker=_worker_id()))
                continue
            candidate = f"c{len(seeds):02d}"
            seeds.append(CandidateJob(f"{candidate}-r0", candidate, spec.name, backbone, RUNG, 0, 0.0,
                                      chip_scale=scale, scale_reason=why, learning_rate=lr, seed=self.config.seed))
        return seeds, skipped

    @functools.cached_property
    def _training_boxes(self) -> np.ndarray:
        """Every box labelled on the training chips (N x 4, XYXY chip pixels)."""
        boxes = [self.data.read_label_values(self.data.chips[i]).boxes.reshape(-1, 4) for i in self.split.train]
        return np.concatenate(boxes) if boxes else np.zeros((0, 4))

    def _object_sides(self) -> list[float]:
        """The shorter side, in chip pixels, of every box labelled on the training chips."""
        boxes = self._training_boxes
        return np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]).tolist()

    @functools.cached_property
    def object_size(self) -> float | None:
        """The objects' typical size the detectors' default boxes start from (train/scale.py): a fine-tuned network
        keeps its package's layout; None (the classic layout) for pixel classification and unless asked for."""
        if self.pretrained is not None:
            return self.pretrained.object_size
        if self.data.task != OBJECT_DETECTION or not self.config.fitted_boxes:
            return None
        return typical_object_size(self._training_boxes, self.data.chip_size)

    # -- the search ------------------------------------------------------------------------------------------------

    def fit(self) -> "AutoDL":
        if distributed.rank() != 0:
            self._follow()
            return self
        try:
            return self._fit()
        finally:
            distributed.from_rank0(None)  # the other ranks stop following

    def _follow(self) -> None:
        """Ranks other than 0 (torchrun): train each job rank 0 announces, in step with it, until it is done.
        Rank 0 keeps the results."""
        self._budget = TimeBudget(None, clock=self.clock)
        while (job := distributed.from_rank0()) is not None:
            self._train(CandidateJob.from_dict(job))

    def _fit(self) -> "AutoDL":
        start = self.started
        limit = self.config.total_seconds
        self._budget = TimeBudget(limit - packaging_reserve(limit), clock=self.clock)
        seeds, skipped = self._seeds()
        self._open_record(start, start + limit - packaging_reserve(limit))
        for result in skipped:
            self._record.finish(result)
        for warning in self.data.warnings:  # e.g. boxes training leaves out, and why
            self.callbacks.log(f"warning: {warning}")
        self.callbacks.log(translate(
            "AutoDL", "AutoDL {mode}: {count} candidate(s), {hours:.3g} h, device {device}, {chips} chips ({format}; "
            "{split} split: {train} train, {validation} validation, {test} test); record in {record}").format(
            mode=self.config.mode, count=len(seeds), hours=limit / 3600, device=str(self.device),
            chips=len(self.data.chips), format=self.data.format, split=self.split.kind, train=len(self.split.train),
            validation=len(self.split.val), test=len(self.split.test), record=str(self._record.work_dir)))
        tunes = self.config.mode == ADVANCED and self.pretrained is None and seeds
        search = HalvingSearch(seeds, start, limit, self._execute, self.clock, self.callbacks.log,
                               strategy=self.config.strategy, tuning=max(2, len(seeds) // 2) if tunes else 0,
                               propose=self._propose if tunes else None, record=self._record_decided,
                               # a segment's epoch cap would end the opening before its rule decides
                               opening=self.config.max_epochs is None)
        results = search.run()
        self._record.set_done()
        self._best = self._choose_best(results)
        if self._best is None:
            rows = self._record.rows()
            reasons = "; ".join(f"{r.network}: {r.reason}" for r in rows)
            if any(r.status == Status.NOT_REACHED for r in rows):
                raise SearchFailed(translate("AutoDL", "no candidate gave a model within the time limit; give more "
                                             "time or lighter networks ({reasons})").format(reasons=reasons))
            raise SearchFailed(translate("AutoDL", "every candidate failed ({reasons})").format(reasons=reasons))
        self._score_test()
        best = self._best
        best_line = translate("AutoDL", "best: {network} ({backbone}) {metric_name} {metric:.4f}")
        self.callbacks.progress(1.0, best_line.format(
            network=best.network, backbone=best.backbone, metric_name=best.metric_name, metric=best.metric))
        return self

    def _open_record(self, start: float, ends: float) -> None:
        if self.config.resume:
            self._record = SearchRecord.resume(Path(self.config.work_dir), self.config.seed)
            self._record.set_clock(start, ends)  # a resumed search has the time limit given now
            self.callbacks.log(f"resuming: {len(self._record.rows())} job(s) already done")
            return
        self._record = SearchRecord.start(self._work_dir(), self.config, start, ends)

    def _execute(self, jobs: list[CandidateJob], deadline: float) -> list[CandidateResult]:
        """Queues the jobs, runs them here (workers may take some), and waits for the workers' ones."""
        jobs = [dataclasses.replace(j, deadline=deadline) for j in jobs]
        record = self._record
        # a resumed search does not redo what was done; what was not reached then may be now
        record.enqueue([j for j in jobs if not record.done_job(j.key)])
        keys = [j.key for j in jobs]
        while True:
            check_cancel(self.callbacks)
            done = {k: r for k in keys if (r := record.result(k)) is not None}
            if len(done) == len(keys):
                break
            if record.waiting():
                record.run_next(self._run_job)
            elif not record.running() or self.clock() > deadline + 60:
                for job in jobs:  # taken by a worker that died, or stale: not reached
                    if job.key not in done:
                        record.finish(self._not_reached(job, "its worker stopped before it ran"))
            else:
                time.sleep(0.5)
        return [record.result(k) for k in keys]

    def _record_decided(self, result: CandidateResult) -> None:
        """A result the schedule decided (not reached, pruned, continued after all); one no process trained is
        this one's."""
        self._record.finish(result if result.worker else result.replace(worker=_worker_id()))

    def _propose(self, count: int, leading: list[CandidateResult]) -> list[CandidateJob]:
        """ADVANCED: tuning jobs for the leading networks; TPE fills in the rest when the job runs."""
        networks = list(dict.fromkeys(r.network for r in leading))[:TUNED_NETWORKS]
        if not networks:
            self.callbacks.log("no network gave a validated result in rung 0: nothing to tune")
            return []
        self.callbacks.log(f"tuning {', '.join(networks)}: {count} TPE proposal(s)")
        template = leading[0]
        return [CandidateJob(f"t{i:02d}-r0", f"t{i:02d}", networks[i % len(networks)], template.backbone, TUNING, 0,
                             0.0, learning_rate=None, seed=self.config.seed + i + 1) for i in range(count)]

    def _run_job(self, job: CandidateJob, trial) -> CandidateResult:
        """Trains one job (this process, a worker) and writes its weights and state; the record writes the row."""
        names = [s.name for s in self.specs]
        backbones = {s.name: s.backbones for s in self.specs}
        if job.phase == TUNING:
            job = suggest(trial, job, names, backbones, SCALES)
            job = dataclasses.replace(job, chip_scale=effective_scale(job.chip_scale, self.data.chip_size))
        else:  # fixed: recorded as the trial's parameters all the same
            suggest(trial, job, names, backbones, tuple(dict.fromkeys((*SCALES, job.chip_scale))))
        reason = refusal(job, self._record.rows(), self.clock())
        if reason is not None:
            return self._not_reached(job, reason)
        started = self.clock()
        self.callbacks.log(translate("AutoDL", "{key}: {network} ({backbone}, scale {scale:g}) for {seconds:.0f} "
                                               "training seconds").format(
            key=job.key, network=job.network, backbone=job.backbone, scale=job.chip_scale, seconds=job.train_seconds))
        job, candidate, build_seconds = self._train(job, started)
        return self._record_candidate(job, candidate, started, build_seconds)

    def _train(self, job: CandidateJob, started: float | None = None) -> tuple[CandidateJob, Candidate, float]:
        """Trains ``job``; returns it as it turned out (the leader's opening: see ``_opened``), what it gave and its
        build seconds."""
        if distributed.active() and distributed.rank() == 0:  # the other ranks train the same job with it
            distributed.from_rank0(job.as_dict())
        deadline = job.deadline if job.deadline is not None else self._record.ends
        budget = TimeBudget(max(0.0, deadline - self.clock()), clock=self.clock)
        checkpoint = load_checkpoint(job.resume_from) if job.resume_from else None
        initial = self.pretrained.state_dict() if self.pretrained is not None and checkpoint is None else None
        request = job.train_request(self.config, checkpoint, initial, self.object_size)
        began = self.clock()
        rule = OpeningRule(job.opening, began, self.clock) if job.opening is not None else None
        if rule is not None:  # the leader's opening stops where its rule says the challengers have room
            request = dataclasses.replace(request, on_epoch=rule)
        try:
            candidate = train_candidate(self.data, request, self.device, budget,
                                        _SearchCallbacks(self.callbacks, self._budget), self.split)
        finally:
            del checkpoint, request
        if rule is not None:
            job, candidate.result = _opened(job, candidate.result)
        return job, candidate, candidate.result.build_seconds if candidate.result.build_seconds is not None else \
            self.clock() - began

    def _record_candidate(self, job: CandidateJob, candidate: Candidate, started: float,
                          build_seconds: float) -> CandidateResult:
        """The job's result, its weights as a package and its state to continue from; the model leaves memory."""
        trained = candidate.result
        weights = checkpoint = None
        if candidate.model is not None and trained.best_state is not None:
            weights = f"{job.key}.safetensors"
            _save_weights(self._record.path(weights), trained.best_state)
        if trained.checkpoint is not None and job.phase != FINAL:
            checkpoint = str(save_checkpoint(self._record.path(f"{job.key}.state.pt"), trained.checkpoint))
        result = CandidateResult.from_training(
            job, trained, start=started - self._record.start_time, end=self.clock() - self._record.start_time,
            build_seconds=build_seconds, worker=_worker_id(), weights=weights, checkpoint=checkpoint)
        values = dict(key=job.key, network=job.network, backbone=job.backbone, status=result.status,
                      reason=f" ({result.reason})" if result.reason else "")
        if result.metric is None:
            self.callbacks.log(translate("AutoDL", "{key} {network} ({backbone}): {status}{reason}").format(**values))
        else:
            self.callbacks.log(translate("AutoDL", "{key} {network} ({backbone}): {status}, {metric_name} {metric:.4f} "
                                         "after {seconds:.0f} training s{reason}").format(
                metric_name=result.metric_name, metric=result.metric, seconds=result.train_seconds, **values))
        # on disk now: memory does not grow
        candidate.model = None
        candidate.result = trained = dataclasses.replace(trained, best_state=None, checkpoint=None)
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        return result

    def _not_reached(self, job: CandidateJob, reason: str) -> CandidateResult:
        now = round(self.clock() - self._record.start_time, 2)
        return CandidateResult(job.key, job.candidate, job.network, job.backbone, job.phase, job.rung,
                               Status.NOT_REACHED, reason=reason, chip_scale=job.chip_scale, start=now, end=now,
                               worker=_worker_id())

    def _choose_best(self, results: list[CandidateResult]) -> CandidateResult | None:
        """The finalist when it gave a model; else (flat sweep, or the finalist failed) the best scored job."""
        usable = [r for r in results if r.weights and r.metric is not None
                  and self._record.path(r.weights).is_file()]
        finals = [r for r in usable if r.phase == FINAL]
        if finals:
            return finals[-1]
        best = max(usable, key=lambda r: r.metric, default=None)
        if best is not None and best.status == Status.PRUNED:  # the finalist failed: a pruned segment ships
            best = best.unpruned()
            self._record.finish(best)
        return best

    def _score_test(self) -> None:
        """The shipped model's metrics on the held-out test chips, which selection never saw, as its package
        predicts by default (a detector's objects kept from its threshold)."""
        if not self.split.test:
            return
        model = self.best_model()
        test = ChipDataset(self.data, self.split.test)
        scorer = Trainer(model, test, test, test.collate_fn, self.data.task, [c.name for c in self.data.classes],
                         self.device, TrainConfig(max_epochs=1), TimeBudget(None, clock=self.clock))
        if self._best.test_time_augmentation:  # scored as it will predict by default
            model = TestTimeAugmented(model, self.data.task == OBJECT_DETECTION)
        # within the packaging reserve: a slow network is scored on the test chips the time allows
        metrics = scorer.evaluate(max(1, self._best.batch_size or 2),
                                  deadline=self._record.ends + 0.3 * packaging_reserve(self.config.total_seconds),
                                  alone=True, model=model, confidence=self._best.kept_from)
        self._best = self._best.replace(test_metric=metrics.primary, test_metrics=metrics,
                                        test_chips=scorer.evaluated_chips)
        self._record.finish(self._best)

    def _work_dir(self) -> Path:
        if self.config.work_dir is None:
            import tempfile

            # removed when this AutoDL object is garbage-collected (or at exit)
            self._own_work_dir = tempfile.TemporaryDirectory(prefix="autodl-work-")
            self.config = dataclasses.replace(self.config, work_dir=self._own_work_dir.name)
        work = Path(self.config.work_dir)
        work.mkdir(parents=True, exist_ok=True)
        return work

    # -- results ---------------------------------------------------------------------------------------------------

    def results(self) -> list[CandidateResult]:
        """Every job's result (a candidate's segments each have one), in the order they finished."""
        return self._record.rows() if self._record is not None else []

    def leaderboard(self) -> list[LeaderboardRow]:
        """One row per candidate (its last segment, with the status the search recorded: pruned where the
        schedule did not continue it), the shipped model first, then by metric; failed, skipped and not-reached
        ones last, with their reasons."""
        latest: dict[str, CandidateResult] = {}
        for result in self.results():  # a candidate's last segment with a result, else its last
            name = result.candidate if result.candidate != "-" else result.key
            current = latest.get(name)
            if current is not None and current.status == Status.PRUNED:
                continue  # it stopped there: a later segment is an earlier run's that this resumed search dropped
            if result.metric is not None or current is None or current.metric is None:
                latest[name] = result
        if self._best is not None:
            latest[self._best.candidate] = self._best
        best_key = self._best.key if self._best is not None else None
        ordered = sorted(latest.values(), key=lambda r: (r.key != best_key, r.metric is None, -(r.metric or 0.0)))
        return [LeaderboardRow(rank, result) for rank, result in enumerate(ordered, start=1)]

    def best_model(self):
        """The shipped network (an adapter in eval mode holding its weights)."""
        if self._best is None:
            raise SearchFailed("fit() has not produced a model")
        if self._best_model is None:
            self._best_model = self._model(self._best)
        return self._best_model.eval()

    def _model(self, result: CandidateResult):
        # built as training built it (for the scaled chips): a torchvision detector built for the chips' own size
        # would resize its scaled input back to that size and be scored on the wrong pixels
        model = build_scaled_network(result.network, len(self.data.classes), self.data.header.bands,
                                     self.data.chip_size, result.backbone, result.chip_scale, pretrained=False,
                                     device=self.device, object_size=self.object_size)
        model.load_state_dict(load_weights(self._record.path(result.weights), self.device))
        return model.eval()

    @property
    def best(self) -> CandidateResult | None:
        """The shipped model's result (None before fit() gave one)."""
        return self._best

    @property
    def validation(self) -> SplitSummary:
        return SplitSummary(self.split.kind, len(self.split.val), len(self.split.train),
                            self._best.test_chips if self._best is not None and self._best.test_chips
                            else len(self.split.test), self.split.note)

    def save(self, path: str | os.PathLike, sidecars: bool = False) -> Path:
        """Writes the shipped model as a .dlpk, and what the configuration and ``sidecars`` ask beside it (see
        packaging.save)."""
        if self._best is None:
            raise SearchFailed("fit() has not produced a model")
        return packaging.save(path, self.outcome(), self.best_model(), self.clock, self.callbacks, sidecars)

    def outcome(self) -> packaging.SearchOutcome:
        """The finished search, for packaging."""
        if self._best is None:
            raise SearchFailed("fit() has not produced a model")
        return packaging.SearchOutcome(
            self.config, self.data, self.split, self.device, self._best, tuple(self.results()),
            tuple(self.leaderboard()), self.validation, self._record.candidates,
            self.started + self.config.total_seconds,
            str(self.pretrained.path) if self.pretrained is not None else None, self.object_size)


def _opened(job: CandidateJob, trained: TrainResult) -> tuple[CandidateJob, TrainResult]:
    """The leader's opening as what it turned out to be: stopped by its rule (pruned), the leader's rung-0 segment,
    completed; trained to its end, the finalist's; failed, a failed rung-0 segment."""
    if trained.status == Status.PRUNED:
        return job, dataclasses.replace(trained, status=Status.COMPLETED, reason=translate(
            "AutoDL", "stopped after {seconds:.0f} training seconds: the time leaves room for challengers").format(
            seconds=trained.run_seconds))
    if trained.status not in (Status.FAILED, Status.NOT_REACHED):
        return dataclasses.replace(job, phase=FINAL), trained
    return job, trained


def _save_weights(path: Path, state: dict) -> None:
    from safetensors.torch import save_file

    tmp = path.with_name(f".{path.name}.tmp")
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp))
    os.replace(tmp, path)


def _worker_id() -> str:
    """The process that trained a candidate, as host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"
