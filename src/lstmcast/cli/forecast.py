"""`lstmcast forecast`: dated forecasts from the newest bar, with their intervals."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lstmcast.cli.common import (
    emit_json,
    error,
    fmt,
    guarded,
    info,
    out_console,
    pct,
    store_of,
    warn,
    worst_exit,
)
from lstmcast.cli.options import (
    Calendar,
    EngineName,
    ForecastIntervals,
    ForecastModel,
    ForecastTarget,
    Horizon,
    Json,
    RetrainIfOlder,
)
from lstmcast.errors import LstmcastError
from lstmcast.paths import check_plot
from lstmcast.runconfig import DEFAULT_INTERVALS, ForecastConfig
from lstmcast.settings import VOL_LABELS

if TYPE_CHECKING:
    from lstmcast.forecasting.result import ForecastResult
    from lstmcast.forecasting.variance import VarianceForecast
    from lstmcast.store.db import Store


def _levels(text: str) -> tuple[float, ...]:
    """The levels asked for, each a number: an empty list or an empty item is refused, not skipped."""
    parts = [x.strip() for x in text.split(",")]
    try:
        if not all(parts):
            raise ValueError
        return tuple(float(x) / 100 for x in parts)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a list of percentages like 80,95", param_hint="--levels"
        ) from None


@guarded
def forecast_cli(
    ctx: typer.Context,
    tickers: Annotated[
        list[str] | None,
        typer.Argument(help="Stored tickers to forecast (or use --csv).", show_default=False),
    ] = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Forecast from this CSV (not stored, not in the ledger).")
    ] = None,
    ticker: Annotated[
        str | None,
        typer.Option(
            "--ticker",
            "-t",
            help="With --csv: the ticker the file holds; its newest model forecasts"
            " (default: the file's name).",
            show_default=False,
        ),
    ] = None,
    levels: Annotated[str, typer.Option(help="Interval levels in percent, comma-separated.")] = "80,95",
    model_id: Annotated[
        str | None,
        typer.Option(
            "--model-id", help="Use this model (default: the newest for the ticker).", show_default=False
        ),
    ] = None,
    model: ForecastModel = None,
    horizon: Horizon = 1,
    target: ForecastTarget = None,
    calendar: Calendar = None,
    intervals: ForecastIntervals = DEFAULT_INTERVALS,
    engine: Annotated[
        EngineName,
        typer.Option(
            help="What runs the network: onnx (ONNX Runtime, no torch import), torch, or auto"
            " (onnx when the model has an export)."
        ),
    ] = "auto",
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Write a chart (.png, .svg or .pdf): the recent path, the forecast and its intervals"
            " (a volatility forecast: over the realised volatility)."
        ),
    ] = None,
    retrain_if_older: RetrainIfOlder = None,
    universe: Annotated[
        str | None,
        typer.Option(
            help="Rank this universe's members (or forecast each one's volatility) with its newest"
            " model (`train --universe`).",
            show_default=False,
        ),
    ] = None,
    k: Annotated[
        int | None,
        typer.Option(
            "--k", help="With --universe: long and short picks (default: a tenth of the members).", min=1
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Forecast the next trading days with 80% and 95% intervals, and record them in the ledger.

    Dates come from the exchange calendar (no weekends, holidays or closures). Running it
    again from the same bar with the same model adds nothing to the ledger. With --universe:
    today's ranking of its members, and the long and short picks (a volatility model: each
    member's volatility beside its log-HAR).
    """
    from lstmcast.forecasting.result import forecast_json
    from lstmcast.jobs.forecast import forecast

    if universe is not None:
        given = {
            "TICKER": bool(tickers),
            "--csv": csv is not None,
            "--ticker": ticker is not None,
            "--plot": plot is not None,
            "--target": target is not None,
            "--model": model is not None,
            "--horizon": horizon != 1,
            "--calendar": calendar is not None,
            "--intervals": intervals != DEFAULT_INTERVALS,
            "--levels": levels != "80,95",
            "--retrain-if-older": retrain_if_older is not None,
        }
        clash = [flag for flag, on in given.items() if on]
        if clash:
            raise typer.BadParameter(
                f"{clash[0]} does not apply to --universe: its model fixes the target and horizon,"
                " and a ranking has no price interval"
            )
        _universe(ctx, universe, model_id, k, engine, as_json)
        return
    if k is not None:
        raise typer.BadParameter("--k picks a universe's members: give --universe NAME")
    if csv is None and not tickers:
        raise typer.BadParameter("give stored TICKER(s) or --csv PATH")
    if csv is not None and tickers:  # one file is one series, forecast once under one name
        raise typer.BadParameter(
            f"--csv {csv} holds one series: name it with --ticker T,"
            f" not TICKER arguments ({', '.join(tickers)})"
        )
    store = store_of(ctx)
    if plot is not None:
        check_plot(plot)  # before the work, not after it
    if ticker is not None and (csv is None or tickers):
        raise typer.BadParameter("--ticker names the series of a --csv file; stored tickers are arguments")
    names: list[str | None] = list(tickers) if tickers else [ticker]
    config = ForecastConfig(model, target, horizon, calendar, intervals, retrain_if_older).validate()
    chosen = _levels(levels)
    # Each ticker on its own: one that fails neither stops the others nor leaves a ledger row
    # nobody saw. Every ticker that succeeded is shown (and was written); failures are listed.
    results, failures = [], []
    for t in names:
        try:
            results.append(forecast(store, t, config, model_id, csv, chosen, engine))
        except LstmcastError as exc:
            if len(names) == 1:
                raise
            failures.append((t, exc))
    for r in results:
        for w in r.warnings:
            warn(f"{r.ticker}: {w}")
    if plot is not None:
        _plots(store, results, plot, csv)
    said = [
        (t, m if m.upper().startswith(str(t).upper()) else f"{t}: {m}")
        for t, m in ((t, str(p)) for t, p in failures)
    ]
    code = worst_exit([p for _, p in failures])
    if as_json:  # one shape for one ticker or many, as fetch and daily print
        emit_json(
            {
                "exit_code": code,
                "tickers": [forecast_json(r) for r in results],
                "errors": [{"ticker": t, "error": m} for t, m in said],
            }
        )
    else:
        render_forecasts(results, in_ledger=csv is None)
    for _, message in said:
        error(message)
    if failures:
        raise typer.Exit(code)


