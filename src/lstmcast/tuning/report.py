"""A tune's verdict: each outer fold's choice refitted and scored once, with the search counted.

- The skill reported is the outer one (the chosen settings on a block no choice saw), beside
  the inner-best score (the optimism of the search: inner minus outer), and beside the
  starting settings scored on the same blocks.
- Returns: Clark-West against the random walk on the pooled outer forecasts; the deflated
  Sharpe ratio of each fold's chosen trial on the inner folds it was chosen on (N: that
  fold's complete trials), where the selection happened; and the probabilistic Sharpe ratio
  against zero of the outer active returns, which no choice saw.
- Volatility: Diebold-Mariano on QLIKE against log-HAR (the pre-specified benchmark), and skill against naive.
- PBO (CSCV) from each fold's complete trials x inner-origin matrix of loss gains.
- Several tickers: the p-values adjusted by Holm across them, and how many survive.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.errors import DataError
from lstmcast.evaluation import volatility as V
from lstmcast.evaluation.multiple import (
    backtest_overfitting,
    deflated_sharpe,
    holm,
    per_period_sharpe,
    probabilistic_sharpe,
)
from lstmcast.evaluation.verdict import SIGNIFICANCE, judge
from lstmcast.execution.engine import Parallel, TaskOutcome
from lstmcast.execution.stream import run_tasks
from lstmcast.jsonable import number_or_none
from lstmcast.paths import atomic_write_bytes
from lstmcast.runconfig import RunConfig, run_config_toml
from lstmcast.store.db import Store
from lstmcast.store.tunes import TrialRecord, TrialState, save_tune_result
from lstmcast.target import target_of
from lstmcast.tuning.nested import OuterTask, Scored, run_outer
from lstmcast.tuning.tune import Prepared, Study, TuneSettings, search

PBO_BLOCKS = 8


@dataclass
class TuneReport:
    tune_id: str
    ticker: str
    model: str
    target: str
    doc: dict[str, object]  # the --json document (the store keeps it; `tunes show` renders it again)
    trials: list[TrialRecord] = field(default_factory=list)  # every trial, for tables and plots
    best_train: dict[str, object] = field(default_factory=dict)  # the settings best.toml holds
    skill: float | None = None  # the tuned settings' pooled outer skill against the target's benchmark
    start_skill: float | None = None  # the starting settings', the same way
    dm_pvalue: float | None = None  # the tuned outer forecasts against that benchmark
    dm_pvalue_adjusted: float | None = None  # Holm, over the tickers tuned together
    resumed_trials: int = 0
    best_config_path: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def pvalue(self) -> float | None:
        """The p-value the verdict is judged by: Holm-adjusted once the tickers are compared."""
        return self.dm_pvalue_adjusted if self.dm_pvalue_adjusted is not None else self.dm_pvalue

    def beats(self) -> bool:
        """Positive outer skill against the tuning's baseline, significant after adjustment."""
        p = self.pvalue
        return self.skill is not None and self.skill > 0 and p is not None and p < SIGNIFICANCE

    def verdict(self) -> str:
        base = target_of(self.target).benchmark
        if self.beats():
            return f"skill: the tuned {self.model} beats {base} out of sample (p {self.pvalue:.3f})"
        return f"tuned, and still no skill against {base} out of sample"

    def helped(self) -> bool:
        """Whether the tuned settings scored at least as well out of sample as the starting ones."""
        return self.skill is None or self.start_skill is None or self.skill >= self.start_skill

    def keep_starting(self) -> str:
        """The advice when the search's choice did worse than the settings it started from."""
        return (
            f"keep the starting settings: they scored {self.start_skill or 0:+.2%} out of sample against"
            f" {self.skill or 0:+.2%} for the tuned ones"
        )


def best_trial(study: Study, timeout: float | None = None) -> TrialRecord:
    """The study's best finished trial; none finished is refused with the reason: the error
    its trials failed with, every one pruned, or the --timeout that ran out first."""
    done = [t for t in study.trials if t.complete]
    if not done:
        errors = sorted({t.error for t in study.trials if t.error})
        if errors:
            why = f": {errors[0]}"
        elif study.trials:
            why = f": all {len(study.trials)} were pruned; run more trials, or --no-prune"
        elif timeout is not None:
            why = f": the --timeout of {timeout:g} s ran out before the first one ended; give it longer"
        else:
            why = ""
        raise DataError(f"{study.ticker}: no trial of outer fold {study.fold.span.index} finished{why}")
    return max(done, key=lambda t: t.value or -math.inf)


def _pooled(parts: list[Scored]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p.preds[k] for p in parts]) for k in parts[0].preds}


def _skill(model: float, base: float) -> float | None:
    return 1.0 - model / base if base > 0 else None


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


Judged = dict[str, float | str | None]  # a family's pooled outer judgement, as --json shows it


def judge_outer(target: str, horizon: int, parts: list[Scored]) -> Judged:
    """The pooled outer forecasts against their baselines, as the target's family judges them."""
    return _JUDGES[target_of(target).family](_pooled(parts), horizon)


