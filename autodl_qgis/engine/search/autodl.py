"""AutoDL: train the networks that suit a training-data folder within a total time limit, tune the best, and
package the winner. Parameters mirror ``arcpy.geoai.TrainUsingAutoDL``.

BASIC: every selected network on its default backbone, no tuning; the time left is shared out again each time a
candidate finishes (early, by failure or by being skipped). ADVANCED: the first half evaluates the networks as in
BASIC; the second half runs an Optuna study (TPE sampler, median pruner fed per-epoch validation metrics) over the
best two networks, their other backbones, learning rate, batch size and augmentation strength. The best model so far
wins when time runs out.

Every candidate is recorded as it finishes (see record.py): a search killed mid-way resumes from its work folder, and
workers on other processes or machines can share it through a common Optuna storage (e.g. PostgreSQL) and work
folder; the process that started the search packages the best model.
"""
from __future__ import annotations

import csv
import dataclasses
import gc
import io
import json
import os
import shutil
import socket
import time
from pathlib import Path

import torch

from ..budget import TimeBudget
from ..data import TrainingData
from ..data.dataset import make_datasets
from ..devices import resolve_device
from ..errors import InputDataError, SearchFailed
from ..networks.registry import NETWORKS, NetworkSpec, check_device, get_spec, networks_for
from ..networks import UnsupportedNetworkError
from ..package import build_model_definition, open_package, write_package
from ..progress import Callbacks, SilentCallbacks, check_cancel
from ..train import TrainConfig, TrainResult, distributed
from ..train.candidate import Candidate, train_candidate
from . import report
from .record import EVALUATION, TUNING, SearchRecord

BASIC, ADVANCED = "BASIC", "ADVANCED"
SKIPPED = "skipped"
MIN_TRIAL_SECONDS = 20.0  # below this a tuning trial cannot train and validate anything useful


class _SearchCallbacks:
    """Forwards a candidate's reports, with progress measured on the whole search's clock."""

    def __init__(self, parent: Callbacks, budget: TimeBudget):
        self.parent, self.budget = parent, budget

    def progress(self, fraction: float, message: str) -> None:
        self.parent.progress(self.budget.fraction_used(), message)

    def log(self, message: str) -> None:
        self.parent.log(message)

    def is_canceled(self) -> bool:
        return self.parent.is_canceled()


