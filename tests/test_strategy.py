"""Known-answer tests for the trading simulation."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcast.backtest.strategy import positions_from, simulate


def test_equity_with_costs_by_hand() -> None:
    r = np.log(np.array([1.10, 0.95, 1.02, 1.00]))  # simple moves +10%, -5%, +2%, 0%
    pos = np.array([1.0, 0.0, 1.0, 1.0])
    sim = simulate(pos, r, cost_bps=10)  # 0.1% per unit of turnover
    # bar 1: enter (cost 0.001) and earn +10%; bar 2: exit (cost 0.001), flat;
    # bar 3: re-enter (cost 0.001), earn +2%; bar 4: hold, earn 0%.
    expected = np.cumprod([1 + 0.10 - 0.001, 1 - 0.001, 1 + 0.02 - 0.001, 1.0])
    np.testing.assert_allclose(sim.equity, expected)
    assert sim.stats.turnover == 3 and sim.stats.trades == 3
    assert sim.stats.total_return == pytest.approx(expected[-1] - 1)
    assert sim.stats.max_drawdown == pytest.approx(expected[1] / expected[0] - 1)  # the exit's cost
    assert sim.stats.hit_rate == pytest.approx(2 / 3)  # in the market 3 bars: +10% and +2% win, 0% not
    assert sim.stats.exposure == 0.75


def test_hit_rate_counts_wins_among_bars_in_market() -> None:
    r = np.log(np.array([1.01, 0.99, 1.03]))
    sim = simulate(np.array([1.0, 1.0, 1.0]), r, 0)
    assert sim.stats.hit_rate == pytest.approx(2 / 3)


def test_long_short_and_threshold() -> None:
    f = np.array([0.002, -0.002, 0.0005, -0.0005])
    np.testing.assert_array_equal(positions_from(f, "long_flat", 0.001), [1, 0, 0, 0])
    np.testing.assert_array_equal(positions_from(f, "long_short", 0.001), [1, -1, 0, 0])
    np.testing.assert_array_equal(positions_from(f, "long_short", 0.0), [1, -1, 1, -1])
    short = simulate(np.array([-1.0]), np.log(np.array([0.9])), 0)
    assert short.equity[-1] == pytest.approx(1.1)


def test_a_position_never_uses_the_bar_it_trades_on() -> None:
    """A forecast that knew the future would be perfect; ours is shifted by one bar."""
    from lstmcast.backtest.run import score_seed
    from lstmcast.backtest.walkforward import WalkForward
    from lstmcast.prep.dataset import build_frame
    from lstmcast.runconfig import BacktestConfig
    from synth import random_walk

    bars = random_walk(400, seed=3)
    frame = build_frame(bars)
    at = np.arange(300, 398)
    future = frame.x[at + 1, 0][:, None]  # the move over t -> t+1, as if known at t
    wf = WalkForward(
        0,
        at,
        np.ones(len(at), dtype=int),
        {"model": future, "naive": 0 * future, "drift": 0 * future, "linear": 0 * future},
    )
    outcome = score_seed(frame, wf, BacktestConfig(cost_bps=0))
    # Holding only over up-moves: every bar in the market wins, so the position at t is
    # indeed paid the return of t -> t+1 (the forecast's own target), not of t-1 -> t.
    assert outcome.strategy.stats.hit_rate == 1.0
    earned = np.expm1(frame.x[at + 1, 0]).clip(min=0)
    np.testing.assert_allclose(outcome.strategy.returns, earned)
