"""Forecasting one ticker with one saved model, for every target: `forecast_one`, and the
`ForecastKind` each target brings to it.

`forecast` (a person at a terminal) and `daily` (cron, maybe on Dask workers) both go
through here. What differs between targets lives in its kind: how a model of it is fitted
again, what is checked before a forecast, what the forecast is (a price path, or a variance
over the model's horizon), how it is written to the ledger, and what the result looks like.
The shared path (staleness, retraining when asked, warnings, recording) never asks which
kind it holds. `predict` needs no store and no torch, so a worker can run it; `fit` is the
only half that imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from lstmcast.config import INTERVAL_LEVELS, STALE_AFTER_DAYS, TrainConfig
from lstmcast.data.series import Series, load_stored
from lstmcast.errors import ConfigError
from lstmcast.evaluation.intervals import ADAPTIVE
from lstmcast.forecasting.ledger import record_path, update_aci
from lstmcast.forecasting.path import predict_path
from lstmcast.forecasting.result import ForecastResult, PathForecast
from lstmcast.forecasting.variance import VarianceForecast, predict_volatility, record_volatility
from lstmcast.paths import calendars_dir
from lstmcast.registry.checkpoint import Manifest
from lstmcast.registry.manifest import new_model, new_volatility_model
from lstmcast.registry.saved import LoadedModel, load_model, write_model
from lstmcast.runconfig import ForecastConfig
from lstmcast.settings import TARGETS
from lstmcast.store.db import Store
from lstmcast.tickers import exchange_of

NewModel = tuple[str, Manifest, dict[str, np.ndarray]]  # ID, manifest, numpy weights: for write_model
Made = TypeVar("Made", PathForecast, VarianceForecast)
Made_co = TypeVar("Made_co", covariant=True)


@dataclass
class Context:
    """What `forecast_one` knows beside the prediction, for the target's result."""

    model_id: str
    loaded: LoadedModel
    calendar: str
    stale: int  # days between the model's last bar and the newest
    retrained: bool
    ledger_new: int
    levels: tuple[float, ...]
    intervals: str
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Headline:
    """A forecast's first line, for `daily`'s report."""

    as_of: str
    next_date: str
    next_price: float | None = None
    next_volatility: float | None = None  # annualised %


class ForecastKind(Protocol[Made_co]):
    def check(self, loaded: LoadedModel, config: ForecastConfig) -> None:
        """Refuse, in one line, what this model cannot forecast."""
        ...

    def learns_from_ledger(self, intervals: str) -> bool:
        """Whether its intervals learn from the ledger's outcomes (ACI) before it forecasts."""
        ...

    def fit(self, config: TrainConfig, members: list[Series]) -> NewModel:
        """A new model of this target, trained on `members` (torch is imported here)."""
        ...

    def predict(
        self,
        loaded: LoadedModel,
        series: Series,
        config: ForecastConfig,
        calendar: str,
        levels: tuple[float, ...],
        alphas: dict[tuple[float, int], float] | None,
        sessions_cache: Path | None,
    ) -> Made_co:
        """The forecast from the newest bar: no store, no torch."""
        ...

    def record(
        self, store: Store, made: Any, model_id: str, ticker: str, config: TrainConfig, calendar: str
    ) -> int:
        """Write it to the ledger (once per model, ticker and origin); how many rows were new."""
        ...

    def headline(self, made: Any) -> Headline: ...

    def result(self, made: Any, ctx: Context) -> ForecastResult | VarianceForecast: ...


class PathKind:
    """A price path (log_return and price targets): `horizon` dated prices with intervals."""

    def check(self, loaded: LoadedModel, config: ForecastConfig) -> None:
        evaluated = len(loaded.residuals())
        if config.horizon > evaluated:  # refused before the recursive forecast would run it
            raise ConfigError(
                f"model {loaded.id} was evaluated out of sample up to {evaluated} step(s) ahead;"
                f" ask for at most --horizon {evaluated}, or train a model with --horizon {config.horizon}"
            )

    def learns_from_ledger(self, intervals: str) -> bool:
        return intervals in ADAPTIVE

    def fit(self, config: TrainConfig, members: list[Series]) -> NewModel:
        from lstmcast.training.run import fit_members

        return new_model(*fit_members(config, members))

    def predict(
        self,
        loaded: LoadedModel,
        series: Series,
        config: ForecastConfig,
        calendar: str,
        levels: tuple[float, ...],
        alphas: dict[tuple[float, int], float] | None,
        sessions_cache: Path | None,
    ) -> PathForecast:
        return predict_path(
            loaded, series, config.horizon, calendar, levels, config.intervals, alphas, sessions_cache
        )

    def record(
        self, store: Store, made: PathForecast, model_id: str, ticker: str, config: TrainConfig, calendar: str
    ) -> int:
        return record_path(store, model_id, ticker, made, config, calendar)

    def headline(self, made: PathForecast) -> Headline:
        first = made.forecasts[0]
        return Headline(made.as_of, first.date, next_price=first.price)

    def result(self, made: PathForecast, ctx: Context) -> ForecastResult:
        warnings = list(ctx.warnings)
        if made.method != ctx.intervals:
            old = f"model {ctx.model_id} predates {ctx.intervals} intervals: empirical ones used"
            warnings.insert(0, old + "; retrain for them")
        steps = made.forecasts
        return ForecastResult(
            ticker=ctx.loaded.ticker,
            model_id=ctx.model_id,
            model=ctx.loaded.config.model,
            as_of=made.as_of,
            last_price=made.last,
            calendar=ctx.calendar,
            forecasts=steps,
            model_data_end=ctx.loaded.data_end(),
            stale_days=ctx.stale,
            retrained=ctx.retrained,
            ledger_new=ctx.ledger_new,
            warnings=warnings,
            levels=list(ctx.levels),
            last_close=steps[0].close * made.last / steps[0].price if steps and steps[0].close else None,
            interval_method=made.method,
            sigma=made.sigma,
            sigma_ratio=made.sigma_ratio,
            engine=ctx.loaded.engine,
        )


