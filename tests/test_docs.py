"""The docs stay true to the code: the command reference is the real --help, and every
relative link in the README and docs/ points at a file that exists."""

from __future__ import annotations

import importlib.util
import re

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
