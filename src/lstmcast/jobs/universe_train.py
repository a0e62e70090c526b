"""`train --universe`: one network across a universe's members, judged on held-out dates and saved.

The universe is cut once in time, as one block of its walk-forward: the last `--test` share of
its dates is held out, the `--val` share before it stops the training, and each member's
scaler is fitted on the rows before the validation dates (`universe.folds`). The held-out
dates are scored as the backtest scores them, by the target's own held-out judge: a ranking
by its rank IC with its Newey-West t beside every cross-sectional baseline, a pooled
variance by its QLIKE beside the HARs, on the same cells. `registry.universe` saves it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.evaluation.panel import ICSummary, PooledDM, ic_summary, pooled_dm, ranking_strength, versus
from lstmcast.evaluation.panel_baselines import baseline_scores
from lstmcast.evaluation.pooled_baselines import (
    POOLED_BASELINES,
    block_baselines,
    panel_regressors,
    pooled_mean,
    qlike_losses,
    skill,
)
from lstmcast.jsonable import to_jsonable
from lstmcast.registry.manifest import new_model_id
from lstmcast.registry.saved import write_model
from lstmcast.registry.universe import universe_manifest
from lstmcast.runconfig import BacktestConfig
from lstmcast.store.db import Store
from lstmcast.universe.folds import FoldInputs, fold_inputs, network_config, plan_blocks
from lstmcast.universe.members import Survivorship, show_universe
from lstmcast.universe.panel import Panel, build_panel, check_fits, panel_size
from lstmcast.universe.targets import learner_of


class HeldOut(Protocol):
    """A trained universe network's held-out dates, judged as its target is judged."""

    def verdict(self) -> str: ...

    def test_json(self) -> dict[str, object]:
        """The network's scores (the report's and the manifest's `test`)."""
        ...

    def baselines_json(self) -> dict[str, object]: ...

    @property
    def best_baseline(self) -> str: ...

    def table(self) -> tuple[str, tuple[str, ...], list[tuple[str, ...]]]:
        """A title, the column heads, and one row of text per forecaster (the network first)."""
        ...


@dataclass(frozen=True)
class RankingHeldOut:
    """A ranking (rank or excess): rank IC by date, beside the cross-sectional baselines."""

    test: ICSummary
    baselines: dict[str, ICSummary]
    best_baseline: str

    def verdict(self) -> str:
        t, b = self.test.rank_ic_t, self.baselines[self.best_baseline]
        ic = _num(self.test.rank_ic_mean, 4)
        tt = _num(t, 2)
        head = {
            "noise": f"no skill on the held-out dates: rank IC {ic}, t {tt}, cannot be told from noise",
            "backwards": f"the network ranks backwards on the held-out dates (rank IC {ic}, t {tt})",
            "ranks": f"the network ranks the held-out dates (rank IC {ic}, t {tt})",
        }[ranking_strength(t)]
        best = _num(b.rank_ic_mean, 4)
        return f"{head}; the best baseline, {self.best_baseline}, has {best} (`backtest --universe` tests it)"

    def test_json(self) -> dict[str, object]:
        return dict(to_jsonable(self.test))

    def baselines_json(self) -> dict[str, object]:
        return dict(to_jsonable(self.baselines))

    def table(self) -> tuple[str, tuple[str, ...], list[tuple[str, ...]]]:
        rows: list[tuple[str, ...]] = [("network", *_ic_cells(self.test))]
        for name, b in self.baselines.items():
            rows.append((name + (" (best)" if name == self.best_baseline else ""), *_ic_cells(b)))
        return "held-out dates: rank IC by date, Newey-West t", ("scores", "rank IC", "t", "IC"), rows


def _ic_cells(s: ICSummary) -> tuple[str, str, str]:
    return _num(s.rank_ic_mean, 4), _num(s.rank_ic_t, 2), _num(s.ic_mean, 4)


def _num(x: float | None, digits: int) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


