"""What a forecast is: each step's price and intervals, the ticker's result, and the JSON
`forecast --json` prints (prices to the cent, levels named as the intervals' keys)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import overload

from lstmcast.config import INTERVAL_LEVELS
from lstmcast.jsonable import to_jsonable
from lstmcast.runconfig import DEFAULT_INTERVALS


@dataclass
class Forecast:
    date: str
    step: int
    price: float  # adjusted close, like the model's data
    log_return: float  # from the last close to this date
    lower_80: float
    upper_80: float
    lower_95: float
    upper_95: float
    intervals: dict[str, list[float]] = field(default_factory=dict)  # "90" -> [lower, upper], per --levels
    close: float | None = None  # the same forecast in the units of the last quoted (unadjusted) close
    # Levels ("95") with a side the model's errors are too few to bound: that side is NaN above
    # (null in JSON), and the interval covers everything on it (conformal, not clipped).
    unbounded: list[str] = field(default_factory=list)


@dataclass
class ForecastResult:
    ticker: str
    model_id: str
    model: str
    as_of: str
    last_price: float  # the last adjusted close: what the model and the ledger work in
    calendar: str
    forecasts: list[Forecast]
    model_data_end: str
    stale_days: int
    retrained: bool = False
    ledger_new: int = 0
    warnings: list[str] = field(default_factory=list)
    levels: list[float] = field(default_factory=lambda: list(INTERVAL_LEVELS))
    last_close: float | None = None  # the last quoted close (what a quote screen shows)
    interval_method: str = DEFAULT_INTERVALS
    sigma: float | None = None  # EWMA volatility of daily returns now
    sigma_ratio: float | None = None  # ... over its median of the last year: why the band is wide
    engine: str = "torch"  # what ran the network: onnx (ONNX Runtime, no torch) or torch


def level_label(level: float) -> str:
    return f"{level * 100:g}"


@overload
def cents(value: float) -> float: ...
@overload
def cents(value: None) -> None: ...
def cents(value: float | None) -> float | None:
    """A price as it is quoted: to the cent (four significant digits below one), without the
    float noise of arithmetic (806.1900000000002)."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return value
    return round(value, 2) if abs(value) >= 1 else float(f"{value:.4g}")


def forecast_json(result: object) -> dict[str, object]:
    """A forecast as `--json` prints it: prices to the cent, levels named as the intervals'
    keys ("80", "95"). A volatility forecast has no prices: as it is."""
    if not isinstance(result, ForecastResult):
        whole: dict[str, object] = to_jsonable(result)
        return whole
    steps = [
        replace(
            f,
            price=cents(f.price),
            lower_80=cents(f.lower_80),
            upper_80=cents(f.upper_80),
            lower_95=cents(f.lower_95),
            upper_95=cents(f.upper_95),
            close=cents(f.close),
            intervals={k: [cents(v) for v in band] for k, band in f.intervals.items()},
        )
        for f in result.forecasts
    ]
    quoted = replace(
        result, forecasts=steps, last_price=cents(result.last_price), last_close=cents(result.last_close)
    )
    doc: dict[str, object] = to_jsonable(quoted)
    return {**doc, "levels": [level_label(lv) for lv in result.levels]}


@dataclass
class PathForecast:
    as_of: str
    last: float  # the last adjusted close
    forecasts: list[Forecast]
    method: str  # the interval method used
    sigma: float  # EWMA volatility of daily returns at the last bar
    sigma_ratio: float | None  # sigma over its median of the last year
