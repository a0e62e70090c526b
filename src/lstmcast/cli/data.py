"""`lstmcast data`: what is stored, one ticker's last rows, and CSV export."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from typer.core import TyperGroup

from lstmcast.cli.common import emit_csv, emit_json, fmt, guarded, info, out_console, output_format, store_of
from lstmcast.cli.options import Format, Json
from lstmcast.cli.tables import optional
from lstmcast.paths import check_output

if TYPE_CHECKING:
    from typer._click.core import Context  # Typer 0.28 vendors Click

    from lstmcast.store.prices import TickerSummary


class _TickerOrCommand(TyperGroup):
    """`data TICKER` shows a ticker, `data export ...` runs the subcommand."""

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        return ["[TICKER]", "[OPTIONS]", "|", "COMMAND", "[ARGS]..."]

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            ctx.meta["lstmcast.ticker"] = args[0]
            args = args[1:]
        return super().parse_args(ctx, args)


data_app = typer.Typer(
    cls=_TickerOrCommand,
    invoke_without_command=True,
    options_metavar="[TICKER] [OPTIONS]",
    help="Show stored prices: every ticker, or the last rows of one TICKER.",
)


@data_app.callback()
@guarded
def data_cli(
    ctx: typer.Context,
    rows: Annotated[
        int, typer.Option(help="How many recent rows to show for one ticker.", min=1, max=1_000_000)
    ] = 10,
    output: Format = None,
    as_json: Json = False,
) -> None:
    """Show stored prices: every ticker with its range, or the last rows of TICKER."""
    if ctx.invoked_subcommand is not None:
        return
    from lstmcast.data.series import stored_tickers, ticker_tail

    ticker = ctx.meta.get("lstmcast.ticker")
    store = store_of(ctx)
    shape = output_format(output, as_json)
    if ticker is None:
        summary = stored_tickers(store)
        if not _emit(shape, summary):
            render_summary(summary, store.home)
    else:
        last = ticker_tail(store, ticker, rows)
        if not _emit(shape, last):
            render_tail(last, ticker)


def _emit(shape: str, rows: Sequence[object]) -> bool:
    """Rows as JSON or CSV when asked for; whether they were."""
    if shape == "json":
        emit_json(rows)
    elif shape == "csv":
        emit_csv(rows)
    return shape in ("json", "csv")


def render_summary(summary: list[TickerSummary], home: Path) -> None:
    table = Table("ticker", "first", "last", "rows", "source", title=f"stored in {home}")
    for s in summary:
        table.add_row(s.ticker, s.first, s.last, str(s.rows), s.source)
    out_console().print(
        table if summary else "no prices stored yet: try `lstmcast import` or `lstmcast fetch`"
    )


def render_tail(last: list[dict[str, object]], ticker: str) -> None:
    table = optional(
        Table(*last[0].keys(), title=f"{ticker.upper()}: last {len(last)} rows"), "source", "volume"
    )
    for r in last:
        table.add_row(
            *(
                (f"{v:,.0f}" if k == "volume" else fmt(v, 4 if k == "adj_close" else 2))
                if isinstance(v, float)
                else "–"
                if v is None  # a close-only series has no open, high, low or volume
                else str(v)
                for k, v in r.items()
            )
        )
    out_console().print(table)


@data_app.command("export")
@guarded
def export_cli(
    ctx: typer.Context,
    ticker: Annotated[str, typer.Argument(help="Stored ticker.")],
    path: Annotated[
        Path, typer.Argument(help="CSV file to write (Yahoo-style columns); - writes to stdout.")
    ],
    as_json: Json = False,
) -> None:
    """Write a stored ticker to CSV (Date, Open, High, Low, Close, Adj Close, Volume)."""
    from lstmcast.data.series import export_csv, export_text

    if str(path) == "-" and as_json:
        raise typer.BadParameter("--json and - would both write to stdout: give a file to write the CSV to")
    if str(path) == "-":
        text, n = export_text(store_of(ctx), ticker)
        sys.stdout.write(text)
        sys.stdout.flush()
        info(f"wrote {n} rows to stdout")
        return
    check_output(path)
    n = export_csv(store_of(ctx), ticker, path)
    if as_json:
        emit_json({"ticker": ticker.upper(), "path": str(path), "rows": n})
        return
    out_console().print(f"wrote {n} rows to {path}")


@data_app.command("rm")
@guarded
def rm_cli(
    ctx: typer.Context,
    ticker: Annotated[str, typer.Argument(help="Stored ticker.")],
    as_json: Json = False,
) -> None:
    """Delete a ticker's stored prices (`data restore TICKER` brings them back)."""
    from lstmcast.data.ingest import remove

    n = remove(store_of(ctx), ticker)
    if as_json:
        emit_json({"ticker": ticker.upper(), "bars": n, "undo": f"lstmcast data restore {ticker.upper()}"})
        return
    out_console().print(
        f"removed {n} bars of {ticker.upper()}; `lstmcast data restore {ticker.upper()}` undoes it"
    )


@data_app.command("restore")
@guarded
def restore_cli(
    ctx: typer.Context,
    ticker: Annotated[str, typer.Argument(help="Stored ticker.")],
    as_json: Json = False,
) -> None:
    """Undo the newest write to a ticker's bars that can be undone: an rm, an import or fetch that
    revised them, or any write after one (each restore undoes exactly one, newest first)."""
    from lstmcast.data.ingest import restore

    done = restore(store_of(ctx), ticker)
    if as_json:
        emit_json(done)
        return
    out_console().print(
        f"{done.ticker}: undid the {done.reason} of {done.revised_at}: {done.restored} bar(s) restored,"
        f" {done.removed} it had added removed"
    )
