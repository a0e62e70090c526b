"""`lstmcast tune` and `lstmcast tunes`: settings chosen on inner folds, judged on outer ones."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from lstmcast.cli import readings
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
from lstmcast.cli.progress import step_progress, trial_progress
from lstmcast.errors import DamagedError, NotFoundError
from lstmcast.jsonable import json_at, number_or_none
from lstmcast.paths import check_output
from lstmcast.runconfig import RunConfig
from lstmcast.settings import SAMPLERS
from lstmcast.target import target_of

if TYPE_CHECKING:
    from lstmcast.execution.engine import Parallel
    from lstmcast.store.tunes import TrialRecord, TuneRecord
    from lstmcast.tuning.report import TuneReport
    from lstmcast.tuning.tune import TuneSettings

    SamplerName = str
else:
    SamplerName = Literal.__getitem__(SAMPLERS)

tunes_app = typer.Typer(invoke_without_command=True, help="List past tunes; `show ID` prints one again.")


@guarded
@run_options(
    backtest=True, tickers_help="Stored tickers; each is tuned on its own. Or use --csv.", universe=True
)
def tune_cli(
    ctx: typer.Context,
    run: RunConfig,
    trials: Annotated[int, typer.Option(help="Trials per outer fold (each fold has its own search).")] = 20,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds; then no new trial starts.", show_default=False)
    ] = None,
    space: Annotated[
        Path | None,
        typer.Option(
            help="TOML search space replacing the default's entries (docs/tuning.md).", show_default=False
        ),
    ] = None,
    sampler: Annotated[
        SamplerName, typer.Option(help="tpe (Optuna's TPE) or random (a baseline search).")
    ] = "tpe",
    inner_folds: Annotated[int, typer.Option(help="Inner walk-forward folds in each outer fold's past.")] = 3,
    prune: Annotated[bool, typer.Option(help="Stop a trial after an inner fold below the median.")] = True,
    resume: Annotated[
        bool, typer.Option(help="Continue a tune of the same settings from the store.")
    ] = False,
    workers: ManyWorkers = os.cpu_count() or 1,
    cluster: Cluster = None,
    cluster_security: ClusterSecurity = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write trials-TICKER.csv, best-TICKER.toml and tune-TICKER.png here (with --universe:"
            " trials.csv and best.toml).",
            show_default=False,
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Choose a model's settings by nested walk-forward, and judge the choice out of sample.

    Inside each outer (backtest) fold, an Optuna search scores settings on inner folds cut
    from that fold's past only; the best are refitted and scored once on the outer block.
    The verdict counts the search: outer skill beside the inner best, the deflated Sharpe
    over every trial, and the probability of backtest overfitting (CSCV). With --universe:
    one search on the dates before the test span (each trial a walk-forward across the
    members), then the chosen and the starting settings walked over the test span.
    """
    from lstmcast.store.tunes import TrialState
    from lstmcast.tuning.report import tune
    from lstmcast.tuning.tune import TuneSettings

    settings = TuneSettings(trials, inner_folds, sampler, timeout, resume, prune)
    parallel = parallel_of(ctx, workers, cluster, cluster_security)  # a bad address refused before the work
    if run.universe is not None:
        _universe(ctx, run, settings, space, parallel, out, as_json)
        return
    if out is not None:
        from lstmcast.tuning.outputs import check_tune_files

        check_output(out, directory=True)
        check_tune_files(out, list(run.tickers))  # before the search, not after it
    total = len(run.tickers or [run.csv]) * run.backtest.folds * trials
    with trial_progress(total, "tune", interactive()) as tick:
        reports = tune(store_of(ctx), run, settings, space, parallel, tick)
    for r in reports:
        for note in r.notes:
            warn(f"{r.ticker}: {note}")
        if r.resumed_trials:
            info(f"{r.ticker}: resumed tune {r.tune_id} from its {r.resumed_trials} stored trial(s)")
        failed = [t for t in r.trials if t.state is TrialState.FAILED]
        if failed:
            error(
                f"{r.ticker}: {len(failed)} trial(s) failed, e.g. trial {failed[0].number}"
                f" of fold {failed[0].fold}: {failed[0].error}"
            )
        if r.helped():
            info(f"{r.ticker}: best settings in {r.best_config_path} (`lstmcast train --config FILE`)")
        else:
            warn(f"{r.ticker}: {r.keep_starting()}; the search's choice, marked so, is in"
                 f" {r.best_config_path}")  # fmt: skip
    if out is not None:
        from lstmcast.tuning.outputs import write_tune

        for r in reports:
            for path in write_tune(r, out):
                info(f"wrote {path}")
    if as_json:
        emit_json(reports[0].doc if len(reports) == 1 else [r.doc for r in reports])
    else:
        for r in reports:
            render_tune(r.doc, r.trials)
        if len(reports) > 1:
            out_console().print(survivors(reports))


