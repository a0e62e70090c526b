"""Volatility forecasts from a saved volatility model, beside HAR's, into the ledger (which
scores them once their h bars have arrived: `forecasting.ledger.VarianceLedger`)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstmcast.config import INTERVAL_LEVELS
from lstmcast.data.series import Series
from lstmcast.errors import DataError
from lstmcast.evaluation import volatility as V
from lstmcast.evaluation.intervals import quantile_pair
from lstmcast.forecasting.calendar import next_sessions
from lstmcast.inference.predictor import Net, OnnxFitted
from lstmcast.inference.volatility import VolHead, origins_in, variance_forecast
from lstmcast.prep.inputs import frame_for
from lstmcast.registry.saved import LoadedModel
from lstmcast.store.db import Store
from lstmcast.store.ledger import record


@dataclass
class VarianceForecast:
    ticker: str
    model_id: str
    model: str
    as_of: str
    horizon: int
    target_date: str  # the last of the h sessions the forecast averages over
    proxy: str
    volatility: float  # annualised, %: the h-day average daily variance forecast
    variance: float
    har: float  # the benchmark HAR's forecast made the same day, annualised %
    har_variance: float
    benchmark: str  # that HAR: log-HAR (an older model names the HAR it chose)
    intervals: dict[str, list[float]]  # "80" -> [lower, upper] annualised %, NaN when unbounded
    unbounded: list[str]
    value_at_risk: dict[str, float]  # "95" -> the 1-day VaR as a loss fraction (0.021 = 2.1%)
    year_median: float | None  # the median h-day volatility of the last year, annualised %
    calendar: str
    engine: str
    target: str = "volatility"
    ledger_new: int = 0
    warnings: list[str] = field(default_factory=list)
    bounds: dict[str, float] = field(default_factory=dict, repr=False)  # the interval, in variance
    config: dict[str, object] = field(default_factory=dict, repr=False)


def _net(loaded: LoadedModel) -> Net:
    fitted = loaded.fitted
    return fitted.net if isinstance(fitted, OnnxFitted) else fitted.as_net()


def predict_volatility(
    loaded: LoadedModel, series: Series, calendar: str, sessions_cache: Path | None = None
) -> VarianceForecast:
    """The model's h-day volatility from the newest bar, HAR's beside it (refitted on every bar
    known now), a conformal interval from the model's out-of-sample log errors, and the 1-day
    value-at-risk. No store: a worker process can make it."""
    cfg = loaded.config
    saved = loaded.manifest["volatility"]
    frame = frame_for(cfg, series.bars, series.exog, series.ticker)
    h = cfg.horizon
    if frame.n < max(cfg.window, V.HAR_LAGS[-1]) + h:
        raise DataError(f"{series.ticker}: {frame.n} bars are too few for this model's window and HAR")
    proxy = np.exp(frame.x[:, 0])
    at = np.array([frame.n - 1])
    head = VolHead.from_dict(saved["head"])
    v = float(variance_forecast(_net(loaded), cfg, loaded.fitted.scaler, head, frame, proxy, at)[0])
    benchmark = str(saved.get("benchmark") or saved.get("har_used") or V.BENCHMARK)
    har = V.fit_har(proxy, origins_in(cfg, 0, 0, frame.n), h, log=benchmark == "har_log")
    har_v = float(har.predict(proxy, at, float(np.min(proxy)))[0])
    errors = np.asarray(saved["log_errors"], dtype="float64")
    intervals, bounds, unbounded = {}, {}, []
    for level in INTERVAL_LEVELS:
        label = f"{level * 100:g}"
        lo, hi = quantile_pair(errors, 1 - level)
        # Stored in variance for the ledger: an unbounded side as 0 (below) or infinity (above).
        bounds[f"lower_{label}"] = v * math.exp(lo) if math.isfinite(lo) else 0.0
        bounds[f"upper_{label}"] = v * math.exp(hi) if math.isfinite(hi) else math.inf
        intervals[label] = [float(V.annualised(b)) if 0 < b < math.inf else math.nan for b in
                            (bounds[f"lower_{label}"], bounds[f"upper_{label}"])]  # fmt: skip
        if not (math.isfinite(lo) and math.isfinite(hi)):
            unbounded.append(label)
    if saved.get("var_basis") == "one_day":  # its own 1-day forecast, its own residuals' quantile
        net, scaler = _net(loaded), loaded.fitted.scaler
        v1 = float(variance_forecast(net, cfg, scaler, head, frame, proxy, at, first_day=True)[0])
        var = {k: -float(q) * math.sqrt(v1) for k, q in saved["var_quantiles"].items()}
    else:  # a model saved before: the h-day average on the close-to-close scale
        ratio = float(saved["ratio"])
        var = {k: -float(q) * math.sqrt(v / ratio) for k, q in saved["var_quantiles"].items()}
    year = V.trailing_mean(proxy, h)[-252:]
    year = year[np.isfinite(year)]
    as_of = frame.day(-1)
    target = next_sessions(as_of, h, calendar, sessions_cache)[-1]
    return VarianceForecast(
        ticker=series.ticker,
        model_id=loaded.id,
        model=cfg.model,
        as_of=as_of.isoformat(),
        horizon=h,
        target_date=target.isoformat(),
        proxy=str(saved.get("proxy", cfg.vol_proxy)),
        volatility=float(V.annualised(v)),
        variance=v,
        har=float(V.annualised(har_v)),
        har_variance=har_v,
        benchmark=benchmark,
        intervals=intervals,
        unbounded=unbounded,
        value_at_risk=var,
        year_median=float(statistics.median(V.annualised(year).tolist())) if len(year) >= 252 else None,
        calendar=calendar,
        engine=loaded.engine,
        warnings=list(frame.notes),
        bounds=bounds,
        config=cfg.to_dict(),
    )


def record_volatility(store: Store, out: VarianceForecast, loaded: LoadedModel | None = None) -> int:
    """Write a volatility forecast to the ledger, once per model, ticker and last bar."""
    row = {
        "model_id": out.model_id,
        "ticker": out.ticker,
        "as_of": out.as_of,
        "step": out.horizon,  # one forecast: the average over the horizon
        "target": out.target,
        "target_date": out.target_date,
        "proxy": out.proxy,
        "variance": out.variance,
        "har_variance": out.har_variance,
        **out.bounds,
        "var_95": -out.value_at_risk.get("95", math.nan),
        "var_99": -out.value_at_risk.get("99", math.nan),
    }
    return record(store.conn, [row], {**out.config, "calendar": out.calendar})
