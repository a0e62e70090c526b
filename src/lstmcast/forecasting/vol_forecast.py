"""Volatility forecasts from a saved volatility model, beside HAR's, into the volatility ledger;
and the ledger's scoring once the h bars have arrived (QLIKE against HAR's forecast of the
same day, interval coverage, value-at-risk hits)."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstmcast.config import INTERVAL_LEVELS
from lstmcast.data.series import Series
from lstmcast.errors import DataError
from lstmcast.evaluation import volatility as V
from lstmcast.evaluation.intervals import quantile_pair
from lstmcast.forecasting.calendar import next_sessions
from lstmcast.forecasting.ledger import mean_of
from lstmcast.inference.predictor import Net, OnnxFitted
from lstmcast.inference.volatility import VolHead, origins_in, variance_forecast
from lstmcast.paths import calendars_dir
from lstmcast.prep.inputs import frame_for
from lstmcast.prep.volatility import variance_proxy
from lstmcast.registry.saved import LoadedModel
from lstmcast.store.db import Store
from lstmcast.store.prices import load_prices
from lstmcast.store.vol_ledger import record_vol, vol_rows
from lstmcast.tickers import validate_ticker


@dataclass
class VolForecastResult:
    ticker: str
    model_id: str
    model: str
    as_of: str
    horizon: int
    target_date: str  # the last of the h sessions the forecast averages over
    proxy: str
    volatility: float  # annualised, %: the h-day average daily variance forecast
    variance: float
    har: float  # the stronger HAR's forecast made the same day, annualised %
    har_variance: float
    har_used: str
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
    config: dict[str, Any] = field(default_factory=dict, repr=False)


def _net(loaded: LoadedModel) -> Net:
    fitted = loaded.fitted
    return fitted.net if isinstance(fitted, OnnxFitted) else fitted.as_net()


def forecast_volatility(
    store: Store, loaded: LoadedModel, series: Series, calendar: str, record: bool
) -> VolForecastResult:
    """The model's h-day volatility from the newest bar (`predict_volatility`), written to the
    volatility ledger when `record`."""
    out = predict_volatility(loaded, series, calendar, calendars_dir(store.home))
    if record:
        out.ledger_new = record_volatility(store, out, loaded)
    return out


def predict_volatility(
    loaded: LoadedModel, series: Series, calendar: str, sessions_cache: Path | None = None
) -> VolForecastResult:
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
    har_used = saved["har_used"]
    har = V.fit_har(proxy, origins_in(cfg, 0, 0, frame.n), h, log=har_used == "har_log")
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
    ratio = float(saved["ratio"])
    var = {k: -float(q) * math.sqrt(v / ratio) for k, q in saved["var_quantiles"].items()}
    year = V.trailing_mean(proxy, h)[-252:]
    year = year[np.isfinite(year)]
    as_of = frame.dates[-1].date()
    target = next_sessions(as_of, h, calendar, sessions_cache)[-1]
    return VolForecastResult(
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
        har_used=har_used,
        intervals=intervals,
        unbounded=unbounded,
        value_at_risk=var,
        year_median=float(np.median(V.annualised(year))) if len(year) >= 252 else None,
        calendar=calendar,
        engine=loaded.engine,
        warnings=list(frame.notes),
        bounds=bounds,
        config=cfg.to_dict(),
    )


def record_volatility(store: Store, out: VolForecastResult, loaded: LoadedModel | None = None) -> int:
    """Write a volatility forecast to the ledger, once per model, ticker and last bar."""
    row = {
        "model_id": out.model_id,
        "ticker": out.ticker,
        "as_of": out.as_of,
        "horizon": out.horizon,
        "target_date": out.target_date,
        "proxy": out.proxy,
        "variance": out.variance,
        "har_variance": out.har_variance,
        **out.bounds,
        "var_95": -out.value_at_risk.get("95", math.nan),
        "var_99": -out.value_at_risk.get("99", math.nan),
    }
    return record_vol(store.conn, row, {**out.config, "calendar": out.calendar})


# --- Scoring ---------------------------------------------------------------------------------


@dataclass
class VolLedgerSummary:
    ticker: str
    model_id: str
    forecasts: int
    scored: int
    pending: int
    qlike: float | None  # the model's running QLIKE
    har_qlike: float | None  # HAR's, on the same days
    skill_vs_har: float | None
    coverage_80: float | None
    coverage_95: float | None
    var_95_hits: float | None  # share of next-day returns below the 95% VaR (nominal 5%)
    var_99_hits: float | None


@dataclass
class VolLedgerReport:
    rows: list[dict[str, Any]]
    summary: list[VolLedgerSummary]


def _scored(row: dict[str, Any], dates: list[str], proxy: np.ndarray, adj: np.ndarray) -> dict[str, Any]:
    """A forecast with what happened: the proxy's mean over the h bars after its origin."""
    r = dict(row)
    at = bisect.bisect_left(dates, r["as_of"])
    h = int(r["horizon"])
    if at < len(dates) and dates[at] == r["as_of"] and at + h < len(dates):
        realised = float(np.mean(proxy[at + 1 : at + h + 1]))
        next_return = math.log(adj[at + 1] / adj[at])
        r.update(
            realised=realised,
            realised_volatility=float(V.annualised(realised)),
            qlike=float(V.qlike(np.array([r["variance"]]), np.array([realised]))[0]),
            har_qlike=float(V.qlike(np.array([r["har_variance"]]), np.array([realised]))[0]),
            in_80=r["lower_80"] <= realised <= r["upper_80"],
            in_95=r["lower_95"] <= realised <= r["upper_95"],
            var_95_hit=None if r["var_95"] is None else next_return < r["var_95"],
            var_99_hit=None if r["var_99"] is None else next_return < r["var_99"],
        )
    else:
        r.update(realised=None, realised_volatility=None, qlike=None, har_qlike=None, in_80=None, in_95=None,
                 var_95_hit=None, var_99_hit=None)  # fmt: skip
    return r