def _universe(ctx: typer.Context, run: RunConfig, settings: TuneSettings, space: Path | None,
              parallel: Parallel, out: Path | None, as_json: bool) -> None:  # fmt: skip
    from lstmcast.tuning.universe import tune_universe

    if out is not None:
        check_output(out, directory=True)
    with step_progress(settings.trials, f"tune {run.universe}", "trials", interactive()) as on_trial:
        report = tune_universe(store_of(ctx), run, settings, space, parallel, on_trial)
    for note in report.notes:
        warn(note)
    failed = [t for t in report.trials if t.state == "failed"]
    if failed:
        error(f"{len(failed)} trial(s) failed, e.g. trial {failed[0].number}: {failed[0].error}")
    doc = report.to_json()
    if out is not None:
        from lstmcast.paths import atomic_write_bytes

        out.mkdir(parents=True, exist_ok=True)
        rows = [{"number": t.number, "state": t.state, "value": t.value, "resumed": t.resumed, **t.params}
                for t in report.trials]  # fmt: skip
        trials_csv, best = out / "trials.csv", out / "best.toml"
        atomic_write_bytes(trials_csv, csv_text(rows).encode())
        atomic_write_bytes(best, Path(report.best_config_path).read_bytes())
        for path in (trials_csv, best):
            info(f"wrote {path}")
    if as_json:
        emit_json(doc)
        return
    con = out_console()
    con.print(
        f"[bold]{report.universe}[/bold] {report.model} {report.target}: {len(report.trials)} trial(s) on"
        f" {report.inner_span}, judged on {report.outer_span}"
    )
    title = "out of sample: the chosen settings and the starting ones"
    t = Table("settings", report.tuned.metric, "t", "vs best baseline", "DM p", "net Sharpe", title=title,
              title_justify="left")  # fmt: skip
    for label, w in (("chosen", report.tuned), ("starting", report.start)):
        t.add_row(label, fmt(w.value, 4), fmt(w.t, 2), w.best_baseline, fmt(w.dm_pvalue, 3),
                  fmt(w.net_sharpe, 2))  # fmt: skip
    con.print(t)
    con.print("chosen: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                     for k, v in report.chosen.items()))  # fmt: skip
    resumed = sum(1 for x in report.trials if x.resumed)
    if resumed:
        con.print(f"{resumed} trial(s) read back from the store (the same settings on the same data)")
    con.print(f"verdict: {report.verdict()}")
    info(f"the chosen settings: {report.best_config_path} (`lstmcast backtest --config FILE`)")


def survivors(reports: list[TuneReport]) -> str:
    """How many tickers' tuned models beat their baseline after Holm's correction across them."""
    won = sum(1 for r in reports if r.beats())
    base = target_of(reports[0].target).benchmark
    return (
        f"{won} of {len(reports)} tuned tickers beat {base} out of sample after Holm's correction"
        f" across the {len(reports)} tickers"
    )


def render_tune(doc: dict[str, Any], trials: list[TrialRecord]) -> None:
    con = out_console()
    target = target_of(doc["target"])
    vol, against = target.is_variance, target.short
    t = Table(
        "fold", "test from", "best trial", "inner best", f"outer vs {against}", "optimism", "starting",
        title=f"tune {doc['tune_id']}: {doc['ticker']} {doc['model']}, chosen in each fold's past",
        title_justify="left",
    )  # fmt: skip
    for r in doc["outer"]:
        t.add_row(
            str(r["fold"]),
            r["test_start"],
            str(r["best_trial"]),
            pct(r["inner_score"], 2),
            pct(r["outer_skill"], 2),
            pct(r["optimism"], 2),
            pct(r["start_outer_skill"], 2),
        )
    con.print(t)
    top = Table("fold", "trial", "inner", "settings", title="top trials", title_justify="left")
    done = sorted((x for x in trials if x.complete), key=lambda x: -(x.value or 0.0))
    for x in done[:5]:
        settings = ", ".join(f"{k}={_short(v)}" for k, v in x.params.items())
        top.add_row(str(x.fold), str(x.number), pct(x.value, 2), settings)
    con.print(top)
    skill, start = doc[target.skill_key], doc["start"][target.skill_key]
    states = doc["states"]
    con.print(
        f"{doc['trials']} trials ({states['complete']} complete, {states['pruned']} pruned,"
        f" {states['failed']} failed). Pooled outer skill vs {against} {pct(skill, 2)}"
        f" (p {fmt(doc['dm_pvalue'], 3)}, {TEST_NAMES.get(doc['test'], doc['test'])}),"
        f" starting settings {pct(start, 2)};"
        f" inner best {pct(doc['inner_best_mean'], 2)} on average."
    )
    on = doc.get("pbo_trials_by_fold") or []
    pruned = f", {states['pruned']} pruned left out" if states["pruned"] else ""
    counted = (
        f"PBO {fmt(doc['pbo'], 2)} (CSCV, mean over folds, on the {sum(on)} trials that finished{pruned})"
        if on
        else f"PBO {fmt(doc['pbo'], 2)} (CSCV, mean over folds)"
    )
    if not vol:
        counted += (
            f"; deflated Sharpe of the chosen trials {fmt(doc['deflated_sharpe'], 3)} (inner folds, over"
            f" {doc['deflated_over']} trials a fold); outer Sharpe > 0 with probability"
            f" {fmt(doc['sharpe_probability'], 3)}"
        )
    if doc.get("tickers_compared", 1) > 1:
        counted += (
            f"; Holm-adjusted p {fmt(doc['dm_pvalue_adjusted'], 3)} over {doc['tickers_compared']} tickers"
        )
    con.print(counted)
    for said in (
        readings.pbo(doc["pbo"]),
        None if vol else readings.deflated_sharpe(doc["deflated_sharpe"], doc["deflated_over"]),
        None if vol else readings.sharpe_probability(doc["sharpe_probability"]),
    ):
        if said is not None:
            con.print(f"  in words: {said}")
    con.print(f"verdict: {doc['verdict']}")


# A test's name in prose, not its JSON key.
TEST_NAMES = {"clark_west": "Clark-West", "diebold_mariano": "Diebold-Mariano"}


def _short(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


@tunes_app.callback()
@guarded
def tunes_cli(ctx: typer.Context, output: Format = None, as_json: Json = False) -> None:
    """List past tunes."""
    if ctx.invoked_subcommand is not None:
        return
    from lstmcast.store.tunes import list_tunes, trial_counts

    store = store_of(ctx)
    found = list_tunes(store.conn)
    counts = trial_counts(store.conn)
    trials = {s.id: sum(counts.get(s.id, {}).values()) for s in found}
    shape = output_format(output, as_json)
    if shape != "table":
        rows = [
            {
                "tune_id": s.id,
                "ticker": s.ticker,
                "model": s.model,
                "target": s.target,
                "trials": trials[s.id],
                "finished": s.result is not None,
                "damaged": s.damaged,
                "skill": _skill(s),
                "verdict": None if s.result is None else s.result["verdict"],
                "updated_at": s.updated_at,
            }
            for s in found
        ]
        emit_json(rows) if shape == "json" else emit_csv(rows)
        return
    t = Table("id", "ticker", "model", "target", "trials", "outer skill", "updated")
    for s in found:
        skill = "damaged" if s.damaged else "unfinished" if s.result is None else pct(_skill(s), 2)
        t.add_row(s.id, s.ticker, s.model, s.target, str(trials[s.id]), skill, s.updated_at)
    out_console().print(t if found else "no tunes yet: try `lstmcast tune AAPL --trials 20`")


def _skill(tune: TuneRecord) -> float | None:
    """A finished tune's outer skill, by its target's measure."""
    return number_or_none(json_at(tune.result, target_of(tune.target).skill_key))


@tunes_app.command("show")
@guarded
def tunes_show_cli(
    ctx: typer.Context,
    tune_id: Annotated[str, typer.Argument(help="Tune id, or a unique prefix of one.")],
    as_json: Json = False,
) -> None:
    """Print a past tune again, from the store (nothing is recomputed)."""
    from lstmcast.store.db import resolve_prefix
    from lstmcast.store.tunes import get_tune, trials_of

    store = store_of(ctx)
    whole = resolve_prefix(store.conn, "tunes", tune_id)
    found = get_tune(store.conn, whole)
    assert found is not None
    if found.damaged:
        raise DamagedError(
            f"tune {whole} is damaged in the store: {found.damaged}; run the tune again with"
            " --resume (its finished trials are kept) or start a new one"
        )
    if found.result is None:
        raise NotFoundError(
            f"tune {whole} has not finished ({len(trials_of(store.conn, whole))} trials stored):"
            " run it again with --resume"
        )
    if as_json:
        emit_json(found.result)
    else:
        render_tune(found.result, trials_of(store.conn, whole))
