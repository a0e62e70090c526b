"""`lstmcast daily` and `lstmcast cron`: the unattended evening job and its crontab line."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lstmcast.cli.common import emit_json, err_console, guarded, home_of, out_console


@guarded
def daily_cli(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option(help="Watchlist TOML. [default: $LSTMCAST_HOME/daily.toml]")
    ] = None,
    init: Annotated[bool, typer.Option("--init", help="Write a commented example config and exit.")] = False,
    log_file: Annotated[
        Path | None, typer.Option(help="Append the summary here instead of printing it.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing when all went well.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Fetch new bars, retrain stale models, forecast and log, for every ticker in the watchlist.

    Exit 0 when all went well (also when there was no new bar), 1 when something failed for
    good, 75 when something should be retried (network, rate limit, another run holding the lock).
    """
    from lstmcast.config import DAILY_CONFIG
    from lstmcast.jobs.daily import daily, init_config

    home = home_of(ctx)
    if init:
        path = init_config(config or home / DAILY_CONFIG)
        out_console().print(f"wrote {path}; edit it, then run `lstmcast daily` (or see `lstmcast cron`)")
        return
    report = daily(home, config)
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    lines = [
        f"{stamp} {t.ticker} {t.status}"
        + (f" {t.next_date} {t.next_price:.4f}" if t.next_price else "")
        + (f" ({t.detail})" if t.detail else "")
        for t in report.tickers
    ]
    for t in report.tickers:
        if t.exit_code:
            err_console().print(f"[red]error:[/red] {t.ticker}: {t.detail}", soft_wrap=True)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("a") as fh:
            fh.write("\n".join(lines) + f"\n{stamp} exit {report.exit_code}\n")
    elif as_json:
        emit_json({"exit_code": report.exit_code, "tickers": report.tickers})
    elif not quiet or report.exit_code:
        table = Table("ticker", "status", "as of", "next", "forecast", "model", "detail", title="daily")
        for t in report.tickers:
            table.add_row(
                t.ticker,
                t.status,
                t.as_of or "–",
                t.next_date or "–",
                f"{t.next_price:,.2f}" if t.next_price else "–",
                t.model_id or "–",
                t.detail,
            )
        out_console().print(table)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


@guarded
def cron_cli(ctx: typer.Context) -> None:
    """Print a ready crontab line for `lstmcast daily` (absolute paths, time-zone note)."""
    from lstmcast.jobs.schedule import cron_lines

    typer.echo("\n".join(cron_lines(home_of(ctx))))  # never wrapped: crontab lines must stay whole
