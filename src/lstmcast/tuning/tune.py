"""`lstmcast tune`: one Optuna study per (ticker, outer fold), searched by ask-and-tell.

Only the driver holds the studies. It asks a study for a trial whenever a worker frees up
(`execution.stream`), sends the worker a typed `TrialTask`, and tells the study the result
when it comes back. Every finished trial (complete, pruned or failed) is written to the
store in its own transaction before anything else happens: the store, not Optuna, is the
record, and `--resume` rebuilds each study from it (a killed driver loses only the trials
that were running). When every study has its trials, each outer fold's best settings, and
the starting settings for comparison, are refitted on the rows before that fold's cutoff and
scored once on its block (`tuning.report`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.data.series import load_inputs
from lstmcast.errors import ConfigError, LstmcastError
from lstmcast.execution.engine import Parallel, TaskOutcome
from lstmcast.execution.stream import stream_tasks
from lstmcast.fingerprint import data_fingerprint, fingerprint
from lstmcast.prep.inputs import frame_for
from lstmcast.runconfig import RunConfig
from lstmcast.runlock import run_lock
from lstmcast.settings import SAMPLERS
from lstmcast.store.db import Store
from lstmcast.store.tunes import TrialRecord, TrialState, TuneRecord, save_trial, save_tune, trials_of
from lstmcast.tuning.nested import OuterFold, TrialResult, TrialTask, plan_nested, run_trial
from lstmcast.tuning.space import Space, default_space, read_space

if TYPE_CHECKING:
    import optuna.trial

TUNE_FORMAT = 1  # bumped when what a trial stores changes: older tunes then start afresh
PRUNE_AFTER = 5  # complete trials a study needs before it prunes (Optuna's MedianPruner default)


def optuna_state(state: TrialState) -> optuna.trial.TrialState:
    """Optuna's state for a stored one: the one place the two vocabularies meet."""
    from optuna.trial import TrialState as Optuna

    return {TrialState.COMPLETE: Optuna.COMPLETE, TrialState.PRUNED: Optuna.PRUNED}.get(state, Optuna.FAIL)


def trial_error(exc: BaseException) -> str:
    """Why a trial failed, in words: ours say what to change; anything else names its type."""
    return str(exc) if isinstance(exc, LstmcastError) else f"{type(exc).__name__}: {exc}"


def failed(study: Study, trial: optuna.trial.BaseTrial, error: str, seconds: float) -> TrialRecord:
    """A trial that ended in an error: its settings and why."""
    return TrialRecord(study.fold.span.index, trial.number, TrialState.FAILED, trial.params, error=error,
                       seconds=seconds)  # fmt: skip


@dataclass(frozen=True)
class TuneSettings:
    trials: int = 20  # per outer fold: each fold has its own search
    inner_folds: int = 3
    sampler: str = "tpe"
    timeout: float | None = None  # seconds; then no new trial is started
    resume: bool = False
    prune: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.trials <= 10_000:
            raise ConfigError(f"--trials must be between 1 and 10000, got {self.trials}")
        if not 2 <= self.inner_folds <= 20:
            raise ConfigError(f"--inner-folds must be between 2 and 20, got {self.inner_folds}")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"unknown --sampler {self.sampler!r}; choose {' or '.join(SAMPLERS)}")
        if self.timeout is not None and not 0 < self.timeout < 1e9:
            raise ConfigError(f"--timeout must be a positive number of seconds, got {self.timeout}")