def _judge_variance(p: dict[str, np.ndarray], horizon: int) -> Judged:
    truth = p["truth"]
    q = float(np.mean(V.qlike(p["model"], truth)))
    _, pv = V.dm_qlike(p["model"], p[V.BENCHMARK], truth, horizon)
    return {
        "skill_vs_naive": 1 - q / float(np.mean(V.qlike(p["naive"], truth))),
        "skill_vs_har": 1 - q / float(np.mean(V.qlike(p[V.BENCHMARK], truth))),
        "test": "diebold_mariano vs log-HAR (QLIKE)",
        "dm_pvalue": _finite(pv),
    }


def _judge_returns(p: dict[str, np.ndarray], horizon: int) -> Judged:
    verdict = judge({k: p[k] for k in ("model", "naive", "drift", "linear")}, p["truth"])
    return {
        "skill_vs_naive": verdict.vs_naive.skill,
        "test": "clark_west vs the random walk",
        "dm_pvalue": verdict.vs_naive.pvalue,
        "best_baseline": verdict.best_baseline,
        "skill_vs_best": verdict.vs_best.skill,
    }


# How each family of target a tune searches judges its pooled outer forecasts.
_JUDGES: dict[str, Callable[[dict[str, np.ndarray], int], Judged]] = {
    "return": _judge_returns,
    "volatility": _judge_variance,
}


def state_counts(trials: list[TrialRecord]) -> dict[str, int]:
    """How many trials ended in each state, every state named."""
    return {st.value: sum(1 for x in trials if x.state is st) for st in TrialState}


def overfitting(study: Study) -> dict[str, int | float | None]:
    """PBO of one study: its complete trials' per-origin gains on the inner origins they share."""
    done = [t for t in study.trials if t.complete and t.gain]
    if len(done) < 2:
        return {"fold": study.fold.span.index, "pbo": None, "trials": len(done), "splits": 0}
    common = set.intersection(*(set(t.dates) for t in done))
    columns = []
    for t in done:
        keep = np.array([d in common for d in t.dates])
        columns.append(np.asarray(t.gain, dtype="float64")[keep])
    got = backtest_overfitting(np.column_stack(columns), PBO_BLOCKS)
    return {
        "fold": study.fold.span.index,
        "pbo": None if got is None else got.pbo,
        "trials": len(done),
        "splits": 0 if got is None else got.splits,
    }


def tune_report(t: Prepared, settings: TuneSettings, outer: dict[str, Scored], run: RunConfig) -> TuneReport:
    target, horizon = t.base.target, t.base.horizon
    rows: list[dict[str, object]] = []
    best_parts: list[Scored] = []
    base_parts: list[Scored] = []
    inner_best: list[float] = []  # each fold's best inner score
    pbos: list[float] = []  # each fold's PBO, where it has one
    everything = [tr for s in t.studies for tr in s.trials]
    for s in t.studies:
        pbo = overfitting(s)
        k = s.fold.span.index
        best = best_trial(s)
        got, start = outer[f"{t.tune_id}-{k}-best"], outer[f"{t.tune_id}-{k}-base"]
        best_parts.append(got)
        base_parts.append(start)
        outer_skill = _skill(got.model_loss, got.base_loss)
        inner_best.append(math.nan if best.value is None else best.value)
        if pbo["pbo"] is not None:
            pbos.append(float(pbo["pbo"]))
        rows.append(
            {
                "fold": k,
                "test_start": s.fold.span.cutoff,
                "test_end": s.fold.span.last,
                "best_trial": best.number,
                "best_params": best.params,
                "inner_score": best.value,
                # Against the baseline the search maximised: the random walk (returns), HAR (volatility)
                "outer_skill": outer_skill,
                "outer_skill_vs_naive": judge_outer(target, horizon, [got])["skill_vs_naive"],
                "optimism": None if outer_skill is None or best.value is None else best.value - outer_skill,
                "start_outer_skill": _skill(start.model_loss, start.base_loss),
                "trials": state_counts(s.trials),
                "pbo": pbo["pbo"],
                "pbo_trials": pbo["trials"],  # the trials PBO was computed on: those that finished
            }
        )
    tuned = judge_outer(target, horizon, best_parts)
    starting = judge_outer(target, horizon, base_parts)
    n_trials = len(everything)
    dsr_by_fold: list[float | None] = []
    over_by_fold: list[int] = []
    psr = None
    if all(p.active.size for p in best_parts):  # trades were simulated (not for a variance)
        for s in t.studies:  # the selection is per fold: deflate each fold's inner best
            done = [x for x in s.trials if x.complete]
            inner = [per_period_sharpe(np.asarray(x.active)) for x in done]
            inner = [x for x in inner if math.isfinite(x)]
            variance = float(np.var(inner, ddof=1)) if len(inner) > 1 else 0.0
            dsr_by_fold.append(
                _finite(deflated_sharpe(np.asarray(best_trial(s).active), len(done), variance))
            )
            over_by_fold.append(len(done))
        psr = probabilistic_sharpe(np.concatenate([p.active for p in best_parts]))
    dsr = [d for d in dsr_by_fold if d is not None]
    last = t.studies[-1]
    best_train = last.space.apply(t.base, best_trial(last).params).replace(threads=0).to_dict()
    doc: dict[str, object] = {
        "tune_id": t.tune_id,
        "ticker": t.ticker,
        "model": t.base.model,
        "target": target,
        "trials": n_trials,
        "trials_per_fold": settings.trials,
        "states": state_counts(everything),
        "resumed_trials": t.resumed,
        "inner_folds": settings.inner_folds,
        "sampler": settings.sampler,
        "outer": rows,
        **tuned,
        "inner_best_mean": float(np.mean(inner_best)),
        "start": starting,
        # Each fold's chosen trial, in the sample it was chosen on, deflated for its fold's trials
        "deflated_sharpe": float(np.mean(dsr)) if dsr else None,
        "deflated_sharpe_by_fold": dsr_by_fold,
        "deflated_over": max(over_by_fold, default=0),
        "deflated_over_by_fold": over_by_fold,
        # ... and the outer returns, out of sample: a plain probabilistic Sharpe against zero
        "sharpe_probability": _finite(psr),
        "pbo": float(np.mean(pbos)) if pbos else None,
        "pbo_by_fold": [r["pbo"] for r in rows],
        # PBO is computed on the trials that finished every inner fold: pruned ones are left out.
        "pbo_trials_by_fold": [r["pbo_trials"] for r in rows],
        "best_params": best_trial(last).params,
        "best_config_path": None,
        "notes": list(t.notes),
    }
    key = target_of(target).skill_key
    return TuneReport(
        t.tune_id,
        t.ticker,
        t.base.model,
        target,
        doc,
        everything,
        best_train,
        skill=number_or_none(tuned.get(key)),
        start_skill=number_or_none(starting.get(key)),
        dm_pvalue=number_or_none(tuned["dm_pvalue"]),
        resumed_trials=t.resumed,
        notes=list(t.notes),
    )


