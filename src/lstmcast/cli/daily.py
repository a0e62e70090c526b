"""`lstmcast daily` and `lstmcast cron`: the unattended evening job and its crontab line."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lstmcast.cli.common import (
    emit_json,
    error,
    exit_code_for,
    guarded,
    home_of,
    info,
    interactive,
    out_console,
    store_of,
    warn,
    worst_exit,
)
from lstmcast.cli.options import Cluster, ClusterSecurity, Json, Workers, parallel_of
from lstmcast.errors import LstmcastError
from lstmcast.paths import append_text, check_output

if TYPE_CHECKING:
    from lstmcast.jobs.daily import DailyReport, TickerRun


def _stamp() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _log(path: Path | None, lines: list[str], code: int) -> None:
    """Append the run's lines and its exit code: every run leaves a trace, even one that failed at once."""
    if path is None:
        return
    append_text(path, "".join(f"{line}\n" for line in lines) + f"{_stamp()} exit {code}\n")


@guarded
def daily_cli(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(help="Watchlist TOML (default: $LSTMCAST_HOME/daily.toml).", show_default=False),
    ] = None,
    init: Annotated[bool, typer.Option("--init", help="Write a commented example config and exit.")] = False,
    log_file: Annotated[
        Path | None, typer.Option(help="Append the summary and the exit code here.", show_default=False)
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print no table; errors still go to stderr (as cron runs it)."),
    ] = False,
    workers: Workers = 1,  # fetching stays in this process
    cluster: Cluster = None,
    cluster_security: ClusterSecurity = None,
    as_json: Json = False,
) -> None:
    """Fetch new bars, retrain stale models, forecast and log, for every ticker in the watchlist.

    Exit 0 when all went well (also when there was no new bar), 1 when something failed for
    good, 75 when something should be retried (network, rate limit, another run holding the lock).
    """
    from lstmcast.jobs.daily import daily
    from lstmcast.jobs.watchlist import DAILY_CONFIG, init_config

    if init:
        path = init_config(config or home_of(ctx) / DAILY_CONFIG)
        if as_json:
            emit_json({"wrote": str(path)})
            return
        out_console().print(f"wrote {path}; edit it, then run `lstmcast daily` (or see `lstmcast cron`)")
        return
    if log_file is not None:
        check_output(log_file)  # a bad log path is refused before the night's work
    try:
        # At a terminal, one line per entry as it goes: a night's run is never silent there.
        on_step = info if interactive() and not quiet and not as_json else None
        report = daily(
            store_of(ctx),
            config,
            parallel=parallel_of(ctx, workers, cluster, cluster_security),
            on_step=on_step,
        )
    except Exception as exc:  # before any ticker ran: a broken watchlist, an unusable store
        try:
            _log(log_file, [f"{_stamp()} error: {exc}"], exit_code_for(exc))
        except LstmcastError as unlogged:  # the run's own error first, in one line, its exit code kept
            if isinstance(exc, LstmcastError):
                raise type(exc)(f"{exc}; the log was not written either: {unlogged}") from None
            warn(str(unlogged))
        raise
    code = worst_exit(report.errors)
    for t in report.tickers:
        for e in t.errors:  # what went wrong only: the entry's other news is in the table and the log
            said = str(e)
            error(said if said.startswith(f"{t.ticker}:") else f"{t.ticker}: {said}")
    _log(log_file, [_line(t) for t in report.tickers], code)
    render_daily(report, as_json, quiet=quiet, code=code)  # --quiet (as cron runs it) prints nothing
    if code:
        raise typer.Exit(code)


def _forecast(t: TickerRun) -> str:
    """The next forecast: a price, or for a volatility entry its annualised volatility."""
    if t.universe:
        return "ranking" if t.next_date else "–"
    if t.next_volatility:
        return f"vol {t.next_volatility:.1f}%"
    return f"{t.next_price:,.2f}" if t.next_price else "–"


def _entry(t: TickerRun) -> str:
    """A run's name: the ticker (or universe), its model, and what it forecasts."""
    if t.universe:
        return f"universe {t.universe} {t.model} ({t.target})"
    from lstmcast.jobs.watchlist import family_named

    named = family_named(t.target)
    return t.ticker + (f" {t.model}" if t.model else "") + (f" ({named})" if named else "")


def _line(t: TickerRun) -> str:
    forecast = f" {t.next_date} {_forecast(t)}" if t.next_price or t.next_volatility else ""
    return f"{_stamp()} {t.ticker} {t.status}{forecast}" + (f" ({t.detail})" if t.detail else "")


def render_daily(report: DailyReport, as_json: bool, quiet: bool, code: int) -> None:
    if as_json:
        emit_json({"exit_code": code, "tickers": report.tickers})
        return
    if quiet:  # errors went to stderr already; cron mails whatever is printed
        return
    table = Table("ticker", "status", "as of", "next", "forecast", "model", "detail", title="daily")
    for t in report.tickers:
        table.add_row(
            _entry(t),
            t.status,
            t.as_of or "–",
            t.next_date or "–",
            _forecast(t),
            t.model_id or "–",
            escape(t.detail),
        )
    out_console().print(table)


@guarded
def cron_cli(ctx: typer.Context, as_json: Json = False) -> None:
    """Print a ready crontab line for `lstmcast daily` (absolute paths, time-zone note)."""
    from lstmcast.jobs.schedule import CRON_TZ, cron_lines

    lines = cron_lines(home_of(ctx))
    if as_json:
        emit_json(
            {
                "line": lines[-1],
                "cron_tz": CRON_TZ,
                "comments": [x for x in lines if x.startswith("#")],
                "crontab": "\n".join(lines) + "\n",
            }
        )
        return
    typer.echo("\n".join(lines))  # never wrapped: crontab lines must stay whole
