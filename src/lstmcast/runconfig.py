"""The walk-forward settings and the whole run: `BacktestConfig`, `RunConfig`, the presets,
and run configs as TOML files (`--config run.toml`, `models show ID --config`). Each field is
declared once, with `config.setting`, as TrainConfig's are."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lstmcast.config import TrainConfig
from lstmcast.errors import ConfigError
from lstmcast.settings import MAX_HORIZON, MODELS, TARGETS, check_bounds, check_choices, setting
from lstmcast.target import target_of
from lstmcast.tomlfile import check_table, read_toml

SCHEMES = ("expanding", "sliding")
INTERVAL_METHODS = ("empirical", "scaled", "aci", "vol")  # see evaluation/intervals.py
# The default: the one calibrated in calm and turbulent markets on test spans through 2008
# (benchmarks/bench_intervals.py), on simulated regime switches (tests/test_intervals.py) and
# on long index series held out from us (aci: 74.5% in the turbulent tercile there).
DEFAULT_INTERVALS = "vol"
# long_flat and long_short trade one ticker on its forecast; on a universe, long_flat holds the
# k best-scored members, long_short also shorts the k worst, and topk_dropout holds k and swaps
# at most --n-drop a day (qlib's TopkDropoutStrategy).
RULES = ("long_flat", "long_short", "topk_dropout")
TRADING_DAYS = 252


def interval_setting() -> str:
    """The interval method, one declaration for the walk-forward and the forecast configs."""
    return setting(
        DEFAULT_INTERVALS,
        "Interval method: empirical, scaled (by EWMA volatility), aci (scaled, adapted online) or vol"
        " (by the volatility log-HAR forecasts from the daily range, adapted online).",
        choices=INTERVAL_METHODS,
    )


@dataclass(frozen=True)
class BacktestConfig:
    """Walk-forward settings; the model's own settings stay in TrainConfig."""

    folds: int = setting(5, "Consecutive test blocks, each refitted on the data before it.", bounds=(1, 1000))
    test_size: float = setting(0.2, "Share of the series forecast out of sample.", bounds=(0.001, 0.9))
    start: str | None = setting(None, "Forecast every bar from this date on (instead of --test-size).")
    scheme: str = setting(
        "expanding", "expanding (all the past) or sliding (the last --train-size bars).", choices=SCHEMES
    )
    train_size: int = setting(1000, "Bars per fit with --scheme sliding.", bounds=(100, 10_000_000))
    retrain_every: int = setting(
        0, "Refit (warm start) every N bars inside a block; 0 = once per block.", bounds=(0, 10_000_000)
    )
    refit_every: int = setting(
        21,
        "Volatility: re-estimate HAR, EWMA and GARCH every N origins in a test block; 0 = once a block.",
        bounds=(0, 10_000_000),
    )
    seeds: int = setting(
        1, "Repeat with this many seeds and report mean ± std; one run is not evidence.", bounds=(1, 1000)
    )
    rule: str = setting("long_flat", "Trading rule.", choices=RULES)
    threshold: float = setting(0.0, "Minimum forecast log return to take a position.", bounds=(0, 10))
    cost_bps: float = setting(5.0, "Cost per unit of turnover, in basis points.", bounds=(0, 10_000))
    k: int = setting(
        0, "Universe: members held long (and short); 0 = a tenth of them, at least 1.", bounds=(0, 100_000)
    )
    quantile: float = setting(
        0.0,
        "Universe: hold this share of the members long (and short), e.g. 0.1; instead of --k.",
        bounds=(0.0, 0.5),
    )
    n_drop: int = setting(1, "Universe, topk_dropout: members swapped at most per day.", bounds=(1, 100_000))
    intervals: str = interval_setting()

    def validate(self) -> BacktestConfig:
        check_bounds(self)
        checks = [
            (self.folds >= 1, "--folds must be at least 1"),
            (0 < self.test_size < 0.9, "--test-size must be a fraction in (0, 0.9)"),
            (self.scheme in SCHEMES, f"unknown scheme {self.scheme!r}; choose expanding or sliding"),
            (self.train_size >= 100, "--train-size must be at least 100 bars"),
            (self.retrain_every >= 0 and self.seeds >= 1, "--retrain-every must be >= 0 and --seeds >= 1"),
            (self.rule in RULES, f"unknown rule {self.rule!r}; choose {', '.join(RULES)}"),
            (self.threshold >= 0 and self.cost_bps >= 0, "--threshold and --cost-bps must be >= 0"),
            (not (self.k and self.quantile), "give --k or --quantile, not both"),
            (
                self.intervals in INTERVAL_METHODS,
                f"unknown interval method {self.intervals!r}; choose {', '.join(INTERVAL_METHODS)}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if self.start is not None:
            try:
                date.fromisoformat(self.start)
            except (TypeError, ValueError):
                raise ConfigError(f"--start {self.start!r} is not a date like 2024-01-31") from None
        return self

    def holding(self, members: int) -> int:
        """How many members a universe portfolio holds long (and short): --k, or --quantile of
        them, or a tenth; at least 1."""
        if self.k:
            return self.k
        return max(1, round(self.quantile * members)) if self.quantile else max(1, members // 10)


@dataclass(frozen=True)
class ForecastConfig:
    """How a saved model forecasts: `forecast`'s options, a watchlist entry's settings, and
    what `daily` runs for the entry. A new forecast setting is one field here."""

    model: str | None = setting(
        None,
        "Use the newest model of this architecture (default: the newest of any).",
        flags=("--model", "-m"),
        choices=MODELS,
    )
    target: str | None = setting(
        None,
        "Use the newest model of this target (default: the newest of any; a volatility model"
        " forecasts its own horizon).",
        choices=TARGETS,
    )
    horizon: int = setting(1, "Trading days to forecast.", bounds=(1, MAX_HORIZON))
    calendar: str | None = setting(
        None,
        "Exchange calendar (ISO MIC code). Default: the ticker's exchange from its suffix"
        " (EQNR.OL: XOSL), else XNYS.",
    )
    intervals: str = interval_setting()
    retrain_if_older: int | None = setting(
        None,
        "Retrain first if the newest bar is more than N days past the model's data.",
        bounds=(0, 100_000),
    )

    def validate(self) -> ForecastConfig:
        check_bounds(self)
        check_choices(self)
        return self


# --- Run configs as TOML files (`--config run.toml`, `models show ID --config`) ---------------


@dataclass(frozen=True)
class RunConfig:
    """A whole run: what to model (tickers, or one CSV) and how (train and backtest settings)."""

    tickers: tuple[str, ...] = ()
    csv: str | None = None
    train: TrainConfig = field(default_factory=TrainConfig)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)
    universe: str | None = None  # a universe's members, judged together (`backtest --universe`)

    def validate(self) -> RunConfig:
        """Every setting in range, none that does not apply to the target, and a universe
        exactly when the target ranks one."""
        self.train.validate()
        target = target_of(self.train.target)
        target.check(self.backtest.validate())
        if target.panel and self.universe is None:
            raise ConfigError(
                f"--target {target.name} judges a universe's members against each other:"
                f" `lstmcast backtest --universe NAME --target {target.name}` (`lstmcast universe create`)"
            )
        if self.universe is not None and target.on_universe is None:
            raise ConfigError(
                f"--universe judges its members with --target rank, excess or volatility, not {target.name}"
            )
        if self.universe is not None:
            target.check(self.train, universe=True)
            target.check(self.backtest, universe=True)
        if self.universe is not None and (self.tickers or self.csv):
            raise ConfigError("give TICKER..., --csv or --universe, not several")
        return self


def _field_types(cls: type) -> dict[str, object]:
    return {f.name: f.type for f in dataclasses.fields(cls) if f.metadata.get("cli", True)}


# Named bundles of settings for `--preset`, applied under a --config file and typed options.
# Each is justified by a measurement in the README ("Speed"), made by the benchmark named.
PRESETS: dict[str, dict[str, Any]] = {
    "fast": {
        "about": "one LSTM layer of 32, batches of 128 at lr 0.002: the default's walk-forward skill"
        " in about a fifth of its time (benchmarks/bench_preset.py)",
        "train": {"model": "lstm", "hidden": 32, "layers": 1, "batch_size": 128, "lr": 2e-3},
    },
}


def preset_settings(name: str | None) -> dict[str, Any]:
    """The settings of preset `name` by section ({} for none); an unknown name is refused."""
    if name is None:
        return {}
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose {', '.join(PRESETS)}")
    return {k: v for k, v in PRESETS[name].items() if k != "about"}


def read_run_config(path: Path) -> dict[str, Any]:
    """The settings a run file gives, checked key by key: {"tickers", "csv", "train": {...},
    "backtest": {...}}, only what the file sets. Values not given keep their defaults."""
    where = str(path)
    doc, text = read_toml(path, "run config")
    check_table(
        doc,
        {"tickers": "tuple[str, ...]", "csv": "str", "universe": "str", "train": dict, "backtest": dict},
        where,
        text,
    )
    for section, cls in (("train", TrainConfig), ("backtest", BacktestConfig)):
        check_table(doc.get(section, {}), _field_types(cls), where, text, section)
    return doc


def run_config_toml(run: RunConfig, sections: tuple[str, ...] = ("train", "backtest")) -> str:
    """A run config as TOML that `read_run_config` reads back to the same RunConfig."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, float):
            return repr(v)
        return json.dumps(v) if isinstance(v, str) else str(v)

    lines = ["# lstmcast run config: `lstmcast train --config FILE` repeats this run."]
    lines.append(f"tickers = {value(list(run.tickers))}")
    if run.csv is not None:
        lines.append(f"csv = {value(run.csv)}")
    if run.universe is not None:
        lines.append(f"universe = {value(run.universe)}")
    for section in sections:
        cfg = getattr(run, section)
        lines += ["", f"[{section}]"]
        for f in dataclasses.fields(cfg):
            v = getattr(cfg, f.name)
            if f.name == "threads" and v == 0:
                continue  # no thread count unless one was chosen: each machine's policy decides
            if f.metadata.get("cli", True) and v is not None:
                lines.append(f"{f.name} = {value(v)}")
    return "\n".join(lines) + "\n"