def _universe(ctx: typer.Context, name: str, model_id: str | None, k: int | None, engine: str,
              as_json: bool) -> None:  # fmt: skip
    from lstmcast.forecasting.universe import forecast_universe

    made = forecast_universe(store_of(ctx), name, model_id, k, engine)
    for w in made.warnings:
        warn(w)
    if as_json:
        emit_json(made.to_json())
        return
    from rich.table import Table

    con = out_console()
    con.print(
        f"[bold]{made.universe}[/bold] {made.model} {made.target}: {len(made.ranking)} of"
        f" {made.members} members {'ranked' if made.k else 'forecast'} at {made.as_of}'s close, for"
        f" {made.target_date}"
        f" ({made.horizon}-day)"
    )
    if made.k:
        shown = made.ranking if len(made.ranking) <= 20 else [r for r in made.ranking if r.side]
        t = Table("rank", "ticker", "score", "pick", title=f"ranking, k {made.k}", title_justify="left")
        for i, r in enumerate(shown):
            if i and r.rank != shown[i - 1].rank + 1:
                t.add_row("…", "", "", "")
            t.add_row(str(r.rank), r.ticker, f"{r.score:+.4f}", r.side or "–")
    else:
        t = Table("rank", "ticker", "volatility", "log-HAR", title=f"each member's volatility over the next"
                  f" {made.horizon} day(s), annualised, highest first", title_justify="left")  # fmt: skip
        for r in made.ranking:
            t.add_row(str(r.rank), r.ticker, _pct(r.volatility), _pct(r.har_volatility))
    con.print(t)
    new = f"{made.ledger_new} new rows" if made.ledger_new else "already there"
    con.print(
        f"model {made.model_id} ({made.engine}); in the ledger: {new} (`lstmcast ledger --universe {name}`)"
    )


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _plots(
    store: Store, results: list[ForecastResult | VarianceForecast], plot: Path, csv: Path | None
) -> None:
    """One chart per forecast: a fan for a return forecast, the level and interval over the
    realised volatility for a volatility one; PLOT for one ticker, PLOT's stem plus the ticker
    for several."""
    from lstmcast.data.series import load_csv, load_stored
    from lstmcast.forecasting.plot import fan_chart, volatility_chart
    from lstmcast.forecasting.result import ForecastResult

    for r in results:
        series = load_csv(csv, r.ticker) if csv is not None else load_stored(store, r.ticker)
        path = plot if len(results) == 1 else plot.with_name(f"{plot.stem}-{r.ticker}{plot.suffix}")
        if isinstance(r, ForecastResult):
            info(f"wrote {fan_chart(series.bars.frame()['adj_close'], r, path)}")
        else:
            info(f"wrote {volatility_chart(series.bars.frame(), r, path)}")


