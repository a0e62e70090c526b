"""What is forecast: a `Target` value per target name, made once by `target_of`.

A target owns what differs between them that every layer asks about: what its forecasts are
judged against (the benchmark the verdict names and the skill key the JSON carries), the
losses it trains with, and the options that do not apply to it. An option that does not
apply is refused in one line when it is given a value other than its default, never
accepted and ignored (`check`). The shared path asks the value, never the name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lstmcast.errors import ConfigError
from lstmcast.settings import ALL_TARGETS

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# Why a trading or interval option means nothing for a variance forecast.
_NOT_FOR_VARIANCE = "trades and return intervals come from return forecasts"


@dataclass(frozen=True)
class Target:
    name: str
    benchmark: str  # what the verdict compares the model with, in words
    short: str  # the same in a table heading
    skill_key: str  # the JSON key of the skill against that benchmark
    losses: tuple[str, ...]  # the training losses that fit this target
    # option field -> why it does not apply to this target: refused unless left at its default
    refused: Mapping[str, str] = field(default_factory=dict)
    # What it refuses when pooled across a universe (a target that can be); None: it cannot be
    on_universe: Mapping[str, str] | None = None
    # Targets forecast alike within a family: "return" (a price path: log_return, price), "volatility"
    # (one h-day variance), "panel" (a universe's members scored at each date). Layers that do
    # one thing per family look the family up in their own table; nothing asks for a name.
    family: str = "return"
    score: str = "MSE"  # the loss its skill is measured in
    # Its values are price levels (a path is the prices themselves); else changes a path
    # compounds from the origin's price (log returns).
    in_prices: bool = False
    unit: str = "ret"  # its values' unit in a table heading

    @property
    def panel(self) -> bool:
        """Judged across a universe's members at each date (`--universe`), never one series."""
        return self.family == "panel"

    @property
    def is_variance(self) -> bool:
        """The forecast is a variance (judged by QLIKE against HAR), not a return or a price."""
        return self.family == "volatility"

    @property
    def fixed_horizon(self) -> bool:
        """A model forecasts only the horizon it was trained for (one direct head), not a path."""
        return self.family == "volatility"

    def check(self, config: DataclassInstance, universe: bool = False) -> None:
        """Refuse, in one line, a setting of `config` (a TrainConfig or BacktestConfig) that
        does not apply to this target (on a universe, with `universe`); a setting left at
        its default is no choice."""
        refused = {**self.refused, **((self.on_universe or {}) if universe else {})}
        for f in dataclasses.fields(config):
            why = refused.get(f.name)
            if why is None or getattr(config, f.name) == _default(f):
                continue
            if f.name == "loss" and getattr(config, f.name) == "huber":
                continue  # the losses a pooled network takes: its default (mse) and huber
            flag = (f.metadata.get("flags") or (f"--{f.name.replace('_', '-')}",))[0]
            raise ConfigError(f"{flag} does not apply to --target {self.name}: {why}")
        if not self.panel and getattr(config, "rule", None) == "topk_dropout":
            raise ConfigError(
                "--rule topk_dropout holds k of a universe's members: give --universe NAME with --target rank"
            )
        loss = getattr(config, "loss", None)
        if loss is not None and loss not in self.losses:
            fits = [t.name for t in _TARGETS.values() if loss in t.losses and t.name != self.name]
            raise ConfigError(
                f"--loss {loss} {_LOSS_WORDS.get(loss, 'does not fit --target ' + self.name)}: use it with"
                f" --target {' or '.join(fits)}, or choose {', '.join(self.losses)}"
            )

    def applies(self, option: str) -> bool:
        return option not in self.refused

    def describe(self, tested: Mapping[str, object]) -> str:
        """A saved model's held-out result against this target's own benchmark, in one cell:
        `+11.7% vs HAR`, `rank IC 0.257`; "–" for a model saved before it was recorded."""
        value = tested.get(self.skill_key)
        if not isinstance(value, (int, float)):
            return "–"
        if self.skill_key == "rank_ic":  # a rank IC is a correlation, not a skill against a benchmark
            return f"rank IC {value:.3f}"
        return f"{value * 100:+.2f}% vs {self.short}"


def _default(f: dataclasses.Field[object]) -> object:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else None


