"""Every default in one place, and the typed configs saved with each run, model and ledger row."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lstmcast.errors import ConfigError
from lstmcast.jsonable import from_json_object
from lstmcast.settings import (
    ALL_TARGETS,
    DECODERS,
    DEVICES,
    FEATURES,
    LOSSES,
    MAX_HORIZON,
    MAX_SEED,
    MAX_WINDOW,
    MODELS,
    RESIDUAL_ON,
    VOL_PROXIES,
    check_bounds,
    setting,
)
from lstmcast.target import target_of

# The stored bar columns, shared by the sources, the store and the exports.
PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"]
# Yahoo's (and Yahoo-style CSVs') names for the same columns, in the same order.

FINETUNE_LR = 1e-5  # fine-tuning's default step: tiny, so the parent is adapted, not replaced


@dataclass(frozen=True)
class TrainConfig:
    """One training run, saved with the model so it can be rebuilt and re-run exactly."""

    model: str = setting("lstm", "Network architecture.", flags=("--model", "-m"), choices=MODELS)
    target: str = setting(
        "log_return",
        "log_return (next-day log return), price, or volatility (the average daily variance over"
        " the horizon's bars, judged against HAR); for a universe, rank (each member's"
        " cross-sectional rank) or excess (its return less the members' mean).",
        choices=ALL_TARGETS,
    )
    vol_proxy: str = setting(
        "gk",
        "Volatility target: the daily variance proxy, gk (Garman-Klass plus the overnight gap),"
        " parkinson (high/low range) or squared (squared close-to-close return).",
        choices=VOL_PROXIES,
    )
    residual_on: str = setting(
        "none",
        "Volatility target: har trains the network on HAR's error, starting from HAR.",
        choices=RESIDUAL_ON,
    )
    features: tuple[str, ...] = setting((), "Extra inputs, comma-separated: " + ", ".join(FEATURES) + ".")
    window: int = setting(
        50, "Bars of history per sample (about two and a half trading months).", bounds=(2, MAX_WINDOW)
    )
    horizon: int = setting(1, "Steps forecast from each origin.", bounds=(1, MAX_HORIZON))
    decoder: str = setting(
        "direct", "Multi-step output: direct (one head), recursive or seq2seq.", choices=DECODERS
    )
    val_frac: float = setting(
        0.10, "Validation fraction (the latest part before the test).", flags=("--val",)
    )
    test_frac: float = setting(0.10, "Test fraction (the latest part of the series).", flags=("--test",))
    hidden: int = setting(64, "Recurrent hidden size.", bounds=(1, 4096))
    layers: int = setting(2, "Stacked layers.", bounds=(1, 16))
    dropout: float = setting(0.0, "Dropout between layers.", bounds=(0, 0.99))
    kernel_size: int = setting(5, "CNN kernel size.", bounds=(1, MAX_WINDOW))
    channels: int = setting(32, "CNN channels.", bounds=(1, 4096))
    epochs: int = setting(30, "Maximum epochs.", bounds=(1, 100_000))
    batch_size: int = setting(64, "Batch size.", bounds=(1, 1_000_000))
    lr: float = setting(1e-3, "Adam learning rate.", bounds=(1e-12, 10))
    loss: str = setting("mse", "Training loss (qlike: volatility target only).", choices=LOSSES)
    clip: float = setting(
        1.0, "Gradient-norm clip; 0 = off (recurrent nets explode without it).", bounds=(0, 1e6)
    )
    patience: int = setting(
        5, "Epochs without validation improvement before stopping early.", bounds=(1, 100_000)
    )
    seed: int = setting(0, "Random seed; a CPU run repeats exactly.", bounds=(0, MAX_SEED))
    device: str = setting("auto", "auto: $LSTMCAST_DEVICE, else a GPU if there is one.", choices=DEVICES)
    threads: int = setting(
        0,
        "Torch threads; 0 = the cores other work leaves free (all of them on a quiet machine).",
        bounds=(0, 1024),
    )
    stateful: bool = setting(False, "Carry the recurrent state across consecutive chunks (TBPTT).")
    ticker_embedding: bool = setting(False, "Global models: learn a vector per member ticker.")
    # Filled in at training time from the members: the embedding's rows.
    embedding_tickers: tuple[str, ...] = setting((), "Rows of the ticker embedding.", cli=False)
    exog: tuple[str, ...] = setting((), "Other stored tickers whose daily returns are extra inputs.")

    def validate(self) -> TrainConfig:
        check_bounds(self)
        checks = [
            (self.model in MODELS, f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}"),
            (self.target in ALL_TARGETS, f"unknown target {self.target!r}; choose {', '.join(ALL_TARGETS)}"),
            (
                all(f in FEATURES for f in self.features),
                f"unknown feature in {list(self.features)}; available: {', '.join(FEATURES)}",
            ),
            (self.loss in LOSSES, f"unknown loss {self.loss!r}; choose {', '.join(LOSSES)}"),
            (
                self.vol_proxy in VOL_PROXIES,
                f"unknown --vol-proxy {self.vol_proxy!r}; choose {', '.join(VOL_PROXIES)}",
            ),
            (
                self.residual_on in RESIDUAL_ON,
                f"unknown --residual-on {self.residual_on!r}; choose {' or '.join(RESIDUAL_ON)}",
            ),
            (self.device in DEVICES, f"unknown device {self.device!r}; choose {', '.join(DEVICES)}"),
            (self.decoder in DECODERS, f"unknown decoder {self.decoder!r}; choose {', '.join(DECODERS)}"),
            (self.window >= 2, "--window must be at least 2"),
            (
                self.model != "cnn" or self.kernel_size <= self.window,
                f"--kernel-size ({self.kernel_size}) must not exceed --window ({self.window})",
            ),
            (self.horizon >= 1, "--horizon must be at least 1"),
            (
                0 < self.val_frac < 0.5 and 0 < self.test_frac < 0.5 and self.val_frac + self.test_frac < 0.8,
                "--val and --test must be fractions in (0, 0.5) leaving most data for training",
            ),
            (
                self.epochs >= 1 and self.batch_size >= 1 and self.lr > 0,
                "--epochs, --batch-size and --lr must be positive",
            ),
            (
                self.hidden >= 1 and self.layers >= 1 and 0 <= self.dropout < 1,
                "--hidden and --layers must be positive, --dropout in [0, 1)",
            ),
            (self.clip >= 0 and self.patience >= 1, "--clip must be >= 0 and --patience >= 1"),
            (not self.stateful or self.model != "cnn", "--stateful needs a recurrent model (lstm, gru, rnn)"),
            (
                not self.stateful or (self.horizon == 1 and self.decoder == "direct"),
                "--stateful forecasts one step per bar; use --horizon 1 (longer horizons: --decoder)",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        target_of(self.target).check(self)
        return self

    def returns_only(self, what: str) -> TrainConfig:
        """Refuse the volatility target where only return and price models exist so far."""
        if target_of(self.target).is_variance:
            raise ConfigError(
                f"{what} does not take --target volatility yet; `lstmcast backtest TICKER --target"
                " volatility` runs the volatility forecasts against HAR"
            )
        return self

    def to_dict(self) -> dict[str, object]:
        d = dataclasses.asdict(self)
        for key in ("features", "embedding_tickers", "exog"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TrainConfig:
        return from_json_object(cls, data, ("features", "embedding_tickers", "exog"))

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


INTERVAL_LEVELS = (0.80, 0.95)
STALE_AFTER_DAYS = 30  # warn when the newest bar is this many days past the model's data
