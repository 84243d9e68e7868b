"""What a search has done, kept outside the process, so that a search killed mid-way resumes without redoing
finished work and workers on other processes or machines share it.

- The queue is an Optuna study (SQLite in the work folder by default, or a database the workers share, e.g.
  PostgreSQL): each job is a trial, enqueued with its hyper-parameters and its :class:`CandidateJob`, run inside
  ``study.optimize`` so that Optuna's heartbeat marks the trials of a dead process failed and queues them again
  (``RDBStorage(heartbeat_interval, grace_period, heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback)``).
  TPE learns from every trial's parameters and value.
- What a job produced is its :class:`CandidateResult` in ``candidates/<key>.json`` (with
  ``<key>.safetensors``, its best weights, and ``<key>.state.pt``, the state to continue from). Writing that file
  (under a temporary name, then renamed) is the one atomic step that finishes a job: a job whose file exists is
  never trained again, whatever state its trial was left in.
"""
from __future__ import annotations

import json
import os
import signal
import time
import warnings
from pathlib import Path
from typing import Callable

from ..progress import Cancelled
from ..status import Status
from .config import CandidateJob, CandidateResult, SearchConfig
from .storage import check_storage, safe_url
from .workfolder import RECORD_FILE, check_work_folder, read_result

HEARTBEAT_SECONDS, GRACE_SECONDS = 20, 90  # a trial without a heartbeat for this long belonged to a dead process
STOP_AT_ENV = "AUTODL_STOP_AT"  # tests: "finished" stops this process (SIGSTOP) right after a job's result is written
UNUSED = "unused"  # a trial asked when another worker had just taken the last job


