"""Every default in one place, and the typed configs saved with each run, model and ledger row."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from lstmcast.errors import ConfigError

# The stored bar columns, shared by the sources, the store and the exports.
PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"]
# Yahoo's (and Yahoo-style CSVs') names for the same columns, in the same order.
YAHOO_NAMES = {
    "open": "Open",
    "high": "High",
    "low": "Low",
    "close": "Close",
    "adj_close": "Adj Close",
    "volume": "Volume",
}

MODELS = ("lstm", "gru", "rnn", "cnn")
TARGETS = ("log_return", "price")
FEATURES = ("log_volume_change", "hl_range", "oc_return")
LOSSES = ("mse", "huber")
DEVICES = ("auto", "cpu", "cuda", "mps")
DECODERS = ("direct", "recursive", "seq2seq")

# The smallest segments we accept: fewer samples than this make the metrics noise.
MIN_TRAIN_SAMPLES = 100
MIN_EVAL_SAMPLES = 20


@dataclass(frozen=True)
class TrainConfig:
    """One training run, saved with the model so it can be rebuilt and re-run exactly."""

    model: str = "lstm"
    target: str = "log_return"  # next-day log return of the adjusted close, or the price itself
    features: tuple[str, ...] = ()  # causal per-bar extras on top of the target's own history
    window: int = 50  # bars of history per sample (~ two and a half trading months)
    horizon: int = 1  # steps forecast from each origin
    decoder: str = "direct"  # multi-step: one head for all H, recursive, or seq2seq
    val_frac: float = 0.10
    test_frac: float = 0.10
    hidden: int = 64
    layers: int = 2
    dropout: float = 0.0
    kernel_size: int = 5  # cnn only
    channels: int = 32  # cnn only
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    loss: str = "mse"
    clip: float = 1.0  # max gradient norm; 0 disables (recurrent nets explode without it)
    patience: int = 5  # epochs without validation improvement before stopping
    seed: int = 0
    device: str = "auto"
    threads: int = 0  # torch intra-op threads; 0 = all cores (set 1 per worker in sweeps)
    stateful: bool = False  # carry the recurrent state across consecutive chunks (TBPTT)
    ticker_embedding: bool = False  # global models: learn a vector per member ticker
    embedding_tickers: tuple[str, ...] = ()  # filled in at training time: the embedding's rows
    exog: tuple[str, ...] = ()  # other stored series whose daily log returns are extra inputs
    extra: dict[str, Any] = field(default_factory=dict)  # reserved for later options

    def validate(self) -> TrainConfig:
        checks = [
            (self.model in MODELS, f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}"),
            (self.target in TARGETS, f"unknown target {self.target!r}; choose {' or '.join(TARGETS)}"),
            (
                all(f in FEATURES for f in self.features),
                f"unknown feature in {list(self.features)}; available: {', '.join(FEATURES)}",
            ),
            (self.loss in LOSSES, f"unknown loss {self.loss!r}; choose mse or huber"),
            (self.device in DEVICES, f"unknown device {self.device!r}; choose {', '.join(DEVICES)}"),
            (self.decoder in DECODERS, f"unknown decoder {self.decoder!r}; choose {', '.join(DECODERS)}"),
            (self.window >= 2, "--window must be at least 2"),
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
        return self

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for key in ("features", "embedding_tickers", "exog"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        clean = {k: v for k, v in data.items() if k in known}
        for key in ("features", "embedding_tickers", "exog"):
            clean[key] = tuple(clean.get(key, ()))
        return cls(**clean)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


SCHEMES = ("expanding", "sliding")
RULES = ("long_flat", "long_short")
TRADING_DAYS = 252


@dataclass(frozen=True)
class BacktestConfig:
    """Walk-forward settings; the model's own settings stay in TrainConfig."""

    folds: int = 5
    test_size: float = 0.2  # share of rows forecast out of sample, split into `folds` blocks
    start: str | None = None  # or: forecast every bar from this date on
    scheme: str = "expanding"  # train on all the past, or on the last `train_size` bars
    train_size: int = 1000
    retrain_every: int = 0  # refit (warm start) every N bars inside a block; 0 = once per block
    seeds: int = 1  # repeat everything with this many seeds; one run is not evidence
    rule: str = "long_flat"
    threshold: float = 0.0  # minimum forecast log return to take a position
    cost_bps: float = 5.0  # per unit of turnover

    def validate(self) -> BacktestConfig:
        checks = [
            (self.folds >= 1, "--folds must be at least 1"),
            (0 < self.test_size < 0.9, "--test-size must be a fraction in (0, 0.9)"),
            (self.scheme in SCHEMES, f"unknown scheme {self.scheme!r}; choose expanding or sliding"),
            (self.train_size >= 100, "--train-size must be at least 100 bars"),
            (self.retrain_every >= 0 and self.seeds >= 1, "--retrain-every must be >= 0 and --seeds >= 1"),
            (self.rule in RULES, f"unknown rule {self.rule!r}; choose long_flat or long_short"),
            (self.threshold >= 0 and self.cost_bps >= 0, "--threshold and --cost-bps must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        return self


DEFAULT_CALENDAR = "XNYS"  # New York Stock Exchange
INTERVAL_LEVELS = (0.80, 0.95)
STALE_AFTER_DAYS = 30  # warn when the newest bar is this many days past the model's data
DAILY_CONFIG = "daily.toml"
DAILY_LOCK = "daily.lock"
CRON_TIME = (18, 30)  # 18:30 exchange time: well after the 16:00 close, when Yahoo has the bar
CRON_TZ = "America/New_York"
