"""`lstmcast backtest`: walk-forward evaluation against the baselines, with a trading simulation."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lstmcast.cli import readings
from lstmcast.cli.common import (
    WIDE,
    emit_json,
    fixed,
    fmt,
    guarded,
    info,
    interactive,
    out_console,
    pct,
    store_of,
    warn,
)
from lstmcast.cli.options import Cluster, ClusterSecurity, Json, Wide, Workers, parallel_of, run_options
from lstmcast.cli.progress import fold_progress
from lstmcast.cli.render import (
    interval_cells,
    metrics_table,
    verdict,
    vol_scores_table,
    vol_sensitivity,
    vol_verdict,
)
from lstmcast.cli.tables import optional
from lstmcast.paths import check_output, check_plot
from lstmcast.runconfig import RunConfig
from lstmcast.settings import VOL_LABELS
from lstmcast.target import target_of

if TYPE_CHECKING:
    from lstmcast.backtest.panel import PanelBacktest
    from lstmcast.backtest.panel_volatility import PooledVolatility
    from lstmcast.backtest.result import Backtest, Outcome
    from lstmcast.evaluation.intervals import IntervalReport
    from lstmcast.evaluation.panel import PerTickerDM, Portfolio
    from lstmcast.execution.engine import Parallel


@guarded
@run_options(backtest=True, universe=True)
def backtest_cli(
    ctx: typer.Context,
    run: RunConfig,
    out: Annotated[
        Path | None, typer.Option(help="Write predictions.csv, equity.csv and metrics.json here.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write a figure (.png, .svg or .pdf): forecasts, equity, drawdown.")
    ] = None,
    workers: Workers = 1,
    cluster: Cluster = None,
    cluster_security: ClusterSecurity = None,
    wide: Wide = False,
    as_json: Json = False,
) -> None:
    """Walk-forward backtest against naive, drift and linear AR, with a cost-aware trading simulation.

    On a universe (a rank or excess target): one network across the members, judged date by
    date (IC, a portfolio after costs, pooled DM) against reversal, momentum and ridge.
    """
    from lstmcast.backtest import outputs
    from lstmcast.backtest.run import backtest
    from lstmcast.data.series import load_inputs
    from lstmcast.threadpolicy import thread_choice

    WIDE.set(wide)
    if run.universe is not None:
        _universe(ctx, run, out, plot, parallel_of(ctx, workers, cluster, cluster_security), as_json)
        return

    if out is not None:  # refused before the work, not after it
        check_output(out, directory=True)
    if plot is not None:
        check_plot(plot)
    parallel = parallel_of(ctx, workers, cluster, cluster_security)  # a bad address refused before the work
    series = load_inputs(store_of(ctx), run.tickers, run.csv, run.train.exog)
    with fold_progress(f"backtest {series[0].ticker}", interactive()) as on_fold:
        runner = None
        if parallel.distributed:
            from lstmcast.backtest.folds import fold_runner

            runner = fold_runner(parallel, on_fold)
        result = backtest(run.train, run.backtest, series[0], series[1:], runner, on_fold)
    for note in result.notes:
        warn(note)
    for path in outputs.write_outputs(result, out) if out is not None else []:
        info(f"wrote {path}")
    if plot is not None:
        info(f"wrote {outputs.plot(result, plot)}")
    doc = result.to_json()
    # Torch threads per fold: each worker's share of the cores, or this process's choice.
    choice = thread_choice(run.train.threads)
    doc["threads_per_worker"] = parallel.threads_per_worker() if parallel.distributed else choice.threads
    doc["threads_why"] = "each worker's share of the cores" if parallel.distributed else choice.why
    if as_json:
        emit_json(doc)
    else:
        _TABLES[target_of(result.config.target).family](result)


def render_volatility(result: Backtest[Outcome]) -> None:
    """A volatility backtest: its folds, the pooled scores of every forecaster, the VaR hits
    and the verdict against the benchmark HAR."""
    from lstmcast.backtest.volatility import VolatilityOutcome

    out, cfg = result.of(VolatilityOutcome).outcome, result.config
    scores, annualised = out.scored, out.annualised()
    period = out.period(result.frame, cfg.horizon)
    con = out_console()
    con.print(
        f"[bold]{result.ticker}[/bold] {cfg.model} volatility, {cfg.horizon}-day average variance of the"
        f" {result.frame.vol_proxy} proxy: walk-forward ({result.bt.scheme}), {len(result.folds)} folds,"
        f" {out.n_predictions()} forecasts {period[0]}..{period[1]}"
    )
    folds = Table(
        "fold",
        "test period",
        "n",
        "QLIKE model",
        "QLIKE log-HAR",
        "QLIKE lev. HAR",
        title="per fold",
        title_justify="left",
    )
    for f in result.folds:
        q = f.scores.qlike
        folds.add_row(
            str(f.index), f"{f.test_start}..{f.test_end}", str(f.n), fmt(q["model"], 4), fmt(q["har_log"], 4),
            fmt(q["har_lev"], 4),
        )  # fmt: skip
    con.print(folds)
    used = VOL_LABELS[scores.benchmark]
    t = vol_scores_table(
        scores,
        annualised,
        cfg.model,
        f"pooled out-of-sample; skill: 1 - QLIKE / QLIKE of {used} (the benchmark), the leverage HAR"
        f" or naive; baselines refitted every {result.bt.refit_every or 'block'} origins",
        var=True,
    )
    con.print(t)
    con.print(
        "VaR: 1-day value-at-risk from each forecaster's own 1-day forecast and residuals, hits and Kupiec p;"
        " mean vol: the average forecast as annualised volatility"
    )
    for line in readings.far_off(scores, annualised, VOL_LABELS, used):
        con.print(f"  note: {line}")
    con.print(f"model: {vol_verdict(scores)}")
    for line in vol_sensitivity(scores):
        con.print(f"  {line}")


def render(result: Backtest[Outcome]) -> None:
    """A return or price backtest: its folds, pooled scores, seeds, trading rule, intervals
    and verdict."""
    from lstmcast.backtest.run import ReturnOutcome

    con = out_console()
    cfg, out = result.config, result.of(ReturnOutcome).outcome
    first = out.first
    if result.members:
        others = ", ".join(result.members)
        con.print(f"global model trained on {result.ticker} with {others}; scored on {result.ticker}")
    period = out.period(result.frame, cfg.horizon)
    con.print(
        f"[bold]{result.ticker}[/bold] {cfg.model} walk-forward ({result.bt.scheme}), "
        f"{len(result.folds)} folds, {out.n_predictions()} forecasts {period[0]}..{period[1]}"
    )
    folds = Table(
        "fold",
        "test period",
        "n",
        "MAE model",
        "MAE naive",
        "skill vs naive",
        "RMSE model",
        "MAPE",
        "MASE",
        "rel. MAE",
        "dir. acc",
        "DM p (unadj.)",
        title="per fold (DM p-values not adjusted for the number of folds)",
        title_justify="left",
    )
    optional(folds, "MAPE", "RMSE model", "MASE", "rel. MAE", "MAE naive", "DM p (unadj.)", wide=True)
    for f in result.folds:
        m, nv, mp = f.scores.metrics["model"], f.scores.metrics["naive"], f.scores.metrics_price["model"]
        folds.add_row(
            str(f.index),
            f"{f.test_start}..{f.test_end}",
            str(f.n),
            fmt(m.mae, 5),
            fmt(nv.mae, 5),
            pct(m.skill_vs_naive, 2),
            fmt(m.rmse, 5),
            pct(mp.mape, 2).lstrip("+"),
            fmt(m.mase, 3),
            fmt(m.rel_mae, 3),
            pct(m.directional_accuracy).lstrip("+"),
            fmt(f.scores.dm_pvalue, 3),
        )
    con.print(folds)
    con.print(metrics_table("pooled out-of-sample", first.scores.target, first.scores.price, cfg.target))
    if result.bt.seeds > 1:
        t = Table(
            "metric (model)", "mean", "± std", title=f"across {result.bt.seeds} seeds", title_justify="left"
        )
        for k, v in out.across_seeds["model"].items():
            t.add_row(k, fmt(v["mean"], 5), fmt(v["std"], 5))
        for k, v in out.across_seeds["strategy"].items():
            t.add_row(f"strategy {k}", fmt(v["mean"], 4), fmt(v["std"], 4))
        con.print(t)
    s, b, bt = first.strategy.stats, first.buy_and_hold.stats, result.bt
    st = Table(
        "",
        "strategy",
        "buy and hold",
        title=f"trading {bt.rule}, threshold {bt.threshold:g}, {bt.cost_bps:g} bp per turnover",
        title_justify="left",
    )

    def share(v: float | None) -> str:
        return pct(v).lstrip("+")

    rows: list[tuple[str, Callable[[float], str]]] = [
        ("total return", pct),
        ("cagr", pct),
        ("volatility", share),
        ("sharpe", lambda v: fmt(v, 2)),
        ("max_drawdown", pct),
        ("turnover", lambda v: fmt(v, 1)),
        ("trades", lambda v: str(int(v))),
        ("hit_rate", share),
        ("exposure", share),
    ]
    for name, show in rows:
        key = name.replace(" ", "_")
        mine, hold = getattr(s, key), getattr(b, key)
        st.add_row(
            name.replace("_", " "),
            show(mine) if mine is not None else "–",
            show(hold) if hold is not None else "–",
        )
    con.print(st)
    con.print(intervals_table(first.interval_scores))
    for line in readings.intervals(first.interval_scores):
        warn(line)
    con.print(f"model: {verdict(out.verdict)}")
    disagree = readings.disagreement(out.verdict, first.scores.target["model"], s.sharpe, b.sharpe)
    if disagree is not None:
        con.print(f"  in words: {disagree}")


def intervals_table(iv: IntervalReport) -> Table:
    """One row per level: did the one-step intervals keep their promise, calm or turbulent?"""
    t = Table(
        "level",
        "coverage",
        "calm",
        "middle",
        "turbulent",
        "width",
        "Winkler",
        "Kupiec p",
        "Christoffersen p",
        "cond. cov. p",
        title=f"one-step intervals ({iv.method}), coverage by tercile of ex-ante volatility",
        title_justify="left",
    )
    unbounded = []
    for label, s in iv.levels.items():
        t.add_row(
            f"{label}%",
            *interval_cells(s),
            fmt(s.winkler, 4),
            fmt(s.kupiec_p, 3),
            fmt(s.christoffersen_p, 3),
            fmt(s.conditional_coverage_p, 3),
        )
        if s.unbounded:
            unbounded.append(f"{label}%: {s.unbounded} of {s.n}")
    if unbounded:
        t.caption = (
            "unbounded (too few past errors to bound a side; they cover, and width and Winkler"
            f" leave them out): {', '.join(unbounded)}"
        )
    return t


def _universe(
    ctx: typer.Context,
    run: RunConfig,
    out: Path | None,
    plot: Path | None,
    parallel: Parallel,
    as_json: bool,
) -> None:
    """`backtest --universe`: the panel walk-forward, its table and its JSON."""
    from lstmcast.backtest.panel import PanelBacktest, panel_backtest
    from lstmcast.backtest.panel_outputs import plot_panel, write_panel_outputs

    if out is not None:  # refused before the work, not after it
        check_output(out, directory=True)
    if plot is not None:
        check_plot(plot)
    assert run.universe is not None
    with fold_progress(f"backtest {run.universe}", interactive()) as on_fold:
        result = panel_backtest(store_of(ctx), run.universe, run.train, run.backtest, on_fold, parallel)
    for note in result.notes:
        warn(note)
    for path in write_panel_outputs(result, out) if out is not None else []:
        info(f"wrote {path}")
    if plot is not None:
        info(f"wrote {plot_panel(result, plot)}")
    if as_json:
        emit_json(result.to_json())
    elif isinstance(result, PanelBacktest):
        render_universe(result)
    else:
        render_pooled_variance(result)


def _universe_head(r: PanelBacktest | PooledVolatility, what: str) -> None:
    """A universe backtest's first lines: what was walked, and who was in the universe."""
    con, n, s = out_console(), len(r.folds), r.survivorship
    con.print(
        f"[bold]{r.universe}[/bold] {r.model} {what}, {r.horizon}-day: {r.members} members, {n}"
        f" fold{'' if n == 1 else 's'}, test {r.period[0]}..{r.period[1]}"
    )
    con.print(
        f"survivorship: {s.members} members, {s.covering} cover their span,"
        f" {s.without_prices} without prices, {s.ending_early} end early"
    )


