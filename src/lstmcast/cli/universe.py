"""`lstmcast universe`: named sets of tickers judged together (create, list, show, rm)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lstmcast.cli.common import emit_csv, emit_json, guarded, info, out_console, output_format, store_of, warn
from lstmcast.cli.options import Format, Json

if TYPE_CHECKING:
    from lstmcast.universe.members import Universe

universe_app = typer.Typer(
    invoke_without_command=True,
    help="Universes: many tickers judged together. `create NAME`, `show NAME`, `rm NAME`; alone, the list.",
)

Name = Annotated[
    str, typer.Argument(help="The universe's name (letters, digits, _ . -).", show_default=False)
]


@universe_app.callback()
@guarded
def universe_cli(ctx: typer.Context, output: Format = None, as_json: Json = False) -> None:
    """List the universes: members, where the list came from, and whether it has dates."""
    if ctx.invoked_subcommand is not None:
        return
    _list(ctx, output, as_json)


@universe_app.command("list")
@guarded
def list_cli(ctx: typer.Context, output: Format = None, as_json: Json = False) -> None:
    """List the universes: members, where the list came from, and whether it has dates."""
    _list(ctx, output, as_json)


def _list(ctx: typer.Context, output: str | None, as_json: bool) -> None:
    from lstmcast.universe.members import list_universes

    found = list_universes(store_of(ctx))
    shape = output_format(output, as_json)
    if shape == "json":
        emit_json(found)
        return
    if shape == "csv":
        emit_csv(found)
        return
    if not found:
        out_console().print("no universe yet: `lstmcast universe create NAME TICKER...` makes one")
        return
    table = Table("name", "members", "dated", "from", title="universes", title_justify="left")
    for u in found:
        table.add_row(u.name, str(u.members), "yes" if u.point_in_time else "no", u.source)
    out_console().print(table)


@universe_app.command("create")
@guarded
def create_cli(
    ctx: typer.Context,
    name: Name,
    tickers: Annotated[
        list[str] | None, typer.Argument(help="Its members (today's: no dates).", show_default=False)
    ] = None,
    members: Annotated[
        Path | None,
        typer.Option(
            "--members",
            help="A CSV of ticker[,start,end] rows: when each ticker was a member (point in time).",
            show_default=False,
        ),
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Remake a universe of that name.")] = False,
    as_json: Json = False,
) -> None:
    """Make a universe from TICKER... or from a members file with membership dates."""
    from lstmcast.universe.members import create_universe

    made = create_universe(store_of(ctx), name, tickers, members, replace)
    if as_json:
        emit_json(made)
        return
    info(f"universe {made.name}: {made.survivorship.members} members from {made.source}")
    _render(made, rows=20)


@universe_app.command("show")
@guarded
def show_cli(
    ctx: typer.Context,
    name: Name,
    rows: Annotated[int, typer.Option(help="Members to list (those with a problem first).", min=1)] = 20,
    output: Format = None,
    as_json: Json = False,
) -> None:
    """A universe's members against their stored prices, and its survivorship line."""
    from lstmcast.universe.members import show_universe

    found = show_universe(store_of(ctx), name)
    shape = output_format(output, as_json)
    if shape == "json":
        emit_json(found)
    elif shape == "csv":
        emit_csv(found.members)
    else:
        _render(found, rows)


@universe_app.command("rm")
@guarded
def rm_cli(ctx: typer.Context, name: Name, as_json: Json = False) -> None:
    """Forget a universe (its members' prices stay stored)."""
    from lstmcast.universe.members import remove_universe, universe_name

    n = remove_universe(store_of(ctx), name)
    if as_json:
        emit_json({"universe": universe_name(name), "spans": n})
        return
    out_console().print(f"removed universe {universe_name(name)} ({n} member span(s)); prices are kept")


def _render(u: Universe, rows: int) -> None:
    con = out_console()
    first, last = u.span
    worst = sorted(u.members, key=lambda m: (m.status == "covered", m.ticker, m.start or ""))
    table = Table(
        "ticker", "member from", "to", "prices from", "to", "status",
        title=f"{u.name}: {u.survivorship.members} members, prices {first or '–'} .. {last or '–'}",
        title_justify="left",
    )  # fmt: skip
    for m in worst[:rows]:
        table.add_row(m.ticker, m.start or "–", m.end or "–", m.first or "–", m.last or "–", m.status)
    con.print(table)
    if len(worst) > rows:
        con.print(f"{len(worst) - rows} more: --rows {len(worst)} lists them all")
    s = u.survivorship
    con.print(s.line().split("; ")[0])
    if s.warning:
        warn(s.warning)
