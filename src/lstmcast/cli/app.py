"""The `lstmcast` Typer application: global options and one sub-command per file."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import sys
import threading
from typing import Annotated, NoReturn

import typer

from lstmcast import __version__
from lstmcast.cli.helptext import TidyGroup

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


# The commands are listed in cli.helptext.COMMANDS and built when asked for (TidyGroup).


# Click's base error (usage errors, bad values), found through a class typer exports, so
# that no private module of typer's vendored Click is imported by name.
_CLICK_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _wants_json(args: list[str]) -> bool:
    """Whether the command line asks for a JSON document on stdout."""
    return (
        "--json" in args
        or "--format=json" in args
        or any(a == "--format" and b == "json" for a, b in itertools.pairwise(args))
    )


def _mend_closed_streams() -> None:
    """Started with stdin, stdout or stderr closed (`>&-`), Python has no stream for it, and the
    next file opened would take its descriptor: a write meant for the terminal would land in
    the store. Each closed one is opened onto /dev/null, so that what goes there is discarded
    (as print() discards it), and a closed stdout is named on stderr."""
    closed = []
    for fd in (0, 1, 2):  # in order: os.open takes the lowest free descriptor
        try:
            os.fstat(fd)
        except OSError:
            if os.open(os.devnull, os.O_RDWR) != fd:  # cannot happen: fd was the lowest free
                raise RuntimeError(f"descriptor {fd} is closed and could not be reopened") from None
            closed.append(fd)
    if 2 in closed or sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 (lives as long as the process)
    if 1 in closed or sys.stdout is None:
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr.write("warning: standard output is closed: what this command prints is discarded\n")


def _leave(code: int) -> NoReturn:
    """End the process with `code` without the interpreter's teardown. By now each command has
    closed its store and files, and what was printed is flushed here; exit handlers run as at
    any exit (a Dask cluster's, logging's, temporary directories'). What is skipped is freeing
    every loaded module's objects one by one: about 50 ms with numpy and ONNX Runtime loaded,
    a sixth of a cold forecast, that no caller waits for. While another (non-daemon) thread
    still runs, the exit is the ordinary one, which waits for it."""
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    if any(t.is_alive() and not t.daemon for t in others):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away: nothing to say
            stream.flush()
    os._exit(code)


def main() -> NoReturn:
    """Console entry point: no traceback for the user unless LSTMCAST_DEBUG is set. Under
    --json every exit prints the error envelope, a usage error (exit 2) included."""
    _mend_closed_streams()
    try:
        code = app(standalone_mode=False)
        code = code if isinstance(code, int) else 0
    except _CLICK_ERROR as exc:
        code = int(getattr(exc, "exit_code", 2))
        if _wants_json(sys.argv[1:]):
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            sys.stdout.write(json.dumps({"error": message, "exit_code": code}, indent=2) + "\n")
        exc.show()  # type: ignore[attr-defined]
    except typer.Abort:
        sys.stderr.write("Aborted!\n")
        code = 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    except Exception as exc:  # last line of defence: one line, exit 1
        if os.environ.get("LSTMCAST_DEBUG"):
            raise
        sys.stderr.write(
            f"error: unexpected {type(exc).__name__}: {exc} (set LSTMCAST_DEBUG=1 for details)\n"
        )
        code = 1
    _leave(code)