def _band(lo: float | None, hi: float | None) -> str:
    """An interval as text; a side too few errors can bound reads "unbounded"."""
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        left = "unbounded" if lo is None or math.isnan(lo) else f"{lo:,.2f}"
        right = "unbounded" if hi is None or math.isnan(hi) else f"{hi:,.2f}"
        return f"{left} .. {right}"
    return f"{lo:,.2f} .. {hi:,.2f}"


def render_volatility(r: VarianceForecast, in_ledger: bool) -> None:
    """One volatility forecast: the model beside HAR, its interval, the 1-day value-at-risk."""
    con = out_console()

    def band(pair: list[float]) -> str:
        lo, hi = ("unbounded" if math.isnan(x) else f"{x:.1f}%" for x in pair)
        return f"{lo}–{hi}"

    har = VOL_LABELS[r.benchmark]
    year = f", 1-year median {r.year_median:.1f}%" if r.year_median is not None else ""
    con.print(
        f"[bold]{r.ticker}[/bold] from {r.as_of} ({r.model_id}): {r.horizon}-day volatility"
        f" {r.volatility:.1f}% ({har} {r.har:.1f}%), 80% {band(r.intervals['80'])},"
        f" 95% {band(r.intervals['95'])}{year}"
    )
    var = ", ".join(f"{k}% {v:.2%}" for k, v in r.value_at_risk.items())
    con.print(
        f"annualised, on the {r.proxy} proxy's scale, averaged over the sessions to {r.target_date};"
        f" 1-day value-at-risk: {var}; network run by {r.engine}"
    )
    if in_ledger:
        con.print(f"ledger: {'1 new row' if r.ledger_new else 'already forecast from this bar'}")


def render_forecasts(results: list[ForecastResult | VarianceForecast], in_ledger: bool) -> None:
    from rich.table import Column, Table  # here: a forecast printed as JSON loads no Rich

    from lstmcast.cli.tables import optional
    from lstmcast.forecasting.variance import VarianceForecast

    con = out_console()
    for r in results:
        if isinstance(r, VarianceForecast):
            render_volatility(r, in_ledger)
            continue
        labels = list(r.forecasts[0].intervals) if r.forecasts else []
        # A quoted column only where the quoted close differs from the adjusted one: else it
        # repeats the price and takes the room the intervals need.
        differs = r.last_close is not None and abs(r.last_close / r.last_price - 1) > 0.01
        quoted = f", quoted close {r.last_close:,.2f}" if differs else ""
        # An interval stays on one line; a narrow terminal drops the quoted prices first.
        t = Table(
            "date",
            "adj. price" if differs else "price",
            "return",
            *(Column(f"{lv}% interval", no_wrap=True) for lv in labels),
            *(["quoted"] if differs else []),
            title=f"{r.ticker} from {r.as_of}: adjusted close {r.last_price:,.2f}{quoted} ({r.model_id})",
            title_justify="left",
        )
        optional(t, "quoted")
        for f in r.forecasts:
            bands = (_band(lo, hi) for lo, hi in f.intervals.values())
            quote = [fmt(f.close, 2)] if differs else []
            t.add_row(f.date, fmt(f.price, 2), pct(f.log_return, 2), *bands, *quote)
        con.print(t)
        quoted_shown = differs and "quoted" not in con.dropped
        if r.sigma is not None:
            vs = f", {r.sigma_ratio:.1f}x its 1-year median" if r.sigma_ratio else ""
            con.print(
                f"intervals: {r.interval_method}; daily volatility {r.sigma:.2%}{vs};"
                f" network run by {r.engine}"
            )
        if differs:
            con.print(
                "prices are adjusted closes (dividends and splits folded in), as the model sees them"
                + ("; 'quoted' is the same forecast in the last quoted close's units" if quoted_shown else "")
            )
        if in_ledger:
            con.print(
                f"ledger: {r.ledger_new} new row(s)"
                + ("" if r.ledger_new else " (already forecast from this bar)")
            )
