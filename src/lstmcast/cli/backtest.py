"""`lstmcast backtest` and `lstmcast audit`: walk-forward evaluation and the leakage check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lstmcast.cli import options as o
from lstmcast.cli.common import emit_json, fmt, guarded, home_of, info, out_console, pct
from lstmcast.cli.render import metrics_table, verdict

_TRAIN_KEYS = (
    "model",
    "target",
    "features",
    "window",
    "horizon",
    "hidden",
    "layers",
    "dropout",
    "epochs",
    "batch_size",
    "lr",
    "loss",
    "patience",
    "seed",
    "device",
    "threads",
    "stateful",
    "ticker_embedding",
    "exog",
)
_BT_KEYS = (
    "folds",
    "test_size",
    "start",
    "scheme",
    "train_size",
    "retrain_every",
    "seeds",
    "rule",
    "threshold",
    "cost_bps",
)


@guarded
def backtest_cli(
    ctx: typer.Context,
    tickers: o.Tickers = None,
    csv: o.Csv = None,
    model: o.Model = None,
    target: o.Target = None,
    features: o.Features = None,
    window: o.Window = None,
    horizon: o.Horizon = None,
    hidden: o.Hidden = None,
    layers: o.Layers = None,
    dropout: o.Dropout = None,
    epochs: o.Epochs = None,
    batch_size: o.BatchSize = None,
    lr: o.Lr = None,
    loss: o.Loss = None,
    patience: o.Patience = None,
    seed: o.Seed = None,
    device: o.Device = None,
    threads: o.Threads = None,
    stateful: o.Stateful = None,
    ticker_embedding: o.TickerEmbedding = None,
    exog: o.Exog = None,
    folds: o.Folds = None,
    test_size: o.TestSize = None,
    start: o.Start = None,
    scheme: o.Scheme = None,
    train_size: o.TrainSize = None,
    retrain_every: o.RetrainEvery = None,
    seeds: o.Seeds = None,
    rule: o.Rule = None,
    threshold: o.Threshold = None,
    cost_bps: o.CostBps = None,
    out: Annotated[
        Path | None, typer.Option(help="Write predictions.csv, equity.csv and metrics.json here.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG: forecasts, equity, drawdown.")] = None,
    as_json: o.Json = False,
) -> None:
    """Walk-forward backtest against naive, drift and linear AR, with a cost-aware trading simulation."""
    given = dict(locals())
    cfg = o.train_config(**{k: given[k] for k in _TRAIN_KEYS})
    bt = o.backtest_config(**{k: given[k] for k in _BT_KEYS})
    from lstmcast.backtest.outputs import plot as draw
    from lstmcast.backtest.outputs import write_outputs
    from lstmcast.backtest.run import backtest

    series = o.load_inputs(home_of(ctx), tickers, csv, cfg.exog)
    result = backtest(cfg, bt, series[0], series[1:])
    if out is not None:
        for path in write_outputs(result, out):
            info(f"wrote {path}")
    if plot is not None:
        info(f"wrote {draw(result, plot)}")
    if as_json:
        emit_json(result.to_json())
        return
    render(result.to_json())


def render(doc: dict[str, Any]) -> None:
    con = out_console()
    if doc["global_with"]:
        others = ", ".join(doc["global_with"])
        con.print(f"global model trained on {doc['ticker']} with {others}; scored on {doc['ticker']}")
    con.print(
        f"[bold]{doc['ticker']}[/bold] {doc['model']} walk-forward ({doc['scheme']}), "
        f"{len(doc['folds'])} folds, {doc['n_predictions']} forecasts {doc['period'][0]}..{doc['period'][1]}"
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
        "dir. acc",
        "DM p",
        title="per fold",
        title_justify="left",
    )
    for f in doc["folds"]:
        m, nv, mp = f["metrics"]["model"], f["metrics"]["naive"], f["metrics_price"]["model"]
        folds.add_row(
            str(f["index"]),
            f"{f['test_start']}..{f['test_end']}",
            str(f["n"]),
            fmt(m["mae"], 5),
            fmt(nv["mae"], 5),
            pct(m["skill_vs_naive"], 2),
            fmt(m["rmse"], 5),
            pct(mp["mape"], 2).lstrip("+"),
            fmt(m["mase"], 3),
            pct(m["directional_accuracy"]).lstrip("+"),
            fmt(f["dm_pvalue"], 3),
        )
    con.print(folds)
    con.print(metrics_table("pooled out-of-sample", doc["pooled"], doc["pooled_price"], doc["target"]))
    seeds = doc["across_seeds"]
    if len(doc["seeds"]) > 1:
        t = Table(
            "metric (model)", "mean", "± std", title=f"across {len(doc['seeds'])} seeds", title_justify="left"
        )
        for k, v in seeds["model"].items():
            t.add_row(k, fmt(v["mean"], 5), fmt(v["std"], 5))
        for k, v in seeds["strategy"].items():
            t.add_row(f"strategy {k}", fmt(v["mean"], 4), fmt(v["std"], 4))
        con.print(t)
    s, b = doc["strategy"], doc["buy_and_hold"]
    st = Table(
        "",
        "strategy",
        "buy and hold",
        title=f"trading {doc['rule']}, threshold {doc['threshold']:g}, {doc['cost_bps']:g} bp per turnover",
        title_justify="left",
    )

    def share(v: float) -> str:
        return pct(v).lstrip("+")

    rows: list[tuple[str, Callable[[Any], str]]] = [
        ("total return", pct),
        ("cagr", pct),
        ("volatility", share),
        ("sharpe", lambda v: fmt(v, 2)),
        ("max_drawdown", pct),
        ("turnover", lambda v: fmt(v, 1)),
        ("trades", str),
        ("hit_rate", share),
        ("exposure", share),
    ]
    for name, f in rows:
        key = name.replace(" ", "_")
        st.add_row(
            name.replace("_", " "),
            f(s[key]) if s[key] is not None else "–",
            f(b[key]) if b[key] is not None else "–",
        )
    con.print(st)
    con.print(f"model: {verdict(doc['pooled']['model']['skill_vs_naive'], doc['dm_pvalue'])}")


@guarded
def audit_cli(
    ctx: typer.Context,
    ticker: o.Ticker = None,
    csv: o.Csv = None,
    model: o.Model = None,
    target: o.Target = None,
    features: o.Features = None,
    window: o.Window = None,
    horizon: o.Horizon = None,
    hidden: o.Hidden = None,
    layers: o.Layers = None,
    dropout: o.Dropout = None,
    epochs: o.Epochs = None,
    batch_size: o.BatchSize = None,
    lr: o.Lr = None,
    loss: o.Loss = None,
    patience: o.Patience = None,
    seed: o.Seed = None,
    device: o.Device = None,
    threads: o.Threads = None,
    stateful: o.Stateful = None,
    ticker_embedding: o.TickerEmbedding = None,
    exog: o.Exog = None,
    folds: o.Folds = None,
    test_size: o.TestSize = None,
    start: o.Start = None,
    scheme: o.Scheme = None,
    train_size: o.TrainSize = None,
    as_json: o.Json = False,
) -> None:
    """Check the walk-forward for look-ahead: refit each fold with the future replaced by noise.

    Exit 0 when scaler statistics, weights and the forecast at each cutoff are identical;
    exit 1 naming the fold and what changed when a leak is found.
    """
    given = dict(locals())
    cfg = o.train_config(**{k: given[k] for k in _TRAIN_KEYS})
    bt = o.backtest_config(**{k: given[k] for k in _BT_KEYS if k in given})
    from lstmcast.backtest.audit import audit

    report = audit(cfg, bt, o.load_inputs(home_of(ctx), [ticker] if ticker else None, csv, cfg.exog)[0])
    if as_json:
        emit_json(
            {"ticker": report.ticker, "clean": report.clean, "folds": report.folds, "leaks": report.leaks}
        )
    else:
        t = Table(
            "fold",
            "noise from",
            "scaler",
            "weights",
            "forecast at cutoff",
            title=f"{report.ticker} leakage audit",
        )

        def ok(b: bool) -> str:
            return "[green]identical[/green]" if b else "[red]CHANGED[/red]"

        for f in report.folds:
            t.add_row(
                str(f.fold),
                f.cutoff,
                ok(f.scaler_identical),
                ok(f.weights_identical),
                ok(f.forecast_identical),
            )
        out_console().print(t)
        out_console().print(
            "clean: nothing after a cutoff reached what was fitted before it"
            if report.clean
            else "[red]leak found[/red]"
        )
    if not report.clean:
        from lstmcast.cli.common import fail

        raise fail("; ".join(report.leaks), 1)
