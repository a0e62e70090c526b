"""`lstmcast fetch`: download daily bars from Yahoo Finance into the store."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lstmcast.cli.common import emit_json, error, guarded, out_console, store_of, warn, worst_exit
from lstmcast.cli.options import Json
from lstmcast.errors import ConfigError

if TYPE_CHECKING:
    from lstmcast.data.ingest import FetchOutcome


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
    tickers: Annotated[
        list[str] | None,
        typer.Argument(help="One or more tickers, e.g. AAPL MSFT ^GSPC.", show_default=False),
    ] = None,
    universe: Annotated[
        str | None,
        typer.Option(
            "--universe",
            help="Every member of this universe: paced, resumable, and ending with its survivorship.",
            show_default=False,
        ),
    ] = None,
    pause: Annotated[
        float | None,
        typer.Option(
            help="Seconds between two downloads. Default: 1 with --universe, none for named tickers.",
            show_default=False,
        ),
    ] = None,
    refresh: Annotated[
        bool,
        typer.Option("--refresh", help="With --universe: fetch members fetched in the last 12 hours too."),
    ] = False,
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
    close (new split or dividend) triggers a full re-download. --universe fetches every
    member, paced and resumable, and names those Yahoo has no prices for. Exit 75 when a
    retry may help.
    """
    from lstmcast.data.ingest import fetch

    s, e = _parse_day(start, "--start"), _parse_day(end, "--end")
    first, last = s.date() if s else None, e.date() if e else None
    if bool(tickers) == (universe is not None):
        raise ConfigError("give TICKER... or --universe NAME (one of them)")
    if refresh and universe is None:
        raise ConfigError("--refresh goes with --universe: named tickers are always fetched")
    if universe is not None:
        _fetch_universe(ctx, universe, first, last, pause, refresh, as_json)
        return
    report = fetch(store_of(ctx), tickers or [], first, last, pause=pause or 0.0)
    for err in report.errors:
        error(str(err))
    code = worst_exit(report.errors)
    if as_json:
        emit_json({"exit_code": code, "tickers": report.outcomes})
    else:
        render_fetch(report.outcomes)
    if code:
        raise typer.Exit(code)


def _fetch_universe(
    ctx: typer.Context,
    name: str,
    start: date | None,
    end: date | None,
    pause: float | None,
    refresh: bool,
    as_json: bool,
) -> None:
    from lstmcast.universe.fetch import DEFAULT_PAUSE, RESUME_HOURS, fetch_universe

    done = fetch_universe(
        store_of(ctx), name, start, end, pause=DEFAULT_PAUSE if pause is None else pause, refresh=refresh
    )
    for err in done.errors:
        error(str(err))
    code = worst_exit(done.errors)
    if as_json:
        emit_json(
            {
                "exit_code": code,
                "universe": done.universe,
                "tickers": done.outcomes,
                "skipped": done.skipped,
                "possibly_delisted": done.possibly_delisted,
                "survivorship": done.survivorship,
            }
        )
    else:
        if done.outcomes:
            render_fetch(done.outcomes)
        con = out_console()
        if done.skipped:
            con.print(
                f"{len(done.skipped)} member(s) fetched in the last {RESUME_HOURS} h were skipped"
                " (--refresh fetches them again)"
            )
        if done.possibly_delisted:
            con.print(f"no prices on Yahoo (possibly delisted): {', '.join(done.possibly_delisted)}")
        con.print(done.survivorship.line().split("; ")[0])
        if done.survivorship.warning:
            warn(done.survivorship.warning)
    if code:
        raise typer.Exit(code)


def render_fetch(outcomes: list[FetchOutcome]) -> None:
    table = Table("ticker", "result", "range", "new", "revised", "unchanged", title="fetch")
    for o in outcomes:
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