@dataclass(frozen=True)
class VarianceHeldOut:
    """A pooled variance: QLIKE pooled across members by date, beside the HARs."""

    qlike: dict[str, float | None]  # the network's and each baseline's pooled QLIKE
    skill_vs: dict[str, float | None]  # 1 - the network's QLIKE / the baseline's
    best_baseline: str
    pooled_dm: PooledDM  # against the best baseline: negative, the network's loss is lower
    cells: int

    def verdict(self) -> str:
        best, p, stat = self.best_baseline, self.pooled_dm.pvalue, self.pooled_dm.statistic
        gain = self.skill_vs[best]
        words = "–" if gain is None else f"{gain:+.1%}"
        side = versus(p, stat)
        if side == "untested":
            head = f"no test against the best baseline, {best} (too few days)"
        elif side == "better":
            head = f"the network forecasts the held-out variance better than the best baseline, {best}"
        elif side == "worse":
            head = f"the best baseline, {best}, forecasts the held-out variance better than the network"
        else:
            head = f"the network cannot be told from the best baseline, {best}, on the held-out dates"
        tail = "" if p is None else f", pooled DM p {p:.3f}"
        return f"{head} (QLIKE skill {words}{tail}; `backtest --universe` walks it forward)"

    def test_json(self) -> dict[str, object]:
        return {
            "qlike": self.qlike["network"],
            "skill_vs_best": self.skill_vs[self.best_baseline],
            "pooled_dm": to_jsonable(self.pooled_dm),
            "cells": self.cells,
        }

    def baselines_json(self) -> dict[str, object]:
        return {k: {"qlike": self.qlike[k], "skill": self.skill_vs[k]} for k in POOLED_BASELINES}

    def table(self) -> tuple[str, tuple[str, ...], list[tuple[str, ...]]]:
        rows: list[tuple[str, ...]] = [("network", _num(self.qlike["network"], 4), "")]
        for k in POOLED_BASELINES:
            mark = " (best)" if k == self.best_baseline else ""
            gain = self.skill_vs[k]
            rows.append((k + mark, _num(self.qlike[k], 4), "–" if gain is None else f"{gain:+.1%}"))
        title = "held-out dates: QLIKE pooled by date; skill: 1 - the network's / the baseline's"
        return title, ("forecaster", "QLIKE", "network's skill"), rows


def ranking_held_out(panel: Panel, fold: FoldInputs, forecast: np.ndarray, rows: slice, h: int) -> HeldOut:
    """The held-out dates of a ranking, judged as `backtest --universe` judges one."""
    realised = np.where(panel.listed, fold.outcome, np.nan)[rows]
    dates = panel.dates[rows]
    scored = np.isfinite(forecast[rows])
    others = {
        k: np.where(scored, v[rows], np.nan)
        for k, v in baseline_scores(panel.returns(), fold.outcome, slice(0, rows.start - h)).items()
    }
    baselines = {k: ic_summary(v, realised, dates, h) for k, v in others.items()}
    best = max(baselines, key=lambda k: _or_inf(baselines[k].rank_ic_mean))
    return RankingHeldOut(ic_summary(forecast[rows], realised, dates, h), baselines, best)


def variance_held_out(panel: Panel, fold: FoldInputs, forecast: np.ndarray, rows: slice, h: int) -> HeldOut:
    """The held-out dates of a pooled variance, against the HARs fitted on the training dates
    and calibrated on the validation dates, as the backtest fits them."""
    y = fold.outcome
    fit = np.arange(0, max(fold.val_start - h, 0))
    made = block_baselines(panel_regressors(panel), y, fit, slice(fold.val_start, rows.start - h), rows)
    realised = np.where(panel.listed, y, np.nan)[rows]
    losses, common = qlike_losses({"network": forecast[rows], **{k: v[rows] for k, v in made.items()}},
                                  realised)  # fmt: skip
    pooled = {k: pooled_mean(v) for k, v in losses.items()}
    best = min(POOLED_BASELINES, key=lambda k: _lowest(pooled[k]))
    return VarianceHeldOut(
        qlike=pooled,
        skill_vs={k: skill(pooled["network"], pooled[k]) for k in POOLED_BASELINES},
        best_baseline=best,
        pooled_dm=pooled_dm(losses["network"], losses[best], h),
        cells=int(common.sum()),
    )


# Each panel target's held-out judge: the one place a target's name picks it.
HELD_OUT: dict[str, Callable[[Panel, FoldInputs, np.ndarray, slice, int], HeldOut]] = {
    "rank": ranking_held_out,
    "excess": ranking_held_out,
    "volatility": variance_held_out,
}