def _per_member(dm: PerTickerDM, loss: str) -> str:
    return (
        f"the network's {loss} is lower for {dm.model_better} of {dm.tickers};"
        f" {dm.significant_bh} differ after Benjamini-Hochberg ({dm.significant_raw} before)"
    )


def render_pooled_variance(r: PooledVolatility) -> None:
    """A pooled variance network beside the per-member and pooled HARs."""
    con = out_console()
    _universe_head(r, "volatility")
    title = f"pooled QLIKE on {r.cells:,} cells; skill: 1 - network / it"
    table = Table("forecaster", "pooled QLIKE", "skill", "DM p", "Holm p", title=title, title_justify="left")
    table.add_row("network", fixed(r.qlike["network"], 4), "", "", "")
    for name, q in r.qlike.items():
        if name == "network":
            continue
        each = r.against_each[name]
        mark = " (best)" if name == r.best_baseline else ""
        table.add_row(name + mark, fixed(q, 4), pct(r.skill_vs[name], 1), fmt(each.pvalue, 3),
                      fmt(each.pvalue_holm, 3))  # fmt: skip
    con.print(table)
    years = [y for y in r.by_year if y.skill_vs_best is not None]
    if len(years) > 1:
        con.print(
            f"skill vs {r.best_baseline}, by year: "
            + ", ".join(f"{y.year} {pct(y.skill_vs_best, 1)}" for y in years)
        )
    if r.mcs:
        con.print(f"90% model confidence set on the pooled QLIKE: {', '.join(r.mcs)}")
    con.print(f"per member: {_per_member(r.per_ticker_dm, 'QLIKE')}")
    con.print(f"verdict: {r.verdict()}")


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _power(pf: Portfolio) -> str:
    """The power line: the t the net Sharpe reached over the test span, and the years a t of 3
    would take at that Sharpe."""
    span = pf.days / 252
    head = f"power: over {span:.1f} years the net Sharpe's t is {fmt(pf.net_sharpe_t, 2)}"
    years = pf.years_for_t3
    if years is None:
        return f"{head}; with no positive Sharpe, no span of data makes it significant"
    if years < span:
        need = "under a tenth of a year" if years < 0.1 else f"{years:.1f} years"
        return f"{head}; a t of 3 needs {need} at this Sharpe, less than was tested"
    return f"{head}; a t of 3 would need about {years:,.0f} years at this Sharpe"


