"""`lstmcast ledger`: every forecast made, scored against the prices that came."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lstmcast.cli.common import (
    WIDE,
    emit_csv,
    emit_json,
    fmt,
    guarded,
    out_console,
    output_format,
    pct,
    store_of,
)
from lstmcast.cli.options import Format, Json, Wide
from lstmcast.cli.render import interval_cells
from lstmcast.cli.tables import optional
from lstmcast.jsonable import to_jsonable

if TYPE_CHECKING:
    from lstmcast.forecasting.ledger import LedgerSummary, PathScores, RankScores, Row, VarianceScores


@guarded
def ledger_cli(
    ctx: typer.Context,
    ticker: Annotated[str | None, typer.Argument(help="Only this ticker.", show_default=False)] = None,
    rows: Annotated[int, typer.Option(help="Recent forecasts to list.", min=1, max=1_000_000)] = 15,
    universe: Annotated[
        str | None, typer.Option(help="Only this universe's rankings.", show_default=False)
    ] = None,
    output: Format = None,
    wide: Wide = False,
    as_json: Json = False,
) -> None:
    """Score past forecasts against realised prices: live MAE vs naive, hit rate, interval coverage.

    A universe's rankings are judged date by date: rank IC and the picks' realised spread.
    """
    from lstmcast.forecasting.ledger import RankScores, VarianceScores, ledger

    store = store_of(ctx)
    WIDE.set(wide)
    report = ledger(store, ticker, universe)
    shape = output_format(output, as_json)
    if shape == "json":
        emit_json(to_jsonable(report))
        return
    if shape == "csv":  # every forecast row, of every target (its `target` column says which)
        emit_csv(report.rows)
        return
    if not report.rows:
        out_console().print("the ledger is empty: run `lstmcast forecast TICKER`")
        return
    # A person reads each kind of record in its own tables: price paths, variances, rankings.
    ranked = [x for x in report.summary if isinstance(x.scores, RankScores)]
    report.summary = [x for x in report.summary if not isinstance(x.scores, RankScores)]
    if ranked:
        render_rankings(ranked, [r for r in report.rows if r.get("universe")], rows)
    report.rows = [r for r in report.rows if not r.get("universe")]
    variance = {(x.ticker, x.model_id) for x in report.summary if isinstance(x.scores, VarianceScores)}
    paths = [x for x in report.summary if (x.ticker, x.model_id) not in variance]
    if paths:
        render_paths(paths, [r for r in report.rows if (r["ticker"], r["model_id"]) not in variance], rows)
    if variance:
        render_variances(
            [x for x in report.summary if (x.ticker, x.model_id) in variance],
            [r for r in report.rows if (r["ticker"], r["model_id"]) in variance],
            rows,
        )


# A live percentage from a handful of outcomes reads as a finding: none is shown below this.
MIN_SCORED = 20
FEW = f"percentages need {MIN_SCORED} scored forecasts; until then they show –"


def _share(value: float | None, scored: int, digits: int = 1) -> str:
    """A live rate or skill as a percentage, once there are enough outcomes behind it."""
    return (
        "–" if scored < MIN_SCORED else pct(value, digits).lstrip("+") if digits == 1 else pct(value, digits)
    )


def render_paths(summary: list[LedgerSummary[PathScores]], forecasts: list[Row], rows: int) -> None:
    con = out_console()
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
    optional(s, "model", "pending", "forecasts", "95% cover", wide=True)
    for x in summary:
        s.add_row(
            x.ticker,
            x.model_id,
            str(x.forecasts),
            str(x.scored),
            str(x.pending),
            fmt(x.scores.mae, 3),
            fmt(x.scores.naive_mae, 3),
            _share(x.scores.hit_rate, x.scored),
            _share(x.coverage_80, x.scored),
            _share(x.coverage_95, x.scored),
        )
    if any(x.scored < MIN_SCORED for x in summary):
        s.caption, s.caption_justify = FEW, "left"
    con.print(s)
    live = [x for x in summary if x.scores.intervals]
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
            for label, sc in x.scores.intervals.items():
                iv.add_row(
                    x.ticker,
                    x.model_id,
                    f"{label}%",
                    str(sc.n),
                    *interval_cells(sc),
                    fmt(sc.kupiec_p, 3),
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
    optional(t, "target", "in 95%", "error", wide=True)

    def yes(b: bool | None) -> str:
        return "–" if b is None else ("yes" if b else "no")

    for r in forecasts[-rows:]:
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


def render_rankings(summary: list[LedgerSummary[RankScores]], forecasts: list[Row], rows: int) -> None:
    """A universe's rankings: per date, how well the scores ordered what the members did."""
    con = out_console()
    s = Table(
        "model", "dates", "rank IC", "t", "spread", "beat",
        title=f"live rankings of {', '.join(sorted({x.ticker for x in summary}))}", title_justify="left",
        caption="rank IC by date (Newey-West t); spread: the long picks' realised return less the"
        " short picks'; beat: the share of dates it was positive",
        caption_justify="left",
    )  # fmt: skip
    for x in summary:
        s.add_row(
            x.model_id,
            str(x.scores.dates),
            fmt(x.scores.rank_ic_mean, 4),
            fmt(x.scores.rank_ic_t, 2),
            pct(x.scores.spread_mean, 2),
            pct(x.scores.spread_positive).lstrip("+"),
        )
    con.print(s)
    by_date: dict[tuple[str, str, str], list[Row]] = {}
    for r in forecasts:
        by_date.setdefault((r["universe"], r["as_of"], r["model_id"]), []).append(r)
    t = Table("universe", "as of", "to", "ranked", "long", "short", "spread", title="recent rankings",
              title_justify="left")  # fmt: skip
    for (name, as_of, _), ranked in sorted(by_date.items(), key=lambda kv: kv[0][1])[-rows:]:
        order = sorted(ranked, key=lambda r: -r["score"])
        k = min(int(order[0]["k"]), len(order) // 2) or 1
        longs, shorts = order[:k], order[-k:]
        done = all(r["realised"] is not None for r in longs + shorts)
        spread = (
            sum(r["realised"] for r in longs) / k - sum(r["realised"] for r in shorts) / k if done else None
        )
        t.add_row(
            name,
            as_of,
            ranked[0]["target_date"],
            str(len(ranked)),
            ",".join(r["ticker"] for r in longs[:3]) + ("…" if k > 3 else ""),
            ",".join(r["ticker"] for r in shorts[:3]) + ("…" if k > 3 else ""),
            pct(spread, 2),
        )
    con.print(t)


def render_variances(summary: list[LedgerSummary[VarianceScores]], forecasts: list[Row], rows: int) -> None:
    """Volatility forecasts: the running QLIKE against HAR's forecasts of the same days."""
    con = out_console()
    s = Table(
        "ticker", "model", "forecasts", "scored", "pending", "QLIKE", "QLIKE HAR", "skill vs HAR",
        "80% cover", "95% cover", "VaR 95% hits", "VaR 99% hits",
        title="live volatility record", title_justify="left",
    )  # fmt: skip
    for x in summary:
        s.add_row(
            x.ticker,
            x.model_id,
            str(x.forecasts),
            str(x.scored),
            str(x.pending),
            fmt(x.scores.qlike, 4),
            fmt(x.scores.har_qlike, 4),
            _share(x.scores.skill_vs_har, x.scored, 2),
            _share(x.coverage_80, x.scored),
            _share(x.coverage_95, x.scored),
            _share(x.scores.var_95_hits, x.scored),
            _share(x.scores.var_99_hits, x.scored),
        )
    if any(x.scored < MIN_SCORED for x in summary):
        s.caption, s.caption_justify = FEW, "left"
    con.print(s)
    t = Table(
        "ticker", "as of", "to", "days", "forecast", "HAR", "realised", title="recent volatility forecasts"
    )
    for r in forecasts[-rows:]:
        t.add_row(
            r["ticker"],
            r["as_of"],
            r["target_date"],
            str(r["step"]),
            f"{(252 * r['variance']) ** 0.5:.1%}",
            f"{(252 * r['har_variance']) ** 0.5:.1%}",
            "–" if r["realised"] is None else f"{r['realised_volatility'] / 100:.1%}",
        )
    con.print(t)