class Study:
    """One (ticker, outer fold) search: the Optuna study, and its trials as stored."""

    def __init__(
        self,
        tune_id: str,
        ticker: str,
        fold: OuterFold,
        space: Space,
        seed: int,
        sampler: str,
        stored: list[TrialRecord],
    ) -> None:
        """The study of `fold`, rebuilt from its `stored` trials (numbered on from them); a
        resumed study's sampler is seeded afresh, so it does not draw the same trials again."""
        import optuna
        from optuna.trial import create_trial

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.tune_id, self.ticker, self.fold, self.space = tune_id, ticker, fold, space
        self.distributions = space.distributions()
        self.trials: list[TrialRecord] = list(stored)  # finished, as stored
        self.running: dict[int, Any] = {}
        seed += 7919 * fold.span.index + 104_729 * len(stored)
        chosen: optuna.samplers.BaseSampler = (
            optuna.samplers.RandomSampler(seed=seed)
            if sampler == "random"
            else optuna.samplers.TPESampler(seed=seed, constant_liar=True)
        )
        self.study = optuna.create_study(direction="maximize", sampler=chosen)
        for t in stored:
            steps = {j: v for j, v in enumerate(t.steps) if np.isfinite(v)}
            self.study.add_trial(
                create_trial(
                    state=optuna_state(t.state),
                    params=t.params,
                    distributions={k: self.distributions[k] for k in t.params},
                    value=t.value if t.complete else None,
                    intermediate_values=steps,
                )
            )

    @property
    def started(self) -> int:
        return len(self.trials) + len(self.running)

    def prune_bars(self) -> tuple[float | None, ...]:
        """After each inner fold but the last: the median skill there of the complete trials."""
        done = [t.steps for t in self.trials if t.complete]
        if len(done) < PRUNE_AFTER:
            return ()
        return tuple(float(np.median([s[j] for s in done])) for j in range(len(self.fold.inner) - 1))


@dataclass
class Prepared:
    """One ticker's tune before its trials: its id, its starting settings and its studies."""

    tune_id: str
    ticker: str
    base: TrainConfig
    studies: list[Study]
    resumed: int  # trials read back from the store
    notes: tuple[str, ...] = ()  # what the data made of the settings (a proxy that fell back, ...)


def prepare(
    store: Store,
    run: RunConfig,
    settings: TuneSettings,
    space_file: Path | None,
    bars: dict[str, Any],
    distributed: bool,
    locks: ExitStack,
) -> list[Prepared]:
    """Plan every ticker's nested folds and studies; refuse a rerun that --resume should mark.
    Each tune's lock joins `locks` before its stored trials are read: a second run of the same
    search is refused in one line while the first holds it, never let renumber its trials."""
    bt = run.backtest
    if bt.seeds != 1:
        raise ConfigError(
            "tune scores one seed per trial; --seeds is for backtest (repeat the tuned config there)"
        )
    base = run.train.validate()
    if distributed:
        base = base.replace(threads=0)  # each worker's share of the cores
    space = read_space(space_file, base) if space_file is not None else default_space(base)
    out = []
    for ticker, frame_bars in bars.items():
        frame = frame_for(base, frame_bars, None, ticker)
        folds = plan_nested(frame, base, bt, settings.inner_folds)
        settings_key = [base.replace(threads=0, device="auto").to_dict(), dataclasses.asdict(bt)]
        search_key = [space.to_json(), settings.inner_folds, settings.sampler]
        data_key = [TUNE_FORMAT, ticker, data_fingerprint(frame_bars)]
        tune_id = fingerprint([*data_key, settings_key, search_key], 12)
        locks.enter_context(run_lock(store.home / "locks" / f"tune-{tune_id}.lock", f"tune {tune_id}"))
        stored = trials_of(store.conn, tune_id)
        if settings.resume and not stored:
            raise ConfigError(
                f"nothing to resume: no trial of a tune of {ticker} with these settings (tune"
                f" {tune_id}) is stored; `lstmcast tunes` lists the stored ones, and without"
                " --resume this one starts"
            )
        if stored and not settings.resume:
            raise ConfigError(
                f"tune {tune_id} with these settings already has {len(stored)} trial(s) in the store:"
                " add --resume to continue it (or `lstmcast tunes show " + tune_id + "`)"
            )
        config: dict[str, object] = {
            "train": base.to_dict(),
            "backtest": dataclasses.asdict(bt),
            "space": space.to_json(),
            "inner_folds": settings.inner_folds,
            "sampler": settings.sampler,
        }
        save_tune(store.conn, TuneRecord(tune_id, ticker, base.model, base.target, settings.trials, config))
        studies = [
            Study(tune_id, ticker, fold, space, base.seed, settings.sampler,
                  [t for t in stored if t.fold == fold.span.index])
            for fold in folds
        ]  # fmt: skip
        out.append(Prepared(tune_id, ticker, base, studies, len(stored), frame.notes))
    return out


