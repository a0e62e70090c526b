"""`daily`: the one job cron runs: fetch, retrain what is stale, forecast, log; never overlapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lstmcast.config import DAILY_CONFIG, DAILY_LOCK
from lstmcast.errors import LstmcastError, NotFoundError
from lstmcast.jobs.lock import run_lock
from lstmcast.jobs.watchlist import WatchItem, load_watchlist
from lstmcast.store.db import Store


@dataclass
class TickerRun:
    ticker: str
    status: str  # "forecast", "no new bar", "failed"
    detail: str = ""
    model_id: str | None = None
    as_of: str | None = None
    next_date: str | None = None
    next_price: float | None = None
    errors: list[Exception] = field(default_factory=list)  # what went wrong, for the exit code


@dataclass
class DailyReport:
    tickers: list[TickerRun] = field(default_factory=list)

    @property
    def errors(self) -> list[Exception]:
        return [e for t in self.tickers for e in t.errors]


def _exog_of(store: Store, item: WatchItem) -> tuple[str, ...]:
    """The exogenous series the ticker's current model reads (none if it has no model yet)."""
    from lstmcast.training.registry import load_model, newest_model_id

    try:
        return load_model(store, newest_model_id(store, item.symbol, item.model), item.symbol).config.exog
    except LstmcastError:
        return ()  # no usable model yet: the ticker's own run reports why


def _fetch_exog(store: Store, items: list[WatchItem], session: Any) -> dict[str, Exception]:
    """Fetch every exogenous series the watchlist's models read, once each, before any
    forecast: a model with --exog must not forecast from a stale input. Returns the failures."""
    from lstmcast.data.ingest import fetch_one

    wanted = dict.fromkeys(t for item in items if item.fetch for t in _exog_of(store, item))
    failed: dict[str, Exception] = {}
    for ticker in wanted:
        got = fetch_one(store, ticker, None, None, session)
        if got.error:
            failed[ticker] = got.error
    return failed


def _run_one(
    store: Store, item: WatchItem, fetch_session: Any, exog_failed: dict[str, Exception]
) -> TickerRun:
    from lstmcast.data.ingest import fetch_one
    from lstmcast.data.series import load_stored
    from lstmcast.forecasting.forecast import forecast
    from lstmcast.store.ledger import has_forecast
    from lstmcast.training.registry import load_model, newest_model_id

    run = TickerRun(item.symbol, "forecast")
    notes = []
    if item.fetch:
        got = fetch_one(store, item.symbol, None, None, fetch_session)
        if got.error:
            # Keep going on stored data; the error still reaches the exit code (cron retries).
            run.errors.append(got.error)
            notes.append(str(got.error))
    for name in _exog_of(store, item):
        if name in exog_failed:
            run.errors.append(exog_failed[name])
            notes.append(f"exog {exog_failed[name]}")
    try:
        series = load_stored(store, item.symbol)
        newest = series.bars.index[-1].date().isoformat()
        try:
            model_id: str | None = newest_model_id(store, item.symbol, item.model)
        except NotFoundError:
            model_id = None
        if model_id is not None:
            done = has_forecast(store.conn, item.symbol, model_id, newest)
            stale = (
                date.fromisoformat(newest)
                - date.fromisoformat(load_model(store, model_id, item.symbol).data_end())
            ).days
            if done and not (item.retrain_if_older and stale > item.retrain_if_older):
                run.status, run.as_of, run.model_id = "no new bar", newest, model_id
                run.detail = "; ".join(notes)
                return run
        if model_id is None:
            from lstmcast.config import TrainConfig
            from lstmcast.training.run import train

            model_id = train(store, TrainConfig(model=item.model), series).model_id
            notes.append(f"trained {model_id}")
        result = forecast(
            store,
            item.symbol,
            model_id=model_id,
            horizon=item.horizon,
            calendar=item.calendar,
            intervals=item.intervals,
            retrain_if_older=item.retrain_if_older or None,
        )
        if result.retrained:
            notes.append(f"retrained as {result.model_id}")
        notes.extend(result.warnings)
        run.model_id, run.as_of = result.model_id, result.as_of
        run.next_date, run.next_price = result.forecasts[0].date, result.forecasts[0].price
    except LstmcastError as exc:
        run.status = "failed"
        run.errors.append(exc)
        notes.append(str(exc))
    except Exception as exc:  # one ticker's bug must not stop the rest of an unattended run
        run.status = "failed"
        run.errors.append(exc)
        notes.append(f"unexpected {type(exc).__name__}: {exc}")
    run.detail = "; ".join(notes)
    return run


def daily(store: Store, config: Path | None = None, fetch_session: Any = None) -> DailyReport:
    """Run the watchlist under the lock; each ticker's failure is recorded and the rest go on."""
    path = config or store.home / DAILY_CONFIG
    items = load_watchlist(path)
    with run_lock(store.home / DAILY_LOCK):
        exog_failed = _fetch_exog(store, items, fetch_session)
        return DailyReport([_run_one(store, item, fetch_session, exog_failed) for item in items])
