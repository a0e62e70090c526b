"""`lstmcast import`: read a price CSV into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lstmcast.cli.common import emit_json, guarded, out_console, store_of, warn
from lstmcast.cli.options import Json


@guarded
def import_cli(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CSV or .csv.gz with a date and a close column.")],
    ticker: Annotated[str, typer.Option("--ticker", "-t", help="Ticker to store the rows under.")],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Overwrite stored bars the file changes beyond a split or dividend re-adjustment"
            " (the old values are kept: `lstmcast data restore TICKER` undoes it).",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Refuse days without a close (FRED's '.') instead of skipping them."),
    ] = False,
    as_json: Json = False,
) -> None:
    """Import daily prices from a Yahoo-style CSV (Date, Open, High, Low, Close, Adj Close, Volume).

    Variants are accepted: lower-case or spaced names, no Adj Close, only date and close,
    other date formats, gzip. A file that fails validation writes nothing; one that would
    rewrite stored history (beyond a split or dividend re-adjustment) needs --replace.
    """
    from lstmcast.data.ingest import import_csv

    result = import_csv(store_of(ctx), path, ticker, replace=replace, strict=strict)
    for w in result.warnings:
        warn(w)
    if as_json:
        emit_json(result)
        return
    s = result.stats
    what = (
        "nothing new: every row was already stored"
        if not s.changed
        else (f"{s.new} new, {s.revised} revised, {s.unchanged} unchanged")
    )
    if s.revised:
        what += f" (the revised bars' old values are kept: `lstmcast data restore {result.ticker}`)"
    out_console().print(
        f"{result.ticker}: {result.rows} rows {result.first} .. {result.last} from {path.name}: {what}"
    )
