"""From a run's config and a series to what prep needs: the frame and the leak-free split.

The one place where a TrainConfig is turned into the plain values the lower layers take.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from lstmcast.bars import Bars
from lstmcast.config import TrainConfig
from lstmcast.errors import DataError
from lstmcast.prep.dataset import Frame, SampleShape, Segments, build_frame, check_length
from lstmcast.tickers import exchange_of

if TYPE_CHECKING:
    import pandas as pd


def shape_of(config: TrainConfig) -> SampleShape:
    return SampleShape(config.window, config.horizon, config.val_frac, config.test_frac)


def frame_for(
    config: TrainConfig,
    bars: Bars | pd.DataFrame,
    exog: Mapping[str, Bars | pd.DataFrame] | None = None,
    ticker: str = "",
) -> Frame:
    """The feature frame a model of `config` reads; its exogenous series must all be given.
    Each series trades on the exchange its ticker's suffix names (`tickers.exchange_of`), and
    exog bars count only once their session has closed before the target's."""
    absent = [t for t in config.exog if not exog or t not in exog]
    if absent:
        raise DataError(f"exogenous series {', '.join(absent)} not given; store them first")
    chosen = {t: exog[t] for t in config.exog} if exog else None
    calendars = {name: exchange_of(name)[0] for name in ("", *config.exog)}
    calendars[""] = exchange_of(ticker)[0]
    frame = build_frame(bars, config.target, config.features, chosen, calendars, config.vol_proxy)
    if frame.n and np.ptp(frame.x[:, 0]) == 0:
        raise DataError(
            f"the {config.target.replace('_', ' ')} never changes in these {frame.n + 1} bars"
            " (a constant price): there is nothing to forecast; check the data"
        )
    return frame


def split_for(config: TrainConfig, frame: Frame, ticker: str) -> Segments:
    return check_length(frame, shape_of(config), ticker)
