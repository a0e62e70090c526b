"""`lstmcast ledger`: every forecast made, scored against the prices that came."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lstmcast.cli.common import emit_csv, emit_json, fmt, guarded, out_console, output_format, pct, store_of
from lstmcast.cli.options import Format, Json
from lstmcast.cli.render import interval_cells
from lstmcast.jsonable import to_jsonable

if TYPE_CHECKING:
    from lstmcast.forecasting.ledger import LedgerReport
    from lstmcast.forecasting.vol_forecast import VolLedgerReport


@guarded
def ledger_cli(
    ctx: typer.Context,
    ticker: Annotated[str | None, typer.Argument(help="Only this ticker.", show_default=False)] = None,
    rows: Annotated[int, typer.Option(help="Recent forecasts to list.", min=1, max=1_000_000)] = 15,
    output: Format = None,
    as_json: Json = False,
) -> None:
    """Score past forecasts against realised prices: live MAE vs naive, hit rate, interval coverage."""
    from lstmcast.forecasting.ledger import ledger
    from lstmcast.forecasting.vol_forecast import vol_ledger

    store = store_of(ctx)
    report, vol = ledger(store, ticker), vol_ledger(store, ticker)
    shape = output_format(output, as_json)
    if shape == "json":
        emit_json({**to_jsonable(report), "volatility": to_jsonable(vol)})
        return
    if shape == "csv":  # every forecast row, price and volatility ones apart by a target column
        emit_csv(
            [{"target": "return", **r} for r in report.rows]
            + [{"target": "volatility", **r} for r in vol.rows]
        )
        return
    if report.rows or not vol.rows:
        render_ledger(report, rows)
    if vol.rows:
        render_vol_ledger(vol, rows)


def render_ledger(report: LedgerReport, rows: int) -> None:
    con = out_console()
    if not report.rows:
        con.print("the ledger is empty: run `lstmcast forecast TICKER`")
        return
    s = Table(
        "ticker",
        "model",
        "forecasts",
        "scored",
        "pending",
        "MAE",
        "naive MAE",
        "hit rate",
        "80% cover",
        "95% cover",
        title="live record",
        title_justify="left",
    )
    for x in report.summary:
        s.add_row(
            x.ticker,
            x.model_id,
            str(x.forecasts),
            str(x.scored),
            str(x.pending),
            fmt(x.mae, 3),
            fmt(x.naive_mae, 3),
            pct(x.hit_rate).lstrip("+"),
            pct(x.coverage_80).lstrip("+"),
            pct(x.coverage_95).lstrip("+"),
        )
    con.print(s)
    live = [x for x in report.summary if x.intervals]
    if live:
        iv = Table(
            "ticker",
            "model",
            "level",
            "n",
            "coverage",
            "calm",
            "middle",
            "turbulent",
            "width",
            "Kupiec p",
            title="live one-step intervals, coverage by tercile of the volatility at each origin",
            title_justify="left",
        )
        for x in live:
            for label, sc in x.intervals.items():
                iv.add_row(
                    x.ticker,
                    x.model_id,
                    f"{label}%",
                    str(sc["n"]),
                    *interval_cells(sc),
                    fmt(sc["kupiec_p"], 3),
                )
        con.print(iv)
    t = Table(
        "ticker",
        "as of",
        "target",
        "step",
        "forecast",
        "realised",
        "error",
        "in 80%",
        "in 95%",
        title="recent forecasts",
        title_justify="left",
    )

    def yes(b: bool | None) -> str:
        return "–" if b is None else ("yes" if b else "no")

    for r in report.rows[-rows:]:
        t.add_row(
            r["ticker"],
            r["as_of"],
            r["target_date"],
            str(r["step"]),
            fmt(r["price"], 2),
            fmt(r["realised"], 2),
            fmt(r["error"], 2),
            yes(r["in_80"]),
            yes(r["in_95"]),
        )
    con.print(t)


def render_vol_ledger(report: VolLedgerReport, rows: int) -> None:
    """Volatility forecasts: the running QLIKE against HAR's forecasts of the same days."""
    con = out_console()
    s = Table(
        "ticker", "model", "forecasts", "scored", "pending", "QLIKE", "QLIKE HAR", "skill vs HAR",
        "80% cover", "95% cover", "VaR 95% hits", "VaR 99% hits",
        title="live volatility record", title_justify="left",
    )  # fmt: skip
    for x in report.summary:
        s.add_row(
            x.ticker,
            x.model_id,
            str(x.forecasts),
            str(x.scored),
            str(x.pending),
            fmt(x.qlike, 4),
            fmt(x.har_qlike, 4),
            pct(x.skill_vs_har, 1),
            pct(x.coverage_80).lstrip("+"),
            pct(x.coverage_95).lstrip("+"),
            pct(x.var_95_hits).lstrip("+"),
            pct(x.var_99_hits).lstrip("+"),
        )
    con.print(s)
    t = Table(
        "ticker", "as of", "to", "days", "forecast", "HAR", "realised", title="recent volatility forecasts"
    )
    for r in report.rows[-rows:]:
        t.add_row(
            r["ticker"],
            r["as_of"],
            r["target_date"],
            str(r["horizon"]),
            f"{(252 * r['variance']) ** 0.5:.1%}",
            f"{(252 * r['har_variance']) ** 0.5:.1%}",
            "–" if r["realised"] is None else f"{r['realised_volatility'] / 100:.1%}",
        )
    con.print(t)
