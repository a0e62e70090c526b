"""The daily watchlist (`daily.toml`): which tickers `daily` forecasts, and how, checked key by key."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lstmcast.config import TrainConfig
from lstmcast.errors import ConfigError, NotFoundError
from lstmcast.paths import atomic_write_text
from lstmcast.runconfig import ForecastConfig, preset_settings
from lstmcast.settings import SettingValue
from lstmcast.target import target_of
from lstmcast.tickers import validate_ticker
from lstmcast.tomlfile import check_table, read_toml
from lstmcast.universe.targets import LEARNERS

DAILY_CONFIG = "daily.toml"  # the watchlist's name in the home
DAILY_LOCK = "daily.lock"  # held while `daily` runs: a second run exits 75

EXAMPLE = """\
# lstmcast daily watchlist: `lstmcast daily` reads this file (see `lstmcast cron`).
# Settings at the top apply to every ticker; a [[ticker]] entry may override them.

# calendar = "XNYS"      # exchange calendar for forecast dates; default: the ticker's exchange
horizon = 5              # trading days forecast each run
retrain_if_older = 30    # retrain when the newest bar is this many days past the model's data; 0 = never
fetch = true             # download new bars from Yahoo Finance first; false = use the store as it is
intervals = "vol"        # vol (errors scaled by HAR's volatility), aci, scaled (EWMA) or empirical
# preset = "fast"        # settings for models trained here (`lstmcast train --help` lists presets)

[[ticker]]
symbol = "AAPL"
model = "lstm"           # lstm, gru, rnn or cnn: the newest model of this type is used (trained if none)
# target = "volatility"  # an entry's h-day volatility against HAR instead of its returns

[[ticker]]
symbol = "MSFT"
model = "gru"
horizon = 3
# train = { epochs = 10, hidden = 32 }   # this entry's training settings, over [train]'s

# [[universe]]           # a universe's members ranked each evening (`lstmcast universe create`)
# name = "sp20"
# model = "lstm"         # its network: the newest of this type trained on it (trained if none)
# target = "rank"        # rank or excess
# k = 2                  # long and short picks; default: a tenth of the members