def vol_ledger(store: Store, ticker: str | None = None) -> VolLedgerReport:
    """Every volatility forecast, scored where its h bars have arrived, and per ticker and model
    the running QLIKE against HAR's forecasts of the same days."""
    t = validate_ticker(ticker) if ticker else None
    raw = vol_rows(store.conn, t)
    cache: dict[tuple[str, str], tuple[list[str], np.ndarray, np.ndarray]] = {}
    rows = []
    for r in raw:
        key = (r["ticker"], r["proxy"])
        if key not in cache:
            bars = load_prices(store.conn, r["ticker"])
            cache[key] = (
                [str(d.date()) for d in bars.index],
                variance_proxy(bars, r["proxy"])[0],
                bars["adj_close"].to_numpy(dtype="float64"),
            )
        rows.append(_scored(r, *cache[key]))
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["ticker"], r["model_id"]), []).append(r)
    summary = []
    for (tk, mid), rs in groups.items():
        done = [r for r in rs if r["realised"] is not None]
        q, hq = mean_of([r["qlike"] for r in done]), mean_of([r["har_qlike"] for r in done])
        summary.append(
            VolLedgerSummary(
                ticker=tk,
                model_id=mid,
                forecasts=len(rs),
                scored=len(done),
                pending=len(rs) - len(done),
                qlike=q,
                har_qlike=hq,
                skill_vs_har=None if q is None or not hq else 1 - q / hq,
                coverage_80=mean_of([r["in_80"] for r in done]),
                coverage_95=mean_of([r["in_95"] for r in done]),
                var_95_hits=mean_of([r["var_95_hit"] for r in done]),
                var_99_hits=mean_of([r["var_99_hit"] for r in done]),
            )
        )
    return VolLedgerReport(rows, summary)
