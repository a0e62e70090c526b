"""`ledger`: past forecasts scored against what arrived since, per ticker and model.

One ledger holds every target's forecasts (a `target` column says which). What "what
happened" means, and the scores it gives, is the target's own `LedgerKind`: a price path is
joined with the realised price (MAE against the random walk, direction, interval coverage,
and ACI learning from each outcome), a variance with the realised proxy over its h bars
(QLIKE against HAR's forecast of the same day, coverage, value-at-risk hits). The shared
path groups and counts, and never asks which kind it holds.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.evaluation import volatility as V
from lstmcast.evaluation.intervals import IntervalScores, aci_update, score_intervals
from lstmcast.evaluation.metrics import mean_defined
from lstmcast.evaluation.stats import newey_west_t
from lstmcast.forecasting.result import PathForecast
from lstmcast.prep.volatility import variance_proxy
from lstmcast.settings import ALL_TARGETS
from lstmcast.store.db import Store
from lstmcast.store.ledger import aci_states, ledger_rows, ranking_picks, record, save_aci_states
from lstmcast.store.prices import adjusted_closes, load_bars
from lstmcast.tickers import validate_ticker
from lstmcast.universe.members import show_universe

Row = dict[str, Any]


@dataclass
class PathScores:
    """A price path's live record (returns and price targets)."""

    mae: float | None  # live, price units
    naive_mae: float | None  # the random walk's live MAE on the same dates
    hit_rate: float | None  # direction right, among scored forecasts that called one
    # Live, one-step intervals as the backtest scores them: "80" -> coverage (overall and by
    # tercile of the volatility at each origin), width, Winkler, Kupiec and Christoffersen.
    intervals: dict[str, IntervalScores] = field(default_factory=dict)


@dataclass
class VarianceScores:
    """A variance forecast's live record (the volatility target)."""

    qlike: float | None  # the model's running QLIKE
    har_qlike: float | None  # HAR's, on the same days
    skill_vs_har: float | None
    var_95_hits: float | None  # share of next-day returns below the 95% VaR (nominal 5%)
    var_99_hits: float | None


@dataclass
class RankScores:
    """A universe's rankings' live record (the rank and excess targets), date by date."""

    dates: int  # rankings with every ranked member's outcome known
    rank_ic_mean: float | None  # Spearman of score and realised return, averaged over dates
    rank_ic_t: float | None  # its Newey-West t (lags h-1: h-day outcomes overlap)
    spread_mean: float | None  # the long picks' mean realised return less the short picks'
    spread_positive: float | None  # share of dates the long picks beat the short ones


S = TypeVar("S", PathScores, VarianceScores, RankScores)
S_co = TypeVar("S_co", covariant=True)


@dataclass
class LedgerSummary(Generic[S]):
    ticker: str  # whose forecasts: the ticker, or for a ranking its universe
    model_id: str
    target: str
    forecasts: int
    scored: int
    pending: int
    coverage_80: float | None  # share of realised values inside the 80% interval (nominal 0.80)
    coverage_95: float | None
    scores: S  # what this target's forecasts are judged by


@dataclass
class LedgerReport:
    rows: list[Row]  # every forecast, joined with what happened where it has
    summary: list[LedgerSummary[Any]]


class LedgerKind(Protocol[S_co]):
    """How one target's forecasts meet what happened."""

    def realise(self, store: Store, rows: list[Row]) -> list[Row]:
        """The rows with what happened: `realised` (None while pending), `in_80`, `in_95`."""
        ...

    def scores(self, store: Store, model_id: str, ticker: str, rows: list[Row]) -> S_co:
        """One model's live scores on one ticker (or universe), from its realised rows."""
        ...

    def whose(self, row: Row) -> str:
        """What its record is kept per: the ticker, or the universe a ranking is of."""
        ...


def _path_realised(row: Row, bars: tuple[list[str], list[float]]) -> Row:
    """A price forecast joined with what happened: the step-th bar after its origin, whatever its
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
        r.update(realised_date=None, date_moved=None, realised=None, error=None, naive_error=None,
                 in_80=None, in_95=None, direction_hit=None)  # fmt: skip
    return r


def _variance_realised(row: Row, dates: list[str], proxy: np.ndarray, adj: np.ndarray) -> Row:
    """A variance forecast with what happened: the proxy's mean over the h bars after its
    origin (its step is its horizon), and the next day's return against its value-at-risk."""
    r = dict(row)
    at = bisect.bisect_left(dates, r["as_of"])
    h = int(r["step"])
    if at < len(dates) and dates[at] == r["as_of"] and at + h < len(dates):
        realised = float(np.mean(proxy[at + 1 : at + h + 1]))
        next_return = math.log(adj[at + 1] / adj[at])
        har = r["har_variance"]
        r.update(
            realised=realised,
            realised_volatility=float(V.annualised(realised)),
            qlike=float(V.qlike(np.array([r["variance"]]), np.array([realised]))[0]),
            har_qlike=None if har is None else float(V.qlike(np.array([har]), np.array([realised]))[0]),
            in_80=_inside(r, "80", realised),
            in_95=_inside(r, "95", realised),
            var_95_hit=None if r["var_95"] is None else next_return < r["var_95"],
            var_99_hit=None if r["var_99"] is None else next_return < r["var_99"],
        )
    else:
        r.update(realised=None, realised_volatility=None, qlike=None, har_qlike=None, in_80=None, in_95=None,
                 var_95_hit=None, var_99_hit=None)  # fmt: skip
    return r


