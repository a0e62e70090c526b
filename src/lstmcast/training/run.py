"""`train`: fit one forecaster on a leak-free split and judge it on the test segment.

`run_training(config, series)` is pure (no I/O); `train(store, ...)` adds saving and the run record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.errors import DataError
from lstmcast.evaluation.metrics import Metrics
from lstmcast.evaluation.scoring import (
    BlockForecasts,
    Scores,
    actuals,
    baseline_forecasts,
    dm_vs_naive,
    har_sigma,
    naive_scale,
    origin_sigma,
    score_block,
    to_price,
    tracks_previous_value,
)
from lstmcast.evaluation.verdict import Verdict, judge
from lstmcast.evaluation.volatility import annualised
from lstmcast.prep.dataset import Frame, Segments
from lstmcast.store.db import Store
from lstmcast.training.fitted import Fitted, fit_forecaster
from lstmcast.training.inputs import frame_for, split_for
from lstmcast.training.loop import EpochLog


@dataclass
class Trained:
    """Everything a training run produced, in memory."""

    ticker: str
    config: TrainConfig
    frame: Frame
    segments: Segments
    fitted: Fitted
    scores: Scores
    residuals: list[np.ndarray]  # per step: log(actual/forecast) at validation and test origins
    dm_pvalue: float | None = None  # Diebold-Mariano, model vs naive on the test segment's paths
    warnings: list[str] = field(default_factory=list)
    block: BlockForecasts | None = None  # the test forecasts of the model and each baseline
    scores_scaled: list[np.ndarray] = field(default_factory=list)  # residuals / EWMA vol at origin
    scores_vol: list[np.ndarray] = field(default_factory=list)  # residuals / HAR vol at origin

    def truth(self) -> np.ndarray:
        """(N, H) what happened after each test origin, target units."""
        assert self.block is not None
        return actuals(self.frame, self.block.at, self.config.horizon)[0]

    def verdict(self) -> Verdict | None:
        return judge(self.block.by_name, self.truth()) if self.block is not None else None

    def segment_dates(self) -> dict[str, list[str]]:
        d = self.frame.dates
        s = self.segments

        def day(i: int) -> str:
            return str(d[i].date())

        return {
            "train": [day(0), day(s.train_end - 1)],
            "validation": [day(s.train_end), day(s.val_end - 1)],
            "test": [day(s.val_end), day(s.n - 1)],
        }


def run_training(
    config: TrainConfig,
    series: Series,
    on_epoch: Callable[[EpochLog], None] | None = None,
    init: Fitted | None = None,
    lr: float | None = None,
    freeze_encoder: bool = False,
) -> Trained:
    """Fit on train (early stopping on validation), then forecast every test origin."""
    config.validate().returns_only("this training path (train_volatility_model)")
    frame = frame_for(config, series.bars, series.exog, series.ticker)
    seg = split_for(config, frame, series.ticker)
    fitted = fit_forecaster(config, frame, seg.train_end, seg.val_end, on_epoch, init, lr, freeze_encoder)
    return evaluate_fitted(series.ticker, config, frame, seg, fitted)


def evaluate_fitted(ticker: str, config: TrainConfig, frame: Frame, seg: Segments, fitted: Fitted) -> Trained:
    o = seg.origins(config.window, config.horizon)
    test_at = o["test"]
    preds = baseline_forecasts(
        frame, test_at, config.horizon, config.window, o["train"], seg.train_end, fitted.scaler
    )
    y_model = fitted.predict(frame, test_at)
    block = BlockForecasts(
        test_at, {"model": y_model, **preds}, scale=naive_scale(frame, 0, seg.train_end, len(test_at))
    )
    scores = score_block(frame, block)
    # Out-of-sample errors for the forecast intervals, at every step a forecast may ask for.
    oos_at = np.concatenate([o["val"], test_at])
    residuals = out_of_sample_residuals(frame, fitted, oos_at)
    sigma = origin_sigma(frame, oos_at)
    scaled = [r / sigma[: len(r)] for r in residuals]  # step k keeps the first origins with a k-th bar
    # The same errors over HAR's volatility at each origin (HAR fitted on training rows): the
    # pool `--intervals vol` draws on.
    har = har_sigma(frame, oos_at, seg.train_end)
    by_har = [r / har[: len(r)] for r in residuals]
    warnings = list(frame.notes)
    if tracks_previous_value(frame, test_at, y_model):
        warnings.append(
            "the model's price forecasts sit closer to the previous price than to the actual one:"
            " it mostly copies yesterday's price (compare with naive, which does exactly that)"
        )
    _, dm_p = dm_vs_naive(frame, block)  # on the whole path: the verdict's one test
    skill = scores.target["model"].skill_vs_naive
    if np.isfinite(skill) and skill <= 0:
        warnings.append(
            f"no skill: the model does worse than the random walk on the test segment ({skill:+.1%})"
        )
    dm = None if np.isnan(dm_p) else float(dm_p)
    return Trained(ticker, config, frame, seg, fitted, scores, residuals, dm, warnings, block, scaled, by_har)


# A one-step model forecasts further by feeding its forecasts back in; it is evaluated out of
# sample that far at training time, and `forecast` refuses horizons it was not evaluated at.
EXTENDED_STEPS = 20  # about a trading month


def out_of_sample_residuals(frame: Frame, fitted: Fitted, at: np.ndarray) -> list[np.ndarray]:
    """Per step k, log(actual / forecast price) k bars after each origin in `at` that has a
    k-th bar: the errors the forecast intervals come from. A one-step model is run as a
    recursive one out to EXTENDED_STEPS, so its longer horizons are measured, not assumed."""
    cfg = fitted.config
    if cfg.horizon == 1 and cfg.decoder != "seq2seq":
        fitted = fitted.replace(config=cfg.replace(decoder="recursive", horizon=EXTENDED_STEPS))
    steps = fitted.config.horizon
    paths = to_price(frame, at, fitted.predict(frame, at))  # (N, steps)
    out = []
    for k in range(steps):
        ok = at + k + 1 <= frame.n - 1
        out.append(np.log(frame.price[at[ok] + k + 1] / paths[ok, k]))
    return out


@dataclass
class TrainReport:
    """What `lstmcast train --json` prints; keys here are a contract with scripts."""

    model_id: str
    ticker: str
    model: str
    target: str
    window: int
    horizon: int
    epochs_run: int
    best_epoch: int
    stopped: str
    train_seconds: float
    device: str
    segments: dict[str, list[str]]
    test: dict[str, Metrics]
    test_price: dict[str, Metrics]
    dm_pvalue: float | None
    per_step: list[dict[str, float | None]]
    warnings: list[str]
    path: str
    history: list[dict[str, float]] = field(default_factory=list)
    by_ticker: dict[str, dict[str, Any]] = field(default_factory=dict)  # global models: each member
    verdict: dict[str, Any] | None = None  # against the random walk and the best baseline


def report_of(trained: Trained, model_id: str, path: Path) -> TrainReport:
    out = trained.fitted.outcome
    assert out is not None
    cfg = trained.config
    return TrainReport(
        model_id,
        trained.ticker,
        cfg.model,
        cfg.target,
        cfg.window,
        cfg.horizon,
        len(out.history),
        out.best_epoch,
        out.stopped,
        round(out.seconds, 3),
        trained.fitted.device,
        trained.segment_dates(),
        trained.scores.target,
        trained.scores.price,
        trained.dm_pvalue,
        trained.scores.per_step,
        trained.warnings,
        str(path),
        [dataclasses.asdict(h) for h in out.history],
        verdict=_verdict_json(trained.verdict()),
    )


def _verdict_json(v: Verdict | None) -> dict[str, Any] | None:
    return v.to_json() if v is not None else None


def pooled_verdict(members: list[Trained]) -> Verdict | None:
    """A global model's verdict over every member's test origins together."""
    blocks = [m.block for m in members if m.block is not None]
    if len(blocks) != len(members):
        return None
    names = blocks[0].by_name
    preds = {k: np.concatenate([b.by_name[k] for b in blocks]) for k in names}
    return judge(preds, np.concatenate([m.truth() for m in members]))


@dataclass
class GlobalTrained:
    """A global model's run: one network, every member evaluated on its own test segment."""

    config: TrainConfig
    members: list[Trained]
    pooled: Scores

    @property
    def tickers(self) -> list[str]:
        return [m.ticker for m in self.members]


