"""`daily`: the one job cron runs: fetch, retrain what is stale, forecast, log; never overlapping."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lstmcast.config import DAILY_CONFIG, DAILY_LOCK, DEFAULT_CALENDAR
from lstmcast.errors import ConfigError, LstmcastError, NotFoundError
from lstmcast.jobs.lock import run_lock
from lstmcast.tickers import validate_ticker

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLE = """\
# lstmcast daily watchlist: `lstmcast daily` reads this file (see `lstmcast cron`).
# Settings at the top apply to every ticker; a [[ticker]] entry may override them.

calendar = "XNYS"        # exchange calendar for forecast dates (XNYS = NYSE)
horizon = 5              # trading days forecast each run
retrain_if_older = 30    # retrain when the newest bar is this many days past the model's data; 0 = never
fetch = true             # download new bars from Yahoo Finance first; false = use the store as it is

[[ticker]]
symbol = "AAPL"
model = "lstm"           # lstm, gru, rnn or cnn: the newest model of this type is used (trained if none)

[[ticker]]
symbol = "MSFT"
model = "gru"
horizon = 3
"""


@dataclass(frozen=True)
class WatchItem:
    symbol: str
    model: str
    horizon: int
    calendar: str
    retrain_if_older: int
    fetch: bool


def load_watchlist(path: Path) -> list[WatchItem]:
    if not path.exists():
        raise NotFoundError(f"{path}: no daily config; create one with `lstmcast daily --init`")
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    defaults = {
        "model": "lstm",
        "horizon": 1,
        "calendar": DEFAULT_CALENDAR,
        "retrain_if_older": 30,
        "fetch": True,
    }
    defaults |= {k: doc[k] for k in defaults if k in doc}
    items = []
    for i, entry in enumerate(doc.get("ticker", []), start=1):
        if "symbol" not in entry:
            raise ConfigError(f"{path}: [[ticker]] entry {i} has no symbol")
        merged = defaults | {k: v for k, v in entry.items() if k != "symbol"}
        unknown = set(merged) - set(defaults)
        if unknown:
            raise ConfigError(
                f"{path}: unknown setting(s) {', '.join(sorted(unknown))} for {entry['symbol']}"
            )
        items.append(WatchItem(validate_ticker(entry["symbol"]), **merged))
    if not items:
        raise ConfigError(f"{path}: no [[ticker]] entries")
    return items


def init_config(path: Path) -> Path:
    if path.exists():
        raise ConfigError(f"{path} exists; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(EXAMPLE)
    return path


@dataclass
class TickerRun:
    ticker: str
    status: str  # "forecast", "no new bar", "failed"
    detail: str = ""
    model_id: str | None = None
    as_of: str | None = None
    next_date: str | None = None
    next_price: float | None = None
    exit_code: int = 0


@dataclass
class DailyReport:
    tickers: list[TickerRun] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        codes = {t.exit_code for t in self.tickers}
        return 75 if 75 in codes else (1 if codes - {0} else 0)


def _run_one(home: Path, item: WatchItem, fetch_session: Any) -> TickerRun:
    from lstmcast.data.ingest import fetch_one
    from lstmcast.data.series import load_stored
    from lstmcast.forecasting.forecast import forecast
    from lstmcast.store.db import connect
    from lstmcast.store.ledger import has_forecast
    from lstmcast.training.registry import load_model, newest_model_id

    run = TickerRun(item.symbol, "forecast")
    notes = []
    if item.fetch:
        got = fetch_one(home, item.symbol, None, None, fetch_session)
        if got.error:
            # Keep going on stored data; the exit code still asks cron to retry.
            run.exit_code = got.exit_code
            notes.append(got.error)
    try:
        series = load_stored(home, item.symbol)
        newest = series.bars.index[-1].date().isoformat()
        try:
            model_id: str | None = newest_model_id(home, item.symbol, item.model)
        except NotFoundError:
            model_id = None
        if model_id is not None:
            conn = connect(home)
            try:
                done = has_forecast(conn, item.symbol, model_id, newest)
            finally:
                conn.close()
            stale = (
                date.fromisoformat(newest)
                - date.fromisoformat(load_model(home, model_id, item.symbol).data_end())
            ).days
            if done and not (item.retrain_if_older and stale > item.retrain_if_older):
                run.status, run.as_of, run.model_id = "no new bar", newest, model_id
                run.detail = "; ".join(notes)
                return run
        if model_id is None:
            from lstmcast.config import TrainConfig
            from lstmcast.training.run import train

            model_id = train(home, TrainConfig(model=item.model), series).model_id
            notes.append(f"trained {model_id}")
        result = forecast(
            home,
            item.symbol,
            model_id=model_id,
            horizon=item.horizon,
            calendar=item.calendar,
            retrain_if_older=item.retrain_if_older or None,
        )
        if result.retrained:
            notes.append(f"retrained as {result.model_id}")
        run.model_id, run.as_of = result.model_id, result.as_of
        run.next_date, run.next_price = result.forecasts[0].date, result.forecasts[0].price
    except LstmcastError as exc:
        run.status, run.exit_code = "failed", max(run.exit_code, exc.exit_code)  # 75 outranks 1
        notes.append(str(exc))
    except Exception as exc:  # one ticker's bug must not stop the rest of an unattended run
        run.status, run.exit_code = "failed", max(run.exit_code, 1)
        notes.append(f"unexpected {type(exc).__name__}: {exc}")
    run.detail = "; ".join(notes)
    return run


def daily(home: Path, config: Path | None = None, fetch_session: Any = None) -> DailyReport:
    """Run the watchlist under the lock; each ticker's failure is recorded and the rest go on."""
    path = config or home / DAILY_CONFIG
    items = load_watchlist(path)
    with run_lock(home / DAILY_LOCK):
        return DailyReport([_run_one(home, item, fetch_session) for item in items])
