"""Help that reads as words: `--window N`, `--csv PATH`, `TICKER...`, not `<int>`, `{path}`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import typer
import typer.main
from typer.core import TyperArgument, TyperGroup, TyperOption

if TYPE_CHECKING:  # Typer 0.28 vendors Click; its hooks take and give these
    from typer._click.core import Command, Context

# A word for each option whose value is a free string, by option name; others get their name.
WORDS = {"home": "DIR", "cluster": "ADDRESS", "calendar": "NAME", "levels": "PCTS", "start": "DATE",
         "end": "DATE", "out": "PATH", "plot": "FILE", "log_file": "FILE", "config": "FILE"}  # fmt: skip


def _word(param: TyperOption) -> str | None:
    """The metavar for one option, or None to leave Typer's (flags, choices)."""
    kind = param.type.name  # Click's type: "int", "float", "path", "choice", "boolean", ...
    name = (param.name or "value").lower()
    if kind in ("choice", "boolean") or param.is_flag:
        return None  # choices show themselves; flags take no value
    if name in WORDS:
        return WORDS[name]
    if param.multiple:
        return "A,B"
    return {"int": "N", "int range": "N", "float": "X", "float range": "X", "path": "PATH"}.get(
        kind, name.upper()
    )


def tidy(command: Command) -> None:
    """Give every parameter of `command` (a Click command or group) and its subcommands a
    metavar that reads as a word, and every leaf command the plain `[OPTIONS]` usage (a
    group's own may differ)."""
    for param in command.params:
        if isinstance(param, TyperArgument):
            _plain_argument(param)
        elif isinstance(param, TyperOption) and param.metavar is None:
            word = _word(param)
            if word is not None:
                param.metavar = word
    subs: dict[str, Command] = getattr(command, "commands", {})
    for sub in subs.values():
        if not hasattr(sub, "commands"):
            sub.options_metavar = "[OPTIONS]"
        tidy(sub)


def _plain_argument(param: TyperArgument) -> None:
    """An argument as click writes it, TICKER or [TICKER]..., without Typer's `{ticker}` in the
    usage line and `ticker:str` in the list of arguments."""
    word = (param.name or "value").upper()
    many = "..." if param.nargs != 1 else ""
    shown = f"{word}{many}"
    usage_line = shown if param.required else f"[{word}]{many}"

    def make_metavar(ctx: object = None, *, usage: bool = False) -> str:
        return usage_line if usage else shown

    param.metavar = shown
    setattr(param, "make_metavar", make_metavar)  # noqa: B010 (an instance's own method)


# Each command of the root, in the order `--help` lists them: the module and the Typer function
# (or sub-app) that implement it. A command's module is imported only when that command is
# asked for, so `lstmcast forecast` never loads what `backtest` or `tune` need.
COMMANDS = {
    "fetch": ("lstmcast.cli.fetch", "fetch_cli"),
    "import": ("lstmcast.cli.import_", "import_cli"),
    "train": ("lstmcast.cli.train", "train_cli"),
    "backtest": ("lstmcast.cli.backtest", "backtest_cli"),
    "audit": ("lstmcast.cli.audit", "audit_cli"),
    "sweep": ("lstmcast.cli.sweep", "sweep_cli"),
    "tune": ("lstmcast.cli.tune", "tune_cli"),
    "finetune": ("lstmcast.cli.finetune", "finetune_cli"),
    "forecast": ("lstmcast.cli.forecast", "forecast_cli"),
    "ledger": ("lstmcast.cli.ledger", "ledger_cli"),
    "daily": ("lstmcast.cli.daily", "daily_cli"),
    "cron": ("lstmcast.cli.daily", "cron_cli"),
    "data": ("lstmcast.cli.data", "data_app"),
    "universe": ("lstmcast.cli.universe", "universe_app"),
    "models": ("lstmcast.cli.models", "models_app"),
    "sweeps": ("lstmcast.cli.sweep", "sweeps_app"),
    "tunes": ("lstmcast.cli.tune", "tunes_app"),
}


class TidyGroup(TyperGroup):
    """The root group: builds each command of COMMANDS from its module when it is first asked
    for (running it, its help, completion), as the root's own Typer would have built it, and
    gives it tidy help."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # Typer's own, passed on
        tidy(self)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context | None, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attr = COMMANDS[cmd_name]
            made = getattr(importlib.import_module(module), attr)
            if not isinstance(made, typer.Typer):  # a function: a one-command app of its own
                one = typer.Typer()
                one.command(cmd_name)(made)
                made = one
            # The root's settings, as `add_typer` and `command` would have passed them down.
            made.rich_markup_mode = None
            made.pretty_exceptions_short = True
            made._add_completion = False
            command = typer.main.get_command(made)
            command.name = cmd_name
            if not hasattr(command, "commands"):
                command.options_metavar = "[OPTIONS]"
            tidy(command)
            self.commands[cmd_name] = command
        return self.commands.get(cmd_name)

    def every_command(self) -> dict[str, Command]:
        """Every command, each built: for the command reference and the tests that read them."""
        for name in COMMANDS:
            self.get_command(None, name)
        return dict(self.commands)