def _inside(row: Row, level: str, realised: float) -> bool | None:
    """Whether `realised` fell inside the row's interval at `level` (None: it had none; a
    universe's pooled variance forecasts carry none)."""
    lo, hi = row[f"lower_{level}"], row[f"upper_{level}"]
    return None if lo is None or hi is None else bool(lo <= realised <= hi)


BOUNDS = {0.80: ("lower_80", "upper_80"), 0.95: ("lower_95", "upper_95")}  # what the ledger keeps


class PathLedger:
    """Price paths (the log_return and price targets), scored against the realised price."""

    def whose(self, row: Row) -> str:
        return str(row["ticker"])

    def realise(self, store: Store, rows: list[Row]) -> list[Row]:
        bars = {tk: adjusted_closes(store.conn, tk) for tk in {r["ticker"] for r in rows}}
        return [_path_realised(r, bars[r["ticker"]]) for r in rows]

    def scores(self, store: Store, model_id: str, ticker: str, rows: list[Row]) -> PathScores:
        update_aci(store, model_id, ticker)  # the ledger is where outcomes arrive: ACI learns here
        done = [r for r in rows if r["realised"] is not None]
        return PathScores(
            mae=mean_defined([abs(r["error"]) for r in done]),
            naive_mae=mean_defined([abs(r["naive_error"]) for r in done]),
            hit_rate=mean_defined([r["direction_hit"] for r in done]),
            intervals=_live_intervals(done),
        )


class VarianceLedger:
    """Variance forecasts (the volatility target), scored by QLIKE against HAR's of the same day;
    a universe's pooled forecasts are kept as one record, across its members."""

    def whose(self, row: Row) -> str:
        return str(row["universe"] or row["ticker"])

    def realise(self, store: Store, rows: list[Row]) -> list[Row]:
        cache: dict[tuple[str, str], tuple[list[str], np.ndarray, np.ndarray]] = {}
        out = []
        for r in rows:
            key = (r["ticker"], r["proxy"])
            if key not in cache:
                bars = load_bars(store.conn, r["ticker"])
                cache[key] = (
                    bars.dates.astype("datetime64[D]").astype(str).tolist(),
                    variance_proxy(bars, r["proxy"])[0],
                    bars["adj_close"],
                )
            out.append(_variance_realised(r, *cache[key]))
        return out

    def scores(self, store: Store, model_id: str, ticker: str, rows: list[Row]) -> VarianceScores:
        done = [r for r in rows if r["realised"] is not None]
        both = [r for r in done if r["har_qlike"] is not None]  # HAR's on the same forecasts only
        q, hq = mean_defined([r["qlike"] for r in both]), mean_defined([r["har_qlike"] for r in both])
        return VarianceScores(
            qlike=q,
            har_qlike=hq,
            skill_vs_har=None if q is None or not hq else 1 - q / hq,
            var_95_hits=mean_defined([r["var_95_hit"] for r in done]),
            var_99_hits=mean_defined([r["var_99_hit"] for r in done]),
        )


