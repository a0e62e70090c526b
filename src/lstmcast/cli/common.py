"""Shared CLI plumbing: the data dir, error-to-exit-code mapping, JSON and console output."""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from lstmcast.errors import LstmcastError
from lstmcast.jsonable import to_jsonable

F = TypeVar("F", bound=Callable[..., Any])


def home_of(ctx: typer.Context) -> Path:
    """The data dir chosen by --home, $LSTMCAST_HOME or the platform default."""
    from lstmcast.paths import resolve_home

    root = ctx.find_root()
    explicit = (root.obj or {}).get("home") if isinstance(root.obj, dict) else None
    return resolve_home(explicit)


def out_console() -> Console:
    # Rich drops colour by itself when stdout is not a terminal; NO_COLOR is honoured too.
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def err_console() -> Console:
    return Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def interactive() -> bool:
    """Progress bars and colour only for a person at a terminal."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one red line on stderr; return the Exit to raise."""
    err_console().print(f"[red]error:[/red] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code)


def warn(message: str) -> None:
    err_console().print(f"[yellow]warning:[/yellow] {message}", soft_wrap=True)


def info(message: str) -> None:
    err_console().print(message, soft_wrap=True)


def guarded(fn: F) -> F:
    """Turn library errors into a one-line message and their exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LstmcastError as exc:
            raise fail(str(exc), exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def emit_json(document: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(document), indent=2) + "\n")
    sys.stdout.flush()


def fmt(value: Any, digits: int = 4) -> str:
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
