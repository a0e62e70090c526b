"""`sweep --universe`: every model walked forward on one universe, judged alike, and how many
survive the correction for having compared them.

Each configuration is the walk-forward `backtest --universe` runs (its folds and seeds on the
workers), judged by its target's judge and kept in the trial register (`store.trials`) as it
finishes: a configuration already judged on the same data is read back, never run again,
whichever sweep or tune judged it. Each row's pooled DM against the best baseline is
adjusted for the rows compared (Benjamini-Hochberg or Holm), and the best ranking's net
Sharpe is deflated for every configuration tried on this universe and test span, by this
run and every earlier one (Bailey & Lopez de Prado): the count a lone backtest cannot know.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lstmcast.backtest.panel import judge
from lstmcast.backtest.panel_walk import WalkSummary, walk
from lstmcast.config import TrainConfig
from lstmcast.evaluation.multiple import SharpeMoments, benjamini_hochberg, holm
from lstmcast.execution.engine import Parallel, held_cluster
from lstmcast.fingerprint import fingerprint
from lstmcast.jsonable import to_jsonable
from lstmcast.runconfig import BacktestConfig, RunConfig
from lstmcast.store.db import Store
from lstmcast.store.trials import get_trial, save_trial, tried
from lstmcast.universe.members import Survivorship, show_universe
from lstmcast.universe.panel import Panel, build_panel

TRIAL_FORMAT = 1  # bumped when what a judged walk records changes: older rows are then recomputed


def panel_fingerprint(panel: Panel) -> str:
    """A short hash of the panel itself: its dates, members, closes and membership."""
    h = hashlib.sha256()
    h.update("\n".join(panel.tickers).encode())
    h.update(np.asarray(panel.dates.asi8).tobytes())
    h.update(np.ascontiguousarray(panel.close).tobytes())
    h.update(np.ascontiguousarray(panel.member).tobytes())
    return h.hexdigest()[:16]


def trial_key(train: TrainConfig, config: BacktestConfig, panel: Panel) -> str:
    """What keys a judged walk: its settings (threads aside) and the data it walked."""
    return fingerprint([TRIAL_FORMAT, train.replace(threads=0).to_dict(), dataclasses.asdict(config),
                        panel_fingerprint(panel)])  # fmt: skip


def judged_walk(
    store: Store,
    panel: Panel,
    name: str,
    survivorship: Survivorship,
    train: TrainConfig,
    config: BacktestConfig,
    source: str,
    parallel: Parallel = Parallel(),
) -> tuple[WalkSummary, bool]:
    """Walk `panel` forward with `train` and judge it, or read the judged walk back from the
    register; the summary and whether it was read back. Only this process writes the store."""
    key = trial_key(train, config, panel)
    stored = get_trial(store.conn, name, train.target, key)
    if stored is not None:
        try:
            return WalkSummary.from_dict(stored), True
        except TypeError:
            pass  # a row of another shape: judge it again (the row is kept; it still counts)
    summary = judge(walk(panel, name, survivorship, train, config, None, parallel)).summary()
    save_trial(store.conn, name, train.target, key, source, summary.span, train.to_dict(),
               to_jsonable(summary.to_dict()))  # fmt: skip
    return summary, False


@dataclass(frozen=True)
class Deflation:
    """A chosen Sharpe ratio deflated for every configuration tried on the same test dates."""

    tried: int  # configurations with a portfolio judged on this universe, target and span
    probability: float | None  # that the chosen one's true Sharpe beats the luckiest of them


def deflate_over_tried(
    store: Store, name: str, target: str, span: str, chosen: SharpeMoments | None
) -> Deflation:
    """`chosen` deflated over every configuration in the register on `span` (it among them)."""
    srs = []
    for row in tried(store.conn, name, target, span):
        moments = row.result.get("sharpe") if isinstance(row.result, dict) else None
        if isinstance(moments, dict) and isinstance(moments.get("sr"), (int, float)):
            srs.append(float(moments["sr"]))
    if chosen is None or not srs:
        return Deflation(len(srs), None)
    variance = float(np.var(srs, ddof=1)) if len(srs) > 1 else 0.0
    return Deflation(len(srs), chosen.deflated(len(srs), variance))


@dataclass(frozen=True)
class UniverseRow:
    model: str
    summary: WalkSummary
    pvalue_adjusted: float | None  # its pooled DM against the best baseline, adjusted for the rows
    beats_best: bool  # better than its best baseline after the adjustment
    resumed: bool  # read back from the register
    seconds: float


@dataclass
class UniverseSweep:
    universe: str
    target: str
    adjust: str
    seeds: int
    rows: list[UniverseRow]  # the best value first
    span: str
    deflated: Deflation  # the best ranking's net Sharpe, over every configuration tried here
    survivorship: Survivorship
    wall_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def survivors(self) -> int:
        return sum(1 for r in self.rows if r.beats_best)

    def verdict(self) -> str:
        """What the sweep found, as strong as its tests after the correction."""
        how = "Benjamini-Hochberg" if self.adjust == "bh" else "Holm"
        n = len(self.rows)
        head = (
            f"{self.survivors} of {n} configuration(s) beat their best baseline after {how}'s correction"
            " (pooled DM)"
        )
        if not self.rows:
            return head
        best = self.rows[0]
        value = "–" if best.summary.value is None else f"{best.summary.value:.4f}"
        tail = f"; the best by {best.summary.metric}, {best.model}, has {value}"
        if self.deflated.probability is not None:
            tail += (
                f", and its net Sharpe beats the luckiest of the {self.deflated.tried} configurations"
                f" tried on these dates with probability {self.deflated.probability:.3f} (deflated Sharpe)"
            )
        worse = [r.model for r in self.rows if r.summary.against_best(r.pvalue_adjusted) == "worse"]
        if worse:
            names = ", ".join(worse)
            tail += f"; {len(worse)} do(es) worse than its best baseline after the correction ({names})"
        elif self.survivors == 0:
            tail += ": none can be told from its baseline"
        return head + tail

    def leaderboard_rows(self) -> list[dict[str, object]]:
        """One row per configuration, best first: `--json`'s "rows" and leaderboard.csv."""
        return [
            {
                "model": r.model,
                **to_jsonable({k: v for k, v in r.summary.to_dict().items() if k != "sharpe"}),
                "pvalue_adjusted": r.pvalue_adjusted,
                "beats_best": r.beats_best,
                "resumed": r.resumed,
                "seconds": r.seconds,
            }
            for r in self.rows
        ]

    def to_json(self) -> dict[str, object]:
        return {
            "universe": self.universe,
            "target": self.target,
            "adjust": self.adjust,
            "seeds": self.seeds,
            "span": self.span,
            "compared": len(self.rows),
            "survivors": self.survivors,
            "rows": self.leaderboard_rows(),
            "deflated_sharpe": self.deflated.probability,
            "deflated_over": self.deflated.tried,
            "survivorship": to_jsonable(self.survivorship),
            "wall_seconds": self.wall_seconds,
            "verdict": self.verdict(),
            "notes": self.notes,
        }


