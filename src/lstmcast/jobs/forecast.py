"""`forecast`: dated forecasts from a saved model, for any target, written to the ledger."""

from __future__ import annotations

from pathlib import Path

from lstmcast.config import INTERVAL_LEVELS
from lstmcast.data.series import load_csv, load_stored
from lstmcast.errors import ConfigError, NotFoundError
from lstmcast.forecasting.one import forecast_one, kind_of
from lstmcast.forecasting.result import ForecastResult
from lstmcast.forecasting.variance import VarianceForecast
from lstmcast.registry.saved import LoadedModel, load_model, newest_model_id
from lstmcast.runconfig import ForecastConfig
from lstmcast.store.db import Store
from lstmcast.target import target_of


def check_model_fits(loaded: LoadedModel, config: ForecastConfig) -> None:
    """Refuse, in one line, a forecast setting the chosen model cannot honour: another
    architecture or target than it has, what its target's kind refuses (a return horizon
    beyond what was evaluated, a volatility horizon other than its own), or an option that
    does not apply to its target. Nothing is answered with something else than was asked."""
    own = loaded.config
    for name, asked, has in (("--model", config.model, own.model), ("--target", config.target, own.target)):
        if asked is not None and asked != has:
            raise ConfigError(
                f"model {loaded.id} is a {own.model} of {own.target}: {name} {asked} asks for another"
            )
    kind_of(own).check(loaded, config)
    target = target_of(own.target)
    target.check(config)


def forecast(
    store: Store,
    ticker: str | None,
    config: ForecastConfig = ForecastConfig(),
    model_id: str | None = None,
    csv: Path | None = None,
    levels: tuple[float, ...] = INTERVAL_LEVELS,
    engine: str = "auto",
) -> ForecastResult | VarianceForecast:
    """Forecast from the newest bar, retraining first if asked and stale, and log to the ledger.

    With `csv`, the bars come from that file (nothing stored, nothing written to the ledger).
    The calendar defaults to the ticker's exchange (its Yahoo suffix), NYSE without one.
    `engine` picks what runs the network (registry.load_model): by default its ONNX export,
    so that a forecast never imports torch unless it retrains.
    """
    config.validate()
    if not all(0 < lv < 1 for lv in levels):
        raise ConfigError("--levels are percentages between 0 and 100, e.g. 50,80,95")
    if len(set(levels)) != len(levels):
        raise ConfigError(f"--levels names a level twice ({', '.join(f'{lv:.0%}' for lv in levels)})")
    if csv is not None and config.retrain_if_older is not None:
        raise ConfigError("--retrain-if-older works on stored data; import the CSV first")
    if csv is not None:
        series = load_csv(csv, ticker)
    elif ticker is not None:
        series = load_stored(store, ticker)
    else:
        raise ConfigError("give a stored TICKER or --csv PATH")
    try:
        if model_id is None:  # an empty ID is not "none given": load_model refuses it
            model_id = newest_model_id(store, series.ticker, config.model, target=config.target)
    except NotFoundError as exc:
        if csv is None:
            raise
        raise NotFoundError(
            f"no trained model for {series.ticker} (the name of {csv.name}): say which ticker the file"
            " holds with --ticker T (its newest model forecasts), or give --model-id"
        ) from exc
    loaded = load_model(store, model_id, series.ticker, engine)  # a global model: seen as this member
    check_model_fits(loaded, config)
    series = series.with_exog(store, loaded.config.exog)
    return forecast_one(store, loaded, series, config, levels, csv, engine)