# [train]                # training settings for every model trained here (any `train` option)
# epochs = 20
# window = 50
"""


# An entry always names a model (one is trained when there is none) and retrains one a month
# stale: `forecast`'s "the newest of any" and "never" do not fit a job that runs unattended.
# What an entry that says nothing more forecasts with, and when its model is trained again.
DEFAULT_MODEL, DEFAULT_TARGET, DEFAULT_RETRAIN_DAYS = "lstm", "log_return", 30
_DEFAULTS = {"model": DEFAULT_MODEL, "target": DEFAULT_TARGET, "retrain_if_older": DEFAULT_RETRAIN_DAYS}
_DEFAULT_FORECAST = ForecastConfig(
    model=DEFAULT_MODEL, target=DEFAULT_TARGET, retrain_if_older=DEFAULT_RETRAIN_DAYS
)
FORECAST_KEYS = tuple(f.name for f in dataclasses.fields(ForecastConfig))


def family_named(target: str) -> str:
    """The family of an entry's target (`Target.family`) where it is not the default's
    family (that of a plain entry's returns), else "": how a run's name tells them apart."""
    family = target_of(target).family
    return "" if family == target_of(DEFAULT_TARGET).family else family


@dataclass(frozen=True)
class WatchItem:
    """One ticker's settings for the evening run (file-wide settings merged with its own): how
    it forecasts (a ForecastConfig, as `forecast` takes it), and how `daily` keeps it fresh."""

    symbol: str
    forecast: ForecastConfig = field(default_factory=lambda: _DEFAULT_FORECAST)
    fetch: bool = True
    preset: str | None = None  # settings for a model trained here (`train --preset`)
    train: tuple[tuple[str, SettingValue], ...] = ()  # TrainConfig settings over the preset's, sorted pairs

    @property
    def model(self) -> str:
        return self.forecast.model or DEFAULT_MODEL

    @property
    def target(self) -> str:
        return self.forecast.target or DEFAULT_TARGET

    @property
    def horizon(self) -> int:
        return self.forecast.horizon

    @property
    def calendar(self) -> str | None:
        return self.forecast.calendar

    @property
    def intervals(self) -> str:
        return self.forecast.intervals

    @property
    def retrain_if_older(self) -> int:
        """Days; 0 = never."""
        days = self.forecast.retrain_if_older
        return DEFAULT_RETRAIN_DAYS if days is None else days

    def train_config(self) -> TrainConfig:
        """The config a model for this entry is trained with when it has none: the defaults,
        then the preset, then the watchlist's [train] settings, then the entry's model."""
        chosen = {**preset_settings(self.preset).get("train", {}), **dict(self.train), "model": self.model}
        cfg = TrainConfig(**chosen)
        if target_of(cfg.target).family != self.family:  # the entry decides what is forecast
            cfg = cfg.replace(target=self.target)
        if target_of(self.target).fixed_horizon:  # such a model forecasts the entry's horizon only
            cfg = cfg.replace(horizon=self.horizon)
        return cfg

    @property
    def key(self) -> str:
        """What names this entry's run: one symbol may have entries of several models and of
        another family of target; each is processed (the same symbol, model and family twice
        is refused)."""
        named = family_named(self.target)
        return f"{self.symbol} {self.model}" + (f" {named}" if named else "")

    @property
    def family(self) -> str:
        """What kind of forecast this entry makes (`Target.family`): a model of any target
        of that family serves it."""
        return target_of(self.target).family


@dataclass(frozen=True)
class UniverseItem:
    """A `[[universe]]` entry: a universe whose members `daily` fetches and ranks each
    evening with its newest network of `model` (trained when it has none, or retrained when
    `retrain_if_older` days stale), picking the top and bottom `k`."""

    name: str
    model: str = "lstm"
    target: str = "rank"
    k: int | None = None
    fetch: bool = True
    retrain_if_older: int = 30  # days; 0 = never
    preset: str | None = None
    train: tuple[tuple[str, SettingValue], ...] = ()

    @property
    def key(self) -> str:
        return f"universe {self.name} {self.model}"

    def train_config(self) -> TrainConfig:
        chosen = {**preset_settings(self.preset).get("train", {}), **dict(self.train)}
        return TrainConfig(**{**chosen, "model": self.model, "target": self.target})


_UNIVERSE_KEYS: dict[str, object] = {
    "name": "str",
    "model": "str",
    "target": "str",
    "k": "int | None",
    "fetch": "bool",
    "retrain_if_older": "int",
    "preset": "str | None",
    "train": dict,
}


def _universe_items(doc: dict[str, Any], where: str, text: str) -> list[UniverseItem]:
    """The watchlist's `[[universe]]` entries, each key checked like a ticker's."""
    entries = doc.get("universe", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: universe must be a list of [[universe]] tables, each with a name")
    shared = doc.get("train", {})
    items = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(
                f"{where}: universe entry {i + 1} is {entry!r}, not a table: write each as"
                f' [[universe]] with name = "{entry}" on the next line'
            )
        check_table(entry, _UNIVERSE_KEYS, where, text, "universe", i)
        if "name" not in entry:
            raise ConfigError(f"{where}: [[universe]] entry {i + 1} has no name")
        _check_train(entry.get("train", {}), where, text, "universe", i)
        top = {k: doc[k] for k in ("fetch", "preset", "retrain_if_older") if k in doc}
        merged = {**top, **entry}
        if merged.get("target", "rank") not in LEARNERS:
            raise ConfigError(
                f"{where}: universe {entry['name']}: target {merged['target']!r};"
                f" choose {', '.join(LEARNERS)}"
            )
        if merged.get("k") is not None and merged["k"] < 1:
            raise ConfigError(f"{where}: universe {entry['name']}: k must be 1 or more")
        if merged.get("retrain_if_older") is not None and merged["retrain_if_older"] < 0:
            raise ConfigError(f"{where}: universe {entry['name']}: retrain_if_older must be 0 or more")
        train = {**shared, **entry.get("train", {})}
        item = UniverseItem(
            name=entry["name"],
            model=merged.get("model", "lstm"),
            target=merged.get("target", "rank"),
            k=merged.get("k"),
            fetch=merged.get("fetch", True),
            retrain_if_older=merged.get("retrain_if_older", 30),
            preset=merged.get("preset"),
            train=tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in train.items())),
        )
        try:
            item.train_config().validate()
        except ConfigError as exc:
            raise ConfigError(f"{where}: universe {item.name}: {exc}") from None
        items.append(item)
    names = [i.key for i in items]
    for key in names:
        if names.count(key) > 1:
            raise ConfigError(f"{where}: {key} is listed twice; keep one [[universe]] entry for it")
    return items


_SETTINGS: dict[str, object] = {f.name: f.type for f in dataclasses.fields(ForecastConfig)}
_SETTINGS.update(fetch="bool", preset="str | None", train=dict)
_TRAIN = {f.name: f.type for f in dataclasses.fields(TrainConfig) if f.metadata.get("cli", True)}
# The entry says these itself: which model is its, and what it forecasts.
_ENTRY_OWNS = ("model", "target", "horizon")


@dataclass(frozen=True)
class Watchlist:
    tickers: list[WatchItem]
    universes: list[UniverseItem]


def load_watchlist(path: Path) -> list[WatchItem]:
    """The watchlist's ticker entries (`read_watchlist` gives its universes too)."""
    return read_watchlist(path).tickers


def read_watchlist(path: Path) -> Watchlist:
    """The watchlist's entries; a typo or a value of the wrong type names its key and line."""
    if not path.exists():
        raise NotFoundError(f"{path}: no daily config; create one with `lstmcast daily --init`")
    where = str(path)
    doc, text = read_toml(path, "watchlist")
    check_table(doc, {**_SETTINGS, "ticker": list, "universe": list}, where, text)
    shared = {k: v for k, v in doc.items() if k not in ("ticker", "universe")}
    _check_train(shared.get("train", {}), where, text, None, 0)
    universes = _universe_items(doc, where, text)
    entries = doc.get("ticker", [])
    if not isinstance(entries, list) or not (entries or universes):
        raise ConfigError(
            f"{where}: no [[ticker]] entries; add one per symbol (`lstmcast daily --init` shows how)"
        )
    items = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):  # `ticker = ["AAPL"]` instead of [[ticker]] tables
            raise ConfigError(
                f"{where}: ticker entry {i + 1} is {entry!r}, not a table: write each as"
                f' [[ticker]] with symbol = "{entry}" on the next line'
            )
        check_table(entry, {"symbol": "str", **_SETTINGS}, where, text, "ticker", i)
        if "symbol" not in entry:
            raise ConfigError(f"{where}: [[ticker]] entry {i + 1} has no symbol")
        _check_train(entry.get("train", {}), where, text, "ticker", i)
        train = {**shared.get("train", {}), **entry.get("train", {})}
        merged = {**_DEFAULTS, **shared, **entry}
        symbol = validate_ticker(entry["symbol"])
        given = {k: merged[k] for k in FORECAST_KEYS if k in merged}  # TOML values, types checked
        try:
            forecast = ForecastConfig(**given).validate()
        except ConfigError as exc:
            raise ConfigError(f"{where}: {symbol}: {exc}") from None
        items.append(
            WatchItem(
                symbol,
                forecast,
                fetch=merged.get("fetch", True),
                preset=merged.get("preset"),
                train=tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in train.items())),
            )
        )
    seen: set[str] = set()
    for item in items:
        if item.key in seen:  # tickers are upper-cased first: `aapl` and `AAPL` are one entry
            raise ConfigError(f"{where}: {item.key} is listed twice; keep one [[ticker]] entry for it")
        seen.add(item.key)
        try:
            item.train_config().validate()
        except ConfigError as exc:
            raise ConfigError(f"{where}: {item.symbol}: {exc}") from None
    return Watchlist(items, universes)


def _check_train(values: object, where: str, text: str, table: str | None, nth: int) -> None:
    """A [train] table (for all entries) or an entry's `train = {...}`: TrainConfig's settings,
    each of its type, without the keys the entry itself owns."""
    if not isinstance(values, dict):
        raise ConfigError(
            f"{where}: train must be a table of training settings, e.g. train = {{ epochs = 10 }}"
        )
    check_table(values, _TRAIN, where, text, "train" if table is None else table, nth)
    owned = sorted(set(values) & set(_ENTRY_OWNS))
    if owned:
        raise ConfigError(
            f"{where}: {owned[0]} is set on the [[ticker]] entry (or at the top), not in its train settings"
        )


def init_config(path: Path) -> Path:
    if path.exists():
        raise ConfigError(f"{path} exists; not overwriting it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, EXAMPLE)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
