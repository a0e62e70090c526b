"""`daily`: the one job cron runs: fetch, retrain what is stale, forecast, log; never overlapping."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmcast.config import INTERVAL_LEVELS, TrainConfig
from lstmcast.errors import LstmcastError, NotFoundError
from lstmcast.execution.engine import Parallel, TaskOutcome
from lstmcast.execution.stream import run_tasks
from lstmcast.forecasting.ledger import update_aci
from lstmcast.jobs.watchlist import DAILY_CONFIG, DAILY_LOCK, UniverseItem, WatchItem, read_watchlist
from lstmcast.runconfig import ForecastConfig
from lstmcast.runlock import run_lock
from lstmcast.store.db import Store
from lstmcast.store.ledger import has_forecast
from lstmcast.store.prices import last_date
from lstmcast.store.runs import newest_run, newest_universe_run
from lstmcast.tickers import exchange_of
from lstmcast.universe.members import show_universe

if TYPE_CHECKING:
    from lstmcast.data.series import Series
    from lstmcast.forecasting.one import NewModel
    from lstmcast.registry.checkpoint import Manifest


@dataclass
class TickerRun:
    ticker: str
    status: str  # "forecast", "no new bar", "failed"
    detail: str = ""
    model_id: str | None = None
    as_of: str | None = None
    next_date: str | None = None
    next_price: float | None = None
    target: str = "log_return"
    next_volatility: float | None = None  # a volatility entry: the h-day forecast, annualised %
    model: str = ""  # the entry's architecture: one ticker can have entries of several
    universe: str | None = None  # a [[universe]] entry: its name (the ticker field holds it too)
    errors: list[Exception] = field(default_factory=list)  # what went wrong, for the exit code


@dataclass
class DailyReport:
    tickers: list[TickerRun] = field(default_factory=list)

    @property
    def errors(self) -> list[Exception]:
        return [e for t in self.tickers for e in t.errors]


def _exog_of(store: Store, item: WatchItem) -> tuple[str, ...]:
    """The exogenous series the ticker's current model reads (none if it has no model yet),
    from its record: the model itself is loaded once, later, by `_prepare`."""

    run = newest_run(store.conn, item.symbol, item.model, family=item.family)
    return TrainConfig.from_dict(run["config"]).exog if run else ()


def _fetch_exog(
    store: Store, items: list[WatchItem], exog: dict[str, tuple[str, ...]], session: object
) -> dict[str, Exception]:
    """Fetch every exogenous series the watchlist's models read, once each, before any
    forecast: a model with --exog must not forecast from a stale input. Returns the failures."""
    from lstmcast.data.ingest import fetch_one

    wanted = dict.fromkeys(t for item in items if item.fetch for t in exog[item.key])
    failed: dict[str, Exception] = {}
    for ticker in wanted:
        got = fetch_one(store, ticker, None, None, session)
        if got.error:
            failed[ticker] = got.error
    return failed


@dataclass(frozen=True)
class DailyJob:
    """One ticker's work, from the driver to a worker: its bars, the model to use (as ONNX
    bytes or numpy weights, never a torch object) or the config to train with, and how to
    forecast."""

    ticker: str
    members: tuple[Series, ...]  # the Series the model reads (several for a global model)
    train: TrainConfig
    retrain: bool
    model_id: str | None
    manifest: Manifest | None
    state: dict[str, np.ndarray] | None
    onnx: bytes | None
    forecast: ForecastConfig  # the entry's, its calendar resolved
    alphas: dict[tuple[float, int], float] | None
    first_time: bool


@dataclass(frozen=True)
class DailyDone:
    """What a worker sends back: a new model to write (manifest and weights) if it trained
    one, and the forecast (a price path or a volatility forecast) for the driver's ledger."""

    model_id: str
    new_model: NewModel | None
    first_time: bool
    config: TrainConfig
    calendar: str
    warnings: list[str]
    made: Any = None  # the forecast its target's kind made (forecasting.one)


