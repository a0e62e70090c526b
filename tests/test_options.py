"""One declaration per option: the same model options everywhere, run configs that round-trip."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from conftest import SAMPLE, Cli
from lstmcast.cli.options import run_options
from lstmcast.config import TrainConfig
from lstmcast.errors import ConfigError
from lstmcast.runconfig import PRESETS, BacktestConfig, RunConfig
from lstmcast.settings import ALL_TARGETS
from lstmcast.target import target_of

# A non-default, valid value for every model and training option.
EVERY_TRAIN_OPTION = [
    "--model", "gru", "--target", "price", "--features", "hl_range", "--window", "12",
    "--horizon", "2", "--decoder", "recursive", "--val", "0.12", "--test", "0.11",
    "--hidden", "9", "--layers", "1", "--dropout", "0.1", "--kernel-size", "3", "--channels", "4",
    "--epochs", "1", "--batch-size", "32", "--lr", "0.002", "--loss", "huber", "--clip", "0.5",
    "--patience", "2", "--seed", "7", "--device", "cpu", "--threads", "1",
    "--no-stateful", "--ticker-embedding", "--exog", "MSFT", "--vol-proxy", "gk",
    "--residual-on", "none",
]  # fmt: skip

# A non-default value for every option of TrainConfig and BacktestConfig: as typed, and as held.
NON_DEFAULT: dict[str, tuple[list[str], object]] = {
    "model": (["--model", "gru"], "gru"),
    "vol_proxy": (["--vol-proxy", "parkinson"], "parkinson"),
    "residual_on": (["--residual-on", "har"], "har"),
    "features": (["--features", "hl_range"], ("hl_range",)),
    "window": (["--window", "12"], 12),
    "horizon": (["--horizon", "2"], 2),
    "decoder": (["--decoder", "recursive"], "recursive"),
    "val_frac": (["--val", "0.12"], 0.12),
    "test_frac": (["--test", "0.11"], 0.11),
    "hidden": (["--hidden", "9"], 9),
    "layers": (["--layers", "1"], 1),
    "dropout": (["--dropout", "0.1"], 0.1),
    "kernel_size": (["--kernel-size", "3"], 3),
    "channels": (["--channels", "4"], 4),
    "epochs": (["--epochs", "1"], 1),
    "batch_size": (["--batch-size", "32"], 32),
    "lr": (["--lr", "0.002"], 0.002),
    "loss": (["--loss", "huber"], "huber"),
    "clip": (["--clip", "0.5"], 0.5),
    "patience": (["--patience", "2"], 2),
    "seed": (["--seed", "7"], 7),
    "device": (["--device", "cpu"], "cpu"),
    "threads": (["--threads", "1"], 1),
    "stateful": (["--stateful"], True),
    "ticker_embedding": (["--ticker-embedding"], True),
    "exog": (["--exog", "MSFT"], ("MSFT",)),
    "folds": (["--folds", "3"], 3),
    "test_size": (["--test-size", "0.3"], 0.3),
    "start": (["--start", "2012-01-03"], "2012-01-03"),
    "scheme": (["--scheme", "sliding"], "sliding"),
    "train_size": (["--train-size", "500"], 500),
    "retrain_every": (["--retrain-every", "20"], 20),
    "refit_every": (["--refit-every", "5"], 5),
    "seeds": (["--seeds", "2"], 2),
    "rule": (["--rule", "long_short"], "long_short"),
    "threshold": (["--threshold", "0.001"], 0.001),
    "cost_bps": (["--cost-bps", "50"], 50.0),
    "intervals": (["--intervals", "aci"], "aci"),
    "k": (["--k", "5"], 5),
    "quantile": (["--quantile", "0.2"], 0.2),
    "n_drop": (["--n-drop", "2"], 2),
}


def _flags(cls: type) -> set[str]:
    return {
        (f.metadata["flags"] or (f"--{f.name.replace('_', '-')}",))[0]
        for f in dataclasses.fields(cls)
        if f.metadata["cli"]
    }


def _probe(**kwargs: object) -> typer.Typer:
    """A command with the real option set that prints the RunConfig it receives."""
    app = typer.Typer()

    @app.command()
    @run_options(**kwargs)  # type: ignore[arg-type]
    def probe(ctx: typer.Context, run: RunConfig) -> None:
        typer.echo(json.dumps(dataclasses.asdict(run)))

    return app


def test_the_list_above_covers_every_training_option() -> None:
    given = {o.replace("--no-", "--") for o in EVERY_TRAIN_OPTION if o.startswith("--")}
    assert _flags(TrainConfig) <= given


@pytest.mark.parametrize("command", ["train", "backtest", "audit"])
def test_train_backtest_and_audit_accept_every_model_option(cli: Cli, command: str) -> None:
    # Parsed and validated, then the run stops at the data: the ticker is not stored.
    err = cli(command, "NOPE", *EVERY_TRAIN_OPTION, code=1).stderr
    assert "NOPE is not stored" in err


def test_the_table_of_non_default_values_covers_every_option() -> None:
    for cls in (TrainConfig, BacktestConfig):
        names = {f.name for f in dataclasses.fields(cls) if f.metadata["cli"]} - {"target"}
        assert names <= set(NON_DEFAULT), names - set(NON_DEFAULT)
        for f in dataclasses.fields(cls):
            if f.name in NON_DEFAULT:
                assert NON_DEFAULT[f.name][1] != f.default, f.name


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_every_option_either_applies_to_a_target_or_is_refused_never_ignored(cli: Cli, target: str) -> None:
    """Each option, set away from its default, is honoured by every target it applies to
    (the check lets it through) and refused in one line, naming it, by every other: by the
    library and by every command that takes it."""
    t = target_of(target)
    refused_somewhere = set()
    for cls in (TrainConfig, BacktestConfig):
        for f in dataclasses.fields(cls):
            if f.name not in NON_DEFAULT:
                continue
            typed, value = NON_DEFAULT[f.name]
            config = cls(**{f.name: value})  # type: ignore[arg-type]
            if t.applies(f.name):
                t.check(config)
                continue
            refused_somewhere.add(f.name)
            with pytest.raises(ConfigError, match=f"^{typed[0]} does not apply to --target {target}"):
                t.check(config)
            for command in ("train", "backtest", "audit", "sweep", "tune"):
                res = cli(command, "NOPE", "--target", target, *typed, code=None)
                if res.exit_code == 2 and "No such option" in res.stderr:
                    continue  # the command does not take it
                line = res.stderr.strip()
                assert res.exit_code == 1 and len(line.splitlines()) == 1, (command, f.name, line)
                assert f"{typed[0]} does not apply to --target {target}" in line, (command, line)
    assert refused_somewhere == set(t.refused)


@pytest.mark.slow
def test_a_volatility_backtest_runs_its_seeds_and_folds_on_workers_as_returns_do(cli: Cli) -> None:
    """--workers and --seeds mean for volatility what they mean for returns: every (seed, fold)
    is one task, and the parallel run gives the same numbers as the serial one."""
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    args = ["backtest", "IBM", "--target", "volatility", "--epochs", "1", "--window", "20", "--hidden",
            "8", "--layers", "1", "--folds", "2", "--seeds", "2", "--threads", "1", "--json"]  # fmt: skip
    serial = json.loads(cli(*args).stdout)
    parallel = json.loads(cli(*args, "--workers", "2").stdout)
    assert serial["seeds"] == [0, 1] and len(serial["folds"]) == 2
    for doc in (serial, parallel):  # where it ran, not what it found
        doc.pop("threads_per_worker")
        doc.pop("threads_why")
    assert parallel == serial


def test_backtest_and_audit_share_the_walk_forward_options(cli: Cli) -> None:
    assert "NOPE is not stored" in cli("backtest", "NOPE", "--folds", "3", "--cost-bps", "2", code=1).stderr
    assert "NOPE is not stored" in cli("audit", "NOPE", "--folds", "3", "--scheme", "sliding", code=1).stderr
    assert (
        "No such option" in cli("audit", "NOPE", "--cost-bps", "2", code=2).stderr
    )  # no trading in an audit


def test_typed_options_override_the_config_file_and_defaults_stay(tmp_path: Path) -> None:
    cfg = tmp_path / "run.toml"
    cfg.write_text('tickers = ["IBM"]\n[train]\nmodel = "gru"\nwindow = 30\nstateful = true\n')
    runner = CliRunner()
    out = runner.invoke(_probe(), ["--config", str(cfg), "--window", "40", "--no-stateful"])
    assert out.exit_code == 0, out.output
    run = json.loads(out.stdout)
    assert run["tickers"] == ["IBM"]
    assert run["train"]["model"] == "gru"  # from the file
    assert run["train"]["window"] == 40 and run["train"]["stateful"] is False  # typed wins
    assert run["train"]["hidden"] == TrainConfig().hidden  # neither: the default
    both = json.loads(runner.invoke(_probe(backtest=True), ["AAPL", "--folds", "3"]).stdout)
    assert both["tickers"] == ["AAPL"] and both["backtest"]["folds"] == 3
    assert both["backtest"]["cost_bps"] == BacktestConfig().cost_bps


def test_a_preset_sits_under_the_config_file_and_typed_options(tmp_path: Path, cli: Cli) -> None:
    fast = PRESETS["fast"]["train"]
    runner = CliRunner()
    run = json.loads(runner.invoke(_probe(), ["IBM", "--preset", "fast"]).stdout)
    assert {k: run["train"][k] for k in fast} == fast
    assert run["train"]["window"] == TrainConfig().window  # what the preset leaves alone
    cfg = tmp_path / "run.toml"
    cfg.write_text("[train]\nbatch_size = 32\n")
    typed = ["IBM", "--preset", "fast", "--config", str(cfg), "--model", "gru"]
    run = json.loads(runner.invoke(_probe(), typed).stdout)
    assert run["train"]["model"] == "gru" and run["train"]["batch_size"] == 32  # typed, then file
    assert run["train"]["lr"] == fast["lr"]
    err = cli("train", "IBM", "--preset", "turbo", code=1).stderr
    assert err.strip() == "error: unknown preset 'turbo'; choose fast"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'tickers = ["IBM"]\n[train]\nhorizn = 5\n',
            "line 3: unknown setting 'horizn' in [train]; did you mean 'horizon'?",
        ),
        ('tickers = ["IBM"]\n\n[train]\nwindow = "fifty"\n', "line 4: window must be an integer"),
        ('ticker = ["IBM"]\n', "line 1: unknown setting 'ticker'; did you mean 'tickers'?"),
        ('[backtest]\nfolds = 2.5\n', "line 2: folds must be an integer, got 2.5"),
        ('[train]\nstateful = "yes"\n', "line 2: stateful must be true or false"),
        ("[train\nmodel = 1\n", "run.toml: "),
    ],
)  # fmt: skip
def test_run_config_errors_name_the_key_and_the_line(
    cli: Cli, tmp_path: Path, text: str, message: str
) -> None:
    cfg = tmp_path / "run.toml"
    cfg.write_text(text)
    err = cli("train", "--config", cfg, code=1).stderr
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_config_round_trip_repeats_the_run_weight_for_weight(cli: Cli, home: Path, tmp_path: Path) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    fast = ["--model", "cnn", "--window", "15", "--epochs", "2", "--channels", "4", "--features", "hl_range"]
    first = json.loads(cli("train", "IBM", *fast, "--seed", "3", "--json").stdout)["model_id"]
    text = cli("models", "show", first, "--config").stdout
    assert "seed = 3" in text and 'tickers = ["IBM"]' in text and "[backtest]" not in text
    assert "threads" not in text  # no thread count unless one was chosen: each machine decides
    (tmp_path / "run.toml").write_text(text)
    second = json.loads(cli("train", "--config", tmp_path / "run.toml", "--json").stdout)["model_id"]
    a, b = (home / "models" / m / "weights.safetensors" for m in (first, second))
    assert second != first and a.read_bytes() == b.read_bytes()
    assert cli("models", "show", second, "--config").stdout == text


@pytest.mark.slow
def test_csv_file_names_are_labels_not_tickers(cli: Cli, tmp_path: Path) -> None:
    for name in ("my_prices.csv", "my prices.csv"):
        shutil.copy(SAMPLE / "IBM.csv", tmp_path / name)
    fast = ["--model", "cnn", "--window", "10", "--epochs", "1", "--channels", "4", "--json"]
    assert (
        json.loads(cli("train", "--csv", tmp_path / "my_prices.csv", *fast).stdout)["ticker"] == "MY-PRICES"
    )
    assert (
        json.loads(cli("train", "--csv", tmp_path / "my prices.csv", *fast).stdout)["ticker"] == "MY-PRICES"
    )
    named = cli("train", "--csv", tmp_path / "my prices.csv", "--ticker", "ibm", *fast).stdout
    assert json.loads(named)["ticker"] == "IBM"


def test_a_forecast_setting_is_declared_once_for_forecast_and_the_watchlist(tmp_path: Path) -> None:
    """Every ForecastConfig field is a `forecast` option with the field's own help, and a
    watchlist key whose bad value is refused by the same declaration."""
    from lstmcast.cli.app import app
    from lstmcast.jobs.watchlist import load_watchlist
    from lstmcast.runconfig import ForecastConfig

    command = typer.main.get_command(app).get_command(None, "forecast")  # type: ignore[attr-defined]
    options = {p.name: p for p in command.params}
    for f in dataclasses.fields(ForecastConfig):
        assert options[f.name].help == f.metadata["help"], f.name
    path = tmp_path / "daily.toml"
    path.write_text('horizon = 3\ncalendar = "XLON"\n[[ticker]]\nsymbol = "IBM"\nintervals = "vol"\n')
    (item,) = load_watchlist(path)
    assert item.forecast == ForecastConfig(
        "lstm", "log_return", 3, "XLON", "vol", 30
    )  # the watchlist's defaults
    path.write_text('[[ticker]]\nsymbol = "IBM"\nintervals = "wide"\n')
    with pytest.raises(
        Exception, match="IBM: unknown --intervals 'wide'; choose empirical, scaled, aci, vol"
    ):
        load_watchlist(path)