def run_global_training(
    config: TrainConfig, series: list[Series], on_epoch: Callable[[EpochLog], None] | None = None
) -> GlobalTrained:
    """One network over all `series`, split at the same dates, each ticker scaled on its own."""
    config.returns_only("a global model")
    from lstmcast.training.pooled import (
        check_members,
        fit_global,
        members_at,
        pool_blocks,
        split_dates,
        view_for,
    )

    config.validate()
    tickers = [s.ticker for s in series]
    if config.ticker_embedding:
        config = config.replace(embedding_tickers=tuple(tickers))
    frames = check_members(config, series)
    val_start, test_start = split_dates(list(frames.values()), config.val_frac, config.test_frac)
    members = members_at(frames, val_start, test_start)
    for m in members:
        o = m.segments.origins(config.window, config.horizon)
        if min(len(o["train"]), len(o["val"]), len(o["test"])) < 20:
            raise DataError(
                f"{m.ticker} has too few bars before or after the common split dates {val_start.date()}"
                f" and {test_start.date()}; train it on its own or with tickers of similar history"
            )
    scalers, fitted = fit_global(config, members, on_epoch)
    trained = [
        evaluate_fitted(m.ticker, config, m.frame, m.segments, view_for(fitted, scalers, tickers, m.ticker))
        for m in members
    ]
    pooled = pool_blocks([(t.frame, t.block) for t in trained if t.block is not None])
    return GlobalTrained(config, trained, pooled)


