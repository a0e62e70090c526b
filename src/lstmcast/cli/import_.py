"""`lstmcast import`: read a price CSV into the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lstmcast.cli.common import emit_json, error, guarded, info, out_console, store_of, warn
from lstmcast.cli.options import Json
from lstmcast.errors import ConfigError

if TYPE_CHECKING:
    from lstmcast.data.ingest import ImportBatch, ImportResult


@guarded
def import_cli(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="CSV or .csv.gz files with a date and a close column, or folders of them.",
            show_default=False,
        ),
    ],
    ticker: Annotated[
        str | None,
        typer.Option(
            "--ticker",
            "-t",
            help="Ticker to store one file's rows under (default: its file name, AAPL.csv -> AAPL).",
            show_default=False,
        ),
    ] = None,
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
    """Import daily prices from Yahoo-style CSVs (Date, Open, High, Low, Close, Adj Close, Volume).

    Variants are accepted: lower-case or spaced names, no Adj Close, only date and close,
    other date formats, gzip. Each file's ticker is its name (AAPL.csv -> AAPL) unless --ticker
    names one file's. A file that fails validation writes nothing (the others still import);
    one that would rewrite stored history (beyond a split or dividend re-adjustment) needs
    --replace.
    """
    from lstmcast.data.ingest import import_csv, import_many, ticker_of_file

    store = store_of(ctx)
    if len(paths) > 1 or paths[0].is_dir():
        if ticker is not None:
            raise ConfigError(
                "--ticker names one file's series; several files, or a folder's, are named"
                " by their file names"
            )
        _report_many(import_many(store, paths, replace=replace, strict=strict), as_json)
        return
    path = paths[0]
    result = import_csv(store, path, ticker or ticker_of_file(path), replace=replace, strict=strict)
    for w in result.warnings:
        warn(w)
    if as_json:
        emit_json(result)
        return
    out_console().print(_line(result))


def _line(result: ImportResult) -> str:
    s = result.stats
    what = (
        "nothing new: every row was already stored"
        if not s.changed
        else (f"{s.new} new, {s.revised} revised, {s.unchanged} unchanged")
    )
    if s.revised:
        what += f" (the revised bars' old values are kept: `lstmcast data restore {result.ticker}`)"
    span = f"{result.rows} rows {result.first} .. {result.last}"
    return f"{result.ticker}: {span} from {Path(result.path).name}: {what}"


def _report_many(batch: ImportBatch, as_json: bool) -> None:
    """Every file's line, then the failures; exit 1 when any file failed (the rest are stored)."""
    for r in batch.imported:
        for w in r.warnings:
            warn(f"{r.ticker}: {w}")
    if as_json:
        emit_json(batch)
    else:
        for r in batch.imported:
            out_console().print(_line(r))
    for f in batch.failed:
        error(f.error)
    if batch.failed:
        info(f"{len(batch.imported)} file(s) imported, {len(batch.failed)} failed")
        raise typer.Exit(1)
