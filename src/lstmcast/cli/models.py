"""`lstmcast models`: list, show and remove trained models."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lstmcast.cli.common import emit_json, guarded, out_console, pct, store_of
from lstmcast.cli.options import Json

models_app = typer.Typer(invoke_without_command=True, help="List trained models; `show ID`, `rm ID`.")


@models_app.callback()
@guarded
def models_cli(
    ctx: typer.Context,
    ticker: Annotated[str | None, typer.Option(help="Only models trained on this ticker.")] = None,
    as_json: Json = False,
) -> None:
    """List trained models with their data ranges and test skill against naive."""
    if ctx.invoked_subcommand is not None:
        return
    from lstmcast.training.registry import runs

    found = runs(store_of(ctx), ticker.upper() if ticker else None)
    if as_json:
        emit_json(found)
        return
    table = Table("id", "tickers", "model", "target", "train", "test", "skill vs naive", "created")
    for r in found:
        table.add_row(
            r["id"],
            ",".join(r["tickers"]),
            r["model"],
            r["target"],
            f"{r['train_start']}..{r['train_end']}",
            f"{r['test_start']}..{r['test_end']}",
            pct(r["skill"], 2),
            r["created_at"],
        )
    out_console().print(table if found else "no models yet: try `lstmcast train TICKER`")


@models_app.command("show")
@guarded
def show_cli(
    ctx: typer.Context,
    model_id: Annotated[str, typer.Argument(help="Model id.")],
    config: Annotated[
        bool, typer.Option("--config", help="Print only the run config, as TOML for `train --config`.")
    ] = False,
) -> None:
    """Print a model's manifest (config, scaler, segments, metrics, versions) as JSON."""
    from lstmcast.config import run_config_toml
    from lstmcast.training.registry import load_model, run_config_of

    loaded = load_model(store_of(ctx), model_id)
    if config:
        typer.echo(run_config_toml(run_config_of(loaded), sections=("train",)), nl=False)
    else:
        emit_json(loaded.manifest)


@models_app.command("rm")
@guarded
def rm_cli(ctx: typer.Context, model_id: Annotated[str, typer.Argument(help="Model id.")]) -> None:
    """Delete a model's files and its record."""
    from lstmcast.training.registry import remove_model

    remove_model(store_of(ctx), model_id)
    out_console().print(f"removed {model_id}")