class RankLedger:
    """A universe's rankings (the rank and excess targets): each member's score joined with
    its realised h-day log return, and judged per date across the members ranked."""

    def whose(self, row: Row) -> str:
        return str(row["universe"])

    def realise(self, store: Store, rows: list[Row]) -> list[Row]:
        bars = {tk: adjusted_closes(store.conn, tk) for tk in {r["ticker"] for r in rows}}
        picks = ranking_picks(store.conn)
        out = []
        for r in rows:
            dates, adj = bars[r["ticker"]]
            at = bisect.bisect_left(dates, r["as_of"])
            k = at + int(r["step"])
            known = at < len(dates) and dates[at] == r["as_of"] and k < len(dates)
            out.append(
                {
                    **r,
                    "realised": math.log(adj[k] / adj[at]) if known else None,
                    "realised_date": dates[k] if known else None,
                    "k": picks.get((r["model_id"], r["as_of"]), 1),
                    "in_80": None,
                    "in_95": None,
                }
            )
        return out

    def scores(self, store: Store, model_id: str, ticker: str, rows: list[Row]) -> RankScores:
        # The universe's panel statistics load pandas: only where a ranking is scored.
        from lstmcast.evaluation.panel import daily_ic
        from lstmcast.universe.panel import MIN_NAMES

        by_date: dict[str, list[Row]] = {}
        for r in rows:
            by_date.setdefault(r["as_of"], []).append(r)
        ics, spreads = [], []
        for day in sorted(by_date):
            ranked = by_date[day]
            if any(r["realised"] is None for r in ranked) or len(ranked) < MIN_NAMES:
                continue  # judged once every member ranked that day has its outcome
            score = np.array([r["score"] for r in ranked])
            realised = np.array([r["realised"] for r in ranked])
            _, ric = daily_ic(score[None, :], realised[None, :])
            ics.append(float(ric[0]))
            k = min(int(ranked[0]["k"]), len(ranked) // 2)
            order = np.argsort(-score, kind="stable")
            spreads.append(float(realised[order[:k]].mean() - realised[order[-k:]].mean()))
        h = int(rows[0]["step"]) if rows else 1
        ic = np.array([x for x in ics if math.isfinite(x)])
        return RankScores(
            dates=len(ics),
            rank_ic_mean=float(ic.mean()) if len(ic) else None,
            rank_ic_t=_finite(newey_west_t(ic, max(h - 1, 0))[0]) if len(ic) >= 3 else None,
            spread_mean=mean_defined(spreads),
            spread_positive=mean_defined([x > 0 for x in spreads]),
        )


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


# Each target's kind of ledger record: the one place a target name picks it.
LEDGERS: dict[str, LedgerKind[Any]] = {
    "log_return": PathLedger(),
    "price": PathLedger(),
    "volatility": VarianceLedger(),
    "rank": RankLedger(),
    "excess": RankLedger(),
}
assert tuple(LEDGERS) == ALL_TARGETS


def _realised_rows(
    store: Store, ticker: str | None, model_id: str | None = None, universe: str | None = None
) -> list[Row]:
    """The ledger's rows (of one ticker, or all; of one model, or all; of one universe's
    rankings, or all) with what happened, in the ledger's order."""
    raw = ledger_rows(store.conn, ticker, universe)
    if model_id is not None:
        raw = [r for r in raw if r["model_id"] == model_id]
    by_target: dict[str, list[int]] = {}
    for i, r in enumerate(raw):
        by_target.setdefault(r["target"], []).append(i)
    out: list[Row] = list(raw)
    for target, at in by_target.items():
        for i, r in zip(at, LEDGERS[target].realise(store, [raw[i] for i in at]), strict=True):
            out[i] = r
    return out


def update_aci(store: Store, model_id: str, ticker: str) -> dict[tuple[float, int], float]:
    """Let ACI learn from every realised outcome it has not seen yet, and return the miss rate
    each (level, step) now aims at. Outcomes are taken in origin order from the last one used,
    so scoring the same realised price again changes nothing."""
    states = aci_states(store.conn, model_id, ticker)
    rows = sorted(
        (r for r in _realised_rows(store, ticker, model_id) if r["realised"] is not None),
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


def _live_intervals(done: list[Row]) -> dict[str, IntervalScores]:
    """Score the one-step intervals of scored rows that recorded their volatility."""
    one = [r for r in done if r["step"] == 1 and r.get("sigma") is not None]
    if not one:
        return {}
    y = np.log(np.array([r["realised"] / r["price"] for r in one]))
    sigma = np.array([r["sigma"] for r in one])
    out: dict[str, IntervalScores] = {}
    for level, (lo, hi) in BOUNDS.items():
        with np.errstate(divide="ignore"):  # an unbounded side is stored as 0 (log: -inf) or inf
            lower = np.log(np.array([r[lo] / r["price"] for r in one]))
            upper = np.log(np.array([r[hi] / r["price"] for r in one]))
        out[f"{level * 100:g}"] = score_intervals(lower, upper, y, sigma, level)
    return out


def ledger(store: Store, ticker: str | None = None, universe: str | None = None) -> LedgerReport:
    """Every forecast of every target, scored where what it forecast has arrived, and per
    ticker (a universe, for its rankings) and model its live record."""
    t = validate_ticker(ticker) if ticker else None
    if universe is not None:
        show_universe(store, universe)  # an unknown name is refused, not an empty ledger
    rows = _realised_rows(store, t, universe=universe)
    groups: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((LEDGERS[r["target"]].whose(r), r["model_id"]), []).append(r)
    summary: list[LedgerSummary[Any]] = []
    for (tk, mid), rs in groups.items():
        target = rs[0]["target"]  # one model forecasts one target
        done = [r for r in rs if r["realised"] is not None]
        summary.append(
            LedgerSummary(
                ticker=tk,
                model_id=mid,
                target=target,
                forecasts=len(rs),
                scored=len(done),
                pending=len(rs) - len(done),
                coverage_80=mean_defined([r["in_80"] for r in done]),
                coverage_95=mean_defined([r["in_95"] for r in done]),
                scores=LEDGERS[target].scores(store, mid, tk, rs),
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
            "target": config.target,
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