def _prepare(store: Store, item: WatchItem, run: TickerRun) -> DailyJob | None:
    """The driver's half before the work: what the ticker needs, with its data and model as
    plain values. None when there is nothing to do (no new bar since the last forecast)."""

    from lstmcast.data.series import load_stored
    from lstmcast.forecasting.one import kind_of, retrain_inputs
    from lstmcast.jobs.forecast import check_model_fits
    from lstmcast.registry.saved import load_model, newest_model_id

    series = load_stored(store, item.symbol)
    newest = series.bars.day(-1).isoformat()
    try:
        model_id = newest_model_id(store, item.symbol, item.model, family=item.family)
        loaded = load_model(store, model_id, item.symbol, engine="auto")
    except NotFoundError:
        loaded = None
    if loaded is not None:
        check_model_fits(loaded, item.forecast)
    if loaded is None:  # the watchlist's preset and [train] settings, then the entry's own
        retrain, cfg = True, item.train_config()
        members = [series.with_exog(store, cfg.exog)]
    else:
        stale = (date.fromisoformat(newest) - date.fromisoformat(loaded.data_end())).days
        retrain = bool(item.retrain_if_older and stale > item.retrain_if_older)
        if has_forecast(store.conn, item.symbol, loaded.id, newest) and not retrain:
            run.status, run.as_of, run.model_id = "no new bar", newest, loaded.id
            return None
        cfg, members = retrain_inputs(store, loaded)
    # The worker gets the exported network when there is one (no torch to import), else weights.
    onnx, state = None, None
    if loaded is not None and not retrain:
        onnx = loaded.onnx
        if onnx is None:
            state = {k: np.asarray(v) for k, v in loaded.fitted.state.items()}  # type: ignore[union-attr]
    alphas = None
    if loaded is not None and not retrain and kind_of(loaded.config).learns_from_ledger(item.intervals):
        alphas = update_aci(store, loaded.id, item.symbol)  # the ledger's outcomes, learned once
    return DailyJob(
        ticker=item.symbol,
        members=tuple(members),
        train=cfg,
        retrain=retrain,
        model_id=None if retrain or loaded is None else loaded.id,
        manifest=None if retrain or loaded is None else loaded.manifest,
        state=state,
        onnx=onnx,
        forecast=dataclasses.replace(item.forecast, calendar=item.calendar or exchange_of(item.symbol)[0]),
        alphas=alphas,
        first_time=loaded is None,
    )


def daily_compute(job: DailyJob) -> DailyDone:
    """The work of one ticker, in a worker or in this process: (re)train if asked, then
    forecast. Plain values in and out: a new model comes back as its manifest and numpy
    weights, for the driver to write; the forecast as numbers, for the driver's ledger."""
    from lstmcast.forecasting.one import kind_of, stale_exog
    from lstmcast.registry.saved import loaded_from

    new = None
    cfg, members, ticker = job.train, list(job.members), job.ticker
    model_id, manifest, state = job.model_id, job.manifest, job.state
    kind = kind_of(cfg)
    if job.retrain:  # only then torch is imported: a forecast runs the ONNX network
        new = kind.fit(cfg, members)
        model_id, manifest, state = new
    assert model_id is not None and manifest is not None and (state is not None or job.onnx is not None)
    loaded = loaded_from(model_id, manifest, state, ticker, onnx=job.onnx)  # None on retraining
    series = next(m for m in members if m.ticker == ticker)
    fc = job.forecast
    calendar = fc.calendar or exchange_of(job.ticker)[0]
    made = kind.predict(loaded, series, fc, calendar, INTERVAL_LEVELS, job.alphas, None)
    return DailyDone(model_id, new, job.first_time, loaded.config, calendar, stale_exog(series), made)


