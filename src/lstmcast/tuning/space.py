"""What `lstmcast tune` searches: a default space per model and target, and `--space FILE`.

A space file is TOML with one table per setting of `lstmcast train`:

    [window]            # an integer range
    low = 20
    high = 80
    [lr]                # a range on a log scale
    low = 1e-4
    high = 1e-2
    log = true
    [loss]              # a choice
    choices = ["mse", "huber"]
    [hidden]            # fixed: not searched
    value = 32

The file's tables replace the default space's entries of the same name; the rest of the
default stays. Every bound and choice is checked as `train` would check it, before any work.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstmcast.config import TrainConfig
from lstmcast.errors import ConfigError
from lstmcast.settings import FEATURES, SettingValue
from lstmcast.target import target_of
from lstmcast.tomlfile import line_of, read_toml

# The settings a space may search: the network, its inputs and its training. The target, the
# horizon, the split and the variance proxy are the question being asked, not settings to tune:
# trials scored on different proxies are scored against different things.
TUNABLE = (
    "window", "hidden", "layers", "dropout", "lr", "batch_size", "loss", "features",
    "residual_on", "kernel_size", "channels", "epochs", "patience", "clip", "decoder",
)  # fmt: skip
QUESTION = {
    "vol_proxy": "the proxy defines the variance every trial is scored on; choose it with --vol-proxy",
    "target": "it is the question; choose it with --target",
    "horizon": "it is the question; choose it with --horizon",
}
ENTRY_KEYS = ("low", "high", "log", "step", "choices", "value")
RANGE_KEYS = ("low", "high", "step", "log")
FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


@dataclass(frozen=True)
class Param:
    """One searched setting: an int or float range (on a log scale or not), or a choice."""

    name: str
    kind: str  # "int", "float" or "choice"
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: int = 1
    choices: tuple[SettingValue, ...] = ()

    def describe(self) -> str:
        if self.kind == "choice":
            return " | ".join(str(_show(c)) for c in self.choices)
        scale = ", log" if self.log else ""
        return f"{self.low:g} .. {self.high:g}{scale}"


@dataclass(frozen=True)
class Space:
    """The searched settings and the ones a space file fixed."""

    params: tuple[Param, ...]
    fixed: tuple[tuple[str, SettingValue], ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "params": [dataclasses.asdict(p) for p in self.params],
            "fixed": {k: _show(v) for k, v in self.fixed},
        }

    def distributions(self) -> dict[str, Any]:
        """Optuna's distributions of the searched settings."""
        from optuna.distributions import (
            BaseDistribution,
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        out: dict[str, BaseDistribution] = {}
        for p in self.params:
            if p.kind == "choice":
                out[p.name] = CategoricalDistribution([_show(c) for c in p.choices])
            elif p.kind == "int":
                step = 1 if p.log else p.step
                out[p.name] = IntDistribution(int(p.low), int(p.high), log=p.log, step=step)
            else:
                out[p.name] = FloatDistribution(p.low, p.high, log=p.log)
        return out

    def apply(self, base: TrainConfig, params: dict[str, object]) -> TrainConfig:
        """`base` with the fixed settings and one trial's `params` (as Optuna holds them)."""
        changes = dict(self.fixed)
        for name, value in params.items():
            changes[name] = _from_optuna(name, value)
        return base.replace(**changes)


def _show(value: SettingValue) -> bool | int | float | str | None:
    """A setting's value as Optuna and JSON hold it: a feature list as "a,b" ("none" for none)."""
    if isinstance(value, tuple):
        return ",".join(value) or "none"
    return value


def _from_optuna(name: str, value: object) -> SettingValue:
    if name == "features":
        return () if value == "none" else tuple(v for v in str(value).split(",") if v)
    return _setting(value)


_FEATURE_SETS = ((), *((f,) for f in FEATURES), FEATURES)
# What each family of target searches beside the network's shape: its losses, and what else
# changes its forecast (a variance network may learn HAR's error; a return one reads extras;
# a universe's network reads each member's returns only).
_OWN_PARAMS: dict[str, list[Param]] = {
    "return": [
        Param("loss", "choice", choices=("mse", "huber")),
        Param("features", "choice", choices=_FEATURE_SETS),
    ],
    "volatility": [
        Param("loss", "choice", choices=("mse", "qlike")),
        Param("residual_on", "choice", choices=("none", "har")),
    ],
    "panel": [Param("loss", "choice", choices=("mse", "huber"))],
}


def default_space(base: TrainConfig) -> Space:
    """The starting space for `base`'s model and target. It holds bad settings on purpose
    (tiny networks, large steps): a search must find its way out of them."""
    params = [
        Param("window", "int", 10, 120, step=5),
        Param("lr", "float", 1e-4, 2e-2, log=True),
        Param("batch_size", "choice", choices=(32, 64, 128, 256)),
        Param("dropout", "float", 0.0, 0.5),
        Param("layers", "int", 1, 3),
    ]
    if base.model == "cnn":
        params += [Param("channels", "int", 4, 128, log=True), Param("kernel_size", "int", 2, 9)]
    else:
        params.append(Param("hidden", "int", 4, 128, log=True))
    params += _OWN_PARAMS[target_of(base.target).family]
    return Space(tuple(params))


def read_space(path: Path, base: TrainConfig, start: Space | None = None) -> Space:
    """The default space for `base` (or `start`) with `path`'s tables in place of the entries
    they name; a typo, a wrong type or a value `train` would refuse is a ConfigError naming
    the line."""
    doc, text = read_toml(path, "space file")
    where = str(path)
    default = {p.name: p for p in (start or default_space(base)).params}
    fixed: dict[str, SettingValue] = {}
    for name, entry in doc.items():
        line = line_of(text, name) or _header_line(text, name)
        at = f"{where}, line {line}" if line else where
        if name in QUESTION:
            raise ConfigError(f"{at}: {name!r} cannot be searched: {QUESTION[name]}")
        if name not in TUNABLE:
            close = difflib.get_close_matches(name, TUNABLE, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; tunable: {', '.join(TUNABLE)}"
            raise ConfigError(f"{at}: {name!r} is not a setting a space can search{hint}")
        if not isinstance(entry, dict):
            raise ConfigError(f"{at}: {name} must be a table like [{name}] with low/high, choices or value")
        unknown = [k for k in entry if k not in ENTRY_KEYS]
        if unknown:
            line = line_of(text, unknown[0], name) or line
            raise ConfigError(
                f"{_at(where, line)}: unknown key {unknown[0]!r} in [{name}]; known: {', '.join(ENTRY_KEYS)}"
            )
        kind = FIELDS[name].type
        forms = (("value", ("value",)), ("choices", ("choices",)), ("a range", RANGE_KEYS))
        ways = [w for w, keys in forms if any(k in entry for k in keys)]
        if len(ways) > 1:
            key = next(k for k in ("value", "choices", *RANGE_KEYS) if k in entry)
            raise ConfigError(
                f"{_at(where, line_of(text, key, name) or line)}: [{name}] mixes {' and '.join(ways)};"
                " give one: value = ..., choices = [...], or low/high"
            )
        try:
            if "value" in entry:
                fixed[name] = _check(base, name, _from_toml(name, entry["value"]))
                default.pop(name, None)
            elif "choices" in entry:
                choices = entry["choices"]
                if not isinstance(choices, list) or not choices:
                    raise ConfigError(f"{name}: choices must be a non-empty list")
                got = tuple(_check(base, name, _from_toml(name, c)) for c in choices)
                default[name] = Param(name, "choice", choices=got)
            else:
                default[name] = _range(base, name, str(kind), entry)
        except ConfigError as exc:
            # The line of the entry's first value, else of its table.
            first = next((k for k in ("value", "choices", "low", "high") if k in entry), None)
            line = (line_of(text, first, name) if first else None) or line
            raise ConfigError(f"{_at(where, line)}: [{name}] {exc}") from None
    return Space(tuple(default.values()), tuple(fixed.items()))


def _at(where: str, line: int | None) -> str:
    """The file, and the line where one is known (never "line None")."""
    return f"{where}, line {line}" if line else where


def _header_line(text: str, name: str) -> int | None:
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip().startswith(f"[{name}]"):
            return number
    return None


def _from_toml(name: str, value: object) -> SettingValue:
    if name == "features":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        if isinstance(value, str):
            return _from_optuna(name, value)
        raise ConfigError('a feature set is a list like ["hl_range"] or []')
    return _setting(value)


def _check(base: TrainConfig, name: str, value: object) -> SettingValue:
    """`value` if `train` accepts it for `name` (alone, on `base`), else a ConfigError."""
    try:
        base.replace(**{name: value}).validate()
    except TypeError as exc:
        raise ConfigError(str(exc)) from None
    kind = str(FIELDS[name].type)
    if kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
        raise ConfigError(f"{value!r} is not an integer")
    if kind == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"{value!r} is not a number")
        return float(value)
    if kind == "str" and not isinstance(value, str):
        raise ConfigError(f"{value!r} is not a word")
    return _setting(value)


def _setting(value: object) -> SettingValue:
    """`value` as a config holds a setting, or a ConfigError (a TOML table or date is none)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        return tuple(str(v) for v in value)
    raise ConfigError(f"{value!r} is not a value a setting takes")


def _bound(base: TrainConfig, name: str, value: object) -> float:
    """One end of a searched range: a number `train` accepts for `name`."""
    got = _check(base, name, value)
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        raise ConfigError(f"{value!r} is not a number")
    return got


def _range(base: TrainConfig, name: str, kind: str, entry: dict[str, Any]) -> Param:
    if kind not in ("int", "float"):
        raise ConfigError("a word or a list is searched with choices = [...], not low/high")
    if "low" not in entry or "high" not in entry:
        raise ConfigError("a range needs low and high (or give choices = [...] or value = ...)")
    low, high = _bound(base, name, entry["low"]), _bound(base, name, entry["high"])
    log = entry.get("log", False)
    step = entry.get("step", 1)
    if not isinstance(log, bool):
        raise ConfigError("log must be true or false")
    if not low < high:
        raise ConfigError(f"low ({low:g}) must be below high ({high:g})")
    if log and low <= 0:
        raise ConfigError("a log scale needs low > 0")
    if "step" in entry and (not isinstance(step, int) or isinstance(step, bool) or step < 1 or kind != "int"):
        raise ConfigError("step is a positive integer, for integer settings only")
    if kind == "int" and (high - low) % step:
        raise ConfigError(f"high - low ({high - low:g}) must be a multiple of step ({step})")
    return Param(name, kind, float(low), float(high), log=log, step=step)
