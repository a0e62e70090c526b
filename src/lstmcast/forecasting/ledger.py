"""`ledger`: past forecasts scored against the prices that arrived since, per ticker and model."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmcast.store.db import Store
from lstmcast.store.ledger import ledger_rows
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


def _mean(values: list[Any]) -> float | None:
    v = [float(x) for x in values if x is not None]
    return float(np.mean(v)) if v else None


def ledger(store: Store, ticker: str | None = None) -> LedgerReport:
    t = validate_ticker(ticker) if ticker else None
    raw = ledger_rows(store.conn, t)
    bars = {tk: adjusted_closes(store.conn, tk) for tk in {r["ticker"] for r in raw}}
    rows = [_scored(r, bars[r["ticker"]]) for r in raw]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["ticker"], r["model_id"]), []).append(r)
    summary = []
    for (tk, mid), rs in groups.items():
        done = [r for r in rs if r["realised"] is not None]
        summary.append(
            LedgerSummary(
                tk,
                mid,
                len(rs),
                len(done),
                len(rs) - len(done),
                _mean([abs(r["error"]) for r in done]),
                _mean([abs(r["naive_error"]) for r in done]),
                _mean([r["direction_hit"] for r in done]),
                _mean([r["in_80"] for r in done]),
                _mean([r["in_95"] for r in done]),
            )
        )
    return LedgerReport(rows, summary)
