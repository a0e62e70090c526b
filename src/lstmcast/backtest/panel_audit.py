"""`audit --universe`: what each fold knew at its cutoff must not change when the future does.

For every block of the universe walk-forward, the fold is fitted on the real panel and
again on panels whose closes after the block's first date are replaced by a random walk:
once in a single member (a future bar that leaked through one ticker's features) and once
in every member (a leak across tickers, such as a scaler or a cross-sectional statistic
fitted past the cutoff). The inputs up to the cutoff, the fitted weights and the scores made
at the cutoff's close must come out identical; any difference names a leak. CPU fits with
the same seed are bit-identical, so the test is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.runconfig import BacktestConfig
from lstmcast.store.db import Store
from lstmcast.universe.folds import fold_inputs, plan_blocks
from lstmcast.universe.members import show_universe
from lstmcast.universe.panel import Panel, build_panel

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class PanelFoldAudit:
    fold: int
    cutoff: str  # the last date whose bars stayed real
    noised: str  # whose bars after it were replaced: one member's, or every member's
    inputs_identical: bool  # the scaled inputs up to the cutoff
    weights_identical: bool
    scores_identical: bool  # the scores made at the cutoff's close

    @property
    def clean(self) -> bool:
        return self.inputs_identical and self.weights_identical and self.scores_identical


@dataclass
class PanelAudit:
    universe: str
    folds: list[PanelFoldAudit] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return all(f.clean for f in self.folds)

    @property
    def leaks(self) -> list[str]:
        out = []
        for f in self.folds:
            changed = [
                what
                for what, same in (
                    ("the inputs", f.inputs_identical),
                    ("the weights", f.weights_identical),
                    ("the scores", f.scores_identical),
                )
                if not same
            ]
            if changed:
                what = ", ".join(changed[:-1]) + (" and " if len(changed) > 1 else "") + changed[-1]
                out.append(
                    f"fold {f.fold}: {what} changed when {f.noised}'s bars after {f.cutoff}"
                    " were replaced by noise: a leak"
                )
        return out


def noised(panel: Panel, after: int, columns: list[int], seed: int = 0) -> Panel:
    """The panel with the closes of `columns` after row `after` replaced by a random walk from
    the last real close (finite and positive, as real bars are)."""
    rng = np.random.default_rng(seed)
    close = panel.close.copy()
    for c in columns:
        steps = rng.normal(0, 0.02, size=len(close) - after - 1)
        base = close[after, c] if np.isfinite(close[after, c]) else 100.0
        walk = base * np.exp(np.cumsum(steps))
        close[after + 1 :, c] = np.where(np.isfinite(close[after + 1 :, c]), walk, np.nan)
    return replace(panel, close=close)


def _same_state(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> bool:
    import torch

    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def panel_audit(
    store: Store,
    name: str,
    train: TrainConfig,
    config: BacktestConfig,
    on_fold: Callable[[int, int], None] | None = None,
) -> PanelAudit:
    """Audit every block of `backtest --universe NAME` with the same settings."""
    universe = show_universe(store, name)
    panel = build_panel(store, universe)
    forward = panel.forward(train.horizon)
    plan = plan_blocks(panel, forward, config, universe.name, "an audit of its walk-forward")
    one = int(np.argmax(panel.listed.sum(axis=0)))  # the member with the most bars
    from lstmcast.training.panel import fit_fold, predict_fold  # torch: only for an audit

    report = PanelAudit(universe.name)
    for i, block in enumerate(plan.blocks):
        start, end = int(block[0]), int(block[-1]) + 1
        real = fold_inputs(panel, train, start, end, plan.first, plan.ranked, universe.name, i + 1)
        real_fit = fit_fold(real, train)
        at = real.test[0] == start
        real_scores = predict_fold(real_fit, real)[at]
        for who, columns in ((panel.tickers[one], [one]), ("every member", list(range(len(panel.tickers))))):
            other = noised(panel, start, columns, seed=i)
            fold = fold_inputs(other, train, start, end, plan.first, plan.ranked, universe.name, i + 1)
            fit = fit_fold(fold, train)
            same_at = fold.test[0] == start
            report.folds.append(
                PanelFoldAudit(
                    fold=i + 1,
                    cutoff=str(panel.dates[start].date()),
                    noised=who,
                    inputs_identical=bool(
                        np.array_equal(real.values[: start + 1], fold.values[: start + 1], equal_nan=True)
                    ),
                    weights_identical=_same_state(real_fit.outcome.state, fit.outcome.state),
                    scores_identical=bool(np.array_equal(real_scores, predict_fold(fit, fold)[same_at])),
                )
            )
        if on_fold:
            on_fold(i + 1, len(plan.blocks))
    return report