def tune(
    store: Store,
    run: RunConfig,
    settings: TuneSettings,
    space_file: Path | None = None,
    parallel: Parallel = Parallel(),
    on_trial: Callable[[str, TrialRecord], None] | None = None,
) -> list[TuneReport]:
    """Search, then refit each outer fold's best (and the starting settings) and judge them."""
    with ExitStack() as locks:  # each tune's lock, held until its result is stored
        return _tune(store, run, settings, space_file, parallel, on_trial, locks)


def _tune(
    store: Store,
    run: RunConfig,
    settings: TuneSettings,
    space_file: Path | None,
    parallel: Parallel,
    on_trial: Callable[[str, TrialRecord], None] | None,
    locks: ExitStack,
) -> list[TuneReport]:
    tunes, bars = search(store, run, settings, space_file, parallel, on_trial, locks)
    tasks: dict[str, dict[str, object]] = {}
    for t in tunes:
        for s in t.studies:
            k = s.fold.span.index
            chosen = s.space.apply(t.base, best_trial(s, settings.timeout).params)
            tasks[f"{t.tune_id}-{k}-best"] = {"task": OuterTask(t.ticker, chosen, run.backtest, s.fold.span)}
            tasks[f"{t.tune_id}-{k}-base"] = {"task": OuterTask(t.ticker, t.base, run.backtest, s.fold.span)}
    outer: dict[str, Scored] = {}

    def done(outcome: TaskOutcome[Scored]) -> None:
        outer[outcome.key] = outcome.get()  # a refit that fails fails the tune's verdict

    run_tasks(run_outer, tasks, {"bars": bars}, done, parallel)
    reports = [tune_report(t, settings, outer, run) for t in tunes]
    adjusted = holm([r.dm_pvalue for r in reports])
    for r, a in zip(reports, adjusted, strict=True):
        r.dm_pvalue_adjusted = a
        r.doc.update(dm_pvalue_adjusted=a, verdict=r.verdict(), tickers_compared=len(reports))
    for r in reports:
        path = store.home / "tunes" / r.tune_id / "best.toml"
        write_best(r, path, run)
        r.best_config_path = r.doc["best_config_path"] = str(path)
        save_tune_result(store.conn, r.tune_id, r.doc)
    return reports


def write_best(report: TuneReport, path: Path, run: RunConfig) -> Path:
    """The chosen settings as a run config: `train --config` and `backtest --config` repeat them."""
    tickers = () if run.csv is not None else (report.ticker,)
    csv = None if run.csv is None else str(Path(run.csv).resolve())  # the file, from any folder
    best = dataclasses.replace(run, tickers=tickers, csv=csv, train=TrainConfig.from_dict(report.best_train))
    text = run_config_toml(best)
    if not report.helped():
        text = f"# {report.keep_starting()}\n" + text
    atomic_write_bytes(path, text.encode())
    return path
