"""A sweep's leaderboard: one row per ticker x model about the seeds' average forecast, its
tests adjusted for every comparison in the sweep, and the trading rule's deflated Sharpe."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lstmcast.backtest.strategy import Simulation, positions_from, simulate
from lstmcast.evaluation.metrics import mean_defined
from lstmcast.evaluation.multiple import benjamini_hochberg, deflated_sharpe, holm, per_period_sharpe
from lstmcast.evaluation.verdict import judge
from lstmcast.runconfig import TRADING_DAYS, BacktestConfig
from lstmcast.sweep.cells import Cell, ReturnCell, VolCell
from lstmcast.sweep.volatility import VolRow, vol_leaderboard
from lstmcast.target import target_of

ADJUSTMENTS = ("bh", "holm")
SIGNIFICANCE = 0.05


@dataclass
class ReturnRow:
    """One ticker x model of a return sweep: the seeds' average forecast, judged."""

    ticker: str
    model: str
    seeds: int
    forecast: str
    skill_vs_naive: float
    skill_seed_std: float
    cw_pvalue: float | None
    best_baseline: str
    skill_vs_best: float
    test_vs_best: str
    pvalue_vs_best: float | None
    directional_accuracy: float | None
    sharpe: float
    buy_and_hold_sharpe: float
    active_sharpe: float
    deflated_sharpe: float | None = None  # of the active returns, over the rows compared
    deflated_over: int = 0
    cw_pvalue_adjusted: float | None = None  # for every row of the sweep
    pvalue_vs_best_adjusted: float | None = None
    beats_naive: bool = False
    beats_best: bool = False


LeaderRow = ReturnRow | VolRow


def leaderboard(
    cells: list[Cell], adjust: str = "bh", bt: BacktestConfig | None = None
) -> tuple[list[ReturnRow] | list[VolRow], int]:
    """One row per ticker x model, all of it about one forecast: the seeds' average (what a
    user would deploy from several seeds), over the whole forecast path.

    - skill vs naive, and Clark-West against the random walk (the network nests it), that
      p-value adjusted for every row of the sweep; the verdict against the best baseline;
    - the trading rule run on that forecast: its Sharpe, buy-and-hold's beside it, and the
      deflated Sharpe of the active returns (strategy minus buy-and-hold), deflated for the
      number of distinct configurations (rows) with the variance of their active Sharpe
      ratios. A rule that is always long in a rising market has active returns of zero.
    - `skill_seed_std`: how much the seeds' own forecasts disagree (spread, not a test).
    """
    bt = bt or BacktestConfig()
    ok = [c for c in cells if c.status == "ok" and c.result is not None]
    vol = [(c, c.result) for c in ok if isinstance(c.result, VolCell)]
    if vol:
        return vol_leaderboard(vol, adjust)
    groups: dict[tuple[str, str], list[ReturnCell]] = {}
    for c in ok:
        assert isinstance(c.result, ReturnCell)
        groups.setdefault((c.ticker, c.model), []).append(c.result)
    rows: list[ReturnRow] = []
    active: list[np.ndarray] = []
    for (ticker, model), group in groups.items():
        first = group[0]
        preds = dict(first.preds)
        preds["model"] = np.mean([g.preds["model"] for g in group], axis=0)
        label = "one seed" if len(group) == 1 else f"average of {len(group)} seeds"
        v = judge(preds, first.truth, label)
        strategy, hold = _trade(preds["model"], first, bt)
        active.append(strategy.returns - hold.returns)
        skills = [g.skill_vs_naive for g in group]
        rows.append(
            ReturnRow(
                ticker=ticker,
                model=model,
                seeds=len(group),
                forecast=label,
                skill_vs_naive=v.vs_naive.skill,
                skill_seed_std=float(np.std(skills, ddof=1)) if len(skills) > 1 else 0.0,
                cw_pvalue=v.vs_naive.pvalue,
                best_baseline=v.best_baseline,
                skill_vs_best=v.vs_best.skill,
                test_vs_best=v.vs_best.test,
                pvalue_vs_best=v.vs_best.pvalue,
                directional_accuracy=mean_defined([g.directional_accuracy for g in group]),
                sharpe=strategy.stats.sharpe,
                buy_and_hold_sharpe=hold.stats.sharpe,
                active_sharpe=per_period_sharpe(active[-1]) * math.sqrt(TRADING_DAYS),
            )
        )
    # Deflate for the configurations actually compared: the rows, not near-identical seeds.
    per_period = [per_period_sharpe(a) for a in active]
    finite = [x for x in per_period if math.isfinite(x)]
    sr_var = float(np.var(finite, ddof=1)) if len(finite) > 1 else 0.0
    adjusting = holm if adjust == "holm" else benjamini_hochberg
    naive_p = adjusting([r.cw_pvalue for r in rows])
    best_p = adjusting([r.pvalue_vs_best for r in rows])
    for r, a, p_naive, p_best in zip(rows, active, naive_p, best_p, strict=True):
        r.deflated_sharpe = deflated_sharpe(a, len(rows), sr_var)
        r.deflated_over = len(rows)
        r.cw_pvalue_adjusted, r.pvalue_vs_best_adjusted = p_naive, p_best
        r.beats_naive = _beats(r.skill_vs_naive, p_naive)
        r.beats_best = r.beats_naive and (r.best_baseline == "naive" or _beats(r.skill_vs_best, p_best))
    rows.sort(key=lambda r: -r.skill_vs_naive if math.isfinite(r.skill_vs_naive) else math.inf)
    return rows, sum(r.beats_naive for r in rows)


def _beats(skill: float, adjusted: float | None) -> bool:
    return bool(math.isfinite(skill) and skill > 0 and adjusted is not None and adjusted < SIGNIFICANCE)


def _trade(model: np.ndarray, cell: ReturnCell, bt: BacktestConfig) -> tuple[Simulation, Simulation]:
    """The backtest's trading rule on the seeds' average forecast, and buy-and-hold."""
    first = model[:, 0]
    if target_of(cell.target).in_prices:  # a price forecast: its step-1 log return
        first = np.log(first / cell.origin_price)
    realised = cell.realised
    strategy = simulate(positions_from(first, bt.rule, bt.threshold), realised, bt.cost_bps)
    return strategy, simulate(np.ones(len(realised)), realised, bt.cost_bps)
