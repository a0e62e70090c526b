"""Option types shared by the modelling commands; defaults live in lstmcast.config, not here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

Ticker = Annotated[str | None, typer.Argument(help="A stored ticker (or use --csv).", show_default=False)]
Csv = Annotated[Path | None, typer.Option("--csv", help="Read prices from this CSV instead of the store.")]
Model = Annotated[str | None, typer.Option("--model", "-m", help="lstm, gru, rnn or cnn. [default: lstm]")]
Target = Annotated[
    str | None, typer.Option(help="log_return (next-day log return) or price. [default: log_return]")
]
Features = Annotated[
    str | None, typer.Option(help="Comma-separated extras: log_volume_change, hl_range, oc_return.")
]
Window = Annotated[int | None, typer.Option(help="Bars of history per sample. [default: 50]")]
Horizon = Annotated[int | None, typer.Option(help="Steps forecast from each origin. [default: 1]")]
Decoder = Annotated[
    str | None, typer.Option(help="Multi-step: direct, recursive or seq2seq. [default: direct]")
]
Val = Annotated[float | None, typer.Option("--val", help="Validation fraction. [default: 0.1]")]
TestFrac = Annotated[float | None, typer.Option("--test", help="Test fraction. [default: 0.1]")]
Hidden = Annotated[int | None, typer.Option(help="Recurrent hidden size. [default: 64]")]
Layers = Annotated[int | None, typer.Option(help="Stacked layers. [default: 2]")]
Dropout = Annotated[float | None, typer.Option(help="Dropout between layers. [default: 0]")]
Kernel = Annotated[int | None, typer.Option(help="CNN kernel size. [default: 5]")]
Channels = Annotated[int | None, typer.Option(help="CNN channels. [default: 32]")]
Epochs = Annotated[int | None, typer.Option(help="Maximum epochs. [default: 30]")]
BatchSize = Annotated[int | None, typer.Option(help="Batch size. [default: 64]")]
Lr = Annotated[float | None, typer.Option(help="Adam learning rate. [default: 1e-3]")]
Loss = Annotated[str | None, typer.Option(help="mse or huber. [default: mse]")]
Clip = Annotated[float | None, typer.Option(help="Gradient-norm clip, 0 = off. [default: 1.0]")]
Patience = Annotated[int | None, typer.Option(help="Early-stopping patience in epochs. [default: 5]")]
Seed = Annotated[int | None, typer.Option(help="Random seed; a CPU run repeats exactly. [default: 0]")]
Device = Annotated[str | None, typer.Option(help="auto, cpu, cuda or mps. [default: auto]")]
Threads = Annotated[int | None, typer.Option(help="Torch threads, 0 = all cores. [default: 0]")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Tickers = Annotated[
    list[str] | None,
    typer.Argument(
        help="Stored ticker(s); several train one global model (or use --csv).", show_default=False
    ),
]
Stateful = Annotated[
    bool | None,
    typer.Option("--stateful", help="Carry the recurrent state across consecutive chunks (TBPTT)."),
]
TickerEmbedding = Annotated[
    bool | None, typer.Option("--ticker-embedding", help="Global models: learn a vector per ticker.")
]
Exog = Annotated[
    list[str] | None,
    typer.Option(
        help="Other stored tickers whose daily returns are extra inputs (repeat or comma-separate)."
    ),
]


def train_config(**options: Any) -> Any:
    """A TrainConfig from the options the user gave; the rest keep the config module's defaults."""
    from lstmcast.config import TrainConfig

    given = {k: v for k, v in options.items() if v is not None}
    if "features" in given:
        given["features"] = tuple(f.strip() for f in given["features"].split(",") if f.strip())
    if "exog" in given:
        from lstmcast.tickers import validate_ticker

        given["exog"] = tuple(
            validate_ticker(t) for item in given["exog"] for t in item.split(",") if t.strip()
        )
    renames = {"val": "val_frac", "test": "test_frac"}
    given = {renames.get(k, k): v for k, v in given.items()}
    return TrainConfig(**given).validate()


Folds = Annotated[int | None, typer.Option(help="Consecutive test blocks. [default: 5]")]
TestSize = Annotated[
    float | None, typer.Option(help="Share of the series forecast out of sample. [default: 0.2]")
]
Start = Annotated[
    str | None, typer.Option(help="Forecast every bar from this date on (instead of --test-size).")
]
Scheme = Annotated[
    str | None, typer.Option(help="expanding (all the past) or sliding (last --train-size bars).")
]
TrainSize = Annotated[int | None, typer.Option(help="Bars per fit with --scheme sliding. [default: 1000]")]
RetrainEvery = Annotated[int | None, typer.Option(help="Refit (warm start) every N bars inside a block.")]
Seeds = Annotated[
    int | None, typer.Option(help="Repeat with this many seeds; reports mean ± std. [default: 1]")
]
Rule = Annotated[str | None, typer.Option(help="long_flat or long_short. [default: long_flat]")]
Threshold = Annotated[float | None, typer.Option(help="Minimum forecast log return to trade. [default: 0]")]
CostBps = Annotated[float | None, typer.Option(help="Cost per unit of turnover, basis points. [default: 5]")]


def backtest_config(**options: Any) -> Any:
    from lstmcast.config import BacktestConfig

    return BacktestConfig(**{k: v for k, v in options.items() if v is not None}).validate()


def load_inputs(home: Any, tickers: list[str] | None, csv: Any, exog: tuple[str, ...]) -> list[Any]:
    """The series a modelling command works on: each stored ticker, or the one CSV, with exog bars."""
    from lstmcast.data.series import load_series

    if csv is not None and tickers and len(tickers) > 1:
        from lstmcast.errors import ConfigError

        raise ConfigError("--csv reads one series; several tickers must come from the store")
    names: list[str | None] = list(tickers) if tickers else [None]
    return [load_series(home, t, csv).with_exog(home, exog) for t in names]
