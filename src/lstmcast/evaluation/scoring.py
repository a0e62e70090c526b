"""Scoring one block of forecasts: the model beside naive, drift and linear, in both units."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

from lstmcast.evaluation import baselines
from lstmcast.evaluation import volatility as V
from lstmcast.evaluation.intervals import EWMA_SHRINK, ewma_sigma
from lstmcast.evaluation.metrics import Metrics, score
from lstmcast.evaluation.stats import diebold_mariano
from lstmcast.jsonable import json_object, number
from lstmcast.prep.dataset import Frame
from lstmcast.prep.scaling import Scaler
from lstmcast.prep.windows import targets


def to_price(frame: Frame, at: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Target-unit forecasts (N, H) -> prices: compound returns from the origin's price."""
    if frame.in_prices:
        return y
    return frame.price[at][:, None] * np.exp(np.cumsum(y, axis=1))


def actuals(frame: Frame, at: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """What really happened after each origin: (target units, prices), each (N, H)."""
    return targets(frame.x[:, 0], horizon, at), targets(frame.price, horizon, at)


@dataclass
class BlockForecasts:
    """Forecasts for origins `at` from the model and each baseline, in target units (N, H),
    and the in-sample naive MAE behind each origin (target units, price) for the MASE."""

    at: np.ndarray
    by_name: dict[str, np.ndarray] = field(default_factory=dict)
    scale: tuple[np.ndarray, np.ndarray] | None = None


def naive_scale(frame: Frame, lo: int, end: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The one-step naive forecast's MAE on rows [lo, end), the fit's own data, repeated for n
    origins: in target units (a return's naive forecast is 0, a price's the last price) and
    in price units. The denominator of Hyndman & Koehler's MASE."""
    price = frame.price[lo:end]
    moves = float(np.mean(np.abs(np.diff(price)))) if len(price) > 1 else float("nan")
    own = moves if frame.in_prices else float(np.mean(np.abs(frame.x[lo:end, 0])))
    return np.full(n, own), np.full(n, moves)


def concat_scales(blocks: list[BlockForecasts]) -> tuple[np.ndarray, np.ndarray] | None:
    if any(b.scale is None for b in blocks):
        return None
    return (
        np.concatenate([b.scale[0] for b in blocks if b.scale is not None]),
        np.concatenate([b.scale[1] for b in blocks if b.scale is not None]),
    )


def baseline_forecasts(
    frame: Frame,
    at: np.ndarray,
    horizon: int,
    window: int,
    train_at: np.ndarray,
    drift_end: int,
    scaler: Scaler,
    fit_frame: Frame | None = None,
) -> dict[str, np.ndarray]:
    """Naive, drift and linear AR forecasts for origins `at` of `frame`.

    The drift rate comes from rows < drift_end and the AR coefficients from origins
    `train_at`, both of `fit_frame` (default: `frame` itself), so nothing after them is used.
    """
    known = fit_frame if fit_frame is not None else frame
    mu = baselines.drift_rate(known, drift_end)
    coef = baselines.fit_linear(known, scaler, train_at, window, horizon)
    return {
        "naive": baselines.naive(frame, at, horizon),
        "drift": baselines.drift(frame, at, horizon, mu),
        "linear": baselines.linear(frame, scaler, coef, at, window),
    }


@dataclass
class Scores:
    target: dict[str, Metrics]  # model and baselines, target units
    price: dict[str, Metrics]  # same in price units
    per_step: list[dict[str, float | None]]  # for each step: skill vs naive of the model, both units


def score_block(frame: Frame, block: BlockForecasts) -> Scores:
    at = block.at
    horizon = next(iter(block.by_name.values())).shape[1]
    y_true, p_true = actuals(frame, at, horizon)
    naive_t = block.by_name["naive"]
    naive_p = to_price(frame, at, naive_t)
    last_t = frame.price[at] if frame.in_prices else None
    s_t, s_p = block.scale if block.scale is not None else (None, None)
    target: dict[str, Metrics] = {}
    price: dict[str, Metrics] = {}
    for name, y in block.by_name.items():
        target[name] = score(y, y_true, naive_t, last_t, scale=s_t)
        price[name] = score(
            to_price(frame, at, y), p_true, naive_p, frame.price[at], price_units=True, scale=s_p
        )
    per_step = []
    if horizon > 1:
        y_model = block.by_name["model"]
        for k in range(horizon):
            m = score(y_model[:, k], y_true[:, k], naive_t[:, k])
            _, p_k = diebold_mariano(y_model[:, k] - y_true[:, k], naive_t[:, k] - y_true[:, k], k + 1)
            per_step.append(
                {
                    "step": k + 1,
                    "mae": m.mae,
                    "rmse": m.rmse,
                    "skill_vs_naive": m.skill_vs_naive,
                    "naive_mae": float(np.mean(np.abs(naive_t[:, k] - y_true[:, k]))),
                    "dm_pvalue": None if np.isnan(p_k) else p_k,
                }
            )
    return Scores(target, price, per_step)


def tracks_previous_value(frame: Frame, at: np.ndarray, y_model: np.ndarray) -> bool:
    """True when a price-level model's forecasts sit closer to the last price than to the
    actual one: it learned to copy yesterday, the classic stock-LSTM illusion."""
    if not frame.in_prices:
        return False
    _, p_true = actuals(frame, at, 1)
    pred = y_model[:, 0]
    return bool(np.mean(np.abs(pred - frame.price[at])) < np.mean(np.abs(pred - p_true[:, 0])))


def metrics_json(scores: Scores) -> dict[str, object]:
    return {
        "test": {k: asdict(v) for k, v in scores.target.items()},
        "test_price": {k: asdict(v) for k, v in scores.price.items()},
        "per_step": scores.per_step,
    }


def dm_vs_naive(frame: Frame, block: BlockForecasts) -> tuple[float, float]:
    """Diebold-Mariano of the model against naive on the whole forecast path: the squared-error
    differential averaged over the H steps (one consistent test, whatever the horizon)."""
    y_model, y_naive = block.by_name["model"], block.by_name["naive"]
    truth = targets(frame.x[:, 0], y_model.shape[1], block.at)
    return diebold_mariano(y_model - truth, y_naive - truth, y_model.shape[1])


def path_errors(frame: Frame, at: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(N, H) log(actual price / forecast price) k+1 bars after each origin; NaN past the data.
    The errors intervals are calibrated on."""
    forecast = to_price(frame, at, y)
    rows = at[:, None] + np.arange(1, y.shape[1] + 1)[None, :]
    known = rows <= frame.n - 1
    actual = np.where(known, frame.price[np.minimum(rows, frame.n - 1)], np.nan)
    return np.log(actual / forecast)


def daily_returns(frame: Frame) -> np.ndarray:
    """Log returns of the adjusted close on each row (0 on the first, which has no predecessor)."""
    return np.concatenate([[0.0], np.diff(np.log(frame.price))])


def origin_sigma(frame: Frame, at: np.ndarray, shrink: float | None = None) -> np.ndarray:
    """EWMA volatility known at each origin's close (returns up to that row only)."""

    return ewma_sigma(daily_returns(frame), shrink=EWMA_SHRINK if shrink is None else shrink)[at]


HAR_MIN_FIT = 100  # origins a HAR fit needs; with fewer, the EWMA volatility stands in


@dataclass(frozen=True)
class HarScale:
    """The log-HAR `--intervals vol` scales errors by, fitted once: its coefficients and the
    proxy-to-squared-return ratio of its rows. Saved with a model, so that the live interval
    multiplies back by the very HAR its stored errors were divided by."""

    har: V.Har
    ratio: float

    def sigma(self, proxy: np.ndarray, at: np.ndarray) -> np.ndarray:
        """(N,) the next day's close-to-close volatility at each origin."""
        return np.sqrt(self.har.predict(proxy, at, 0.0) / self.ratio)

    def to_dict(self) -> dict[str, object]:
        return {"har": self.har.to_dict(), "ratio": self.ratio}

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> HarScale:
        return cls(V.Har.from_dict(json_object(d["har"])), number(d["ratio"]))


def fit_har_scale(frame: Frame, fit_end: int) -> HarScale | None:
    """Log-HAR on the frame's variance proxy, coefficients and bias factor from origins whose
    target row is before `fit_end`; None without a proxy or with too few origins to fit on."""
    train_at = np.arange(max(V.HAR_LAGS) - 1, fit_end - 1)
    if frame.variance is None or len(train_at) < HAR_MIN_FIT:
        return None
    har = V.fit_har(frame.variance, train_at, 1, log=True)
    return HarScale(har, V.proxy_ratio(frame.variance, daily_returns(frame), slice(1, fit_end)))


def har_sigma(frame: Frame, at: np.ndarray, fit_end: int, scale: HarScale | None = None) -> np.ndarray:
    """(N,) volatility of the day after each origin as log-HAR on the frame's variance proxy
    forecasts it (`fit_har_scale` on rows before `fit_end`, or the saved `scale`), on the
    close-to-close scale. What `--intervals vol` scales errors by. The EWMA volatility stands
    in where HAR has no month of history or too few origins to fit on."""
    ewma = origin_sigma(frame, at)
    scale = scale or fit_har_scale(frame, fit_end)
    if scale is None or frame.variance is None:
        return ewma
    ok = at >= max(V.HAR_LAGS) - 1
    out = ewma.copy()
    out[ok] = scale.sigma(frame.variance, at[ok])
    return out