class AutoDL:
    """``AutoDL(data, total_time_limit=2, mode="BASIC", networks=None).fit().save("model.dlpk")``."""

    def __init__(self, data: TrainingData | str | os.PathLike, total_time_limit: float = 2.0, mode: str = BASIC,
                 networks: list[str] | str | None = None, pretrained_model: str | os.PathLike | None = None,
                 save_evaluated_models: bool = False, device: str = "auto", callbacks: Callbacks | None = None,
                 work_dir: str | os.PathLike | None = None, storage: str | None = None, seed: int = 42,
                 val_fraction: float = 0.1, pretrained_backbones: bool = True, max_epochs: int | None = None,
                 study_name: str | None = None, resume: bool = False):
        """``work_dir`` keeps the search's record and candidates (a temporary folder by default); ``storage`` is an
        Optuna storage URL shared with workers (default: SQLite in the work folder); ``resume`` continues the search
        recorded in ``work_dir`` instead of starting one."""
        self.data = data if isinstance(data, TrainingData) else TrainingData.open(data)
        if not (isinstance(total_time_limit, (int, float)) and total_time_limit > 0):
            raise InputDataError(f"total_time_limit must be a positive number of hours, not {total_time_limit!r}",
                                 None, "For example 2 (hours) or 0.5")
        self.total_seconds = float(total_time_limit) * 3600.0
        self.mode = str(mode).upper()
        if self.mode not in (BASIC, ADVANCED):
            raise InputDataError(f"autodl_mode must be BASIC or ADVANCED, not {mode!r}", None, "Use BASIC or ADVANCED")
        self.device = resolve_device(device)
        self.callbacks = callbacks or SilentCallbacks()
        self.save_evaluated_models = save_evaluated_models
        self.work_dir = Path(work_dir) if work_dir else None
        if resume and self.work_dir is None:
            raise InputDataError("resuming needs the work folder of the search", None, "Give work_dir (--work-dir)")
        self.storage, self.study_name, self.resume = storage, study_name, resume
        self.seed, self.val_fraction = seed, val_fraction
        self.pretrained_backbones, self.max_epochs = pretrained_backbones, max_epochs
        self.pretrained = open_package(pretrained_model) if pretrained_model else None
        self.specs = self._select_networks(networks)
        self._record: SearchRecord | None = None
        self._best_model = None

    @classmethod
    def join(cls, storage: str, study_name: str, device: str = "auto",
             callbacks: Callbacks | None = None) -> "AutoDL":
        """A worker for the search that another process started with this storage and study name."""
        record = SearchRecord.join(storage, study_name)
        plan = record.plan
        autodl = cls(plan["data"], total_time_limit=max(plan["ends"] - time.time(), 1.0) / 3600, mode=plan["mode"],
                     networks=plan["networks"], pretrained_model=plan["pretrained_model"], device=device,
                     callbacks=callbacks, work_dir=record.work_dir, storage=storage, seed=plan["seed"],
                     val_fraction=plan["val_fraction"], pretrained_backbones=plan["pretrained_backbones"],
                     max_epochs=plan["max_epochs"], study_name=study_name)
        autodl._record = record
        return autodl

    def work(self) -> int:
        """As a worker: trains candidates of the shared search until none is left or its time is up; returns how
        many this process trained. The process that started the search packages the result."""
        plan = self._record.plan
        budget = TimeBudget(max(0.0, plan["ends"] - time.time()))
        self._budget = budget
        self.callbacks.log(f"worker joined {self._record.study.study_name}: {budget.remaining():.0f} s left")
        self._search(budget)
        return sum(row.get("worker") == _worker_id() for row in self._record.rows())

    # -- selection -------------------------------------------------------------------------------------------------

    def _select_networks(self, networks) -> list[NetworkSpec]:
        suitable = networks_for(self.data.task, self.data.format)
        if self.pretrained is not None:
            return [self._check_fine_tuning()]
        if networks is None or networks == [] or networks == "":
            return suitable
        names = networks.split(",") if isinstance(networks, str) else list(networks)
        chosen = []
        for name in (n.strip() for n in names if n and n.strip()):
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
        self.data.classes.sort(key=lambda c: (order.get(c.name.casefold(), len(order)), c.value))
        return spec

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
        """Ranks other than 0 (torchrun): train each candidate rank 0 announces, in step with it, until it is
        done. Rank 0 keeps the results."""
        while (job := distributed.from_rank0()) is not None:
            train_candidate(self.data, job["network"], self.device, TrainConfig(**job["config"]),
                            TimeBudget(job["seconds"]), self.callbacks, backbone=job["backbone"],
                            pretrained=job["pretrained"], val_fraction=self.val_fraction,
                            augment_strength=job["strength"], initial_state=job["initial_state"])

    def _fit(self) -> "AutoDL":
        # 3% held back for what happens between iterations (building networks, the last validation, bookkeeping)
        budget = TimeBudget(self.total_seconds * 0.97)
        self._budget = budget
        self._open_record(budget)
        self.callbacks.log(f"AutoDL {self.mode}: {len(self.specs)} network(s), {self.total_seconds / 3600:.3g} h, "
                           f"device {self.device}, {len(self.data.chips)} chips ({self.data.format}); record in "
                           f"{self._record.work_dir}")
        self._search(budget)
        while self._record.running() and not budget.expired():  # workers finishing their candidates
            check_cancel(self.callbacks)
            time.sleep(1.0)
        best = self._record.best()
        if best is None:
            reasons = "; ".join(f"{r['network']}: {r['reason']}" for r in self._record.rows())
            raise SearchFailed(f"every candidate failed ({reasons})")
        row = best.user_attrs["row"]
        self.callbacks.progress(1.0, f"best: {row['network']} ({row['backbone']}) {row['metric_name']} "
                                     f"{row['metric']:.4f}")
        return self

    def _open_record(self, budget: TimeBudget) -> None:
        now = time.time()
        deadlines = {"ends": now + budget.total,
                     "evaluation_ends": now + (budget.total / 2 if self._tunes() else budget.total)}
        if self.resume:
            self._record = SearchRecord.resume(self.work_dir, self.seed)
            for key, value in deadlines.items():  # a resumed search has the time limit given now
                self._record.study.set_user_attr(key, value)
            self.callbacks.log(f"resuming: {len(self._record.rows())} candidate(s) already done")
            return
        plan = {"data": str(self.data.folder), "mode": self.mode, "networks": [s.name for s in self.specs],
                "pretrained_model": str(self.pretrained.path) if self.pretrained is not None else None,
                "seed": self.seed, "val_fraction": self.val_fraction, "max_epochs": self.max_epochs,
                "pretrained_backbones": self.pretrained_backbones, **deadlines}
        runnable, skipped = [], []
        for spec in self.specs:
            try:
                check_device(spec, self.device)
                backbone = self.pretrained.backbone if self.pretrained is not None else spec.default_backbone
                runnable.append((spec.name, backbone))
            except UnsupportedNetworkError as exc:
                self.callbacks.log(f"skipping {spec.name}: {exc}")
                skipped.append(_row(spec.name, spec.default_backbone, None, {}, EVALUATION, status=SKIPPED,
                                    reason=str(exc)))
        self._record = SearchRecord.start(self._work_dir(), self.storage, self.study_name, plan, runnable,
                                          self.seed)
        for row in skipped:
            self._record.add_finished(row)

    def _tunes(self) -> bool:
        return self.mode == ADVANCED and self.pretrained is None

    def _search(self, budget: TimeBudget) -> None:
        """Evaluation candidates while any is queued, then (ADVANCED) tuning trials: the part every worker runs."""
        phase = budget.child(max(0.0, min(budget.remaining(), self._record.plan["evaluation_ends"] - time.time())))
        while (trial := self._record.next_evaluation()) is not None:
            spec, backbone = get_spec(trial.user_attrs["network"]), trial.user_attrs["backbone"]
            share = phase.child(phase.remaining() / (self._record.waiting_evaluations() + 1))
            self.callbacks.log(f"training {spec.name} ({backbone}) for up to {share.total:.0f} s")
            candidate = self._train(trial, spec, backbone, TrainConfig(max_epochs=self.max_epochs, seed=self.seed),
                                    share)
            self._finish(trial, candidate, {}, EVALUATION)
        if self._tunes():
            self._tune(budget)

    def _train(self, trial, spec, backbone, config, budget, strength: float = 1.0, on_epoch=None) -> Candidate:
        callbacks = _SearchCallbacks(self.callbacks, self._budget)
        initial = self.pretrained.state_dict() if self.pretrained is not None else None
        pretrained = self.pretrained_backbones and self.pretrained is None
        if distributed.active():  # the other ranks train the same candidate with it
            distributed.from_rank0({"network": spec.name, "backbone": backbone, "config": dataclasses.asdict(config),
                                    "seconds": budget.remaining(), "pretrained": pretrained, "strength": strength,
                                    "initial_state": initial})
        try:
            return train_candidate(self.data, spec.name, self.device, config, budget, callbacks, backbone=backbone,
                                   pretrained=pretrained, val_fraction=self.val_fraction, augment_strength=strength,
                                   on_epoch=on_epoch, initial_state=initial)
        except BaseException:  # cancelled (or interrupted): the trial is not left running for the others
            self._record.abandon(trial)
            raise

    def _tune(self, budget: TimeBudget) -> None:
        rows = self._record.rows()
        ranked = sorted((r for r in rows if r["metric"] is not None), key=lambda r: -r["metric"])
        top = []
        for row in ranked:
            if row["network"] not in top:
                top.append(row["network"])
        top = top[:2]
        if not top:
            self.callbacks.log("no network trained successfully in the evaluation half: nothing to tune")
            return
        seconds_per_network = {r["network"]: max(MIN_TRIAL_SECONDS, r["train_seconds"]) for r in ranked}
        study = self._record.study
        self.callbacks.log(f"tuning {', '.join(top)} with Optuna for {budget.remaining():.0f} s")
        while budget.remaining() >= MIN_TRIAL_SECONDS:
            check_cancel(self.callbacks)
            trial = study.ask()
            spec = NETWORKS[trial.suggest_categorical("network", top)]
            backbone = trial.suggest_categorical(f"{spec.name}.backbone", list(spec.backbones))
            learning_rate = trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True)
            batch_size = trial.suggest_categorical("batch_size", [0, 2, 4, 8, 16])  # 0: inferred
            strength = trial.suggest_float("augment_strength", 0.0, 1.0)
            params = {"learning_rate": learning_rate, "batch_size": batch_size or None,
                      "augment_strength": strength}
            share = budget.child(min(budget.remaining(), seconds_per_network[spec.name]))
            self.callbacks.log(f"trial {trial.number}: {spec.name} ({backbone}) lr {learning_rate:.2g}, "
                               f"batch {batch_size or 'auto'}, augmentation {strength:.2f}")

            def report_epoch(epoch: int, score: float, trial=trial) -> bool:
                trial.report(score, epoch)
                return trial.should_prune()

            config = TrainConfig(max_epochs=self.max_epochs, learning_rate=learning_rate,
                                 batch_size=batch_size or None, seed=self.seed + trial.number)
            candidate = self._train(trial, spec, backbone, config, share, strength, report_epoch)
            self._finish(trial, candidate, params, TUNING)

    # -- bookkeeping -----------------------------------------------------------------------------------------------

    def _finish(self, trial, candidate: Candidate, params: dict, phase: str) -> None:
        """Records the candidate (its weights as a package in the work folder) and lets its model go."""
        result = candidate.result
        row = _row(candidate.network, candidate.backbone, result, params, phase, trial=trial.number)
        package = None
        if candidate.model is not None and result.best_state is not None:
            package = self._write(self._record.package_path(trial), candidate, result.best_state, row)
        self._record.finish(trial, row, json.loads(json.dumps(result.summary(), default=float)), package)
        message = f"{candidate.network} ({candidate.backbone}): {result.status}"
        if result.best_metric is not None:
            message += f", {result.metric_name} {result.best_metric:.4f}"
        if result.reason:
            message += f" ({result.reason})"
        self.callbacks.log(message)
        # the weights are on disk: memory does not grow from one candidate to the next
        candidate.model = result.best_state = None
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _work_dir(self) -> Path:
        if self.work_dir is None:
            import tempfile

            # removed when this AutoDL object is garbage-collected (or at exit)
            self._own_work_dir = tempfile.TemporaryDirectory(prefix="autodl-work-")
            self.work_dir = Path(self._own_work_dir.name)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return self.work_dir

    # -- results ---------------------------------------------------------------------------------------------------

    def leaderboard(self) -> list[dict]:
        """Every candidate, best first (failed and skipped ones last, with their reasons)."""
        rows = self._record.rows() if self._record is not None else []
        ordered = sorted(rows, key=lambda r: (r["metric"] is None, -(r["metric"] or 0.0)))
        return [{"rank": i, **row} for i, row in enumerate(ordered, start=1)]

    def _best_candidate(self) -> tuple[Candidate, dict, dict]:
        """The best candidate rebuilt from its package (model on the device), its weights and its row."""
        best = self._record.best() if self._record is not None else None
        if best is None:
            raise SearchFailed("fit() has not produced a model")
        row = dict(best.user_attrs["row"])
        with open_package(self._record.candidates / best.user_attrs["package"]) as package:
            state = package.state_dict()
            model = package.build(self.device)
        result = TrainResult(**best.user_attrs["result"])
        return Candidate(row["network"], row["backbone"], result, [], model), state, row

    def best_model(self):
        """The best network (an adapter in eval mode holding its best weights)."""
        if self._best_model is None:
            self._best_model = self._best_candidate()[0].model
        return self._best_model.eval()

    @property
    def best(self) -> dict:
        best = self._record.best() if self._record is not None else None
        return dict(best.user_attrs["row"]) if best is not None else {}

    def save(self, path: str | os.PathLike, sidecars: bool = False) -> Path:
        """Writes the best model as a .dlpk (atomically); with save_evaluated_models, every evaluated model too, in
        ``<name>_evaluated_models/`` beside it; with ``sidecars``, the report and leaderboard beside it as well
        (see :func:`sidecar_paths`)."""
        candidate, state, row = self._best_candidate()
        path = Path(path)
        if path.suffix.lower() != ".dlpk":
            path = path.with_name(path.name + ".dlpk")
        extras = {}
        out = self._write(path, candidate, state, row, with_report=True, extras_out=extras)
        if self.save_evaluated_models:
            folder = path.with_name(f"{path.stem}_evaluated_models")
            folder.mkdir(parents=True, exist_ok=True)
            for i, (staged, done) in enumerate(self._record.packages(), start=1):
                shutil.copy2(staged, folder / f"{i:02d}_{done['network']}_{done['backbone']}.dlpk")
        if sidecars:
            for target, name in zip(sidecar_paths(out), ("report.html", "leaderboard.csv")):
                tmp = target.with_name(f".{target.name}.tmp")
                tmp.write_bytes(extras[name])
                os.replace(tmp, target)
        return out

    def _write(self, path: Path, candidate: Candidate, state: dict, row: dict, with_report: bool = False,
               extras_out: dict | None = None) -> Path:
        spec = get_spec(candidate.network)
        result = candidate.result
        leaderboard = self.leaderboard()
        training = {
            "autodl_mode": self.mode, "total_time_limit_hours": self.total_seconds / 3600,
            "epochs": result.epochs, "best_epoch": result.best_epoch, "batch_size": result.batch_size,
            "learning_rate": row.get("learning_rate"), "train_seconds": result.train_seconds,
            "history": result.history, "device": str(self.device), "seed": self.seed,
            "training_data": str(self.data.folder), "num_chips": len(self.data.chips),
            "fine_tuned_from": str(self.pretrained.path) if self.pretrained is not None else None,
            "leaderboard": [{k: r[k] for k in ("rank", "network", "backbone", "status", "metric")}
                            for r in leaderboard],
        }
        emd = build_model_definition(
            network=spec.name, library=spec.library, backbone=candidate.backbone, task=self.data.task,
            classes=self.data.classes, chip_size=self.data.chip_size, bands=self.data.header.bands,
            dtype=self.data.header.dtype, image_space=self.data.image_space,
            statistics=self.data.band_statistics, metrics=result.metrics, metric_name=result.metric_name,
            training=training, data_format=self.data.format)
        extras = {"leaderboard.json": json.dumps(leaderboard, indent=2).encode(),
                  "leaderboard.csv": _csv(leaderboard).encode()}
        if with_report:
            extras["report.html"] = self._report(candidate, leaderboard).encode()
        if extras_out is not None:
            extras_out.update(extras)
        return write_package(path, emd, state, extras)

    def _report(self, candidate: Candidate, leaderboard: list[dict]) -> str:
        result = candidate.result
        predictions = None
        if candidate.model is not None:
            _, val = make_datasets(self.data, self.val_fraction, self.seed, augment=False)
            predictions = report.predictions_chart(candidate.model, val, self.data.classes, self.data.task,
                                                   self.device)
        summary = {"network": candidate.network, "backbone": candidate.backbone,
                   f"validation {result.metric_name}": f"{result.best_metric:.4f}",
                   "training data": f"{self.data.folder} ({self.data.format}, {len(self.data.chips)} chips)",
                   "mode": self.mode, "time limit (hours)": f"{self.total_seconds / 3600:.3g}",
                   "device": str(self.device)}
        return report.render_report(title=f"AutoDL model: {candidate.network}", summary=summary, rows=leaderboard,
                                    metric_name=result.metric_name, history=result.history,
                                    predictions_png=predictions)


def _row(network, backbone, result, params, phase, status=None, reason=None, trial=None) -> dict:
    """One leaderboard row (``worker``: the process that trained it, host:pid)."""
    return {
        "network": network, "backbone": backbone, "status": status or result.status, "phase": phase,
        "trial": trial, "metric_name": result.metric_name if result else None,
        "metric": result.best_metric if result else None,
        "epochs": result.epochs if result else 0, "batch_size": result.batch_size if result else None,
        "train_seconds": round(result.train_seconds, 2) if result else 0.0,
        "learning_rate": params.get("learning_rate"), "augment_strength": params.get("augment_strength", 1.0),
        "reason": reason if reason is not None else (result.reason if result else None),
        "worker": _worker_id(),
    }


def _worker_id() -> str:
    """The process that trained a candidate, as host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def sidecar_paths(dlpk: Path) -> tuple[Path, Path]:
    """The report and leaderboard written beside a .dlpk when asked (QGIS shows them as outputs)."""
    return dlpk.with_name(f"{dlpk.stem}_report.html"), dlpk.with_name(f"{dlpk.stem}_leaderboard.csv")


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()

