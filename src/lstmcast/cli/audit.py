"""`lstmcast audit`: the leakage check, fold by fold, for returns and for volatility."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from lstmcast.cli.common import emit_json, fail, guarded, interactive, out_console, store_of
from lstmcast.cli.options import Json, run_options
from lstmcast.cli.progress import fold_progress
from lstmcast.runconfig import RunConfig

if TYPE_CHECKING:
    from lstmcast.backtest.audit import AuditReport

# What decides the fits, and the interval method whose interval at each cutoff is audited.
AUDIT_OPTIONS = ("folds", "test_size", "start", "scheme", "train_size", "intervals")


@guarded
@run_options(backtest=AUDIT_OPTIONS, universe=True)
def audit_cli(ctx: typer.Context, run: RunConfig, as_json: Json = False) -> None:
    """Check the walk-forward for look-ahead: refit each fold with the future replaced by noise.

    Exit 0 when scaler statistics, weights and the forecast at each cutoff (for volatility
    also the proxy, the HARs and the VaR quantiles) are identical; exit 1 naming the fold and
    what changed when a leak is found.
    """
    from lstmcast.data.series import load_inputs

    if run.universe is not None:
        _audit_universe(ctx, run, as_json)
        return

    from lstmcast.backtest.audit import audit

    series = load_inputs(store_of(ctx), run.tickers[:1], run.csv, run.train.exog)[0]
    with fold_progress(f"audit {series.ticker}", interactive()) as on_fold:
        report = audit(run.train, run.backtest, series, on_fold=on_fold)
    if as_json:
        emit_json(report.to_json())
    else:
        render_audit(report)
    if not report.clean:
        raise fail("; ".join(report.leaks))


def _audit_universe(ctx: typer.Context, run: RunConfig, as_json: bool) -> None:
    from lstmcast.backtest.panel_audit import panel_audit

    assert run.universe is not None
    with fold_progress(f"audit {run.universe}", interactive()) as on_fold:
        report = panel_audit(store_of(ctx), run.universe, run.train, run.backtest, on_fold)
    if as_json:
        emit_json({"universe": report.universe, "clean": report.clean, "folds": report.folds,
                   "leaks": report.leaks})  # fmt: skip
    else:
        t = Table("fold", "real to", "noise in", "inputs", "weights", "scores",
                  title=f"{report.universe} leakage audit, universe", title_justify="left")  # fmt: skip
        for f in report.folds:
            t.add_row(str(f.fold), f.cutoff, f.noised, _ok(f.inputs_identical), _ok(f.weights_identical),
                      _ok(f.scores_identical))  # fmt: skip
        out_console().print(t)
        out_console().print(
            "clean: nothing after a cutoff reached what was fitted before it, in one member or across them"
            if report.clean
            else "[red]leak found[/red]"
        )
    if not report.clean:
        raise fail("; ".join(report.leaks))


def _ok(b: bool) -> str:
    return "[green]identical[/green]" if b else "[red]CHANGED[/red]"


def render_audit(report: AuditReport) -> None:
    """One row per fold, one column per check the target's fits are audited on."""
    t = Table(
        "fold", "noise from", *(c.heading for c in report.checks), title=f"{report.ticker} {report.title}"
    )
    for f in report.folds:
        t.add_row(str(f.fold), f.cutoff, *(_ok(f.identical[c.key]) for c in report.checks))
    out_console().print(t)
    out_console().print(
        "clean: nothing after a cutoff reached what was fitted before it"
        if report.clean
        else "[red]leak found[/red]"
    )
