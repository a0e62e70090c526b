"""The modelling commands' options, built from the typed configs: each is declared once, in config.py.

`@run_options(...)` gives a command the inputs (TICKER..., --csv, --ticker, --config FILE) and
one option per TrainConfig/BacktestConfig field, with the field's default and help. The command
receives a single validated `run: RunConfig`: defaults, then the --preset, then the --config
file, then the options the user typed (a click parameter source tells typed from default).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, TypeVar

import typer

from lstmcast.config import TrainConfig
from lstmcast.errors import ConfigError
from lstmcast.jsonable import from_json_object
from lstmcast.runconfig import (
    INTERVAL_METHODS,
    PRESETS,
    BacktestConfig,
    ForecastConfig,
    RunConfig,
    preset_settings,
    read_run_config,
)
from lstmcast.settings import ENGINES, MODELS, TARGETS
from lstmcast.threadpolicy import calm_openmp
from lstmcast.tickers import validate_ticker

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C")

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]

# Words from a fixed set, as Typer sees them: shown as [a|b|c], and a wrong one is a usage error
# (exit 2). Built from the tuples that define them; mypy sees plain strings.
if TYPE_CHECKING:
    from lstmcast.execution.engine import Parallel

    ModelName: TypeAlias = str
    TargetName: TypeAlias = str
    IntervalName: TypeAlias = str
    EngineName: TypeAlias = str
    FreezeName: TypeAlias = str
    FormatName: TypeAlias = str
else:
    ModelName = Literal.__getitem__(MODELS)
    TargetName = Literal.__getitem__(TARGETS)
    IntervalName = Literal.__getitem__(INTERVAL_METHODS)
    EngineName = Literal.__getitem__(ENGINES)
    FreezeName = Literal["encoder", "none"]
    FormatName = Literal["table", "csv", "json"]

Format = Annotated[
    FormatName | None,
    typer.Option(
        "--format",
        help="table (for people), csv or json (for scripts); --json is --format json.",
        show_default=False,
    ),
]
_WORKERS_HELP = (
    "Local worker processes for the independent tasks (Dask; 1: in this process, no Dask);"
    " each gets its share of the cores as torch threads."
)
Workers = Annotated[int, typer.Option(help=_WORKERS_HELP)]
# A sweep is parallel by default, one worker per core: a default the help names, not a number
# that differs from machine to machine (docs/commands.md is generated from the help).
ManyWorkers = Annotated[int, typer.Option("--workers", help=_WORKERS_HELP, show_default="the cores")]
Cluster = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        envvar="LSTMCAST_CLUSTER",
        help="Dask scheduler address, tcp://HOST:PORT or tls://HOST:PORT. Dask sends pickles:"
        " use only a scheduler you trust.",
        show_default=False,
    ),
]
ClusterSecurity = Annotated[
    Path | None,
    typer.Option(
        "--cluster-security",
        envvar="LSTMCAST_CLUSTER_SECURITY",
        help="TOML naming the PEM files for a tls:// --cluster: ca_file, cert, key.",
        show_default=False,
    ),
]
LIST_FIELDS = ("features", "exog")  # tuples, typed as comma-separated (or repeated) values
# Where a cluster option may come from instead of its flag: its message then names the variable.
_CLUSTER_ENV = (
    ("cluster_security", re.compile(r"--cluster-security"), "LSTMCAST_CLUSTER_SECURITY"),
    ("cluster", re.compile(r"--cluster(?!-security)"), "LSTMCAST_CLUSTER"),
)


def parallel_of(ctx: typer.Context, workers: int, cluster: str | None, security: Path | None) -> Parallel:
    """Where the command's tasks run. A refused --cluster or --cluster-security that came from
    LSTMCAST_CLUSTER or LSTMCAST_CLUSTER_SECURITY names the variable, not a flag never typed."""
    from lstmcast.execution.engine import Parallel

    try:
        return Parallel(workers, cluster, security)
    except ConfigError as exc:
        message = str(exc)
        for name, flag, variable in _CLUSTER_ENV:
            source = ctx.get_parameter_source(name)
            if source is not None and source.name == "ENVIRONMENT":
                message = flag.sub(f"{variable} (set in the environment)", message)
        raise ConfigError(message) from None


_INPUTS = [
    (
        "tickers",
        Annotated[
            list[str] | None,
            typer.Argument(
                help="Stored ticker(s); several train one global model. Or use --csv.", show_default=False
            ),
        ],
        None,
    ),
    ("csv", Annotated[Path | None, typer.Option("--csv", help="Read prices from this CSV file.")], None),
    (
        "ticker",
        Annotated[
            str | None,
            typer.Option(
                "--ticker",
                "-t",
                help="Name for the --csv series (default: from the file name).",
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "preset",
        Annotated[
            str | None,
            typer.Option(
                "--preset",
                help="Named settings under --config and the options typed: "
                + "; ".join(f"{k}: {v['about']}" for k, v in PRESETS.items())
                + ".",
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "config",
        Annotated[
            Path | None,
            typer.Option(
                "--config",
                help="Run config TOML (see `models show ID --config`); options given here override it.",
            ),
        ],
        None,
    ),
]


def _option(f: dataclasses.Field[object], kind: Any) -> tuple[Any, object]:
    """(annotation, default) of the Typer option for one config field."""
    flags = f.metadata["flags"] or (f"--{f.name.replace('_', '-')}",)
    help_text = f.metadata["help"]
    default = f.default
    if kind is bool:
        on = flags[0]
        decl = (f"{on}/--no-{on.removeprefix('--')}",)
        return Annotated[bool, typer.Option(*decl, help=help_text)], default
    if f.name in LIST_FIELDS:
        info = typer.Option(*flags, help=help_text + " Repeat or comma-separate.", show_default=False)
        return Annotated[list[str] | None, info], None
    choices = f.metadata.get("choices")
    if choices:  # shown as [a|b|c]; a wrong one is a usage error (exit 2), before any work
        kind = Literal.__getitem__(tuple(choices))
        if default is None:
            return Annotated[kind | None, typer.Option(*flags, help=help_text, show_default=False)], None
        return Annotated[kind, typer.Option(*flags, help=help_text)], default
    if default is None:
        return Annotated[kind, typer.Option(*flags, help=help_text, show_default=False)], None
    return Annotated[kind, typer.Option(*flags, help=help_text)], default


def _fields(cls: type, only: tuple[str, ...] | None) -> list[tuple[dataclasses.Field[object], Any]]:
    hints = typing.get_type_hints(cls)
    return [
        (f, hints[f.name])
        for f in dataclasses.fields(cls)
        if f.metadata.get("cli", True) and (only is None or f.name in only)
    ]


def _typed(ctx: typer.Context, name: str) -> bool:
    """Did the user type this option (rather than leave its default)?"""
    source = ctx.get_parameter_source(name)  # click's ParameterSource (typer vendors click)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _as_tuple(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for item in values for v in item.split(",") if v.strip())


def _merge(
    cls: type[C],
    fields: list[tuple[dataclasses.Field[object], Any]],
    ctx: typer.Context,
    given: dict[str, object],
    file: dict[str, object],
) -> C:
    """The config `cls` from the run's settings file, then each option the user typed."""
    values = dict(file)
    for f, _ in fields:
        if _typed(ctx, f.name):
            v = given[f.name]
            values[f.name] = _as_tuple(v) if f.name in LIST_FIELDS and isinstance(v, list) else v
    exog = values.get("exog")
    if isinstance(exog, (list, tuple)):
        values["exog"] = tuple(validate_ticker(str(t)) for t in exog)
    return from_json_object(cls, values, tuple(f.name for f, _ in fields))