class SearchRecord:
    def __init__(self, study, work_dir: Path):
        self.study, self.work_dir = study, work_dir
        self.candidates = work_dir / "candidates"
        self.candidates.mkdir(parents=True, exist_ok=True)

    # -- opening ---------------------------------------------------------------------------------------------------

    @classmethod
    def start(cls, work_dir: Path, config: SearchConfig, start: float, ends: float) -> "SearchRecord":
        """A new search: the study, its plan (the config, what workers need to join) and its clock."""
        import optuna

        work_dir.mkdir(parents=True, exist_ok=True)
        url = config.storage or f"sqlite:///{work_dir / 'optuna.db'}"
        study_name = config.study_name or f"autodl-{int(time.time())}"
        try:
            study = optuna.create_study(study_name=study_name, storage=_storage(url), direction="maximize",
                                        sampler=_sampler(config.seed))
        except optuna.exceptions.DuplicatedStudyError:
            from ..errors import InputDataError

            raise InputDataError(f"a search named {study_name!r} already exists in {safe_url(url)}", None,
                                 "Give a new study name, or resume that search") from None
        study.set_user_attr("plan", config.as_plan())
        study.set_user_attr("work_dir", str(work_dir.resolve()))
        record = cls(study, work_dir)
        record.set_clock(start, ends)
        tmp = work_dir / f".{RECORD_FILE}.tmp"
        tmp.write_text(json.dumps({"storage": url, "study": study_name}), encoding="utf-8")
        os.replace(tmp, work_dir / RECORD_FILE)
        return record

    @classmethod
    def join(cls, storage: str, study_name: str, seed: int = 0) -> "SearchRecord":
        """An existing search, as a worker joins it (or as it resumes)."""
        import optuna

        try:
            study = optuna.load_study(study_name=study_name, storage=_storage(storage), sampler=_sampler(seed))
        except KeyError:
            from ..errors import InputDataError

            raise InputDataError(f"no search named {study_name!r} in {safe_url(storage)}", None,
                                 "Start the search first (train with --storage and --study), then the workers") \
                from None
        return cls(study, Path(study.user_attrs["work_dir"]))

    @classmethod
    def resume(cls, work_dir: Path, seed: int = 0) -> "SearchRecord":
        """The search whose work folder this is, after a crash: the jobs it was running are failed (this process
        owns the search now, so it does not wait for their heartbeat to go stale) and queued again unless their
        result was written."""
        import optuna

        record = cls.open(work_dir, seed)
        for trial in record.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            record.study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        record.study.set_user_attr("generation", record.generation + 1)  # jobs queued before the crash are stale
        return record

    @classmethod
    def open(cls, work_dir: Path, seed: int = 0) -> "SearchRecord":
        """The search recorded in a work folder, as it is: the folder is checked first (nothing in it is changed
        unless all of it can be used)."""
        storage, study = check_work_folder(work_dir)
        return cls.join(storage, study, seed)

    @property
    def plan(self) -> dict:
        return self.study.user_attrs["plan"]

    @property
    def start_time(self) -> float:
        return self.study.user_attrs["start"]

    @property
    def ends(self) -> float:
        return self.study.user_attrs["ends"]

    def set_clock(self, start: float, ends: float) -> None:
        """The search's start and end on the wall clock (a resumed search has the time limit given now)."""
        self.study.set_user_attr("start", start)
        self.study.set_user_attr("ends", ends)

    @property
    def generation(self) -> int:
        """How many times the search was resumed: a job queued by an earlier generation is not run."""
        return int(self.study.user_attrs.get("generation", 0))

    def set_done(self) -> None:
        """Workers stop asking for jobs."""
        self.study.set_user_attr("done", True)

    @property
    def done(self) -> bool:
        return bool(self.study.user_attrs.get("done"))

    # -- jobs ------------------------------------------------------------------------------------------------------

    def enqueue(self, jobs: list[CandidateJob]) -> None:
        for job in jobs:
            self.study.enqueue_trial(_fixed_params(job),
                                     user_attrs={"job": job.as_dict(), "generation": self.generation})

    def waiting(self) -> int:
        import optuna

        return len(self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)))

    def running(self) -> int:
        import optuna

        return len(self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)))

    def run_next(self, run: Callable[[CandidateJob, object], CandidateResult]) -> CandidateResult | None:
        """Takes the next queued job and runs it inside ``study.optimize`` (heartbeat included); ``run(job,
        trial)`` trains it (tuning jobs take their hyper-parameters from ``trial``) and the result is recorded."""
        import optuna

        outcome, interrupted = [], []

        def objective(trial):
            job = trial.user_attrs.get("job")
            if job is None or trial.user_attrs.get("generation", 0) != self.generation:
                # another worker took the last job in between, or a job queued before a crash
                trial.set_user_attr("phase", UNUSED)
                raise optuna.TrialPruned()
            job = CandidateJob.from_dict(job)
            existing = self.result(job.key)
            if existing is not None and existing.status != Status.NOT_REACHED:
                result = existing  # finished before a crash: never trained twice
            else:
                try:
                    result = run(job, trial)
                except (Cancelled, KeyboardInterrupt) as exc:
                    # not a failed trial (Optuna would log its traceback): the search stops, quietly
                    interrupted.append(exc)
                    trial.study.stop()
                    raise optuna.TrialPruned() from None
                self.finish(result)
            outcome.append(result)
            if result.metric is None:
                raise optuna.TrialPruned()  # failed, skipped or not reached: nothing for the sampler
            return result.metric

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # heartbeats are "experimental" in Optuna
            self.study.optimize(objective, n_trials=1)
        if interrupted:
            raise interrupted[0]
        return outcome[0] if outcome else None

    def finish(self, result: CandidateResult) -> None:
        """The atomic step that makes a job done: its result file appears complete or not at all."""
        path = self.candidates / f"{result.key}.json"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(result.as_dict(), default=float), encoding="utf-8")
        os.replace(tmp, path)
        if os.environ.get(STOP_AT_ENV) == "finished":
            os.kill(os.getpid(), signal.SIGSTOP)  # tests kill the process here, before Optuna hears of it

    def done_job(self, key: str) -> bool:
        """The job finished (a not_reached one is not done: a resumed search may reach it)."""
        result = self.result(key)
        if result is not None and result.status == Status.NOT_REACHED:
            (self.candidates / f"{key}.json").unlink(missing_ok=True)
            return False
        return result is not None

    def path(self, name: str) -> Path:
        return self.candidates / name

    def result(self, key: str) -> CandidateResult | None:
        path = self.candidates / f"{key}.json"
        return read_result(path) if path.exists() else None

    def rows(self) -> list[CandidateResult]:
        """Every finished job's result, whoever ran it, in the order they finished."""
        results = [read_result(p) for p in self.candidates.glob("*.json") if not p.name.startswith(".")]
        return sorted(results, key=lambda r: (r.end, r.key))


def _fixed_params(job: CandidateJob) -> dict:
    return {k: v for k, v in job.params().items() if v is not None}


def suggest(trial, job: CandidateJob, networks: list[str], backbones: dict[str, tuple[str, ...]],
            scales: tuple[float, ...]) -> CandidateJob:
    """The job's hyper-parameters as the trial's parameters: fixed ones (enqueued) are recorded, the others
    (tuning jobs) proposed by the sampler."""
    import dataclasses

    network = trial.suggest_categorical("network", networks)
    backbone = trial.suggest_categorical(f"{network}.backbone", list(backbones[network]))
    return dataclasses.replace(
        job, network=network, backbone=backbone,
        chip_scale=trial.suggest_categorical("chip_scale", list(scales)),
        learning_rate=trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
        augment_strength=trial.suggest_float("augment_strength", 0.0, 1.0))


def _storage(url: str):
    import optuna

    from sqlalchemy.exc import SQLAlchemyError

    from ..errors import InputDataError

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the search logs its own lines
    check_storage(url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # heartbeat arguments are "experimental"
        try:
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2))
        except (SQLAlchemyError, RuntimeError) as exc:  # a database that is not Optuna's, or of a newer Optuna
            raise InputDataError(f"the storage {safe_url(url)} does not hold an Optuna search this version can "
                                 f"use ({' '.join(str(exc).split())[:200]})", None,
                                 "Give the storage of a search started by this plugin, or a new database") from None


def _sampler(seed: int):
    import optuna

    return optuna.samplers.TPESampler(seed=seed)