_LOSS_WORDS = {"qlike": "scores variance forecasts"}
_PORTFOLIO = "a universe portfolio holds its best- and worst-scored members"
_VOL_BASELINES = "it re-estimates the volatility baselines (HAR, EWMA, GARCH) of --target volatility"
_RETURN_REFUSED = {
    "vol_proxy": "it chooses the variance proxy of --target volatility",
    "refit_every": _VOL_BASELINES,
    "residual_on": "the network learns HAR's error only with --target volatility",
    "k": _PORTFOLIO,
    "quantile": _PORTFOLIO,
    "n_drop": _PORTFOLIO,
}
_ONE_SERIES = "it belongs to one ticker's walk-forward, not a universe's"
# What no network across a universe takes, whatever its target.
_ON_UNIVERSE = {
    "refit_every": "a universe's baselines are fitted once per fold, on the dates before its cutoff",
    "stateful": "a universe's network reads each member's window, batches mixing tickers and dates",
    "decoder": "a universe's network scores one horizon directly",
    "retrain_every": "each fold's network is fitted once, on the dates before its cutoff",
    "scheme": _ONE_SERIES,
    "train_size": _ONE_SERIES,
    "start": _ONE_SERIES,
    "ticker_embedding": "off by design: the network must score members it never saw",
    "exog": _ONE_SERIES,
    "features": "a universe's inputs are each member's standardised returns",
}
# ... and what a pooled variance network on a universe does not take beside its target's own.
_POOLED_VARIANCE = {
    **_ON_UNIVERSE,
    "vol_proxy": "a universe's proxy is the squared close-to-close return (a panel holds closes)",
    "residual_on": "a pooled network forecasts each member's variance itself",
    "loss": "a pooled network learns each member's standardised log variance by MSE or Huber",
}
_PANEL_REFUSED = {
    **_ON_UNIVERSE,
    "vol_proxy": "it chooses the variance proxy of --target volatility",
    "residual_on": "the network learns HAR's error only with --target volatility",
    "threshold": "a universe portfolio holds its best- and worst-scored members, whatever their size",
    "intervals": "a rank has no price interval",
}
_VARIANCE_REFUSED = {
    "k": _PORTFOLIO,
    "quantile": _PORTFOLIO,
    "n_drop": _PORTFOLIO,
    "stateful": "a variance forecast is one direct head over the horizon",
    "decoder": "a variance forecast is one direct head over the horizon",
    "retrain_every": "each fold's forecasters are fitted once, on the rows before its cutoff",
    "rule": _NOT_FOR_VARIANCE,
    "threshold": _NOT_FOR_VARIANCE,
    "cost_bps": _NOT_FOR_VARIANCE,
    "intervals": "its value-at-risk and log-error intervals come from the variance itself",
}

_TARGETS = {
    "log_return": Target(
        "log_return", "the random walk", "naive", "skill_vs_naive", ("mse", "huber"), _RETURN_REFUSED
    ),
    "price": Target(
        "price",
        "the random walk",
        "naive",
        "skill_vs_naive",
        ("mse", "huber"),
        _RETURN_REFUSED,
        in_prices=True,
        unit="adj $",
    ),
    "volatility": Target(
        "volatility",
        "log-HAR",
        "log-HAR",
        "skill_vs_har",
        ("mse", "huber", "qlike"),
        _VARIANCE_REFUSED,
        on_universe=_POOLED_VARIANCE,
        family="volatility",
        score="QLIKE",
        unit="log var",
    ),
    **{
        name: Target(
            name,
            "the best cross-sectional baseline",
            "best baseline",
            "rank_ic",
            ("mse", "huber"),
            _PANEL_REFUSED,
            on_universe={},
            family="panel",
            score="rank IC",
        )
        for name in ("rank", "excess")  # judged alike; they differ in what the network learns
    },
}
assert tuple(_TARGETS) == ALL_TARGETS


FAMILIES = ("return", "volatility", "panel")
assert {t.family for t in _TARGETS.values()} == set(FAMILIES)


def target_of(name: str) -> Target:
    """The one place a target's name becomes its value."""
    try:
        return _TARGETS[name]
    except KeyError:
        raise ConfigError(f"unknown target {name!r}; choose {', '.join(ALL_TARGETS)}") from None
