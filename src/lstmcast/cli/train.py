"""`lstmcast train`: fit a forecaster and show it beside the baselines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from lstmcast.cli import readings
from lstmcast.cli.common import emit_json, fmt, guarded, interactive, out_console, pct, store_of, warn
from lstmcast.cli.options import Json, run_options
from lstmcast.cli.progress import epoch_progress
from lstmcast.cli.render import metrics_table, verdict, vol_scores_table, vol_sensitivity, vol_verdict
from lstmcast.runconfig import RunConfig
from lstmcast.settings import VOL_LABELS
from lstmcast.target import target_of

if TYPE_CHECKING:
    from lstmcast.data.series import Series
    from lstmcast.store.db import Store
    from lstmcast.training.report import TrainReport


@guarded
@run_options(universe=True)
def train_cli(ctx: typer.Context, run: RunConfig, as_json: Json = False) -> None:
    """Train an LSTM, GRU, RNN or 1D-CNN on a time split and compare it with the baselines.

    Splits train/validation/test in time (80/10/10), scales on the training part only,
    stops early on validation loss, and saves the model under $LSTMCAST_HOME/models/.
    On a universe (a rank or excess target): one network across its members, for
    `forecast --universe`.
    """
    from lstmcast.data.series import load_inputs

    store = store_of(ctx)
    if run.universe is not None:
        _train_universe(store, run, as_json)
        return
    series = load_inputs(store, run.tickers, run.csv, run.train.exog)
    _BY_FAMILY[target_of(run.train.target).family](store, run, series, as_json)


def _train_returns(store: Store, run: RunConfig, series: list[Series], as_json: bool) -> None:
    from lstmcast.jobs.train import train

    label = f"{','.join(s.ticker for s in series)} {run.train.model}"
    with epoch_progress(run.train.epochs, label, enabled=interactive()) as on_epoch:
        report = train(store, run.train, series if len(series) > 1 else series[0], on_epoch)
    for w in report.warnings:
        warn(w)
    if as_json:
        emit_json(report.to_json())
    else:
        render_report(report)


def _train_universe(store: Store, run: RunConfig, as_json: bool) -> None:
    from lstmcast.jobs.universe_train import train_universe

    assert run.universe is not None
    label = f"{run.universe} {run.train.model}"
    with epoch_progress(run.train.epochs, label, enabled=interactive()) as on_epoch:
        report = train_universe(store, run.universe, run.train, on_epoch)
    for w in report.warnings:
        warn(w)
    if as_json:
        emit_json(report.to_json())
        return
    con = out_console()
    r, seg = report, report.segments
    con.print(
        f"[bold]{r.universe}[/bold] {r.model} {r.target}, {r.horizon}-day, window {r.window}: {r.members}"
        f" members, {r.epochs_run} epochs ({r.stopped}, best {r.best_epoch}), {r.train_seconds:.1f}s on"
        f" {r.device}"
    )
    con.print(
        f"train {seg['train'][0]}..{seg['train'][1]}"
        f"  validation {seg['validation'][0]}..{seg['validation'][1]}"
        f"  test {seg['test'][0]}..{seg['test'][1]} ({r.n_test} scores)"
    )
    title, heads, rows = report.held_out.table()
    t = Table(*heads, title=title, title_justify="left")
    for row in rows:
        t.add_row(*row)
    con.print(t)
    con.print(f"model {r.model_id}: {r.verdict()}")


def _train_volatility(store: Store, run: RunConfig, series: list[Series], as_json: bool) -> None:
    from lstmcast.jobs.train import train_volatility_model

    if len(series) > 1:
        raise typer.BadParameter("--target volatility trains one ticker at a time (no global model yet)")
    report = train_volatility_model(store, run.train, series[0])
    for w in report.warnings:
        warn(w)
    if as_json:
        emit_json(report.to_json())
        return
    con = out_console()
    r, seg, scores = report, report.segments, report.scores
    con.print(
        f"[bold]{r.ticker}[/bold] {r.model} on volatility ({r.proxy} proxy), window {r.window},"
        f" {r.horizon}-day average variance: {r.epochs_run} epochs ({r.stopped}, best {r.best_epoch}),"
        f" {r.train_seconds:.1f}s"
    )
    val, test = seg["validation"], seg["test"]
    con.print(
        f"train {seg['train'][0]}..{seg['train'][1]}  validation {val[0]}..{val[1]}"
        f"  test {test[0]}..{test[1]} ({r.n_test} forecasts)"
    )
    used = VOL_LABELS[scores.benchmark]
    t = vol_scores_table(
        scores,
        r.annualised,
        r.model,
        f"test segment; skill: 1 - QLIKE / QLIKE of {used} (the benchmark), the leverage HAR or naive",
        var=True,
    )
    con.print(t)
    for line in readings.far_off(scores, r.annualised, VOL_LABELS, used):
        con.print(f"  note: {line}")
    con.print(f"model {r.model_id}: {vol_verdict(scores)}")
    for line in vol_sensitivity(scores):
        con.print(f"  {line}")


def render_report(report: TrainReport) -> None:
    con = out_console()
    seg = report.segments
    con.print(
        f"[bold]{report.ticker}[/bold] {report.model} on {report.target}, window {report.window},"
        f" horizon {report.horizon}: {report.epochs_run} epochs ({report.stopped}, best {report.best_epoch}),"
        f" {report.train_seconds:.1f}s on {report.device}"
    )
    con.print(
        f"train {seg['train'][0]}..{seg['train'][1]}"
        f"  validation {seg['validation'][0]}..{seg['validation'][1]}"
        f"  test {seg['test'][0]}..{seg['test'][1]}"
    )
    if report.by_ticker:
        t = Table(
            "ticker",
            "test period",
            "MAE model",
            "MAE naive",
            "skill vs naive",
            "dir. acc",
            "DM p",
            title="global model, per ticker",
            title_justify="left",
        )
        for name, m in report.by_ticker.items():
            model, naive = m.test["model"], m.test["naive"]
            t.add_row(
                name,
                "..".join(m.segments["test"]),
                fmt(model.mae, 5),
                fmt(naive.mae, 5),
                pct(model.skill_vs_naive, 2),
                pct(model.directional_accuracy).lstrip("+"),
                fmt(m.dm_pvalue, 3),
            )
        con.print(t)
    title = "test segment, all tickers pooled" if report.by_ticker else "test segment"
    con.print(metrics_table(title, report.test, report.test_price, report.target))
    if report.per_step:
        t = Table("step", "MAE model", "MAE naive", "skill vs naive", title="per step", title_justify="left")
        for s in report.per_step:
            t.add_row(str(s["step"]), fmt(s["mae"], 5), fmt(s["naive_mae"], 5), pct(s["skill_vs_naive"], 2))
        con.print(t)
    con.print(f"model {report.model_id}: {verdict(report.verdict)}")


# One ticker's training per family of target (a panel target trains across a universe only).
_BY_FAMILY = {"return": _train_returns, "volatility": _train_volatility}
