"""`forecast --universe`: today's ranking of a universe's members by its saved network.

Every member listed on the newest date with a whole window of returns is scored from the
same network; each one's inputs are scaled as in training (its own saved scalers, or, for a
member the network never saw, ones fitted on its own history to date: nothing later exists),
and its score is read out as the target's backtest reads it (`universe.targets`). A ranking
(rank, excess) picks the top `k` long and the bottom `k` short; a pooled variance forecasts
each member's variance over the next h days, beside that member's log-HAR fitted on its
history to date. The forecasts go to the ledger, one row per member, and are scored there
once their h bars arrive (`ledger --universe`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from lstmcast.config import STALE_AFTER_DAYS
from lstmcast.errors import DataError
from lstmcast.evaluation.pooled_baselines import block_baselines, panel_regressors
from lstmcast.forecasting.calendar import next_sessions
from lstmcast.jsonable import to_jsonable
from lstmcast.paths import calendars_dir
from lstmcast.registry.universe import UniverseModel, load_universe_model
from lstmcast.store.db import Store
from lstmcast.store.ledger import record
from lstmcast.tickers import exchange_of
from lstmcast.universe.members import Survivorship, show_universe
from lstmcast.universe.panel import MIN_NAMES, Panel, build_panel, gather
from lstmcast.universe.targets import forward_variance, learner_of


@dataclass(frozen=True)
class Ranked:
    ticker: str
    score: float
    rank: int  # 1 = the highest forecast (a ranking: its score; the first long pick)
    side: str  # "long", "short" or ""
    variance: float | None = None  # a pooled variance's forecast: the mean daily variance over h days
    har_variance: float | None = None  # the member's log-HAR's, fitted on its history to date

    @property
    def volatility(self) -> float | None:
        """The variance forecast as an annualised volatility."""
        return None if self.variance is None else math.sqrt(252 * self.variance)

    @property
    def har_volatility(self) -> float | None:
        return None if self.har_variance is None else math.sqrt(252 * self.har_variance)


@dataclass
class UniverseForecast:
    universe: str
    model_id: str
    model: str
    target: str
    horizon: int
    as_of: str  # the newest date: every score uses bars up to its close
    target_date: str  # the h-th session after it, when the ranking is judged
    k: int  # long and short picks (0: the target forecasts each member, it picks none)
    members: int  # members with prices
    ranking: list[Ranked]
    engine: str
    stale_days: int  # days between the model's last bar and as_of
    ledger_new: int = 0
    survivorship: Survivorship | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def long(self) -> list[str]:
        return [r.ticker for r in self.ranking if r.side == "long"]

    @property
    def short(self) -> list[str]:
        return [r.ticker for r in self.ranking if r.side == "short"]

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = to_jsonable(self)
        ranking = [
            {**to_jsonable(r), "volatility": r.volatility, "har_volatility": r.har_volatility}
            for r in self.ranking
        ]
        return {**doc, "ranking": ranking, "long": self.long, "short": self.short}


def score_members(panel: Panel, model: UniverseModel, at: int) -> tuple[np.ndarray, np.ndarray]:
    """The members scored at row `at` and their scores: each listed with a whole window of
    inputs ending there, scaled by its saved scalers (or its own history's)."""
    window = model.config.window
    values, _, _ = learner_of(model.config.target).inputs(panel, at, model.scalers(panel))
    valid = np.isfinite(values).all(axis=-1) & panel.member
    if at + 1 < window:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    whole = valid[at - window + 1 : at + 1].all(axis=0)
    n = np.nonzero(whole)[0]
    if len(n) == 0:
        return n, np.zeros(0)
    x = gather(values, np.full(len(n), at), n, window)
    return n, model.score(x)


def live_log_har(panel: Panel, horizon: int, at: int) -> np.ndarray:
    """(N,) each member's log-HAR forecast at row `at` of its mean variance over the next
    `horizon` days: fitted on the outcomes known by then, calibrated on the last year of them."""
    y = forward_variance(panel, horizon)
    known = at - horizon + 1  # rows before this have their outcome
    cal = max(known - min(250, known // 3), 0)
    columns = panel_regressors(panel)
    made = block_baselines(columns, y, np.arange(0, cal), slice(cal, known), slice(at, at + 1), ("log_har",))
    return np.asarray(made["log_har"][at])


def forecast_universe(
    store: Store,
    name: str,
    model_id: str | None = None,
    k: int | None = None,
    engine: str = "auto",
    write: bool = True,
) -> UniverseForecast:
    """Rank universe `name`'s members at the newest date with its newest model (or
    `model_id`), pick the top and bottom `k`, and write the ranking to the ledger."""
    universe = show_universe(store, name)
    model = load_universe_model(store, universe.name, model_id, engine)
    panel = build_panel(store, universe)
    at = len(panel.dates) - 1
    as_of = panel.dates[at]
    n, scores = score_members(panel, model, at)
    if len(n) < MIN_NAMES:
        raise DataError(
            f"universe {universe.name}: {len(n)} member(s) have a whole {model.config.window}-day window"
            f" up to {as_of.date()}; a ranking needs {MIN_NAMES} or more (`lstmcast fetch --universe {name}`)"
        )
    config = model.config
    h = config.horizon
    learner = learner_of(config.target)
    made_at = model.readout(panel, at).apply(scores, n)
    variance = made_at if not learner.picks else None
    har = live_log_har(panel, h, at)[n] if variance is not None else None
    order = np.argsort(-made_at, kind="stable")  # the highest forecast first
    size = min(k or max(1, len(n) // 10), len(n) // 2) if learner.picks else 0
    ranking = [
        Ranked(
            panel.tickers[n[j]],
            float(scores[j]),
            i + 1,
            "long" if i < size else ("short" if i >= len(n) - size else ""),
            None if variance is None else float(variance[j]),
            None if har is None or not np.isfinite(har[j]) else float(har[j]),
        )
        for i, j in enumerate(order)
    ]
    calendar = exchange_of(panel.tickers[n[0]])[0]
    target_date = next_sessions(as_of.date(), h, calendar, calendars_dir(store.home))[-1]
    stale = (as_of.date() - date.fromisoformat(str(model.manifest["data"]["last_date"]))).days
    warnings = []
    lagging = [
        t for i, t in enumerate(panel.tickers) if panel.member[at, i] and not np.isfinite(panel.close[at, i])
    ]
    if lagging:
        warnings.append(
            f"{len(lagging)} member(s) have no bar on {as_of.date()} ({', '.join(lagging[:5])}"
            f"{', ...' if len(lagging) > 5 else ''}): not ranked; `lstmcast fetch --universe {name}`"
        )
    if stale > STALE_AFTER_DAYS:
        warnings.append(
            f"model {model.id} was trained on data up to {model.manifest['data']['last_date']}, {stale} days"
            f" before {as_of.date()}; train it again (`lstmcast train --universe {name}`)"
        )
    if not universe.survivorship.point_in_time:
        warnings.append(universe.survivorship.warning or "")
    made = UniverseForecast(
        universe=universe.name,
        model_id=model.id,
        model=config.model,
        target=config.target,
        horizon=h,
        as_of=str(as_of.date()),
        target_date=str(target_date),
        k=size,
        members=len(panel.tickers),
        ranking=ranking,
        engine=model.engine,
        stale_days=stale,
        survivorship=universe.survivorship,
        warnings=warnings,
    )
    if write:
        made.ledger_new = record_ranking(store, made, panel, at, config.to_dict())
    return made


def record_ranking(
    store: Store, made: UniverseForecast, panel: Panel, at: int, config: Mapping[str, object]
) -> int:
    """One ledger row per ranked member (once per model, member and date); how many were new."""
    col = {t: i for i, t in enumerate(panel.tickers)}
    rows = [
        {
            "model_id": made.model_id,
            "ticker": r.ticker,
            "as_of": made.as_of,
            "step": made.horizon,
            "target": made.target,
            "target_date": made.target_date,
            "last_price": float(panel.close[at, col[r.ticker]]),
            "universe": made.universe,
            "score": r.score if math.isfinite(r.score) else 0.0,
            "variance": r.variance,
            "har_variance": r.har_variance,
            "proxy": None if r.variance is None else "squared",
        }
        for r in made.ranking
    ]
    return record(store.conn, rows, {**config, "k": made.k})