def search(
    store: Store,
    run: RunConfig,
    settings: TuneSettings,
    space_file: Path | None = None,
    parallel: Parallel = Parallel(),
    on_trial: Callable[[str, TrialRecord], None] | None = None,
    locks: ExitStack | None = None,
) -> tuple[list[Prepared], dict[str, Any]]:
    """Run every study to `settings.trials` finished trials (or the timeout). Returns the
    prepared tunes and the bars they were searched on."""
    store.require_writable()
    series = load_inputs(store, run.tickers, run.csv, ())
    bars = {s.ticker: s.bars for s in series}
    tunes = prepare(store, run, settings, space_file, bars, parallel.distributed, locks or ExitStack())
    studies = [s for t in tunes for s in t.studies]
    bases = {t.ticker: t.base for t in tunes}
    started = time.monotonic()
    waiting: dict[str, tuple[Study, optuna.trial.Trial]] = {}

    def finish(study: Study, trial: optuna.trial.Trial, record: TrialRecord) -> None:
        """Store first (the record), then tell the study."""
        save_trial(store.conn, study.tune_id, record)
        study.trials.append(record)
        study.running.pop(trial.number, None)
        for j, v in enumerate(record.steps):
            if np.isfinite(v):
                trial.report(v, j)
        study.study.tell(trial, record.value if record.complete else None, state=optuna_state(record.state))
        if on_trial:
            on_trial(study.ticker, record)

    def next_task() -> tuple[str, dict[str, Any]] | None:
        if settings.timeout is not None and time.monotonic() - started > settings.timeout:
            return None
        while True:
            open_ = [s for s in studies if s.started < settings.trials]
            if not open_:
                return None
            study = min(open_, key=lambda s: s.started)
            trial = study.study.ask(study.distributions)
            try:
                cfg = study.space.apply(bases[study.ticker], trial.params).validate()
            except ConfigError as exc:  # settings that do not go together: a failed trial, at once
                finish(study, trial, failed(study, trial, str(exc), 0.0))
                continue
            study.running[trial.number] = trial
            key = f"{study.tune_id}-{study.fold.span.index}-{trial.number}"
            waiting[key] = (study, trial)
            prune = study.prune_bars() if settings.prune else ()
            return key, {"task": TrialTask(study.ticker, cfg, run.backtest, study.fold, prune)}

    def done(outcome: TaskOutcome[TrialResult]) -> None:
        study, trial = waiting.pop(outcome.key)
        if outcome.error is not None:
            error = trial_error(outcome.error)
            finish(study, trial, failed(study, trial, error, outcome.seconds))
            return
        r = outcome.get()
        finite = bool(np.isfinite(r.skill))
        state = TrialState.PRUNED if r.pruned else TrialState.COMPLETE if finite else TrialState.FAILED
        record = TrialRecord(
            fold=study.fold.span.index,
            number=trial.number,
            state=state,
            params=trial.params,
            value=r.skill if state is TrialState.COMPLETE else None,
            steps=tuple(r.steps),
            error=None if finite else "the inner folds gave no finite score",
            seconds=r.seconds,
            dates=tuple(str(d) for d in r.dates),
            gain=tuple(r.gain.tolist()),
            active=tuple(r.active.tolist()),
            worker=r.worker,
            started_at=r.started_at,
            finished_at=r.finished_at,
        )
        finish(study, trial, record)

    stream_tasks(run_trial, next_task, {"bars": bars}, done, parallel)
    return tunes, bars