def train(
    store: Store,
    config: TrainConfig,
    series: Series | list[Series],
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> TrainReport:
    """Train (one ticker, or a global model over several), save under `<home>/models/<id>/`,
    record the run, and report."""
    from lstmcast.training.registry import save_trained

    store.require_writable()
    many = series if isinstance(series, list) else [series]
    if len(many) == 1:
        trained = run_training(config, many[0], on_epoch)
        model_id, path = save_trained(store, [trained], trained.scores, many[0].origin)
        return report_of(trained, model_id, path)
    g = run_global_training(config, many, on_epoch)
    model_id, path = save_trained(store, g.members, g.pooled, "store")
    report = report_of(g.members[0], model_id, path)
    report.ticker = ",".join(g.tickers)
    report.test, report.test_price, report.per_step = g.pooled.target, g.pooled.price, g.pooled.per_step
    report.dm_pvalue = None
    report.verdict = _verdict_json(pooled_verdict(g.members))
    report.warnings = [f"{m.ticker}: {w}" for m in g.members for w in m.warnings]
    report.by_ticker = {
        m.ticker: {
            "test": m.scores.target,
            "test_price": m.scores.price,
            "dm_pvalue": m.dm_pvalue,
            "segments": m.segment_dates(),
        }
        for m in g.members
    }
    return report


def train_volatility_model(store: Store, config: TrainConfig, series: Series) -> dict[str, Any]:
    """`train --target volatility`: fit, judge against HAR on the test segment, save; the report."""
    from lstmcast.training.registry import save_volatility
    from lstmcast.training.volatility import train_volatility

    store.require_writable()
    trained = train_volatility(config, series)
    model_id, path = save_volatility(store, trained, series.origin)
    out = trained.net.outcome
    scores = trained.scores()
    return {
        "model_id": model_id,
        "ticker": trained.ticker,
        "model": config.model,
        "target": "volatility",
        "window": config.window,
        "horizon": config.horizon,
        "epochs_run": len(out.history),
        "best_epoch": out.best_epoch,
        "stopped": out.stopped,
        "train_seconds": round(out.seconds, 3),
        "segments": trained.segment_dates(),
        "n_test": len(trained.at),
        "volatility": {
            **scores,
            "annualised": {n: float(annualised(np.mean(f))) for n, f in trained.fits.forecasts.items()},
        },
        "warnings": trained.warnings,
        "path": str(path),
    }
