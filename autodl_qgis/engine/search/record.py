"""What a search has done, kept outside the process: an Optuna study with one trial per candidate (SQLite in the
work folder by default, or a database several workers share, e.g. PostgreSQL), and each trained candidate as a
.dlpk in the work folder. A search killed mid-way resumes from it without redoing finished candidates, and workers on
other processes or machines (sharing the work folder) take candidates from it.

Evaluation candidates are enqueued as waiting trials when the search starts; whoever asks next (this process or a
worker) trains the network the trial names. Tuning trials are asked fresh from the study's sampler.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

EVALUATION, TUNING = "evaluation", "tuning"
UNUSED = "unused"  # a trial asked for an evaluation when another worker had just taken the last one
RECORD_FILE = "search.json"  # in the work folder: where the study lives, for resuming


class SearchRecord:
    def __init__(self, study, work_dir: Path):
        self.study, self.work_dir = study, work_dir
        self.candidates = work_dir / "candidates"
        self.candidates.mkdir(parents=True, exist_ok=True)

    # -- opening ---------------------------------------------------------------------------------------------------

    @classmethod
    def start(cls, work_dir: Path, storage: str | None, study_name: str | None, plan: dict,
              evaluations: list[tuple[str, str]], seed: int) -> "SearchRecord":
        """A new search: the study, its plan (what workers need to join) and the evaluation candidates."""
        import optuna

        storage = storage or f"sqlite:///{work_dir / 'optuna.db'}"
        study_name = study_name or f"autodl-{int(time.time())}"
        work_dir.mkdir(parents=True, exist_ok=True)
        try:
            study = optuna.create_study(study_name=study_name, storage=storage, direction="maximize",
                                        sampler=_sampler(seed), pruner=_pruner())
        except optuna.exceptions.DuplicatedStudyError:
            from ..errors import InputDataError

            raise InputDataError(f"a search named {study_name!r} already exists in {_safe(storage)}", None,
                                 "Give a new study name, or resume that search") from None
        for key, value in {**plan, "work_dir": str(work_dir.resolve())}.items():
            study.set_user_attr(key, value)
        for network, backbone in evaluations:
            study.enqueue_trial({}, user_attrs={"phase": EVALUATION, "network": network, "backbone": backbone})
        (work_dir / RECORD_FILE).write_text(json.dumps({"storage": storage, "study": study_name}), encoding="utf-8")
        return cls(study, work_dir)

    @classmethod
    def join(cls, storage: str, study_name: str, seed: int = 0) -> "SearchRecord":
        """An existing search, as a worker joins it (or as it resumes)."""
        import optuna

        try:
            study = optuna.load_study(study_name=study_name, storage=storage, sampler=_sampler(seed),
                                      pruner=_pruner())
        except KeyError:
            from ..errors import InputDataError

            raise InputDataError(f"no search named {study_name!r} in {_safe(storage)}", None,
                                 "Start the search first (train with --storage and --study), then the workers") \
                from None
        return cls(study, Path(study.user_attrs["work_dir"]))

    @classmethod
    def resume(cls, work_dir: Path, seed: int) -> "SearchRecord":
        """The search whose work folder this is, after a crash: candidates it was running are done again."""
        import optuna

        from ..errors import InputDataError

        try:
            where = json.loads((work_dir / RECORD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise InputDataError("holds no search to resume", work_dir,
                                 "Give the work folder of an earlier run (--work-dir)") from None
        record = cls.join(where["storage"], where["study"], seed)
        for trial in record.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            # left running by the process that died: failed, and its evaluation candidate queued again
            record.study._storage.set_trial_user_attr(trial._trial_id, "phase", UNUSED)
            record.study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
            if trial.user_attrs.get("phase") == EVALUATION:
                record.study.enqueue_trial({}, user_attrs={k: trial.user_attrs[k]
                                                           for k in ("phase", "network", "backbone")})
        return record

    @property
    def plan(self) -> dict:
        return self.study.user_attrs

    # -- candidates ------------------------------------------------------------------------------------------------

    def waiting_evaluations(self) -> int:
        import optuna

        return len(self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)))

    def running(self) -> int:
        import optuna

        return len(self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)))

    def next_evaluation(self):
        """The next evaluation trial (its user attrs name the network and backbone), or None when none is left."""
        import optuna

        if not self.waiting_evaluations():
            return None
        trial = self.study.ask()
        if trial.user_attrs.get("phase") != EVALUATION:  # another worker took the last one in between
            trial.set_user_attr("phase", UNUSED)
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return None
        return trial

    def package_path(self, trial) -> Path:
        return self.candidates / f"trial_{trial.number:04d}.dlpk"

    def finish(self, trial, row: dict, result: dict | None, package: Path | None) -> None:
        """Records a finished candidate: its leaderboard row, its training result and where its weights are."""
        import optuna

        trial.set_user_attr("row", row)
        if result is not None:
            trial.set_user_attr("result", result)
        if package is not None:
            trial.set_user_attr("package", package.name)
        if row["status"] == "pruned":
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif row["metric"] is None:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, row["metric"])

    def rows(self) -> list[dict]:
        """Every finished candidate's leaderboard row, whoever trained it, in the order they finished."""
        finished = [t for t in self.study.get_trials(deepcopy=False) if "row" in t.user_attrs]
        finished.sort(key=lambda t: t.datetime_complete or t.datetime_start)
        return [dict(t.user_attrs["row"]) for t in finished]

    def best(self):
        """The finished trial with the best metric and its package on disk, or None."""
        scored = [t for t in self.study.get_trials(deepcopy=False)
                  if t.user_attrs.get("package") and t.user_attrs.get("row", {}).get("metric") is not None
                  and (self.candidates / t.user_attrs["package"]).is_file()]
        return max(scored, key=lambda t: t.user_attrs["row"]["metric"], default=None)

    def packages(self) -> list[tuple[Path, dict]]:
        """Every trained candidate's package and row."""
        return [(self.candidates / t.user_attrs["package"], t.user_attrs["row"])
                for t in self.study.get_trials(deepcopy=False)
                if t.user_attrs.get("package") and (self.candidates / t.user_attrs["package"]).is_file()]

    def add_finished(self, row: dict) -> None:
        """A candidate that never ran (e.g. not on this device), with its reason."""
        import optuna

        self.study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, user_attrs={"row": row}))

    def abandon(self, trial) -> None:
        """A trial that will not finish (cancelled): failed, so that nobody waits for it."""
        import optuna

        trial.set_user_attr("phase", UNUSED)
        self.study.tell(trial, state=optuna.trial.TrialState.FAIL)


def _sampler(seed: int):
    import optuna

    return optuna.samplers.TPESampler(seed=seed)


def _pruner():
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)


def _safe(storage: str) -> str:
    """A storage URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(storage)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)
