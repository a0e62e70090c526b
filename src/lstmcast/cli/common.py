"""Shared CLI plumbing: the data dir, error-to-exit-code mapping, JSON and console output."""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TextIO, TypeVar

import typer

from lstmcast.errors import Interrupted, LstmcastError, TemporaryError
from lstmcast.jsonable import to_jsonable

if TYPE_CHECKING:
    from rich.console import Console

    from lstmcast.cli.tables import FittingConsole
    from lstmcast.store.db import Store

P = ParamSpec("P")
R = TypeVar("R")


def home_of(ctx: typer.Context) -> Path:
    """The data dir chosen by --home, $LSTMCAST_HOME or the platform default."""
    from lstmcast.paths import resolve_home

    root = ctx.find_root()
    explicit = (root.obj or {}).get("home") if isinstance(root.obj, dict) else None
    return resolve_home(explicit)


def store_of(ctx: typer.Context) -> Store:
    """The command's one store handle, opened on first use and closed when the command ends."""
    from lstmcast.store.db import Store

    store = Store(home_of(ctx))
    ctx.call_on_close(store.close)
    return store


EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_TEMPFAIL = 75  # EX_TEMPFAIL from sysexits.h: a cron wrapper may retry
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def exit_code_for(error: BaseException) -> int:
    """The exit code of one library error: retry-later 75, Ctrl-C 130, anything else 1."""
    if isinstance(error, TemporaryError):
        return EXIT_TEMPFAIL
    if isinstance(error, Interrupted):
        return EXIT_INTERRUPTED
    return EXIT_FAILED


def worst_exit(errors: Sequence[BaseException]) -> int:
    """One exit code for many outcomes: 75 (retry may help) outranks 1 (failed for good)."""
    codes = {exit_code_for(e) for e in errors}
    return EXIT_TEMPFAIL if EXIT_TEMPFAIL in codes else max(codes, default=EXIT_OK)


# Piped output is as wide as its content (up to this), unless $COLUMNS says otherwise: a file
# or a `grep` should get whole lines, not a table cut to an imagined terminal.
PIPE_WIDTH = 1000


def _width(stream: TextIO) -> int | None:
    """The terminal's width on a terminal (Rich reads it), else $COLUMNS or PIPE_WIDTH."""
    if stream.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


# `--wide` (ledger, backtest): every column, at the content's own width, as `kubectl -o wide`
# and `gh` print it; the terminal wraps what it must. Set once by the command.
WIDE: ContextVar[bool] = ContextVar("WIDE", default=False)


def out_console() -> FittingConsole:
    # Rich drops colour by itself when stdout is not a terminal; NO_COLOR is honoured too.
    from lstmcast.cli.tables import FittingConsole

    width = PIPE_WIDTH if WIDE.get() else _width(sys.stdout)
    return FittingConsole(highlight=False, emoji=False, soft_wrap=False, width=width)


def err_console() -> Console:
    from rich.console import Console  # here, not above: a command that prints JSON loads no Rich

    return Console(stderr=True, highlight=False, emoji=False, width=_width(sys.stderr))


def interactive() -> bool:
    """Progress bars and colour only for a person at a terminal."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def _say(label: str, message: str) -> None:
    """`label` (Rich markup) then `message` on stderr, shown as written: brackets in it
    (`[[ticker]]`, file text) are not markup."""
    from rich.markup import escape

    err_console().print(f"{label}{escape(message)}", soft_wrap=True)


def error(message: str) -> None:
    """One red line on stderr."""
    _say("[red]error:[/red] ", message)


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """Print the error line; return the Exit to raise."""
    error(message)
    return typer.Exit(code)


def warn(message: str) -> None:
    _say("[yellow]warning:[/yellow] ", message)


def info(message: str) -> None:
    _say("", message)


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors into a one-line message and their exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except LstmcastError as exc:
            code = exit_code_for(exc)
            if kwargs.get("as_json"):  # a script reading stdout gets a document on failure too
                emit_json({"error": str(exc), "exit_code": code})
            raise fail(str(exc), code) from None
        except Exception as exc:  # a write outside `transaction` the disk refused, else re-raised
            from lstmcast.store.db import write_refused

            refused = write_refused(exc, "the store")
            if refused is None:
                raise
            if kwargs.get("as_json"):
                emit_json({"error": str(refused), "exit_code": EXIT_FAILED})
            raise fail(str(refused)) from None
        except KeyboardInterrupt:  # Ctrl-C anywhere in a command: one line, 130, no traceback
            if kwargs.get("as_json"):
                emit_json({"error": "interrupted", "exit_code": EXIT_INTERRUPTED})
            err_console().print("interrupted", soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def output_format(fmt: str | None, as_json: bool) -> str:
    """table, csv or json: --json wins, then --format, then a table."""
    return "json" if as_json else (fmt or "table")


def csv_text(rows: Sequence[object]) -> str:
    """Rows as CSV, every column any row has (in order of first appearance); lists joined by
    commas, nested documents left out (they are in --json)."""
    flat = [to_jsonable(r) for r in rows]
    columns = list(dict.fromkeys(k for r in flat for k, v in r.items() if not isinstance(v, dict)))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in flat:
        writer.writerow(
            [
                ",".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v)
                for v in (r.get(c) for c in columns)
            ]
        )
    return buf.getvalue()


def emit_csv(rows: Sequence[object]) -> None:
    """Rows as CSV on stdout (`csv_text`)."""
    sys.stdout.write(csv_text(rows))
    sys.stdout.flush()


def emit_json(document: object) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(document), indent=2) + "\n")
    sys.stdout.flush()


def fixed(value: float | None, digits: int = 4) -> str:
    """A number in fixed point, however small (an IC of 0.0001 reads as 0.0001, not 1e-04)."""
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def fmt(value: float | int | str | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:,.{digits}f}"
    return str(value)


def pct(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value * 100:+.{digits}f}%"
