"""Help that reads as words: `--window N`, `--csv PATH`, `TICKER...`, not `<int>`, `{path}`."""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

# A word for each option whose value is a free string, by option name; others get their name.
WORDS = {"home": "DIR", "cluster": "ADDRESS", "calendar": "NAME", "levels": "PCTS", "start": "DATE",
         "end": "DATE", "out": "PATH", "plot": "FILE", "log_file": "FILE", "config": "FILE"}  # fmt: skip


def _word(param: Any) -> str | None:
    """The metavar for one Typer parameter, or None to leave Typer's (flags, choices)."""
    bare = str(param.bare_type())
    name = (param.name or "value").lower()
    if "Literal" in bare or getattr(param, "is_flag", False) or bare == "bool":
        return None  # choices show themselves; flags take no value
    if type(param).__name__ == "TyperArgument":
        word = name.upper()
        return f"{word}..." if param.nargs == -1 or bare.startswith("list") else word
    if name in WORDS:
        return WORDS[name]
    if bare.startswith("list"):
        return "A,B"
    return {"int": "N", "float": "X", "Path": "PATH"}.get(bare, name.upper())


def tidy(command: Any) -> None:
    """Give every parameter of `command` and its subcommands a metavar that reads as a word,
    and every leaf command the plain `[OPTIONS]` usage (a group's own may differ)."""
    for param in command.params:
        if type(param).__name__ == "TyperArgument":
            _plain_argument(param)
        elif param.metavar is None:
            word = _word(param)
            if word is not None:
                param.metavar = word
    for sub in getattr(command, "commands", {}).values():
        if not hasattr(sub, "commands"):
            sub.options_metavar = "[OPTIONS]"
        tidy(sub)


def _plain_argument(param: Any) -> None:
    """An argument as click writes it, TICKER or [TICKER]..., without Typer's `{ticker}` in the
    usage line and `<str>` after its name."""
    word = (param.name or "value").upper()
    many = "..." if param.nargs != 1 else ""
    usage = f"{word}{many}" if param.required else f"[{word}]{many}"
    param._usage_display_name = lambda: usage
    param._rich_display_name = lambda: f"{word}{many}"
    param.display_type_rich = lambda ctx: None


class TidyGroup(TyperGroup):
    """The root group: tidies the whole command tree once Typer has built it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tidy(self)
