"""Global models, stateful sequences, multi-step decoders, fine-tuning and exogenous series:
each where it should help, and none of them leaking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import SAMPLE, Cli, one_forecast
from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.jobs.train import train
from lstmcast.prep.inputs import frame_for
from lstmcast.registry.saved import load_model
from lstmcast.store.db import Store
from lstmcast.training.finetune import run_finetune
from lstmcast.training.run import run_global_training, run_training
from synth import ar1, bars_from_log_returns

SMALL = TrainConfig(model="lstm", window=20, hidden=16, layers=1, epochs=15, patience=4, lr=3e-3, threads=1)


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _perturb_from(bars: pd.DataFrame, date: Any) -> pd.DataFrame:
    out = bars.copy()
    later = out.index >= date
    out.loc[later] = out.loc[later].to_numpy() * np.exp(
        np.random.default_rng(1).normal(0, 0.1, (later.sum(), 1))
    )
    return out


def _regimes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns whose mean flips between +-0.35 sigma in regimes lasting ~400 days: far longer
    than any window, so only a model that remembers can track it."""
    rng = np.random.default_rng(seed)
    mu = np.where(np.cumsum(rng.random(n) < 1 / 400) % 2 == 0, 0.0035, -0.0035)
    return mu + rng.normal(0, 0.01, n), mu


def _shared_process(k: int, n: int, seed0: int = 100) -> list[Series]:
    return [Series(f"S{i}", ar1(n, phi=0.5, seed=seed0 + i)[0], "synthetic") for i in range(k)]


@pytest.mark.slow
def test_stateful_beats_the_plain_model_when_dependence_outlasts_the_window() -> None:
    r, _ = _regimes(5000, seed=0)
    bars = bars_from_log_returns(r)
    cfg = TrainConfig(
        model="lstm", window=10, hidden=16, layers=1, epochs=20, patience=5, lr=3e-3, threads=1, test_frac=0.2
    )
    plain = run_training(cfg, Series("REG", bars, "synthetic")).scores.target["model"].skill_vs_naive
    stateful = run_training(cfg.replace(stateful=True), Series("REG", bars, "synthetic"))
    skill = stateful.scores.target["model"].skill_vs_naive
    assert skill > 0.05 and skill > plain + 0.02, (skill, plain)


def test_stateful_does_not_leak() -> None:
    r, _ = _regimes(1500, seed=1)
    bars = bars_from_log_returns(r)
    cfg = SMALL.replace(stateful=True, epochs=3)
    a = run_training(cfg, Series("R", bars, "synthetic"))
    cut = a.frame.dates[a.segments.val_end]
    b = run_training(cfg, Series("R", _perturb_from(bars, cut), "synthetic"))
    assert _same(a.fitted.state, b.fitted.state)
    at = a.segments.origins(cfg.window, 1)["val"]
    np.testing.assert_array_equal(a.fitted.predict(a.frame, at), b.fitted.predict(b.frame, at))


@pytest.mark.slow
def test_global_model_beats_per_ticker_models_on_series_sharing_one_process() -> None:
    series = _shared_process(5, 500)
    g = run_global_training(SMALL, series)
    global_skill = np.mean([m.scores.target["model"].skill_vs_naive for m in g.members])
    plain_skill = np.mean([run_training(SMALL, s).scores.target["model"].skill_vs_naive for s in series])
    assert global_skill > plain_skill + 0.02, (global_skill, plain_skill)
    assert set(g.pooled.target) == {"model", "naive", "drift", "linear"}


def test_global_model_scales_each_ticker_on_its_own_training_rows_and_does_not_leak() -> None:
    series = _shared_process(3, 500, seed0=7)
    cfg = SMALL.replace(epochs=2, ticker_embedding=True)
    a = run_global_training(cfg, series)
    for m in a.members:
        np.testing.assert_allclose(m.fitted.scaler.mean, m.frame.x[: m.segments.train_end].mean(axis=0))
    test_start = a.members[0].frame.dates[a.members[0].segments.val_end]
    noisy = [Series(s.ticker, _perturb_from(s.bars.frame(), test_start), "synthetic") for s in series]
    b = run_global_training(cfg, noisy)
    assert _same(a.members[0].fitted.state, b.members[0].fitted.state)
    assert a.config.embedding_tickers == ("S0", "S1", "S2")


@pytest.mark.slow
@pytest.mark.parametrize("decoder", ["direct", "recursive", "seq2seq"])
def test_multi_step_decoders_report_per_step_and_beat_naive_at_each_step(decoder: str) -> None:
    bars, _ = ar1(2500, phi=0.8, seed=3)
    t = run_training(SMALL.replace(horizon=3, decoder=decoder), Series("AR", bars, "synthetic"))
    steps: list[dict[str, Any]] = t.scores.per_step
    assert [s["step"] for s in steps] == [1, 2, 3]
    # the optimum's skill per step is phi^(2k): 0.64, 0.41, 0.26
    assert all(s["skill_vs_naive"] > 0.1 for s in steps), steps
    assert steps[0]["skill_vs_naive"] > steps[2]["skill_vs_naive"]


