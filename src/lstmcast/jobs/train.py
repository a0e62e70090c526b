"""Training and fine-tuning that save: fit (training/), then write the model and its record.

`training/` fits and scores and never writes, and `registry/` only stores; these use cases
join them, through `registry.saved`, for `train` and `finetune`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lstmcast.config import FINETUNE_LR, TrainConfig
from lstmcast.data.series import Series
from lstmcast.evaluation import volatility as V
from lstmcast.evaluation.metrics import Metrics
from lstmcast.evaluation.volatility import annualised
from lstmcast.inference.volatility import VolHead
from lstmcast.registry.saved import LoadedModel, save_trained, save_volatility
from lstmcast.store.db import Store
from lstmcast.training.finetune import finetune_volatility, prepare_finetune, run_finetune
from lstmcast.training.loop import keep_best_on_interrupt
from lstmcast.training.report import (
    MemberReport,
    QlikeRow,
    TrainReport,
    VolatilityFinetuneReport,
    VolatilityTrainReport,
    report_of,
)
from lstmcast.training.run import fit_members
from lstmcast.training.scores import pooled_verdict
from lstmcast.training.volatility import train_volatility
from lstmcast.training.watch import EpochLog


@dataclass
class FinetuneReport:
    model_id: str
    parent: str
    ticker: str
    lr: float
    freeze: str
    epochs_run: int
    test: dict[str, Metrics]  # before (parent as is), after, scratch, naive, drift, linear
    dm_pvalue: dict[str, float | None]
    segments: dict[str, list[str]]
    path: str
    warnings: list[str]


def train(
    store: Store,
    config: TrainConfig,
    series: Series | list[Series],
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> TrainReport:
    """Train (one ticker, or a global model over several), save under `<home>/models/<id>/`,
    record the run, and report."""
    from lstmcast.registry.saved import save_trained

    store.require_writable()
    with keep_best_on_interrupt():  # Ctrl-C saves the best epoch so far
        members, scores, origin = fit_members(
            config, series if isinstance(series, list) else [series], on_epoch
        )
    model_id, path = save_trained(store, members, scores, origin)
    report = report_of(members[0], model_id, path)
    if len(members) == 1:
        return report
    report.ticker = ",".join(m.ticker for m in members)
    report.test, report.test_price, report.per_step = scores.target, scores.price, scores.per_step
    report.dm_pvalue = None
    report.verdict = pooled_verdict(members)
    report.warnings = [f"{m.ticker}: {w}" for m in members for w in m.warnings]
    report.by_ticker = {
        m.ticker: MemberReport(m.scores.target, m.scores.price, m.dm_pvalue, m.segment_dates())
        for m in members
    }
    return report


def train_volatility_model(store: Store, config: TrainConfig, series: Series) -> VolatilityTrainReport:
    """`train --target volatility`: fit, judge against HAR on the test segment, save; the report."""
    from lstmcast.registry.saved import save_volatility

    store.require_writable()
    with keep_best_on_interrupt():
        trained = train_volatility(config, series)
    model_id, path = save_volatility(store, trained, series.origin)
    out = trained.net.outcome
    return VolatilityTrainReport(
        model_id=model_id,
        ticker=trained.ticker,
        model=config.model,
        target=config.target,
        window=config.window,
        horizon=config.horizon,
        epochs_run=len(out.history),
        best_epoch=out.best_epoch,
        stopped=out.stopped,
        train_seconds=round(out.seconds, 3),
        segments=trained.segment_dates(),
        n_test=len(trained.at),
        proxy=trained.proxy,
        stale_opens=trained.stale,
        scores=trained.scored,
        annualised={n: float(annualised(np.mean(f))) for n, f in trained.fits.forecasts.items()},
        warnings=trained.warnings,
        path=str(path),
    )


def finetune(
    store: Store,
    parent: LoadedModel,
    series: Series,
    lr: float = FINETUNE_LR,
    freeze: str = "none",
    epochs: int | None = None,
    on_epoch: Callable[[EpochLog], None] | None = None,
    allow_overlap: bool = False,
) -> FinetuneReport:
    store.require_writable()
    parent_id = parent.id
    with keep_best_on_interrupt():
        before, after, scratch = run_finetune(parent, series, lr, freeze, epochs, on_epoch, allow_overlap)
    model_id, path = save_trained(store, [after], after.scores, series.origin, parent=parent_id)
    t = after.scores.target
    test = {
        "before": before.scores.target["model"],
        "after": t["model"],
        "scratch": scratch.scores.target["model"],
        "naive": t["naive"],
        "drift": t["drift"],
        "linear": t["linear"],
    }
    dm = {"before": before.dm_pvalue, "after": after.dm_pvalue, "scratch": scratch.dm_pvalue}
    out = after.fitted.outcome
    return FinetuneReport(
        model_id=model_id,
        parent=parent_id,
        ticker=series.ticker,
        lr=lr,
        freeze=freeze,
        epochs_run=len(out.history) if out else 0,
        test=test,
        dm_pvalue=dm,
        segments=after.segment_dates(),
        path=str(path),
        warnings=after.warnings,
    )


def finetune_volatility_model(
    store: Store,
    parent: LoadedModel,
    series: Series,
    lr: float = FINETUNE_LR,
    freeze: str = "none",
    epochs: int | None = None,
    allow_overlap: bool = False,
) -> VolatilityFinetuneReport:
    """`finetune` of a volatility model: the parent as is, fine-tuned, and trained from scratch
    on TICKER's split, each against log-HAR in QLIKE; the fine-tuned one is saved."""
    store.require_writable()
    cfg, _, _, _, overlap = prepare_finetune(parent, series, freeze, epochs, allow_overlap)
    state = parent.fitted.state  # type: ignore[union-attr]
    head = VolHead.from_dict(parent.manifest["volatility"]["head"])
    with keep_best_on_interrupt():
        others, after = finetune_volatility(cfg, state, head, series, lr, freeze == "encoder")
    model_id, path = save_volatility(store, after, series.origin, parent=parent.id)
    f = after.fits.forecasts
    stronger, realised, h = f[V.BENCHMARK], after.realised, cfg.horizon
    reference = float(np.mean(V.qlike(stronger, realised)))
    rows: dict[str, QlikeRow] = {}
    for name, forecast in (
        ("before", others["before"]),
        ("after", f["model"]),
        ("scratch", others["scratch"]),
    ):
        q = float(np.mean(V.qlike(forecast, realised)))
        _, p = V.dm_qlike(forecast, stronger, realised, h)
        rows[name] = QlikeRow(q, 1 - q / reference, None if p != p else p)
    for name in V.VOL_BASELINES:
        q = float(np.mean(V.qlike(f[name], realised)))
        rows[name] = QlikeRow(q, 1 - q / reference, None)
    return VolatilityFinetuneReport(
        model_id=model_id,
        parent=parent.id,
        ticker=series.ticker,
        target=cfg.target,
        lr=lr,
        freeze=freeze,
        benchmark=V.BENCHMARK,
        test=rows,
        segments=after.segment_dates(),
        path=str(path),
        warnings=[*overlap, *after.warnings],
    )
