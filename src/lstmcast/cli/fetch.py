"""`lstmcast fetch`: download daily bars from Yahoo Finance into the store."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lstmcast.cli.common import emit_json, error, guarded, out_console, store_of, worst_exit
from lstmcast.cli.options import Json

if TYPE_CHECKING:
    from lstmcast.data.ingest import FetchReport


def _parse_day(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2024-01-31", param_hint=name) from None


@guarded
def fetch_cli(
    ctx: typer.Context,
    tickers: Annotated[list[str], typer.Argument(help="One or more tickers, e.g. AAPL MSFT ^GSPC.")],
    start: Annotated[
        str | None,
        typer.Option(
            help="First date (YYYY-MM-DD). Default: everything, or shortly before the last stored bar."
        ),
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last date, inclusive (YYYY-MM-DD). Default: today.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Download daily prices (OHLC, adjusted close, volume) from Yahoo Finance.

    Incremental: with data stored, only recent bars are asked for; a revised adjusted
    close (new split or dividend) triggers a full re-download. Exit 75 when a retry may help.
    """
    from lstmcast.data.ingest import fetch

    s, e = _parse_day(start, "--start"), _parse_day(end, "--end")
    report = fetch(store_of(ctx), tickers, s.date() if s else None, e.date() if e else None)
    for err in report.errors:
        error(str(err))
    code = worst_exit(report.errors)
    if as_json:
        emit_json({"exit_code": code, "tickers": report.outcomes})
    else:
        render_fetch(report)
    if code:
        raise typer.Exit(code)


def render_fetch(report: FetchReport) -> None:
    table = Table("ticker", "result", "range", "new", "revised", "unchanged", title="fetch")
    for o in report.outcomes:
        if o.error or o.stats is None:
            table.add_row(o.ticker, "[red]failed[/red]", "–", "–", "–", "–")
            continue
        result = "updated" if o.stats.changed else "nothing new"
        if o.revised_history:
            result += " (history revised)"
        table.add_row(
            o.ticker,
            result,
            f"{o.start} .. {o.end}",
            str(o.stats.new),
            str(o.stats.revised),
            str(o.stats.unchanged),
        )
    out_console().print(table)