def adjusted(pvalues: list[float | None], adjust: str) -> list[float | None]:
    return benjamini_hochberg(pvalues) if adjust == "bh" else holm(pvalues)


def sweep_universe(
    store: Store,
    run: RunConfig,
    models: tuple[str, ...],
    parallel: Parallel = Parallel(),
    adjust: str = "bh",
    on_cell: Callable[[str], None] | None = None,
) -> UniverseSweep:
    """Walk universe `run.universe` forward once per model (each with the run's seeds), judge
    each alike, and adjust their tests for their number."""
    store.require_writable()
    assert run.universe is not None
    t0 = time.perf_counter()
    universe = show_universe(store, run.universe)
    panel = build_panel(store, universe)
    base = run.train.replace(threads=0) if parallel.distributed else run.train
    judged: list[tuple[str, WalkSummary, bool, float]] = []
    with held_cluster(parallel):  # one cluster for every model's walk
        for model in models:
            t1 = time.perf_counter()
            summary, resumed = judged_walk(store, panel, universe.name, universe.survivorship,
                                           base.replace(model=model).validate(), run.backtest, "sweep",
                                           parallel)  # fmt: skip
            judged.append((model, summary, resumed, time.perf_counter() - t1))
            if on_cell:
                on_cell(model)
    adj = adjusted([s.dm_pvalue for _, s, _, _ in judged], adjust)
    rows = [
        UniverseRow(model, s, p, s.against_best(p) == "better", resumed, seconds)
        for (model, s, resumed, seconds), p in zip(judged, adj, strict=True)
    ]
    rows.sort(key=lambda r: -np.inf if r.summary.value is None else -r.summary.value)
    span = rows[0].summary.span
    chosen = next((r.summary.sharpe for r in rows if r.summary.sharpe is not None), None)
    notes = [] if universe.survivorship.point_in_time else [universe.survivorship.warning or ""]
    return UniverseSweep(
        universe=universe.name,
        target=run.train.target,
        adjust=adjust,
        seeds=run.backtest.seeds,
        rows=rows,
        span=span,
        deflated=deflate_over_tried(store, universe.name, run.train.target, span, chosen),
        survivorship=universe.survivorship,
        wall_seconds=time.perf_counter() - t0,
        notes=notes,
    )