_UNIVERSE = (
    "universe",
    Annotated[
        str | None,
        typer.Option(
            "--universe",
            help="Judge a universe's members together, date by date (a rank or excess target).",
            show_default=False,
        ),
    ],
    None,
)


def run_options(
    *, backtest: bool | tuple[str, ...] = False, tickers_help: str | None = None, universe: bool = False
) -> Callable[[F], F]:
    """Give a command the run inputs and every TrainConfig option (plus BacktestConfig's, all or
    the named ones); it is called with `run=RunConfig(...)` in place of them. `tickers_help`
    replaces the TICKERS argument's help where several tickers mean something else; `universe`
    adds --universe (the commands that can judge one)."""
    only_bt = backtest if isinstance(backtest, tuple) else None
    train_fields = _fields(TrainConfig, None)
    bt_fields = _fields(BacktestConfig, only_bt) if backtest else []

    def decorate(command: F) -> F:
        own = list(inspect.signature(command, eval_str=True).parameters.values())
        at = [p.name for p in own].index("run")
        inputs = [
            (n, Annotated[list[str] | None, typer.Argument(help=tickers_help, show_default=False)], d)
            if n == "tickers" and tickers_help
            else (n, a, d)
            for n, a, d in [*_INPUTS, *([_UNIVERSE] if universe else [])]
        ]
        added = [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d)
            for n, a, d in inputs
        ]
        for f, kind in [*train_fields, *bt_fields]:
            annotation, default = _option(f, kind)
            added.append(
                inspect.Parameter(
                    f.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
                )
            )
        rest = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own[at + 1 :]]
        names = {p.name for p in added}

        @functools.wraps(command)
        def wrapper(ctx: typer.Context, **kwargs: Any) -> Any:
            given = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
            file = read_run_config(given["config"]) if given["config"] is not None else {}
            preset = preset_settings(given["preset"])

            def section(name: str) -> dict[str, object]:
                return {**preset.get(name, {}), **file.get(name, {})}

            train = _merge(TrainConfig, train_fields, ctx, given, section("train"))
            bt = _merge(BacktestConfig, bt_fields, ctx, given, section("backtest")) if backtest else None
            tickers = tuple(given["tickers"] or file.get("tickers", ()))
            csv = given["csv"] if given["csv"] is not None else file.get("csv")
            if given["ticker"] is not None:
                tickers = (given["ticker"],)
            run = RunConfig(
                tickers=tickers,
                csv=None if csv is None else str(csv),
                universe=given.get("universe") or file.get("universe"),
                train=train,
                backtest=bt or BacktestConfig(),
            )
            run.validate()
            calm_openmp(run.train.threads)  # before any torch import: see threadpolicy
            if "backtest" in file and bt is None:  # one run's settings: bad for any command
                BacktestConfig(**file["backtest"]).validate()
            return command(ctx, run=run, **kwargs)

        wrapper.__signature__ = inspect.Signature([own[0], *added, *rest])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {}  # the signature above carries the real types
        return wrapper  # type: ignore[return-value]

    return decorate


def option_of(cls: type, name: str) -> Any:
    """The Typer option of one config field, for a command that takes it without the whole
    config (forecast's --intervals is BacktestConfig's): declared once, in the field."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    return _option(field, typing.get_type_hints(cls)[name])[0]


# The interval method, as backtest, audit and sweep take it (forecast's is ForecastConfig's).
Intervals = option_of(BacktestConfig, "intervals")
# `forecast`'s own settings, each declared once in ForecastConfig (the watchlist reads the same).
ForecastModel = option_of(ForecastConfig, "model")
ForecastTarget = option_of(ForecastConfig, "target")
Horizon = option_of(ForecastConfig, "horizon")
Calendar = option_of(ForecastConfig, "calendar")
ForecastIntervals = option_of(ForecastConfig, "intervals")
RetrainIfOlder = option_of(ForecastConfig, "retrain_if_older")

# Every column of a long table, at its content's width, instead of the ones that fit.
Wide = Annotated[
    bool,
    typer.Option(
        "--wide", help="Every column, however wide (the terminal wraps); by default the columns that fit."
    ),
]
