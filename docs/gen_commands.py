"""Write docs/commands.md from the real `--help` of every command (run it after changing an
option; a test fails while the page is stale):

    .venv/bin/python docs/gen_commands.py [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner

from lstmcast.cli.app import app

PAGE = Path(__file__).with_name("commands.md")
WIDTH = "100"


def command_paths() -> list[list[str]]:
    """Every command as the words that reach it: [], ["data"], ["data", "export"], ..."""
    root = get_command(app)
    found: list[list[str]] = [[]]

    def walk(cmd: object, prefix: list[str]) -> None:
        every = getattr(cmd, "every_command", None)  # the root builds its commands when asked
        commands = every() if every else getattr(cmd, "commands", {})
        for name, sub in sorted(commands.items()):
            found.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(root, [])
    return found


def render() -> str:
    runner = CliRunner()
    parts = [
        "# Command reference\n",
        "Generated from each command's `--help` by `docs/gen_commands.py` (a test fails when this",
        "page is stale). The [user guide](guide.md) explains what the commands do and why.\n",
    ]
    for words in command_paths():
        result = runner.invoke(app, [*words, "--help"], env={"COLUMNS": WIDTH, "TERM": "dumb"})
        title = " ".join(["lstmcast", *words])
        parts.append(f"## `{title}`\n\n```text\n{result.stdout.rstrip()}\n```\n")
    return "\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 if the page differs, write nothing")
    args = ap.parse_args()
    text = render()
    if args.check:
        if PAGE.read_text() != text:
            sys.exit(f"{PAGE} is stale: run {Path(__file__).name}")
        return
    PAGE.write_text(text)
    print(f"wrote {PAGE}")


if __name__ == "__main__":
    main()
