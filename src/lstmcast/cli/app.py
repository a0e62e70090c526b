"""The `lstmcast` Typer application: global options and one sub-command per file."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from lstmcast import __version__
from lstmcast.cli.audit import audit_cli
from lstmcast.cli.backtest import backtest_cli
from lstmcast.cli.daily import cron_cli, daily_cli
from lstmcast.cli.data import data_app
from lstmcast.cli.fetch import fetch_cli
from lstmcast.cli.finetune import finetune_cli
from lstmcast.cli.forecast import forecast_cli
from lstmcast.cli.helptext import TidyGroup
from lstmcast.cli.import_ import import_cli
from lstmcast.cli.ledger import ledger_cli
from lstmcast.cli.models import models_app
from lstmcast.cli.sweep import sweep_cli, sweeps_app
from lstmcast.cli.train import train_cli
from lstmcast.cli.tune import tune_cli, tunes_app

app = typer.Typer(
    name="lstmcast",
    cls=TidyGroup,
    help="Honest daily stock forecasts: LSTM, GRU, RNN and 1D-CNN, always next to the random walk.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"lstmcast {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: Annotated[
        str | None,
        typer.Option(
            help="Data dir (default: $LSTMCAST_HOME or the platform's user data dir).", show_default=False
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Honest daily stock forecasts: LSTM, GRU, RNN and 1D-CNN, always next to the random walk."""
    ctx.obj = {"home": home}


app.command("fetch")(fetch_cli)
app.command("import")(import_cli)
app.add_typer(data_app, name="data")
app.command("train")(train_cli)
app.add_typer(models_app, name="models")
app.command("backtest")(backtest_cli)
app.command("audit")(audit_cli)
app.command("sweep")(sweep_cli)
app.add_typer(sweeps_app, name="sweeps")
app.command("tune")(tune_cli)
app.add_typer(tunes_app, name="tunes")
app.command("finetune")(finetune_cli)
app.command("forecast")(forecast_cli)
app.command("ledger")(ledger_cli)
app.command("daily")(daily_cli)
app.command("cron")(cron_cli)


def main() -> None:
    """Console entry point: no traceback for the user unless LSTMCAST_DEBUG is set."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:  # last line of defence: one line, exit 1
        if os.environ.get("LSTMCAST_DEBUG"):
            raise
        sys.stderr.write(
            f"error: unexpected {type(exc).__name__}: {exc} (set LSTMCAST_DEBUG=1 for details)\n"
        )
        sys.exit(1)
