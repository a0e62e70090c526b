"""`forecast`: dated forecasts with calibrated intervals from a saved model, written to the ledger."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lstmcast.config import INTERVAL_LEVELS, STALE_AFTER_DAYS, TrainConfig
from lstmcast.data.series import Series, load_csv, load_stored
from lstmcast.errors import ConfigError, DataError, NotFoundError
from lstmcast.evaluation.intervals import ADAPTIVE
from lstmcast.evaluation.scoring import daily_returns, har_sigma
from lstmcast.forecasting.calendar import next_sessions
from lstmcast.forecasting.intervals import interval_bounds, volatility_now
from lstmcast.forecasting.ledger import record_path, update_aci
from lstmcast.forecasting.result import Forecast, ForecastResult, PathForecast, level_label
from lstmcast.forecasting.vol_forecast import VolForecastResult, forecast_volatility
from lstmcast.inference.predictor import OnnxFitted, reaches_further, run_out_to
from lstmcast.paths import calendars_dir
from lstmcast.prep.inputs import frame_for
from lstmcast.registry.saved import LoadedModel, load_model, newest_model_id
from lstmcast.runconfig import DEFAULT_INTERVALS, ForecastConfig
from lstmcast.store.db import Store
from lstmcast.target import target_of
from lstmcast.tickers import exchange_of

if TYPE_CHECKING:
    from lstmcast.training.fitted import Fitted


def _for_horizon(loaded: LoadedModel, horizon: int) -> Fitted | OnnxFitted:
    f = loaded.fitted
    if horizon <= f.config.horizon:
        return f
    if not reaches_further(f.config):
        raise ConfigError(
            f"model {loaded.id} forecasts {f.config.horizon} steps; ask for at most that,"
            " or retrain with --horizon"
        )
    return run_out_to(f, horizon)


def predict_path(
    loaded: LoadedModel,
    series: Series,
    horizon: int,
    calendar: str,
    levels: tuple[float, ...] = INTERVAL_LEVELS,
    method: str = DEFAULT_INTERVALS,
    alphas: dict[tuple[float, int], float] | None = None,
    sessions_cache: Path | None = None,
) -> PathForecast:
    """Forecast `horizon` trading days after the newest bar, with the 80/95% intervals the
    ledger keeps and any other `levels` asked for, made by `method` (ACI: at `alphas`)."""
    fitted = _for_horizon(loaded, horizon)
    frame = frame_for(fitted.config, series.bars, series.exog, series.ticker)
    if frame.n < fitted.config.window:
        raise DataError(
            f"{series.ticker}: {frame.n} bars stored, the model needs a window of {fitted.config.window}"
        )
    at = np.array([frame.n - 1])
    y = fitted.predict(frame, at)[0, :horizon]  # (H,) target units
    last = float(frame.price[-1])
    # Cumulative log return from the last close to each step.
    cum = np.cumsum(y) if fitted.config.target == "log_return" else np.log(y / last)
    as_of = frame.dates[-1].date()
    days = next_sessions(as_of, horizon, calendar, sessions_cache)
    every = tuple(dict.fromkeys((*INTERVAL_LEVELS, *levels)))  # the ledger's two first, no repeats
    sigma, ratio = volatility_now(daily_returns(frame))
    scaled = loaded.scaled_residuals()
    used = method
    if method == "vol":
        by_har = loaded.vol_scaled_residuals()
        if by_har is not None:
            # HAR's volatility for tomorrow, fitted on every bar known now.
            scaled, sigma = by_har, float(har_sigma(frame, at, frame.n)[0])
        else:
            used = "aci"  # a model saved before `vol` kept no errors over HAR's volatility
    if scaled is None:
        used = "empirical"  # a model saved before 0.2 kept no scaled errors
    q = interval_bounds(used, loaded.residuals(), scaled, horizon, every, sigma, alphas, loaded.id)
    # Adjusted prices sit below quoted ones by the dividends and splits since; show both.
    quoted = float(series.bars["close"].iloc[-1])
    to_quoted = quoted / float(series.bars["adj_close"].iloc[-1]) if np.isfinite(quoted) else None
    out = []
    for k in range(horizon):
        centre = last * float(np.exp(cum[k]))
        bands = {
            level_label(lv): [_bound(centre, q[k, 2 * i]), _bound(centre, q[k, 2 * i + 1])]
            for i, lv in enumerate(every)
        }
        (lo80, hi80), (lo95, hi95) = bands["80"], bands["95"]
        chosen = {level_label(lv): bands[level_label(lv)] for lv in levels}
        open_ended = [label for label, pair in chosen.items() if any(np.isnan(pair))]
        out.append(
            Forecast(
                date=days[k].isoformat(),
                step=k + 1,
                price=centre,
                log_return=float(cum[k]),
                lower_80=lo80,
                upper_80=hi80,
                lower_95=lo95,
                upper_95=hi95,
                intervals=chosen,
                close=None if to_quoted is None else centre * to_quoted,
                unbounded=open_ended,
            )
        )
    return PathForecast(as_of.isoformat(), last, out, used, sigma, ratio)


def _bound(centre: float, offset: float) -> float:
    """A price bound from a log offset; NaN for an unbounded side (an infinite offset)."""
    return centre * float(np.exp(offset)) if np.isfinite(offset) else math.nan


def check_model_fits(loaded: LoadedModel, config: ForecastConfig) -> None:
    """Refuse, in one line, a forecast setting the chosen model cannot honour: another
    architecture or target than it has, a volatility horizon other than its own, or an option
    that does not apply to its target. Nothing is answered with something else than was asked."""
    own = loaded.config
    for name, asked, has in (("--model", config.model, own.model), ("--target", config.target, own.target)):
        if asked is not None and asked != has:
            raise ConfigError(
                f"model {loaded.id} is a {own.model} of {own.target}: {name} {asked} asks for another"
            )
    target = target_of(own.target)
    if target.is_variance and config.horizon not in (1, own.horizon):
        raise ConfigError(
            f"model {loaded.id} forecasts volatility over its own {own.horizon}-day horizon:"
            f" --horizon {config.horizon} asks for another; train one with --horizon {config.horizon}"
        )
    target.check(config)


def forecast(
    store: Store,
    ticker: str | None,
    config: ForecastConfig = ForecastConfig(),
    model_id: str | None = None,
    csv: Path | None = None,
    levels: tuple[float, ...] = INTERVAL_LEVELS,
    engine: str = "auto",
) -> ForecastResult | VolForecastResult:
    """Forecast from the newest bar, retraining first if asked and stale, and log to the ledger.

    With `csv`, the bars come from that file (nothing stored, nothing written to the ledger).
    The calendar defaults to the ticker's exchange (its Yahoo suffix), NYSE without one.
    `engine` picks what runs the network (registry.load_model): by default its ONNX export,
    so that a forecast never imports torch unless it retrains.
    """
    config.validate()
    model, target, horizon = config.model, config.target, config.horizon
    calendar, intervals, retrain_if_older = config.calendar, config.intervals, config.retrain_if_older
    if not all(0 < lv < 1 for lv in levels):
        raise ConfigError("--levels are percentages between 0 and 100, e.g. 50,80,95")
    if len(set(levels)) != len(levels):
        raise ConfigError(f"--levels names a level twice ({', '.join(f'{lv:.0%}' for lv in levels)})")
    if csv is not None and retrain_if_older is not None:
        raise ConfigError("--retrain-if-older works on stored data; import the CSV first")
    if csv is not None:
        series = load_csv(csv, ticker)
    elif ticker is not None:
        series = load_stored(store, ticker)
    else:
        raise ConfigError("give a stored TICKER or --csv PATH")
    try:
        if model_id is None:  # an empty ID is not "none given": load_model refuses it
            model_id = newest_model_id(store, series.ticker, model, target=target)
    except NotFoundError as exc:
        if csv is None:
            raise
        raise NotFoundError(
            f"no trained model for {series.ticker} (the name of {csv.name}): say which ticker the file"
            " holds with --ticker T (its newest model forecasts), or give --model-id"
        ) from exc
    loaded = load_model(store, model_id, series.ticker, engine)  # a global model: seen as this member
    model_id = loaded.id  # the whole ID, when a prefix named it
    check_model_fits(loaded, config)
    series = series.with_exog(store, loaded.config.exog)
    if target_of(loaded.config.target).is_variance:
        return _volatility(store, loaded, series, calendar, retrain_if_older, csv is None, engine)
    evaluated = len(loaded.residuals())
    if horizon > evaluated:  # refused before the recursive forecast, which would run `horizon` steps
        raise ConfigError(
            f"model {model_id} was evaluated out of sample up to {evaluated} step(s) ahead;"
            f" ask for at most --horizon {evaluated}, or train a model with --horizon {horizon}"
        )
    newest = series.bars.index[-1].date()
    stale = (newest - date.fromisoformat(loaded.data_end())).days
    retrained = False
    if retrain_if_older is not None and stale > retrain_if_older:
        from lstmcast.registry.train import train

        cfg, members = retrain_inputs(store, loaded)
        report = train(store, cfg, members if len(members) > 1 else members[0])
        model_id, stale, retrained = report.model_id, 0, True
        loaded = load_model(store, model_id, series.ticker, engine)
    calendar = calendar or exchange_of(series.ticker)[0]
    warnings = stale_exog(series)
    adaptive = intervals in ADAPTIVE and csv is None
    alphas = update_aci(store, model_id, series.ticker) if adaptive else None
    path = predict_path(
        loaded, series, horizon, calendar, levels, intervals, alphas, calendars_dir(store.home)
    )
    as_of, last, steps = path.as_of, path.last, path.forecasts
    if path.method != intervals:
        warnings.append(
            f"model {model_id} predates {intervals} intervals: empirical ones used; retrain for them"
        )
    new = 0
    if csv is None:
        new = record_path(store, model_id, series.ticker, path, loaded.config, calendar)
    else:
        warnings.append(f"forecast from {csv}: not recorded in the ledger (nothing from --csv is stored)")
    if stale > STALE_AFTER_DAYS:
        warnings.append(
            f"model {model_id} was trained on data up to {loaded.data_end()},"
            f" {stale} days before the newest bar; consider --retrain-if-older {STALE_AFTER_DAYS}"
        )
    return ForecastResult(
        ticker=series.ticker,
        model_id=model_id,
        model=loaded.config.model,
        as_of=as_of,
        last_price=last,
        calendar=calendar,
        forecasts=steps,
        model_data_end=loaded.data_end(),
        stale_days=stale,
        retrained=retrained,
        ledger_new=new,
        warnings=warnings,
        levels=list(levels),
        last_close=steps[0].close * last / steps[0].price if steps and steps[0].close else None,
        interval_method=path.method,
        sigma=path.sigma,
        sigma_ratio=path.sigma_ratio,
        engine=loaded.engine,
    )


def _volatility(
    store: Store,
    loaded: LoadedModel,
    series: Series,
    calendar: str | None,
    retrain_if_older: int | None,
    record: bool,
    engine: str,
) -> VolForecastResult:
    """A volatility model's forecast (its horizon is the model's own), retrained first when
    asked and stale."""
    stale = (series.bars.index[-1].date() - date.fromisoformat(loaded.data_end())).days
    if retrain_if_older is not None and stale > retrain_if_older:
        from lstmcast.registry.train import train_volatility_model

        report = train_volatility_model(store, loaded.config, series)
        loaded = load_model(store, report.model_id, series.ticker, engine)
        stale = 0
    result = forecast_volatility(store, loaded, series, calendar or exchange_of(series.ticker)[0], record)
    if not record:
        result.warnings.append(
            "forecast from a CSV: not recorded in the ledger (nothing from --csv is stored)"
        )
    if stale > STALE_AFTER_DAYS:
        result.warnings.append(
            f"model {loaded.id} was trained on data up to {loaded.data_end()}, {stale} days before the"
            f" newest bar; consider --retrain-if-older {STALE_AFTER_DAYS}"
        )
    return result


def retrain_inputs(store: Store, loaded: LoadedModel) -> tuple[TrainConfig, list[Series]]:
    """What retraining a saved model takes: the same config (a ticker embedding is rebuilt
    from the members) and the same members' stored bars, with their exogenous series."""
    cfg = loaded.config.replace(embedding_tickers=())
    return cfg, [load_stored(store, t).with_exog(store, cfg.exog) for t in loaded.manifest["tickers"]]


def stale_exog(series: Series) -> list[str]:
    """Warnings for exogenous series that end before the target does: their returns since
    are taken as zero, which is a guess, not data."""
    end = series.bars.index[-1]
    return [
        f"exog {name} ends on {bars.index[-1].date()}, before {series.ticker}'s last bar {end.date()}:"
        f" its moves since count as zero; fetch {name} first"
        for name, bars in series.exog.items()
        if bars.index[-1] < end
    ]