@dataclass
class UniverseTrainReport:
    model_id: str
    universe: str
    target: str
    model: str
    horizon: int
    window: int
    members: int
    segments: dict[str, list[str]]  # train, validation, test: first and last dates
    n_train: int
    n_val: int
    n_test: int
    epochs_run: int
    best_epoch: int
    stopped: str
    train_seconds: float
    device: str
    held_out: HeldOut  # the held-out dates, judged as the target's backtest judges them
    survivorship: Survivorship
    path: str
    warnings: list[str] = field(default_factory=list)

    def verdict(self) -> str:
        """The held-out finding in plain words, as strong as its test."""
        return self.held_out.verdict()

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = to_jsonable(
            {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "held_out"}
        )
        doc["test"] = self.held_out.test_json()
        doc["baselines"] = self.held_out.baselines_json()
        doc["best_baseline"] = self.held_out.best_baseline
        doc["verdict"] = self.verdict()
        return doc


def train_universe(
    store: Store, name: str, config: TrainConfig, on_epoch: Callable[..., None] | None = None
) -> UniverseTrainReport:
    """Fit one network across universe `name` (its last `test_frac` of dates held out), score
    it there beside the baselines, and save it."""
    from lstmcast.training.loop import keep_best_on_interrupt
    from lstmcast.training.panel import fit_panel, predict_fold, predict_panel

    store.require_writable()
    learner = learner_of(config.target)
    universe = show_universe(store, name)
    panel = build_panel(store, universe)
    check_fits(panel_size(len(panel.dates), len(panel.tickers), 1, config.window))
    h = config.horizon
    plan = plan_blocks(panel, learner.outcome(panel, h), BacktestConfig(folds=1, test_size=config.test_frac),
                       universe.name, "training")  # fmt: skip
    start, end = int(plan.test_rows[0]), int(plan.test_rows[-1]) + 1
    fold = fold_inputs(panel, config, start, end, plan.first, plan.ranked, universe.name)
    with keep_best_on_interrupt():  # Ctrl-C saves the best epoch so far
        fit = fit_panel(fold.values, fold.target, fold.train, fold.val, config, on_epoch)
    readout = learner.readout(fold.scale, predict_panel(fit, fold.values, fold.val), fold.val, fold.outcome)
    forecast = np.full(fold.outcome.shape, np.nan)
    forecast[fold.test] = readout.apply(predict_fold(fit, fold), fold.test[1])
    rows = slice(start, end)
    held_out = HELD_OUT[config.target](panel, fold, forecast, rows, h)
    day = [str(d.date()) for d in panel.dates]
    segments = {
        "train": [day[plan.first], day[max(fold.val_start - h - 1, 0)]],
        "validation": [day[fold.val_start], day[start - h - 1]],
        "test": [day[start], day[end - 1]],
    }
    model_id = new_model_id(f"u-{universe.name}", config.model)
    warnings = [] if universe.survivorship.point_in_time else [universe.survivorship.warning or ""]
    out = fit.outcome
    metrics = {
        "test": {"model": held_out.test_json()},
        "panel": held_out.test_json(),
        "baselines": held_out.baselines_json(),
        "best_baseline": held_out.best_baseline,
    }
    manifest = universe_manifest(
        model_id,
        universe.name,
        config,
        panel,
        fold,
        readout,
        segments,
        metrics,
        out,
        str(fit.device),
        warnings,
    )
    state = {k: v.detach().cpu().numpy() for k, v in out.state.items()}
    path = write_model(store, model_id, manifest, state, network_config(config))
    return UniverseTrainReport(
        model_id=model_id,
        universe=universe.name,
        target=config.target,
        model=config.model,
        horizon=h,
        window=config.window,
        members=len(panel.tickers),
        segments=segments,
        n_train=len(fold.train[0]),
        n_val=len(fold.val[0]),
        n_test=len(fold.test[0]),
        epochs_run=len(out.history),
        best_epoch=out.best_epoch,
        stopped=out.stopped,
        train_seconds=out.seconds,
        device=str(fit.device),
        held_out=held_out,
        survivorship=universe.survivorship,
        path=str(Path(path)),
        warnings=warnings,
    )


def _lowest(x: float | None) -> float:
    return math.inf if x is None else x


def _or_inf(x: float | None) -> float:
    return -math.inf if x is None else x