def render_universe(r: PanelBacktest) -> None:
    con = out_console()
    _universe_head(r, r.target)
    table = Table("scores", "rank IC", "t", "IC", "net Sharpe", title="rank IC by date, Newey-West t",
                  title_justify="left")  # fmt: skip
    m, pf = r.model_scores, r.portfolio
    table.add_row("network", fixed(m.rank_ic_mean, 4), fmt(m.rank_ic_t, 2), fixed(m.ic_mean, 4),
                  fmt(pf.net_sharpe, 2))  # fmt: skip
    for name, b in r.baselines.items():
        mark = " (best)" if name == r.best_baseline else ""
        table.add_row(name + mark, fixed(b.rank_ic_mean, 4), fmt(b.rank_ic_t, 2),
                      fixed(b.ic_mean, 4), fmt(b.net_sharpe, 2))  # fmt: skip
    con.print(table)
    con.print(
        f"portfolio ({pf.rule}, k {pf.k}, {pf.cost_bps:g} bp per half-turn): net"
        f" {pct(pf.net_return_ann)} a year (gross {pct(pf.gross_return_ann)}), Sharpe"
        f" {fmt(pf.net_sharpe, 2)} (t {fmt(pf.net_sharpe_t, 2)}),"
        f" turnover {pct(pf.turnover).lstrip('+')} a day,"
        f" max drawdown {pct(pf.max_drawdown).lstrip('+')}"
    )
    con.print(_power(pf))
    said = readings.deflated_sharpe(r.deflated.probability, r.deflated.trials)
    if said is not None:
        con.print(f"deflated Sharpe over the network's and the baselines' portfolios: {said}")
    years = [y for y in r.by_year if y.days]
    if len(years) > 1:
        con.print("net a year, by year: " + ", ".join(f"{y.year} {pct(y.net_return, 0)}" for y in years))
    cw = r.clark_west
    if cw.pvalue is not None:
        said = "beats" if cw.pvalue < 0.05 else "cannot be told from"
        con.print(
            f"Clark-West against the no-information score: the network {said} it"
            f" (one-sided p {_p(cw.pvalue)})"
        )
    if r.mcs:
        con.print(f"90% model confidence set on the pooled rank errors: {', '.join(r.mcs)}")
    ics = [v for v in r.rank_ic_by_seed if v is not None]
    if len(ics) > 1:
        con.print(
            f"seeds: rank IC {statistics.mean(ics):.4f} ± {statistics.stdev(ics):.4f} over {len(r.seeds)}"
            " seeds; the scores above are their average model"
        )
    con.print(f"per ticker: {_per_member(r.per_ticker_dm, 'squared rank error')}")
    con.print(f"verdict: {r.verdict()}")


# A one-series backtest's table per family of target.
_TABLES: dict[str, Callable[[Backtest[Outcome]], None]] = {"return": render, "volatility": render_volatility}