@pytest.mark.slow
def test_finetuning_a_global_model_beats_training_from_scratch_on_a_short_series(home: Path) -> None:
    report = train(Store(home), SMALL, _shared_process(4, 700, seed0=20))
    parent = load_model(Store(home), report.model_id)
    newcomer = Series("NEW", ar1(330, phi=0.5, seed=99)[0], "synthetic")
    before, after, scratch = run_finetune(parent, newcomer, lr=1e-4, epochs=5, allow_overlap=True)
    # A 33-bar test segment is too short to rank them: judge both on a long fresh path of
    # the same process (the optimum's skill is phi^2 = 0.25).
    fresh = frame_for(SMALL, ar1(3000, phi=0.5, seed=1234)[0])
    at = np.arange(SMALL.window, fresh.n - 1)
    truth = fresh.x[at + 1, 0]

    def skill(fitted) -> float:  # type: ignore[no-untyped-def]
        return float(1 - np.mean((fitted.predict(fresh, at)[:, 0] - truth) ** 2) / np.mean(truth**2))

    assert skill(after.fitted) > skill(scratch.fitted) + 0.02, (skill(after.fitted), skill(scratch.fitted))
    assert skill(after.fitted) > 0.2
    assert before.scores.target["model"].n == after.scores.target["model"].n  # same test points


@pytest.mark.slow
def test_exogenous_series_that_leads_by_a_day_is_used_and_does_not_leak() -> None:
    from lstmcast.backtest.audit import audit
    from lstmcast.runconfig import BacktestConfig

    rng = np.random.default_rng(5)
    e = rng.normal(0, 0.01, 1500)
    r = np.r_[0.0, 0.7 * e[:-1]] + rng.normal(0, 0.007, 1500)
    target, leader = bars_from_log_returns(r), bars_from_log_returns(e)
    leader = leader.drop(leader.index[[100, 700]])  # a missing date is carried forward and reported
    cfg = SMALL.replace(window=10, epochs=10)
    plain = run_training(cfg, Series("T", target, "synthetic")).scores.target["model"].skill_vs_naive
    with_exog = run_training(cfg.replace(exog=("E",)), Series("T", target, "synthetic", {"E": leader}))
    assert with_exog.scores.target["model"].skill_vs_naive > 0.3 and plain < 0.05
    assert any("exog E: no bar on 2" in w for w in with_exog.warnings)
    report = audit(
        cfg.replace(exog=("E",), epochs=2),
        BacktestConfig(folds=2),
        Series("T", target, "synthetic", {"E": leader}),
    )
    assert report.clean


@pytest.mark.slow
def test_cli_global_train_forecast_member_backtest_and_finetune(cli: Cli, home: Path) -> None:
    for t in ("AAPL", "MSFT", "IBM"):
        cli("import", SAMPLE / f"{t}.csv", "--ticker", t)
    fast = ["--model", "cnn", "--window", "20", "--epochs", "1"]
    doc = json.loads(cli("train", "AAPL", "MSFT", *fast, "--ticker-embedding", "--json").stdout)
    assert set(doc["by_ticker"]) == {"AAPL", "MSFT"} and doc["ticker"] == "AAPL,MSFT"
    fc = one_forecast(cli("forecast", "MSFT", "--json").stdout)  # the newest model for MSFT is the global one
    assert fc["model_id"] == doc["model_id"] and fc["ticker"] == "MSFT"
    bt = json.loads(cli("backtest", "AAPL", "MSFT", *fast, "--folds", "2", "--json").stdout)
    assert bt["global_with"] == ["MSFT"] and bt["n_predictions"] > 0
    # The parent was fitted on MSFT's own validation dates: refused unless the user insists.
    refused = cli("finetune", doc["model_id"], "MSFT", "--epochs", "1", code=1).stderr
    assert "contaminated" in refused and "--allow-overlap" in refused
    run = cli("finetune", doc["model_id"], "MSFT", "--epochs", "1", "--allow-overlap", "--json")
    assert "contaminated" in run.stderr
    ft = json.loads(run.stdout)
    assert set(ft["test"]) >= {"before", "after", "scratch", "naive"}
    assert load_model(Store(home), ft["model_id"]).manifest["parent"] == doc["model_id"]
    assert "ticker embedding" in cli("finetune", doc["model_id"], "IBM", code=1).stderr
    st = json.loads(
        cli(
            "train", "IBM", "--model", "gru", "--stateful", "--window", "20", "--epochs", "1", "--json"
        ).stdout
    )
    assert st["model"] == "gru"
    assert (
        "--stateful needs a recurrent model"
        in cli("train", "IBM", "--stateful", "--model", "cnn", code=1).stderr
    )
    ex = json.loads(cli("train", "AAPL", *fast, "--exog", "MSFT,IBM", "--json").stdout)
    assert load_model(Store(home), ex["model_id"]).config.exog == ("MSFT", "IBM")
    assert "not stored" in cli("train", "AAPL", *fast, "--exog", "NOPE", code=1).stderr


@pytest.mark.parametrize("mode", ["direct", "recursive", "seq2seq", "finetune"])
def test_decoders_and_finetuning_do_not_leak(mode: str, home: Path) -> None:
    bars, _ = ar1(1200, seed=12)
    cfg = SMALL.replace(epochs=2, horizon=1 if mode == "finetune" else 3,
                        decoder="direct" if mode == "finetune" else mode)  # fmt: skip

    def fit(b: pd.DataFrame) -> Any:
        series = Series("AR", b, "synthetic")
        if mode != "finetune":
            return run_training(cfg, series)
        parent = load_model(
            Store(home), train(Store(home), cfg, Series("P", ar1(900, seed=13)[0], "synthetic")).model_id
        )
        return run_finetune(parent, series, lr=1e-3, epochs=2, allow_overlap=True)[1]

    a = fit(bars)
    b = fit(_perturb_from(bars, a.frame.dates[a.segments.val_end]))
    assert _same(a.fitted.state, b.fitted.state)
