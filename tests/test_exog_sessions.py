"""Exogenous series on other exchanges: a bar counts only once its session has closed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmcast.backtest.audit import audit
from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.prep import features
from lstmcast.prep.inputs import frame_for
from lstmcast.prep.sessions import close_times
from lstmcast.runconfig import BacktestConfig
from synth import bars_from_log_returns

TINY = TrainConfig(model="lstm", window=10, hidden=8, layers=1, epochs=2, patience=2, lr=3e-3, threads=1)


def _pair(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """An Oslo target whose return is 0.7 x the S&P 500's return of the same day, plus noise."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0, 0.01, n)
    oslo = bars_from_log_returns(0.7 * e + rng.normal(0, 0.004, n), start="2015-01-05")
    spx = bars_from_log_returns(e, start="2015-01-05")
    return oslo, spx, e


def test_close_times_know_oslo_closes_before_new_york() -> None:
    day = pd.DatetimeIndex(["2020-01-02", "2020-07-02", "2020-11-27"])
    oslo, ny = close_times("XOSL", day), close_times("XNYS", day)
    assert (oslo < ny).all()
    assert pd.Timestamp(ny[0]) == pd.Timestamp("2020-01-02 21:00")  # 16:00 in New York, winter
    assert pd.Timestamp(ny[2]) == pd.Timestamp("2020-11-27 18:00")  # the early close after Thanksgiving
    assert pd.Timestamp(oslo[1]) == pd.Timestamp("2020-07-02 14:20")  # 16:20 in Oslo, summer


def test_an_oslo_target_sees_the_sp500_of_the_day_before_and_new_york_sees_oslo_same_day() -> None:
    oslo, spx, _ = _pair(60)
    cfg = TINY.replace(exog=("^GSPC",))
    frame = frame_for(cfg, oslo, {"^GSPC": spx}, "EQNR.OL")
    got = frame.x[:, frame.columns.index("exog:^GSPC")]
    spx_r = np.log((spx["adj_close"] / spx["adj_close"].shift(1)).to_numpy())
    k = oslo.index.get_indexer(frame.dates)  # each frame row's bar
    # Oslo's bar k sees the S&P's return of the day before (bar k-1): its same-day close
    # comes hours after Oslo's.
    assert np.allclose(got, spx_r[k - 1])
    assert not np.allclose(got, spx_r[k])  # what a date-only alignment used: the leak
    ny = frame_for(TINY.replace(exog=("EQNR.OL",)), spx, {"EQNR.OL": oslo}, "^GSPC")
    oslo_r = np.log((oslo["adj_close"] / oslo["adj_close"].shift(1)).to_numpy())
    assert np.allclose(ny.x[:, 1], oslo_r[spx.index.get_indexer(ny.dates)])  # Oslo had closed: same day
    # Same exchange: same-day closes, as before.
    same = frame_for(TINY.replace(exog=("^GSPC",)), oslo, {"^GSPC": spx}, "AAPL")
    assert np.allclose(same.x[:, 1], spx_r[oslo.index.get_indexer(same.dates)])


def test_the_audit_shifts_time_and_catches_a_date_only_alignment(monkeypatch: pytest.MonkeyPatch) -> None:
    oslo, spx, _ = _pair(700, seed=3)
    series = Series("EQNR.OL", oslo, "synthetic", {"^GSPC": spx})
    cfg, bt = TINY.replace(exog=("^GSPC",)), BacktestConfig(folds=2, test_size=0.2)
    assert audit(cfg, bt, series).clean
    aligned_by_date = features.exog_returns

    def by_date_only(bars: pd.DataFrame, other: pd.DataFrame, calendars: object = None) -> object:
        return aligned_by_date(bars, other, None)  # the old alignment: the S&P's same-day close

    monkeypatch.setattr(features, "exog_returns", by_date_only)
    leaky = audit(cfg, bt, series)
    assert not leaky.clean and "changed when data from" in leaky.leaks[0]
