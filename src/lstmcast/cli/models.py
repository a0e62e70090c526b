"""`lstmcast models`: list, show and remove trained models."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lstmcast.cli.common import (
    emit_csv,
    emit_json,
    fail,
    fmt,
    guarded,
    out_console,
    output_format,
    pct,
    store_of,
    warn,
)
from lstmcast.cli.options import Format, Json
from lstmcast.cli.tables import optional
from lstmcast.jsonable import json_at, json_object, number_or_none
from lstmcast.paths import atomic_write_bytes, check_output

if TYPE_CHECKING:
    from lstmcast.registry.checkpoint import Manifest
    from lstmcast.store.db import Store
    from lstmcast.store.runs import RunRecord

models_app = typer.Typer(
    invoke_without_command=True, help="List trained models; `show ID`, `export ID`, `rm ID`."
)


@models_app.callback()
@guarded
def models_cli(
    ctx: typer.Context,
    ticker: Annotated[str | None, typer.Option(help="Only models trained on this ticker.")] = None,
    output: Format = None,
    as_json: Json = False,
) -> None:
    """List trained models with their data ranges and test skill against naive."""
    if ctx.invoked_subcommand is not None:
        return
    from lstmcast.registry.files import orphans, runs

    store = store_of(ctx)
    found = runs(store, ticker.upper() if ticker else None)
    stray = orphans(store)
    if stray:
        warn(
            f"{len(stray)} model dir(s) with no record, left by an interrupted run: "
            + ", ".join(p.name for p in stray)
            + "; `lstmcast models rm --orphans` removes them"
        )
    shape = output_format(output, as_json)
    if shape == "json":
        emit_json([public_run(r) for r in found])
    elif shape == "csv":
        emit_csv([public_run(r) for r in found])
    else:
        render_models(found)


def public_run(r: RunRecord) -> dict[str, object]:
    """A model record as `--json` names it: the words the tables and other commands use."""
    renamed = {"id": "model_id", "skill": "skill_vs_naive"}
    return {renamed.get(k, k): v for k, v in r.items()}


ModelId = Annotated[
    str | None,
    typer.Argument(help="Model ID, or any prefix of it that no other ID starts with.", show_default=False),
]
Latest = Annotated[
    str | None,
    typer.Option(
        "--latest", metavar="TICKER", help="The newest model of TICKER instead of an ID.", show_default=False
    ),
]
OfModel = Annotated[
    str | None,
    typer.Option("--model", "-m", help="With --latest: the newest of this architecture.", show_default=False),
]


def which_model(
    store: Store, model_id: str | None, latest: str | None, model: str | None, min_prefix: int = 1
) -> str:
    """The full ID a user means: an ID or a unique prefix of one (of at least `min_prefix`
    characters), or `--latest TICKER`; `-m` must name the model's own architecture."""
    from lstmcast.errors import ConfigError, NotFoundError
    from lstmcast.store.runs import get_run, newest_run, resolve_id
    from lstmcast.tickers import validate_ticker

    if (model_id is None) == (latest is None):
        raise typer.BadParameter("give a model ID (or a prefix of one) or --latest TICKER, not both")
    if latest is not None:
        ticker = validate_ticker(latest)
        run = newest_run(store.conn, ticker, model)
        if run is None:
            kind = f" {model}" if model else ""
            raise NotFoundError(f"no{kind} model of {ticker}; `lstmcast models` lists them")
        return str(run["id"])
    assert model_id is not None
    full = resolve_id(store.conn, model_id, min_prefix)
    run = get_run(store.conn, full)
    if model is not None and run is not None and run["model"] != model:
        raise ConfigError(f"model {full} is a {run['model']}: -m {model} names another architecture")
    return full


def _members(run: RunRecord) -> str:
    """Whom a model forecasts: its tickers, or its universe and how many members it saw."""
    if run.get("universe"):
        return f"universe {run['universe']} ({len(run['tickers'])})"
    return ",".join(run["tickers"])


def _skill(run: RunRecord) -> str:
    """Its held-out result against its own target's benchmark (HAR for volatility)."""
    from lstmcast.errors import ConfigError
    from lstmcast.target import target_of

    tested = json_at(run.get("metrics"), "test", "model")
    try:
        return target_of(run["target"]).describe(tested if isinstance(tested, dict) else {})
    except ConfigError:  # a record of a target this version does not know
        return "–"