class VarianceKind:
    """A variance (the volatility target): the h-day average over the model's own horizon,
    beside HAR's, with a conformal interval and the 1-day value-at-risk."""

    def check(self, loaded: LoadedModel, config: ForecastConfig) -> None:
        own = loaded.config.horizon
        if config.horizon not in (1, own):
            raise ConfigError(
                f"model {loaded.id} forecasts volatility over its own {own}-day horizon:"
                f" --horizon {config.horizon} asks for another; train one with --horizon {config.horizon}"
            )

    def learns_from_ledger(self, intervals: str) -> bool:
        return False  # its interval comes from its own out-of-sample log errors

    def fit(self, config: TrainConfig, members: list[Series]) -> NewModel:
        from lstmcast.training.volatility import train_volatility

        return new_volatility_model(train_volatility(config, members[0]), members[0].origin)

    def predict(
        self,
        loaded: LoadedModel,
        series: Series,
        config: ForecastConfig,
        calendar: str,
        levels: tuple[float, ...],
        alphas: dict[tuple[float, int], float] | None,
        sessions_cache: Path | None,
    ) -> VarianceForecast:
        return predict_volatility(loaded, series, calendar, sessions_cache)

    def record(
        self,
        store: Store,
        made: VarianceForecast,
        model_id: str,
        ticker: str,
        config: TrainConfig,
        calendar: str,
    ) -> int:
        return record_volatility(store, made)

    def headline(self, made: VarianceForecast) -> Headline:
        return Headline(made.as_of, made.target_date, next_volatility=made.volatility)

    def result(self, made: VarianceForecast, ctx: Context) -> VarianceForecast:
        made.model_id, made.ledger_new = ctx.model_id, ctx.ledger_new
        made.warnings = [*made.warnings, *ctx.warnings]
        return made


# Each target's kind of forecast: the one place a target's name picks it.
KINDS: dict[str, ForecastKind[Any]] = {
    "log_return": PathKind(),
    "price": PathKind(),
    "volatility": VarianceKind(),
}
assert tuple(KINDS) == TARGETS


def kind_of(config: TrainConfig) -> ForecastKind[Any]:
    return KINDS[config.target]


def retrain_inputs(store: Store, loaded: LoadedModel) -> tuple[TrainConfig, list[Series]]:
    """What retraining a saved model takes: the same config (a ticker embedding is rebuilt
    from the members) and the same members' stored bars, with their exogenous series."""
    cfg = loaded.config.replace(embedding_tickers=())
    return cfg, [load_stored(store, t).with_exog(store, cfg.exog) for t in loaded.manifest["tickers"]]


def stale_exog(series: Series) -> list[str]:
    """Warnings for exogenous series that end before the target does: their returns since
    are taken as zero, which is a guess, not data."""
    end = series.bars.day(-1)
    return [
        f"exog {name} ends on {bars.day(-1)}, before {series.ticker}'s last bar {end}:"
        f" its moves since count as zero; fetch {name} first"
        for name, bars in series.exog.items()
        if bars.day(-1) < end
    ]


def forecast_one(
    store: Store,
    loaded: LoadedModel,
    series: Series,
    config: ForecastConfig,
    levels: tuple[float, ...] = INTERVAL_LEVELS,
    csv: Path | None = None,
    engine: str = "auto",
) -> ForecastResult | VarianceForecast:
    """Forecast `series` from its newest bar with `loaded` (retrained first, and saved, when
    `config.retrain_if_older` says it is stale), and write it to the ledger; a forecast from
    a `csv` file is not written."""
    kind = kind_of(loaded.config)
    kind.check(loaded, config)
    stale = (series.bars.day(-1) - date.fromisoformat(loaded.data_end())).days
    retrained = False
    if config.retrain_if_older is not None and stale > config.retrain_if_older:
        from lstmcast.training.loop import keep_best_on_interrupt

        store.require_writable()
        cfg, members = retrain_inputs(store, loaded)
        with keep_best_on_interrupt():
            new = kind.fit(cfg, members)
        write_model(store, *new)
        loaded = load_model(store, new[0], series.ticker, engine)
        stale, retrained = 0, True
    calendar = config.calendar or exchange_of(series.ticker)[0]
    record = csv is None
    learns = record and kind.learns_from_ledger(config.intervals)
    alphas = update_aci(store, loaded.id, series.ticker) if learns else None
    made = kind.predict(loaded, series, config, calendar, levels, alphas, calendars_dir(store.home))
    ctx = Context(loaded.id, loaded, calendar, stale, retrained, 0, levels, config.intervals)
    ctx.warnings = stale_exog(series)
    if record:
        ctx.ledger_new = kind.record(store, made, loaded.id, series.ticker, loaded.config, calendar)
    else:
        ctx.warnings.append(f"forecast from {csv}: not recorded in the ledger (nothing from --csv is stored)")
    if stale > STALE_AFTER_DAYS:
        ctx.warnings.append(
            f"model {loaded.id} was trained on data up to {loaded.data_end()},"
            f" {stale} days before the newest bar; consider --retrain-if-older {STALE_AFTER_DAYS}"
        )
    return kind.result(made, ctx)
