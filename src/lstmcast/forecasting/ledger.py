"""`ledger`: past forecasts scored against the prices that arrived since, per ticker and model."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.evaluation.intervals import aci_update, score_intervals
from lstmcast.forecasting.result import PathForecast
from lstmcast.store.db import Store
from lstmcast.store.ledger import aci_states, ledger_rows, record, save_aci_states
from lstmcast.store.prices import adjusted_closes
from lstmcast.tickers import validate_ticker


@dataclass
class LedgerSummary:
    ticker: str
    model_id: str
    forecasts: int
    scored: int
    pending: int
    mae: float | None  # live, price units
    naive_mae: float | None  # the random walk's live MAE on the same dates
    hit_rate: float | None  # direction right, among scored forecasts that called one
    coverage_80: float | None  # share of realised prices inside the 80% interval (nominal 0.80)
    coverage_95: float | None
    # Live, one-step intervals as the backtest scores them: "80" -> coverage (overall and by
    # tercile of the volatility at each origin), width, Winkler, Kupiec and Christoffersen.
    intervals: dict[str, Any] = field(default_factory=dict)


@dataclass
class LedgerReport:
    rows: list[dict[str, Any]]
    summary: list[LedgerSummary]


def _scored(row: dict[str, Any], bars: tuple[list[str], list[float]]) -> dict[str, Any]:
    """A forecast joined with what happened: the step-th bar after its origin, whatever its
    date. A step-k forecast is about k bars ahead; an unscheduled closure (or a calendar that
    does not fit the ticker) moves the date, and the row is still scored against the right bar."""
    r = dict(row)
    dates, adj = bars
    at = bisect.bisect_left(dates, r["as_of"])
    known = at < len(dates) and dates[at] == r["as_of"] and at + r["step"] < len(dates)
    if known:
        k = at + r["step"]
        realised = r["last_price"] * adj[k] / adj[at]  # a ratio: robust to later re-basing
        r.update(
            realised_date=dates[k],
            date_moved=dates[k] != r["target_date"],
            realised=realised,
            error=r["price"] - realised,
            naive_error=r["last_price"] - realised,
            in_80=r["lower_80"] <= realised <= r["upper_80"],
            in_95=r["lower_95"] <= realised <= r["upper_95"],
            direction_hit=None
            if realised == r["last_price"] or r["price"] == r["last_price"]
            else (realised > r["last_price"]) == (r["price"] > r["last_price"]),
        )
    else:
        r.update(
            realised_date=None,
            date_moved=None,
            realised=None,
            error=None,
            naive_error=None,
            in_80=None,
            in_95=None,
            direction_hit=None,
        )
    return r


def mean_of(values: list[Any]) -> float | None:
    """The mean of the values that are defined (None left out); None when none is."""
    v = [float(x) for x in values if x is not None]
    return float(np.mean(v)) if v else None


def _scored_rows(store: Store, ticker: str | None, model_id: str | None = None) -> list[dict[str, Any]]:
    raw = ledger_rows(store.conn, ticker)
    if model_id is not None:
        raw = [r for r in raw if r["model_id"] == model_id]
    bars = {tk: adjusted_closes(store.conn, tk) for tk in {r["ticker"] for r in raw}}
    return [_scored(r, bars[r["ticker"]]) for r in raw]


BOUNDS = {0.80: ("lower_80", "upper_80"), 0.95: ("lower_95", "upper_95")}  # what the ledger keeps


def update_aci(
    store: Store, model_id: str, ticker: str, rows: list[dict[str, Any]] | None = None
) -> dict[tuple[float, int], float]:
    """Let ACI learn from every realised outcome it has not seen yet, and return the miss rate
    each (level, step) now aims at. Outcomes are taken in origin order from the last one used,
    so scoring the same realised price again changes nothing."""
    states = aci_states(store.conn, model_id, ticker)
    rows = sorted(
        (r for r in _scored_rows(store, ticker, model_id) if r["realised"] is not None),
        key=lambda r: r["as_of"],
    )
    new = dict(states)
    for level, (lo, hi) in BOUNDS.items():
        for step in sorted({r["step"] for r in rows}):
            alpha, through = new.get((level, step), (1 - level, ""))
            for r in rows:
                if r["step"] == step and r["as_of"] > through:
                    alpha = aci_update(alpha, 1 - level, not (r[lo] <= r["realised"] <= r[hi]))
                    through = r["as_of"]
            new[(level, step)] = (alpha, through)
    if new != states:
        save_aci_states(store.conn, model_id, ticker, new)
    return {key: alpha for key, (alpha, _) in new.items()}


def _live_intervals(done: list[dict[str, Any]]) -> dict[str, Any]:
    """Score the one-step intervals of scored rows that recorded their volatility."""
    one = [r for r in done if r["step"] == 1 and r.get("sigma") is not None]
    if not one:
        return {}
    y = np.log(np.array([r["realised"] / r["price"] for r in one]))
    sigma = np.array([r["sigma"] for r in one])
    out: dict[str, Any] = {}
    for level, (lo, hi) in BOUNDS.items():
        with np.errstate(divide="ignore"):  # an unbounded side is stored as 0 (log: -inf) or inf
            lower = np.log(np.array([r[lo] / r["price"] for r in one]))
            upper = np.log(np.array([r[hi] / r["price"] for r in one]))
        out[f"{level * 100:g}"] = score_intervals(lower, upper, y, sigma, level)
    return out


def ledger(store: Store, ticker: str | None = None) -> LedgerReport:
    t = validate_ticker(ticker) if ticker else None
    rows = _scored_rows(store, t)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["ticker"], r["model_id"]), []).append(r)
    summary = []
    for (tk, mid), rs in groups.items():
        update_aci(store, mid, tk, rs)  # the ledger is where outcomes arrive: ACI learns here
        done = [r for r in rs if r["realised"] is not None]
        summary.append(
            LedgerSummary(
                ticker=tk,
                model_id=mid,
                forecasts=len(rs),
                scored=len(done),
                pending=len(rs) - len(done),
                mae=mean_of([abs(r["error"]) for r in done]),
                naive_mae=mean_of([abs(r["naive_error"]) for r in done]),
                hit_rate=mean_of([r["direction_hit"] for r in done]),
                coverage_80=mean_of([r["in_80"] for r in done]),
                coverage_95=mean_of([r["in_95"] for r in done]),
                intervals=_live_intervals(done),
            )
        )
    return LedgerReport(rows, summary)


def record_path(
    store: Store, model_id: str, ticker: str, path: PathForecast, config: TrainConfig, calendar: str
) -> int:
    """Write a path's forecasts to the ledger (once per model, ticker and origin); how many were new."""
    rows = [
        {
            "model_id": model_id,
            "ticker": ticker,
            "as_of": path.as_of,
            "step": f.step,
            "target_date": f.date,
            "last_price": path.last,
            "price": f.price,
            "log_return": f.log_return,
            # An unbounded side is stored as what it means for a price: 0 below, infinity above.
            "lower_80": _or(f.lower_80, 0.0),
            "upper_80": _or(f.upper_80, math.inf),
            "lower_95": _or(f.lower_95, 0.0),
            "upper_95": _or(f.upper_95, math.inf),
            "sigma": path.sigma,
            "interval_method": path.method,
        }
        for f in path.forecasts
    ]
    return record(store.conn, rows, {**config.to_dict(), "calendar": calendar})


def _or(value: float, instead: float) -> float:
    return instead if math.isnan(value) else value
