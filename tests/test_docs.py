"""The docs stay true to the code: the command reference is the real --help, and every
relative link in the README and docs/ points at a file that exists."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT


def test_the_command_reference_is_the_real_help() -> None:
    spec = importlib.util.spec_from_file_location("gen_commands", ROOT / "docs" / "gen_commands.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    page = (ROOT / "docs" / "commands.md").read_text()
    assert page == gen.render(), "docs/commands.md is stale: run `make docs` (docs/gen_commands.py)"
    assert "## `lstmcast forecast`" in page and "--ticker TICKER" in page


def test_every_relative_link_resolves() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_make_bench_runs_every_benchmark_the_docs_quote() -> None:
    quoted = set()
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        quoted |= set(re.findall(r"benchmarks/(bench_\w+\.py)", doc.read_text()))
    recipe = (ROOT / "Makefile").read_text().split("\nbench:", 1)[1].split("\n\n", 1)[0]
    ran = set(re.findall(r"benchmarks/(bench_\w+\.py)", recipe))
    assert quoted and quoted <= ran, sorted(quoted - ran)


def _documented_commands() -> list[tuple[str, list[str]]]:
    """Every `$ lstmcast ...` command shown in the README and docs/, as (page, words): a line
    with `&&` or `|` gives each lstmcast command in it, and `<(lstmcast ...)` its own."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for line in page.read_text().splitlines():
            if not line.startswith("$ lstmcast "):
                continue
            inner = re.findall(r"<\((lstmcast [^)]*)\)", line)
            line = re.sub(r"<\([^)]*\)", "FILE", line[2:])
            for part in [*re.split(r"&&|\|", line), *inner]:
                words = shlex.split(part, comments=True)
                if words[:1] == ["lstmcast"]:
                    found.append((page.name, words[1:]))
    return found


def _parse(words: list[str]) -> None:
    """Parse `lstmcast WORDS` as the real CLI does (options, choices, values), running nothing."""
    import typer.main

    from lstmcast.cli.app import app

    group: Any = typer.main.get_command(app)
    ctx = group.make_context("lstmcast", [], resilient_parsing=True)
    while words and words[0] == "--home":
        words = words[2:]
    command, name = group, "lstmcast"
    while words and hasattr(command, "get_command") and command.get_command(ctx, words[0]) is not None:
        command, name, words = command.get_command(ctx, words[0]), words[0], words[1:]
        if hasattr(command, "get_command") and words and command.get_command(ctx, words[0]) is not None:
            ctx = command.make_context(name, [], parent=ctx, resilient_parsing=True)
    command.make_context(name, list(words), parent=ctx)


def test_every_command_the_docs_show_is_one_the_tool_takes() -> None:
    """Each documented command line parses with the real CLI: no renamed option, no removed
    choice, no value of the wrong type (`tests/test_terminal.py` and the schema test run
    the commands themselves)."""
    shown = _documented_commands()
    assert len(shown) > 60
    wrong = []
    for page, words in shown:
        try:
            _parse(words)
        except Exception as exc:  # a usage error names what no longer fits
            wrong.append(
                f"{page}: lstmcast {shlex.join(words)}: {getattr(exc, 'format_message', exc.__str__)()}"
            )
    assert not wrong, "\n".join(wrong)


def test_a_renamed_option_in_the_docs_is_caught() -> None:
    with pytest.raises(Exception, match="No such option: --horizn"):
        _parse(["forecast", "AAPL", "--horizn", "5"])
    with pytest.raises(Exception, match="long_shrt"):
        _parse(["backtest", "AAPL", "--rule", "long_shrt"])


def test_the_guides_watchlist_is_what_daily_init_writes() -> None:
    from lstmcast.jobs.watchlist import EXAMPLE

    guide = (ROOT / "docs" / "guide.md").read_text()
    shown = guide.split("writes this commented example", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    assert shown == EXAMPLE


def _shape(text: str) -> list[str]:
    """Output with its numbers, IDs and spacing taken out: what stays is the words and the layout
    of rows, which a change of the tool (not of the data) changes."""
    lines = []
    for line in text.splitlines():
        line = re.sub(r"[0-9a-f]{16}", "ID", line)
        line = re.sub(r"[-+]?\d[\d,.]*(e[-+]?\d+)?%?s?", "#", line)
        line = re.sub(r"[ ━─┃│┏┓┗┛┡┩└┘┳┻╇┼┴┬]+", " ", line).strip()
        lines.append(line)
    return lines


@pytest.mark.slow
def test_the_sweep_example_in_scaling_md_is_what_the_sweep_prints(tmp_path: Path) -> None:
    """docs/scaling.md's example run again at 80 columns: the same table and closing lines,
    the numbers aside (they move with the machine's thread count)."""
    import subprocess
    import sys

    from processes import child_env

    page = (ROOT / "docs" / "scaling.md").read_text()
    block = page.split("```console\n$ lstmcast sweep ", 1)[1].split("```", 1)[0]
    command, shown = block.split("\n", 1)
    env = {**child_env(tmp_path), "COLUMNS": "80"}
    lstmcast = [sys.executable, "-m", "lstmcast"]
    for ticker in ("AAPL", "MSFT"):
        csv = str(ROOT / "sample_data" / f"{ticker}.csv")
        subprocess.run([*lstmcast, "import", csv], env=env, check=True, capture_output=True)
    args = [*lstmcast, "sweep", *shlex.split(command)]
    run = subprocess.run(args, env=env, capture_output=True, text=True, check=True, timeout=600)
    assert _shape(run.stdout) == _shape(shown)
