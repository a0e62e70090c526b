"""`lstmcast sweep` and `lstmcast sweeps`: many backtests in parallel, and an honest leaderboard."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lstmcast.cli.common import (
    csv_text,
    emit_csv,
    emit_json,
    error,
    fmt,
    guarded,
    info,
    interactive,
    out_console,
    output_format,
    pct,
    store_of,
    warn,
)
from lstmcast.cli.options import Cluster, ClusterSecurity, Format, Json, ManyWorkers, parallel_of, run_options
from lstmcast.cli.progress import count_progress, step_progress
from lstmcast.paths import check_output
from lstmcast.runconfig import RunConfig
from lstmcast.settings import MODELS

if TYPE_CHECKING:
    from lstmcast.execution.engine import Parallel
    from lstmcast.store.sweeps import SweepRecord
    from lstmcast.sweep.run import SweepReport
    from lstmcast.sweep.volatility import VolRow

sweeps_app = typer.Typer(invoke_without_command=True, help="List past sweeps; `show ID` prints one again.")


@guarded
@run_options(
    backtest=True, tickers_help="Stored tickers; each is swept on its own. Or use --csv.", universe=True
)
def sweep_cli(
    ctx: typer.Context,
    run: RunConfig,
    models: Annotated[str, typer.Option(help=f"Comma-separated, from {', '.join(MODELS)}.")] = ",".join(
        MODELS
    ),
    workers: ManyWorkers = os.cpu_count() or 1,
    gpu_workers: Annotated[
        int,
        typer.Option(
            help="With cells on a CUDA GPU (--device cuda, or auto where one is): this many local"
            " workers share it instead of --workers (each small network uses a sliver of a GPU)."
        ),
    ] = 4,
    cluster: Cluster = None,
    cluster_security: ClusterSecurity = None,
    adjust: Annotated[str, typer.Option(help="bh (false discovery rate) or holm (family-wise).")] = "bh",
    out: Annotated[Path | None, typer.Option(help="Write cells.csv, leaderboard.csv and a PNG here.")] = None,
    as_json: Json = False,
) -> None:
    """Walk-forward backtest every TICKER x --models x --seeds cell, in parallel; resume from the store.

    Each cell equals `lstmcast backtest TICKER --model M --seed S`. The leaderboard adjusts
    every Diebold-Mariano p-value for the number of comparisons in the sweep. With --universe:
    one walk-forward per model across the members (`backtest --universe`), each judged
    against its best baseline, adjusted for the models compared, and the best portfolio's
    Sharpe deflated for every configuration ever tried on that universe.
    """
    from lstmcast.execution.engine import cuda_wanted
    from lstmcast.sweep.leaderboard import ADJUSTMENTS
    from lstmcast.sweep.run import sweep

    if cluster is None and cuda_wanted(run.train.device):
        workers = gpu_workers  # one CUDA context per worker: the GPU's share, not the cores'
    parallel = parallel_of(ctx, workers, cluster, cluster_security)

    if out is not None:
        check_output(out, directory=True)  # before the work, not after it
    chosen = tuple(m.strip() for m in models.split(",") if m.strip())
    if not chosen or any(m not in MODELS for m in chosen) or adjust not in ADJUSTMENTS:
        raise typer.BadParameter(f"--models from {', '.join(MODELS)}; --adjust bh or holm")
    if run.universe is not None:
        _universe(ctx, run, chosen, parallel, adjust, out, as_json)
        return
    total = len(run.tickers or [run.csv]) * len(chosen) * run.backtest.seeds
    with count_progress(total, "sweep", interactive()) as tick:
        report = sweep(store_of(ctx), run, chosen, run.backtest.seeds, parallel, adjust, tick)
    for line in report.failed:
        error(line)
    if out is not None:
        from lstmcast.sweep.outputs import write_sweep

        for path in write_sweep(report, out):
            info(f"wrote {path}")
    if as_json:
        emit_json(report)
    else:
        render_sweep(report)
    if report.failed:
        raise typer.Exit(1)


def _universe(ctx: typer.Context, run: RunConfig, models: tuple[str, ...], parallel: Parallel, adjust: str,
              out: Path | None, as_json: bool) -> None:  # fmt: skip
    from lstmcast.sweep.universe import sweep_universe

    with step_progress(len(models), f"sweep {run.universe}", "models", interactive()) as on_model:
        report = sweep_universe(store_of(ctx), run, models, parallel, adjust, on_model)
    for note in report.notes:
        warn(note)
    doc = report.to_json()
    if out is not None:
        from lstmcast.paths import atomic_write_text

        out.mkdir(parents=True, exist_ok=True)
        board = out / "leaderboard.csv"
        atomic_write_text(board, csv_text(report.leaderboard_rows()))
        info(f"wrote {board}")
    if as_json:
        emit_json(doc)
        return
    con = out_console()
    rows = report.rows
    ranking = bool(rows) and rows[0].summary.net_sharpe is not None
    t = Table(
        "model", rows[0].summary.metric if rows else "value", "t", "vs best baseline", "DM p",
        f"adj. ({adjust})", *(["net Sharpe"] if ranking else []),
        title=f"{report.universe} {report.target}: {len(rows)} configuration(s), {report.seeds} seed(s)"
        f" each, tested {report.span}",
        title_justify="left",
    )  # fmt: skip
    for r in rows:
        s = r.summary
        t.add_row(
            r.model + (" ↺" if r.resumed else ""),
            fmt(s.value, 4),
            fmt(s.t, 2),
            s.best_baseline + (" (beats)" if r.beats_best else ""),
            fmt(s.dm_pvalue, 3),
            fmt(r.pvalue_adjusted, 3),
            *([fmt(s.net_sharpe, 2)] if ranking else []),
        )
    con.print(t)
    resumed = sum(1 for r in rows if r.resumed)
    if resumed:
        con.print(f"↺ {resumed} read back from the store (the same settings on the same data)")
    con.print(f"verdict: {report.verdict()}")


def render_vol_sweep(report: SweepReport, rows: list[VolRow]) -> None:
    """Volatility rows: QLIKE skill against log-HAR and the leverage HAR, DM against log-HAR
    adjusted, MCS membership."""
    con = out_console()
    t = Table(
        "ticker", "model", "seeds", "skill vs log-HAR", "± seeds", "vs lev. HAR", "vs naive", "DM p",
        f"adj. ({report.adjust})", "90% MCS",
        title=f"volatility leaderboard, sweep {report.sweep_id}: the seeds' average forecast against log-HAR",
        title_justify="left",
    )  # fmt: skip
    for r in rows:
        t.add_row(
            r.ticker,
            r.model,
            str(r.seeds),
            pct(r.skill_vs_har, 1),
            pct(r.skill_seed_std, 1).lstrip("+"),
            pct(r.skill_vs_har_lev, 1),
            pct(r.skill_vs_naive, 1),
            fmt(r.dm_pvalue, 3),
            fmt(r.dm_pvalue_adjusted, 3),
            "in" if r.in_mcs else "–",
        )
    con.print(t)
    how = "Benjamini-Hochberg" if report.adjust == "bh" else "Holm"
    con.print(
        f"{len(report.cells)} cells on {report.workers} worker(s) in {report.wall_seconds:.1f}s;"
        f" {report.beat_naive} of {len(report.leaderboard)} ticker x model rows beat log-HAR in"
        f" QLIKE after {how} adjustment (Diebold-Mariano); MCS: each ticker's 90% Model Confidence Set"
        " over its models and the baselines"
    )


def render_sweep(report: SweepReport) -> None:
    from lstmcast.sweep.leaderboard import ReturnRow
    from lstmcast.sweep.volatility import VolRow

    vol = [r for r in report.leaderboard if isinstance(r, VolRow)]
    if vol:
        render_vol_sweep(report, vol)
        return
    board = [r for r in report.leaderboard if isinstance(r, ReturnRow)]
    con = out_console()
    t = Table(
        "ticker",
        "model",
        "seeds",
        "skill vs naive",
        "± seeds",
        "CW p",
        f"adj. ({report.adjust})",
        "vs best baseline",
        "Sharpe",
        "B&H Sharpe",
        "DSR (active)",
        title=f"leaderboard, sweep {report.sweep_id}: each row judges the seeds' average forecast",
        title_justify="left",
    )
    for r in board:
        vs_best = f"{pct(r.skill_vs_best, 2)} (p {fmt(r.pvalue_vs_best_adjusted, 3)})"
        best = "–" if r.best_baseline == "naive" else f"{r.best_baseline} {vs_best}"
        t.add_row(
            r.ticker,
            r.model,
            str(r.seeds),
            pct(r.skill_vs_naive, 2),
            pct(r.skill_seed_std, 2).lstrip("+"),
            fmt(r.cw_pvalue, 3),
            fmt(r.cw_pvalue_adjusted, 3),
            best,
            fmt(r.sharpe, 2),
            fmt(r.buy_and_hold_sharpe, 2),
            fmt(r.deflated_sharpe, 3),
        )
    con.print(t)
    resumed = sum(1 for c in report.cells if c["resumed"])
    how = "Benjamini-Hochberg" if report.adjust == "bh" else "Holm"
    con.print(
        f"{len(report.cells)} cells ({resumed} from the store) on {report.workers} worker(s) in"
        f" {report.wall_seconds:.1f}s; {report.beat_naive} of {len(board)} ticker x model rows"
        f" beat the random walk after {how} adjustment (Clark-West), {report.beat_best} also their"
        " best baseline"
    )
    if board:
        con.print(
            "skill, tests and Sharpe are of the seeds' average forecast over the whole path; ± seeds"
            " is the spread of each seed's own skill. DSR: deflated Sharpe of strategy minus"
            f" buy-and-hold returns, over {board[0].deflated_over} configuration(s)"
        )


@sweeps_app.callback()
@guarded
def sweeps_cli(ctx: typer.Context, output: Format = None, as_json: Json = False) -> None:
    """List past sweeps."""
    if ctx.invoked_subcommand is not None:
        return
    from lstmcast.store.sweeps import list_sweeps

    found = list_sweeps(store_of(ctx).conn)
    shape = output_format(output, as_json)
    if shape != "table":
        public = [_listed(s) for s in found]
        emit_json(public) if shape == "json" else emit_csv(public)
        return
    t = Table("id", "tickers", "models", "seeds", "cells", "updated")
    for s in found:
        cells = "damaged" if s.damaged else str(len(s.cells))
        t.add_row(s.id, ",".join(s.tickers), ",".join(s.models), str(s.seeds), cells, s.updated_at)
    out_console().print(t if found else "no sweeps yet: try `lstmcast sweep AAPL MSFT`")


def _listed(s: SweepRecord) -> dict[str, object]:
    """One sweep as `sweeps --json` lists it; `damaged` only where it is."""
    row: dict[str, object] = {
        "sweep_id": s.id, "created_at": s.created_at, "updated_at": s.updated_at, "tickers": s.tickers,
        "models": s.models, "seeds": s.seeds, "config": s.config, "cells": s.cells,
    }  # fmt: skip
    return row if s.damaged is None else {**row, "damaged": s.damaged}


@sweeps_app.command("show")
@guarded
def sweeps_show_cli(
    ctx: typer.Context, sweep_id: Annotated[str, typer.Argument(help="Sweep id.")], as_json: Json = False
) -> None:
    """Print a past sweep's leaderboard again, from the store (nothing is recomputed)."""
    from lstmcast.sweep.run import stored_sweep

    report = stored_sweep(store_of(ctx), sweep_id)
    if as_json:
        emit_json(report)
    else:
        render_sweep(report)