def _finish(store: Store, run: TickerRun, done: DailyDone, notes: list[str]) -> None:
    """The driver's half after the work: write the new model, then the forecasts to the ledger."""
    from lstmcast.forecasting.one import kind_of
    from lstmcast.registry.saved import write_model

    if done.new_model is not None:
        write_model(store, *done.new_model)
        notes.append(("trained " if done.first_time else "retrained as ") + done.model_id)
    notes.extend(done.warnings)
    run.model_id = done.model_id
    kind = kind_of(done.config)
    kind.record(store, done.made, done.model_id, run.ticker, done.config, done.calendar)
    head = kind.headline(done.made)
    run.as_of, run.next_date = head.as_of, head.next_date
    run.next_price, run.next_volatility = head.next_price, head.next_volatility


def _stored_age(store: Store, ticker: str) -> str:
    """How old the newest stored bar is: what a forecast made without a fresh fetch rests on."""
    last = last_date(store.conn, ticker)
    if last is None:
        return "no stored bars to forecast from"
    age = (date.today() - date.fromisoformat(last)).days
    return f"working from stored bars up to {last}, {age} day(s) old"


def _failed(run: TickerRun, exc: BaseException, notes: list[str]) -> None:
    run.status = "failed"
    run.errors.append(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
    notes.append(str(exc) if isinstance(exc, LstmcastError) else f"unexpected {type(exc).__name__}: {exc}")


def daily(
    store: Store,
    config: Path | None = None,
    fetch_session: object = None,
    parallel: Parallel = Parallel(),
    on_step: Callable[[str], None] | None = None,
) -> DailyReport:
    """Run the watchlist under the lock; each ticker's failure is recorded and the rest go on.
    `on_step` hears one line per entry as it is fetched, queued and finished (a terminal shows
    them: a night's run is never silent).

    The driver fetches (serially, rate-limited), decides, writes models and the ledger; the
    training and forecasting of every ticker that needs it runs in this process or, with
    `parallel`, on Dask workers (each with its share of the cores).
    """
    from lstmcast.data.ingest import fetch_one

    path = config or store.home / DAILY_CONFIG
    watchlist = read_watchlist(path)
    items = watchlist.tickers
    store.require_writable()
    with run_lock(store.home / DAILY_LOCK):
        exog = {item.key: _exog_of(store, item) for item in items}  # from each model's record
        exog_failed = _fetch_exog(store, items, exog, fetch_session)
        runs = {
            item.key: TickerRun(item.symbol, "forecast", target=item.target, model=item.model)
            for item in items
        }
        notes: dict[str, list[str]] = {item.key: [] for item in items}
        fetched: dict[str, Any] = {}  # one download per symbol, however many entries it has
        jobs: dict[str, DailyJob] = {}

        def step(key: str, what: str) -> None:
            if on_step is not None:
                run = runs[key]
                on_step(f"{run.ticker} {run.model} {run.target}: {what}")

        for item in items:
            run, said = runs[item.key], notes[item.key]
            if item.fetch:
                if item.symbol not in fetched:
                    step(item.key, "fetching")
                    fetched[item.symbol] = fetch_one(store, item.symbol, None, None, fetch_session)
                got = fetched[item.symbol]
                if got.error:
                    # Keep going on stored data; the error still reaches the exit code (cron retries).
                    run.errors.append(got.error)
                    said.append(str(got.error))
                    said.append(_stored_age(store, item.symbol))
            for name in exog[item.key]:
                if name in exog_failed:
                    run.errors.append(exog_failed[name])
                    said.append(f"exog {exog_failed[name]}")
            try:
                job = _prepare(store, item, run)
            except Exception as exc:  # one ticker's bug must not stop the rest of an unattended run
                _failed(run, exc, said)
                continue
            if job is not None:
                jobs[item.key] = job
                what = "to train, then forecast" if job.retrain else "to forecast"
                step(item.key, f"queued {what} ({len(jobs)} queued)")
            else:
                step(item.key, run.status)

        def finished(outcome: TaskOutcome[DailyDone]) -> None:
            run, said = runs[outcome.key], notes[outcome.key]
            try:
                _finish(store, run, outcome.get(), said)
            except Exception as exc:
                _failed(run, exc, said)
            done = "failed" if run.status == "failed" else f"forecast from {run.as_of}"
            step(outcome.key, f"{done} ({outcome.seconds:.0f} s)")

        if jobs:
            if parallel.distributed:  # each worker's share of the cores, set there by the engine
                jobs = {
                    t: dataclasses.replace(job, train=job.train.replace(threads=0)) for t, job in jobs.items()
                }
            run_tasks(daily_compute, {t: {"job": job} for t, job in jobs.items()}, {}, finished, parallel)
        for symbol, run in runs.items():
            run.detail = "; ".join(notes[symbol])
        ranked = [_rank_universe(store, u, fetch_session, on_step) for u in watchlist.universes]
        return DailyReport([runs[item.key] for item in items] + ranked)


def _rank_universe(
    store: Store, item: UniverseItem, session: object, on_step: Callable[[str], None] | None
) -> TickerRun:
    """A `[[universe]]` entry, in the driver: fetch its members, train its network when it has
    none or it is stale, and rank the members from the newest bar into the ledger."""
    from lstmcast.forecasting.universe import forecast_universe
    from lstmcast.jobs.universe_train import train_universe
    from lstmcast.registry.checkpoint import read_manifest
    from lstmcast.registry.files import model_dir
    from lstmcast.universe.fetch import fetch_universe

    run = TickerRun(item.name, "forecast", target=item.target, model=item.model, universe=item.name)
    said: list[str] = []

    def step(what: str) -> None:
        if on_step is not None:
            on_step(f"universe {item.name} {item.model} {item.target}: {what}")

    try:
        if item.fetch:
            step("fetching its members")
            got = fetch_universe(store, item.name, session=session)
            run.errors.extend(got.errors)
            said.extend(str(e) for e in got.errors)
            if got.possibly_delisted:
                said.append(
                    f"no prices from Yahoo for {', '.join(got.possibly_delisted)} (possibly delisted)"
                )
        latest = newest_universe_run(store.conn, item.name, item.model, item.target)
        stale = None
        if latest is not None:  # days between the model's last bar and the members' newest
            ends = [last_date(store.conn, t) for t in show_universe(store, item.name).tickers]
            newest = max((e for e in ends if e), default=None)
            seen = read_manifest(model_dir(store, latest))["data"]["last_date"]
            stale = (date.fromisoformat(newest) - date.fromisoformat(seen)).days if newest else 0
        if latest is None or (item.retrain_if_older and stale is not None and stale > item.retrain_if_older):
            step("training its network" if latest is None else f"retraining ({stale} days stale)")
            trained = train_universe(store, item.name, item.train_config())
            said.append(("trained " if latest is None else "retrained as ") + trained.model_id)
            latest = newest_universe_run(store.conn, item.name, item.model, item.target)
        step("ranking")
        assert latest is not None
        made = forecast_universe(store, item.name, str(latest["id"]), item.k)
        said.extend(made.warnings)
        run.model_id, run.as_of, run.next_date = made.model_id, made.as_of, made.target_date
        if made.ledger_new == 0:
            run.status = "no new bar"
        if made.k:
            said.append(f"long {', '.join(made.long)}; short {', '.join(made.short)}")
        else:
            top = made.ranking[0]
            said.append(f"highest volatility {top.ticker} ({(top.volatility or 0):.1%} a year)")
        step(f"{'ranked' if made.k else 'forecast'} {len(made.ranking)} members from {made.as_of}")
    except Exception as exc:  # one entry's failure must not stop the rest of an unattended run
        _failed(run, exc, said)
        step("failed")
    run.detail = "; ".join(said)
    return run