def render_models(found: list[RunRecord]) -> None:
    table = Table("id", "tickers", "model", "target", "train", "test", "test skill", "created", "status")
    optional(table, "created", "train", "test", "tickers")
    for r in found:
        table.add_row(
            r["id"],
            _members(r),
            r["model"],
            r["target"],
            f"{r['train_start']}..{r['train_end']}",
            f"{r['test_start']}..{r['test_end']}",
            _skill(r),
            r["created_at"],
            escape(r["status"]) if r["status"] == "ok" else f"[red]{escape(r['status'])}[/red]",
        )
    out_console().print(table if found else "no models yet: try `lstmcast train TICKER`")


@models_app.command("show")
@guarded
def show_cli(
    ctx: typer.Context,
    model_id: ModelId = None,
    latest: Latest = None,
    model: OfModel = None,
    config: Annotated[
        bool, typer.Option("--config", help="Print only the run config, as TOML for `train --config`.")
    ] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Print the whole manifest (with every residual) as JSON.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Summarise a model: what it is, its data, its test against the baselines, its files.

    `--full` or `--json` print the whole manifest instead (config, scalers, segments, metrics,
    the out-of-sample residuals its intervals are made of, versions, checksums).
    """
    from lstmcast.config import TrainConfig
    from lstmcast.registry.checkpoint import read_manifest
    from lstmcast.registry.files import model_dir
    from lstmcast.registry.saved import load_model, run_config_of
    from lstmcast.runconfig import RunConfig, run_config_toml
    from lstmcast.store.runs import get_run

    store = store_of(ctx)
    chosen = which_model(store, model_id, latest, model)
    run = get_run(store.conn, chosen)
    if run is not None and run.get("universe"):  # a universe's network: its manifest says it all
        manifest = read_manifest(model_dir(store, run))
        if config:
            train = TrainConfig.from_dict(manifest["config"])
            typer.echo(
                run_config_toml(RunConfig(universe=run["universe"], train=train), sections=("train",)),
                nl=False,
            )
        elif full or as_json:
            emit_json(manifest)
        else:
            render_summary(manifest)
        return
    loaded = load_model(store, chosen)
    if config:
        typer.echo(run_config_toml(run_config_of(loaded), sections=("train",)), nl=False)
    elif full or as_json:
        emit_json(loaded.manifest)
    else:
        render_summary(loaded.manifest)


def render_summary(m: Manifest) -> None:
    """A model on one screen: the manifest without its residuals."""
    cfg = m.get("config", {})
    seg = m.get("segments", {})
    test = json_object(m.get("metrics", {}).get("test", {}))
    t = Table(show_header=False, box=None, title=f"model {m['id']}", title_justify="left")
    t.add_column(style="dim")
    t.add_column()
    shape = (
        f"{cfg.get('channels')} channels, kernel {cfg.get('kernel_size')}"
        if cfg.get("model") == "cnn"
        else f"{cfg.get('layers')}x{cfg.get('hidden')}"
    )
    who = ("tickers", ", ".join(m.get("tickers", [])))
    if m.get("universe"):
        who = ("universe", f"{m['universe']}, {len(m.get('tickers', []))} members seen in training")
    rows = [
        who,
        ("network", f"{cfg.get('model')} {shape}, window {cfg.get('window')}, horizon {cfg.get('horizon')}"),
        ("target", str(cfg.get("target"))),
        (
            "created",
            f"{m.get('created_at')}" + (f", fine-tuned from {m['parent']}" if m.get("parent") else ""),
        ),
        *[(name, f"{lo}..{hi}") for name, (lo, hi) in seg.items()],
        ("trained", _training(m.get("training", {}), m.get("device"))),
    ]
    held_out = json_object(test.get("model", {}))
    mse, naive = number_or_none(held_out.get("rmse")), number_or_none(json_at(test, "naive", "rmse"))
    if mse is not None and naive:
        rows.append(("test skill", pct(1 - (mse / naive) ** 2, 2) + " in MSE against naive"))
    elif "model" in test and "naive" not in test and cfg.get("target"):  # against its own benchmark
        from lstmcast.target import target_of

        rows.append(("test skill", target_of(str(cfg["target"])).describe(held_out)))
    ic = number_or_none(held_out.get("rank_ic_mean"))
    if ic is not None:
        best = m.get("metrics", {}).get("best_baseline")
        ic_t = number_or_none(held_out.get("rank_ic_t"))
        rows.append(("held-out rank IC", f"{fmt(ic, 4)} (t {fmt(ic_t, 2)}); best baseline {best}"))
    rows += [("warning", w) for w in m.get("warnings", [])]
    rows.append(("files", ", ".join(m.get("checksums", {})) or "weights.safetensors"))
    for k, v in rows:
        t.add_row(k, escape(v))
    out_console().print(t)
    out_console().print("the whole manifest: --full (JSON); the run as TOML: --config")


def _training(tr: Mapping[str, object], device: str | None) -> str:
    if not tr:
        return "–"
    return f"{tr.get('epochs_run')} epoch(s), best {tr.get('best_epoch')}, {tr.get('stopped')}, on {device}"


@models_app.command("export")
@guarded
def export_cli(
    ctx: typer.Context,
    model_id: ModelId = None,
    latest: Latest = None,
    model: OfModel = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also copy the ONNX file here.", show_default=False)
    ] = None,
    as_json: Json = False,
) -> None:
    """Write a model's ONNX file (if it was saved without one) and say how to feed it.

    Forecasts run it with ONNX Runtime, without importing torch. Its input is x, float32
    (batch, window, features), each feature z-scored with the manifest's scaler; its output
    y is (batch, steps) in scaled target units (times scaler std[0], plus mean[0]).
    """
    from lstmcast.registry.saved import export_model, load_model

    store = store_of(ctx)
    if out is not None:
        check_output(out)
    model_id = which_model(store, model_id, latest, model)
    path = export_model(store, model_id)
    if out is not None:
        atomic_write_bytes(out, path.read_bytes())
        path = out
    loaded = load_model(store, model_id, engine="onnx")  # also proves the file runs
    cfg, steps = loaded.config, 1 if loaded.config.decoder == "recursive" else loaded.config.horizon
    features = len(loaded.manifest["columns"])
    if as_json:
        emit_json(
            {
                "model_id": model_id,
                "path": str(path),
                "input": {"name": "x", "dtype": "float32", "shape": ["batch", cfg.window, features]},
                "output": {"name": "y", "dtype": "float32", "shape": ["batch", steps]},
                "scaling": "x z-scored by manifest.json's scaler; y in scaled target units",
            }
        )
        return
    con = out_console()
    con.print(f"ONNX: {path}")
    con.print(
        f"input x: float32 (batch, {cfg.window}, features) z-scored by manifest.json's scaler;"
        f" output y: float32 (batch, {steps}), scaled target"
    )


@models_app.command("rm")
@guarded
def rm_cli(
    ctx: typer.Context,
    model_id: ModelId = None,
    latest: Latest = None,
    model: OfModel = None,
    orphans: Annotated[
        bool, typer.Option("--orphans", help="Remove model dirs that no record points to.")
    ] = False,
    record_only: Annotated[
        bool, typer.Option("--record-only", help="Delete the model's record and none of its files.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Delete a model's files and its record (or, with --orphans, files left without a record)."""
    from lstmcast.registry.files import remove_model, remove_orphans
    from lstmcast.store.db import MIN_PREFIX

    if (model_id is None and latest is None) == (not orphans):
        raise typer.BadParameter("give a model ID (or --latest TICKER) or --orphans (one of them)")
    if orphans and record_only:
        raise typer.BadParameter("--record-only is for one model's record, not --orphans")
    store = store_of(ctx)
    if orphans:
        gone = [str(p) for p in remove_orphans(store)]
        said = f"removed {len(gone)} orphaned model dir(s)"
    else:
        full_id = which_model(store, model_id, latest, model, MIN_PREFIX)
        remove_model(store, full_id, record_only)
        gone, said = [full_id], f"removed {full_id}" + (" (its record; no file)" if record_only else "")
    if as_json:
        emit_json({"removed": gone, "orphans": orphans, "record_only": record_only})
        return
    out_console().print(said)


@models_app.command("verify")
@guarded
def verify_cli(ctx: typer.Context, as_json: Json = False) -> None:
    """Check every model's files against the checksums recorded when it was written; exit 1
    naming each damaged model and file."""
    from lstmcast.registry.files import runs

    found = [{"model_id": r["id"], "status": r["status"]} for r in runs(store_of(ctx))]
    damaged = [r for r in found if r["status"] != "ok"]
    if as_json:
        emit_json({"models": found, "damaged": len(damaged)})
    else:
        table = Table("id", "status", title=f"{len(found)} model(s) checked")
        for r in found:
            table.add_row(r["model_id"], r["status"])
        out_console().print(table)
    if damaged:
        raise fail(
            f"{len(damaged)} damaged model(s): "
            + "; ".join(f"{r['model_id']} ({r['status']})" for r in damaged)
            + "; `lstmcast models rm ID` and train again"
        )
