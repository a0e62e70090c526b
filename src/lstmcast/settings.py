"""Declaring a setting once: `setting()` (its default, help, flags, bounds and choices),
`check_bounds`, and the words and limits settings take (models, targets, losses, devices,
..., and the bounds beyond which no daily series has enough bars). The configs' fields, the
command line, --config files and the help are all built from these."""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from lstmcast.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

MODELS = ("lstm", "gru", "rnn", "cnn")
# What the baselines are called in text: the return verdict's, and the volatility target's.
BASELINE_NAMES = {"naive": "the random walk", "drift": "the drift", "linear": "the linear baseline"}
VOL_LABELS = {
    "har": "HAR",
    "har_log": "log-HAR",
    "har_lev": "leverage HAR",
    "naive": "naive",
    "ewma": "EWMA",
    "garch": "GARCH",
}
TARGETS = ("log_return", "price", "volatility")  # one ticker's series
# A universe's members at each date: their cross-sectional rank, or their return less the
# cross-sectional mean (`backtest --universe`).
PANEL_TARGETS = ("rank", "excess")
ALL_TARGETS = TARGETS + PANEL_TARGETS
# Daily variance proxies for --target volatility (prep/volatility.py says what each measures).
VOL_PROXIES = ("gk", "parkinson", "squared")
RESIDUAL_ON = ("none", "har")
FEATURES = ("log_volume_change", "hl_range", "oc_return")
LOSSES = ("mse", "huber", "qlike")
DEVICES = ("auto", "cpu", "cuda", "mps")
DECODERS = ("direct", "recursive", "seq2seq")
SAMPLERS = ("tpe", "random")  # how `tune` searches: Optuna's TPE, or at random (a baseline)
ENGINES = ("auto", "onnx", "torch")  # what runs a saved network: see registry/saved.load_model

# The smallest segments we accept: fewer samples than this make the metrics noise.
MIN_TRAIN_SAMPLES = 100
MIN_EVAL_SAMPLES = 20


# The largest window and horizon accepted: beyond them no daily series has enough bars, and
# checking them costs time of its own (README, "What lstmcast promises").
MAX_WINDOW = 5000
MAX_HORIZON = 252  # a trading year
MAX_SEED = 2**32 - 1  # numpy's seeds end here


# A setting's value as a config holds it: a flag, a number, a word, a list of words (features,
# exog) or unset. Read from a file or a search, a value is an `object` until checked.
SettingValue: TypeAlias = "bool | int | float | str | tuple[str, ...] | None"


T = TypeVar("T")


def setting(
    default: T,
    help: str,
    *,
    flags: tuple[str, ...] = (),
    cli: bool = True,
    bounds: tuple[float | None, float | None] | None = None,
    choices: tuple[str, ...] | None = None,
) -> T:
    """A config field with its one declaration of help text (and CLI flags, when they differ
    from --field-name) and, for a number, its accepted range (inclusive), for a word its
    choices: the command line (where a wrong choice is a usage error), --config files, the
    help and `check_bounds` are all built from it."""
    meta = {"help": help, "flags": flags, "cli": cli, "bounds": bounds, "choices": choices}
    made: T = field(default=default, metadata=meta)  # a Field, typed as its value, as field() is
    return made


def check_bounds(config: DataclassInstance) -> None:
    """Every numeric setting within its declared range, or a ConfigError naming the option:
    NaN, infinities, huge and negative values are refused here, before any work."""
    for f in dataclasses.fields(config):
        bounds = f.metadata.get("bounds")
        value = getattr(config, f.name)
        if bounds is None or value is None:
            continue
        lo, hi = bounds
        flag = (f.metadata["flags"] or (f"--{f.name.replace('_', '-')}",))[0]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
        ok = ok and (lo is None or value >= lo) and (hi is None or value <= hi)
        if not ok:
            span = f"between {lo:g} and {hi:g}" if lo is not None and hi is not None else f"at least {lo:g}"
            raise ConfigError(f"{flag} must be {span}, got {value!r}")


def check_choices(config: DataclassInstance) -> None:
    """Every word setting among its declared choices (None: not chosen), or a ConfigError
    naming the option and the choices."""
    for f in dataclasses.fields(config):
        choices = f.metadata.get("choices")
        value = getattr(config, f.name)
        if choices is None or value is None or value in choices:
            continue
        flag = (f.metadata["flags"] or (f"--{f.name.replace('_', '-')}",))[0]
        raise ConfigError(f"unknown {flag} {value!r}; choose {', '.join(choices)}")
